"""Types of the optional C JSON renderer (``_smartlpr_json.c``); see
``dissectors.smartlpr.lean_json``."""

class Renderer:
    def __init__(
        self,
        lean_type: type,
        head: bytes,
        types: tuple[int, int, int, int, int],
        labels: tuple[bytes, bytes, bytes, bytes, bytes],
    ) -> None: ...
    def render(
        self,
        items: list[object],
        index: int,
        base_ns: int,
        fragments: dict[object, bytes],
        with_hex: bool,
        separator: bytes,
        terminator: bytes,
        out: bytearray,
        /,
    ) -> int: ...
