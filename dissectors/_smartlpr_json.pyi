"""Types of the optional C JSON renderer (``_smartlpr_json.c``); see
``dissectors.smartlpr.lean_json``."""

from dissectors.api import Record, Severity
from dissectors.bulk import LeanRecord, LinkSide

class Renderer:
    def __init__(
        self,
        lean_type: type,
        head: bytes,
        types: tuple[int, ...],
        labels: tuple[bytes, ...],
        names: tuple[bytes, ...],
    ) -> None: ...
    def render(
        self,
        items: list[Record | LeanRecord],
        index: int,
        base_ns: int,
        fragments: dict[LinkSide, bytes],
        with_hex: bool,
        separator: bytes,
        terminator: bytes,
        out: bytearray | list[bytes],
        /,
    ) -> int: ...
    def render_text(
        self,
        items: list[Record | LeanRecord],
        index: int,
        base_ns: int,
        fragments: dict[LinkSide, bytes],
        marks: tuple[tuple[Severity, bytes], ...],
        out: bytearray | list[bytes],
        /,
    ) -> int: ...
