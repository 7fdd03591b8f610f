"""DualCam's run kernels: the C versions from ``dissectors._dualcam_speedups`` when it was
built, else the pure-Python versions below, with the identical API (tests run both against
each other; ``dissectors/_dualcam_speedups.c`` documents the same contract).

They handle the common case of a run of device DATA frames only: ``scan_data_frames`` cuts
them for the framer, ``take_data_frames`` checks the CRC chain and appends the payloads for
the tracker. Both stop at the first frame that is anything else; every decision about that
frame stays with their Python callers.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from types import ModuleType

from dissectors.checksums import crc16_kermit_reference
from dissectors.dualcam.tables import MAX_DATA_LEN, Command

_HEADER = 4
_DATA = int(Command.DATA)
MIN_DATA_LEN = 3
"""Shortest DATA ``len``: one file byte and the CRC (the C kernels have the same bounds)."""
_MAX_LEN = MAX_DATA_LEN

Scan = tuple[int, int, int, int]
"""(end, count, last, pending) of ``scan_data_frames``."""
Take = tuple[int, int, int, int | None, int | None]
"""(taken, pos, crc, last_ns, first_ns) of ``take_data_frames``."""


def _data_frame(buf: bytes | bytearray, pos: int) -> int:
    """Length (4 + len) of the DATA frame whose header is at ``buf[pos]``, or 0."""
    if len(buf) - pos < _HEADER or buf[pos] != 0 or buf[pos + 1] != _DATA:
        return 0
    declared = buf[pos + 2] << 8 | buf[pos + 3]
    if not MIN_DATA_LEN <= declared <= _MAX_LEN:
        return 0
    return _HEADER + declared


def _check_pos(buf: bytes | bytearray, pos: int) -> None:
    if not 0 <= pos <= len(buf):
        raise ValueError("pos outside the buffer")


def crc16_kermit_python(data: bytes | bytearray, crc: int = 0) -> int:
    """CRC-16/KERMIT of ``data``, continuing from ``crc``."""
    return crc16_kermit_reference(bytes(data), crc & 0xFFFF)


def scan_data_frames_python(buf: bytes | bytearray, pos: int) -> Scan:
    """Walk the consecutive DATA frames from ``buf[pos]`` that lie wholly in ``buf``.

    Returns (end, count, last, pending): the index after them, how many, the index of the
    last one (``pos`` if none), and ``4 + len`` of a DATA frame at ``end`` whose bytes are
    not all there yet (else 0).

    Raises:
        ValueError: ``pos`` is outside ``buf``.
    """
    _check_pos(buf, pos)
    count = pending = 0
    last = pos
    while length := _data_frame(buf, pos):
        if length > len(buf) - pos:
            pending = length
            break
        last = pos
        pos += length
        count += 1
    return pos, count, last, pending


def take_data_frames_python(
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
) -> Take:
    """Take the consecutive DATA frames from ``run[pos]`` that continue the CRC chain.

    Each payload is appended to ``out``; for each frame but the first ever (``last_ns``
    None) its gap to the previous one, in ms, to ``gaps``. Stops before a frame that is not
    a DATA frame wholly in ``run``, would take more than ``room`` payload bytes in all,
    arrives more than ``stall_ns`` after the previous one, fails the CRC, or carries fewer
    than ``full`` bytes without being frame number ``max_frames``; and after ``max_frames``
    frames. A frame arrived at ``arrival_times[i]`` of the last ``arrival_offsets[i]`` at or
    before its stream offset (``run[0]`` is at stream offset ``start``), the first one's if
    none is, 0 if there are none.

    Returns (taken, pos, crc, last_ns, first_ns): how many frames, the index after them, the
    chain's register, the last frame's time and the first taken frame's (None if none).

    Raises:
        ValueError: ``pos`` is outside ``run``, or the arrival lists differ in length.
    """
    _check_pos(run, pos)
    if len(arrival_offsets) != len(arrival_times):
        raise ValueError("arrival offsets and times differ in length")
    crc &= 0xFFFF
    taken = appended = 0
    first_ns: int | None = None
    while taken < max_frames:
        length = _data_frame(run, pos)
        if length == 0 or length > len(run) - pos:
            break
        payload_size = length - _HEADER - 2
        if appended + payload_size > room:
            break
        if payload_size < full and taken + 1 != max_frames:
            break
        if arrival_times:
            index = bisect_right(arrival_offsets, start + pos) - 1
            now = arrival_times[index if index > 0 else 0]
        else:
            now = 0
        if last_ns is not None and now - last_ns > stall_ns:
            break
        high = pos + length - 2
        payload = bytes(run[pos + _HEADER : high])
        computed = crc16_kermit_reference(payload, crc)
        if computed != run[high] << 8 | run[high + 1]:
            break
        if last_ns is not None:
            gaps.append((now - last_ns) / 1e6)
        if first_ns is None:
            first_ns = now
        last_ns = now
        crc = computed
        out += payload
        appended += payload_size
        pos += length
        taken += 1
    return taken, pos, crc, last_ns, first_ns


_c: ModuleType | None
try:
    from dissectors import _dualcam_speedups as _c
except ImportError:  # pragma: no cover - exercised where no compiler was available
    _c = None

HAVE_C = _c is not None
"""Whether the C kernels were built (``setup.py``, optional)."""
crc16_kermit: Callable[[bytes | bytearray, int], int] = (
    _c.crc16_kermit if _c is not None else crc16_kermit_python
)
scan_data_frames: Callable[[bytes | bytearray, int], Scan] = (
    _c.scan_data_frames if _c is not None else scan_data_frames_python
)
take_data_frames: Callable[
    [
        bytes | bytearray,
        int,
        bytearray,
        int,
        int,
        int,
        int,
        int,
        Sequence[int],
        Sequence[int],
        int | None,
        int,
        list[float],
    ],
    Take,
] = _c.take_data_frames if _c is not None else take_data_frames_python
