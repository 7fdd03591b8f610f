"""SmartLPR detail: a frame's field values, and from them the Field tree.

One description, two views. ``field_values`` says which fields a message has, in which
order, and their values, nested as the ``camshark/1`` JSON ``fields`` object (a node with
children is a dict that keeps its own value under ``_value``, last). JSON output uses it
as it is, with no Field per node. ``build_fields`` walks the same dict and adds what only
the tree shows: each field's byte span inside the frame and its display text. Field names
are unique within one SmartLPR frame, so the presentation is a flat name -> (span,
display) map.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from dissectors.api import Field
from dissectors.smartlpr.records import (
    Ack,
    CurrentFrame,
    CurrentFrameResponse,
    GetPicture,
    GetPictureResponse,
    LicenseInfo,
    Nak,
    Ping,
    RawBody,
    SmartLprMessage,
    Status,
    StatusResponse,
    Trigger,
)
from dissectors.smartlpr.tables import (
    LEN_HEADER,
    NAK_SHORT,
    SMARTLPR_NAK,
    TYPE_NAMES,
    message_class,
)

Values = dict[str, object]
Span = tuple[int, int]
Presentation = dict[str, tuple[Span, str | None]]
"""Field name -> (byte span inside the frame, display text or None for ``str(value)``)."""

NODE_VALUE = "_value"
"""Key of a node's own value in its dict of children (the ``camshark/1`` convention)."""

D = LEN_HEADER
"""Offset of the message data in the frame: body spans are ``D + offset in the data``."""

UNKNOWN_NAK = "code not in the product's table"
_QUALITY_NAMES = tuple(f"quality_{i + 1}" for i in range(256))
"""Per-character quality names (a plate field holds at most 40 characters)."""


def field_values(
    data: bytes, message: SmartLprMessage, nak_table: dict[int, str] = SMARTLPR_NAK
) -> Values:
    """The frame's fields nested by name: exactly the JSON ``fields`` of its Field tree."""
    values: Values = {
        "stx": data[0],
        "unit_id": message.unit_id,
        "size": message.size,
        "type": message.type,
        "version": message.version,
        "id": message.id,
    }
    body = message.body
    _BODY_VALUES[body.__class__](body, values, nak_table)
    values["bcc"] = message.bcc
    values["etx"] = data[-1]
    return values


def build_fields(
    data: bytes, message: SmartLprMessage, nak_table: dict[int, str] = SMARTLPR_NAK
) -> tuple[Field, ...]:
    """The detail tree with byte spans inside the frame."""
    shown = _header_presentation(data, message)
    body = message.body
    shown.update(_BODY_PRESENTATION[body.__class__](body, nak_table))
    return _tree(field_values(data, message, nak_table), shown)


def _tree(values: Values, shown: Presentation) -> tuple[Field, ...]:
    """Fields for ``values`` (consumed: a node's ``_value`` is popped from its dict)."""
    nodes = []
    for name, value in values.items():
        span, display = shown[name]
        if value.__class__ is dict:
            own = value.pop(NODE_VALUE, None)
            children = _tree(value, shown)
            nodes.append(Field(name, own, span, display, children))
        else:
            nodes.append(Field(name, value, span, display))
    return tuple(nodes)


# -- values -------------------------------------------------------------------------------------


def _license_info_values(body: LicenseInfo, values: Values, _naks: dict[int, str]) -> None:
    shown = _qualities_text(body)
    per_char = body.qualities[: len(body.detected_chars)]
    quality: object = shown
    if per_char:
        node: Values = dict(zip(_QUALITY_NAMES, per_char, strict=False))
        node[NODE_VALUE] = shown
        quality = node
    values["car_id"] = body.car_id
    values["trigger_id"] = body.trigger_id
    values["timestamp"] = body.timestamp
    values["timestamp_usec"] = body.timestamp_usec
    values["plate"] = body.detected_chars
    values["qualities"] = quality
    values["grammar_ok"] = body.grammar_ok
    values["printable"] = body.printable
    values["country"] = body.country


