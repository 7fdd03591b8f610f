"""Types of the optional C kernel (``_fast_path.c``); see ``sniffer.sources.fast_packets``."""

from typing import Any

class Piece(tuple[bytes, int]):
    @property
    def data(self) -> bytes: ...
    @property
    def time_ns(self) -> int: ...

def fast_records(
    buf: bytes,
    pos: int,
    header_size: int,
    big_endian: bool,
    unit: int,
    cache: dict[bytes, Any],
    trim: Any,
    /,
) -> tuple[int, int, list[tuple[Any, list[Piece]]], int | None]: ...
def fast_blocks(
    buf: bytes,
    pos: int,
    big_endian: bool,
    interfaces: tuple[tuple[int, int], ...],
    last_time: int,
    cache: dict[bytes, Any],
    trim: Any,
    /,
) -> tuple[int, int, list[tuple[Any, list[Piece]]], int]: ...
def bind_slots(stream_type: type, connection_type: type, /) -> None: ...
