"""``camshark/1`` JSON and text lines of the common SmartLPR messages straight from their
``LeanRecord``s.

The C ``Renderer`` (``_smartlpr_json.c``) writes, for each LeanRecord of an ACK, Status,
healthy StatusResponse, Trigger, plain LicenseInfo v2, GetPicture or GetPictureResponse with
its JPEG, the object (``render``) or the text line (``render_text``) the Record path writes
(``codec.decode``, then ``record_to_dict`` and orjson, or ``format_line``) byte for byte, and
stops at the first item it does not fully understand, which the caller then renders through
that Record path. There is no Python twin: the Record path is the fallback and the test oracle
(``tests/dissectors/test_smartlpr_json.py``). What C needs of Python, the JSON text of the
schema and of each message's type name and kind, and the type names, is built here.
"""

from __future__ import annotations

from types import ModuleType

from dissectors.bulk import LeanRenderer
from dissectors.smartlpr.codec import kind_of, type_name
from dissectors.smartlpr.tables import MessageType

COMMON_TYPES = (
    int(MessageType.ACK),
    int(MessageType.STATUS),
    int(MessageType.STATUS_RESPONSE),
    int(MessageType.TRIGGER),
    int(MessageType.LICENSE_INFO),
    int(MessageType.GET_PICTURE),
    int(MessageType.GET_PICTURE_RESPONSE),
)
"""The messages C renders, in the order of its tables."""


Renderer = LeanRenderer
"""What ``new_renderer`` returns (the dissector contract's ``LeanRenderer``)."""


def plain_json_string(text: str) -> bytes:
    """``text`` as a JSON string, for a text that needs no escaping (ValueError if not)."""
    if not text.isascii() or not text.isprintable() or '"' in text or "\\" in text:
        raise ValueError(f"{text!r} is not plain printable ASCII")
    return b'"' + text.encode() + b'"'


def head(schema: str) -> bytes:
    """What every object starts with, up to its frame number."""
    return b'{"schema":' + plain_json_string(schema) + b',"frame":'


def label(message_type: int) -> bytes:
    """What follows the link fragment, up to the summary's text."""
    return (
        b',"type":'
        + plain_json_string(type_name(message_type))
        + b',"kind":'
        + plain_json_string(kind_of(message_type).value)
        + b',"summary":"'
    )


_kernel: ModuleType | None
try:
    from dissectors import _smartlpr_json as _kernel
except ImportError:  # pragma: no cover - exercised where no compiler was available
    _kernel = None

HAVE_C = _kernel is not None
"""Whether the C renderer was built (``setup.py``, optional)."""


def new_renderer(lean_type: type, schema: str) -> LeanRenderer | None:
    """A renderer of ``lean_type``'s records under ``schema``; None when C was not built
    (SmartLPR's ``lean_renderer``; ``lean_type`` is ``LeanRecord`` or a class with its slots).

    Raises:
        TypeError: ``lean_type`` lacks one of the slots the renderer reads.
    """
    if _kernel is None:
        return None
    renderer: LeanRenderer = _kernel.Renderer(
        lean_type,
        head(schema),
        COMMON_TYPES,
        tuple(label(message_type) for message_type in COMMON_TYPES),
        tuple(type_name(message_type).encode() for message_type in COMMON_TYPES),
    )
    return renderer