def _qualities_text(body: LicenseInfo) -> str:
    """The qualities of the detected characters (all of them when none was detected)."""
    qualities = body.qualities
    return " ".join(str(q) for q in qualities[: max(len(body.detected_chars), 1)] or qualities)


def _trigger_values(body: Trigger, values: Values, _naks: dict[int, str]) -> None:
    values["trigger_id"] = body.trigger_id


def _no_values(_body: object, _values: Values, _naks: dict[int, str]) -> None:
    pass


def _status_response_values(body: StatusResponse, values: Values, _naks: dict[int, str]) -> None:
    values["active"] = body.active == 1
    values["io"] = body.io
    values["camera_ok"] = body.camera == 1


def _car_id_values(body: GetPicture, values: Values, _naks: dict[int, str]) -> None:
    values["car_id"] = body.car_id


def _picture_values(body: GetPictureResponse, values: Values, _naks: dict[int, str]) -> None:
    values["roi_top"] = body.roi_top
    values["roi_left"] = body.roi_left
    values["roi_bottom"] = body.roi_bottom
    values["roi_right"] = body.roi_right
    values["image_size"] = body.image_size
    values["image"] = len(body.image)


def _current_frame_values(body: CurrentFrame, values: Values, _naks: dict[int, str]) -> None:
    values["exposure_time_us"] = body.exposure_time_us


def _frame_values(body: CurrentFrameResponse, values: Values, _naks: dict[int, str]) -> None:
    values["image_size"] = body.image_size
    values["image"] = len(body.image)


def _ping_values(body: Ping, values: Values, _naks: dict[int, str]) -> None:
    values["port"] = body.port


def _nak_values(body: Nak, values: Values, naks: dict[int, str]) -> None:
    values["code"] = body.code
    values["subcode"] = body.subcode
    values["reason"] = naks.get(body.code, UNKNOWN_NAK)


def _raw_values(body: RawBody, values: Values, _naks: dict[int, str]) -> None:
    values["data"] = body.data.hex()


# -- presentation: spans and display text -------------------------------------------------------


def _header_presentation(data: bytes, message: SmartLprMessage) -> Presentation:
    length = len(data)
    end = length - 2
    reading = message.size_reading.value if message.size_reading else "fits no reading"
    ok = "ok" if message.bcc_ok else f"BAD, computed 0x{message.bcc_computed:02x}"
    return {
        "stx": ((0, 1), "0x02"),
        "unit_id": ((1, 5), None),
        "size": ((5, 9), f"{message.size} ({reading})"),
        "type": ((9, 11), _type_display(message.type)),
        "version": ((11, 13), None),
        "id": ((13, 17), _id_display(message.id)),
        "bcc": ((end, end + 1), f"0x{message.bcc:02x} ({ok})"),
        "etx": ((length - 1, length), f"0x{data[-1]:02x}"),
    }


def _license_info_presentation(body: LicenseInfo, _naks: dict[int, str]) -> Presentation:
    trigger = "-1 (hardware-trigger mode)" if body.trigger_id == -1 else None
    shown: Presentation = {
        "car_id": ((D, D + 4), None),
        "trigger_id": ((D + 4, D + 8), trigger),
        "timestamp": ((D + 8, D + 12), _ts_display(body.timestamp, body.timestamp_usec)),
        "timestamp_usec": ((D + 12, D + 16), None),
        "plate": ((D + 16, D + 56), repr(body.detected_chars)),
        "qualities": ((D + 56, D + 96), _qualities_text(body)),
        "grammar_ok": ((D + 96, D + 97), None),
        "printable": ((D + 97, D + 137), repr(body.printable)),
        "country": ((D + 137, D + 169), repr(body.country)),
    }
    for i, (quality, char) in enumerate(zip(body.qualities, body.detected_chars, strict=False)):
        shown[_QUALITY_NAMES[i]] = ((D + 56 + i, D + 57 + i), f"{quality} ({char})")
    return shown


def _no_presentation(_body: object, _naks: dict[int, str]) -> Presentation:
    return {}


