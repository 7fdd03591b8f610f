"""Types of DualCam's optional C kernels (``_dualcam_speedups.c``); see
``dissectors.dualcam.speedups``."""

from collections.abc import Sequence

def crc16_kermit(data: bytes | bytearray, crc: int = 0, /) -> int: ...
def scan_data_frames(buf: bytes | bytearray, pos: int, /) -> tuple[int, int, int, int]: ...
def take_data_frames(
    run: bytes | bytearray,
    pos: int,
    out: bytearray,
    crc: int,
    room: int,
    max_frames: int,
    full: int,
    start: int,
    arrival_offsets: Sequence[int],
    arrival_times: Sequence[int],
    last_ns: int | None,
    stall_ns: int,
    gaps: list[float],
    /,
) -> tuple[int, int, int, int | None, int | None]: ...