def _data_start_presentation(name: str) -> Callable[[object, dict[int, str]], Presentation]:
    fixed: Presentation = {name: ((D, D + 4), None)}

    def presentation(_body: object, _naks: dict[int, str]) -> Presentation:
        return fixed

    return presentation


def _status_response_presentation(body: StatusResponse, _naks: dict[int, str]) -> Presentation:
    return {
        "active": ((D, D + 1), f"{body.active} (1 = active)"),
        "io": ((D + 1, D + 2), f"{body.io} (reserved)"),
        "camera_ok": ((D + 2, D + 3), f"{body.camera} (1 = ok)"),
    }


def _picture_presentation(body: GetPictureResponse, _naks: dict[int, str]) -> Presentation:
    return {
        "roi_top": ((D, D + 2), None),
        "roi_left": ((D + 2, D + 4), None),
        "roi_bottom": ((D + 4, D + 6), None),
        "roi_right": ((D + 6, D + 8), None),
        "image_size": ((D + 8, D + 12), None),
        "image": _image_presentation(body.image, D + 12),
    }


def _frame_presentation(body: CurrentFrameResponse, _naks: dict[int, str]) -> Presentation:
    return {
        "image_size": ((D, D + 4), None),
        "image": _image_presentation(body.image, D + 4),
    }


def _image_presentation(image: bytes, start: int) -> tuple[Span, str]:
    kind = "JPEG" if image.startswith(b"\xff\xd8") else "not JPEG"
    return (start, start + len(image)), f"{kind}, {len(image)} B"


def _nak_presentation(body: Nak, _naks: dict[int, str]) -> Presentation:
    return {
        "code": ((D, D + 1), f"{body.code} ({NAK_SHORT.get(body.code, '?')})"),
        "subcode": ((D + 1, D + 2), None),
        "reason": ((D, D + 1), None),
    }


def _raw_presentation(body: RawBody, _naks: dict[int, str]) -> Presentation:
    return {"data": ((D, D + len(body.data)), f"{len(body.data)} B")}


def type_name(message_type: int) -> str:
    """The seed's name for a Type, or ``Unknown<n>``."""
    return TYPE_NAMES.get(message_type) or f"Unknown{message_type}"


@lru_cache(maxsize=256)
def _type_display(message_type: int) -> str:
    return f"{message_type} {type_name(message_type)} ({message_class(message_type).value})"


def _ts_display(seconds: int, usec: int) -> str:
    when = _date_text(seconds)
    return f"{seconds} ({when}.{usec:06d} UTC)" if usec < 1_000_000 else f"{seconds} ({when})"


@lru_cache(maxsize=64)  # plate reads come many per second: the date is formatted once
def _date_text(seconds: int) -> str:
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return "?"


def _id_display(conv_id: int) -> str:
    opener = "unit-opened" if conv_id & 1 else "central-opened"
    return f"{conv_id} ({opener})"


# Any: each entry takes its own body class, which a dict keyed by class cannot express.
_BODY_VALUES: dict[type, Callable[[Any, Values, dict[int, str]], None]] = {
    LicenseInfo: _license_info_values,
    Trigger: _trigger_values,
    Status: _no_values,
    StatusResponse: _status_response_values,
    GetPicture: _car_id_values,
    GetPictureResponse: _picture_values,
    CurrentFrame: _current_frame_values,
    CurrentFrameResponse: _frame_values,
    Ping: _ping_values,
    Ack: _no_values,
    Nak: _nak_values,
    RawBody: _raw_values,
}
_BODY_PRESENTATION: dict[type, Callable[[Any, dict[int, str]], Presentation]] = {
    LicenseInfo: _license_info_presentation,
    Trigger: _data_start_presentation("trigger_id"),
    Status: _no_presentation,
    StatusResponse: _status_response_presentation,
    GetPicture: _data_start_presentation("car_id"),
    GetPictureResponse: _picture_presentation,
    CurrentFrame: _data_start_presentation("exposure_time_us"),
    CurrentFrameResponse: _frame_presentation,
    Ping: _data_start_presentation("port"),
    Ack: _no_presentation,
    Nak: _nak_presentation,
    RawBody: _raw_presentation,
}
