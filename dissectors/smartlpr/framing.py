"""The SmartLPR framer: Stx + header + Size-bounded body + Bcc + Etx, with resync.

One framer per link+direction. It never raises and accounts for every byte: each one ends up
in exactly one ``Frame`` or ``Junk``. For UDP the pipeline feeds one datagram and flushes.

A candidate at an Stx is checked under each reading of Size (B.3 "[H]"), shortest frame
first: the first with Etx and a good Bcc wins, else the first with an Etx only (a frame with a
bad Bcc, which decode reports). While a reading still lacks bytes the framer waits, so the
frames never depend on how the stream was cut. Once a frame with a good Bcc has shown which
reading the link uses, that reading is tried first and an Etx in place is enough: a corrupted
frame is then delivered at once instead of waiting for the bytes of the other readings. A
header whose Type or Version is over 255, or whose every reading is out of range (< 19 or
> ``MAX_FRAME`` bytes), is a false Stx: the framer skips one byte and searches on.

Junk is held back until the next frame (or ``flush``/``gap``, or ``MAX_JUNK_HOLD`` bytes),
so one burst of garbage becomes one Junk item however it arrived.

Once the reading is confirmed, the frames it plainly accepts are cut by one call to
``speedups.smartlpr_scan`` (C when built) per feed; with ``header_runs`` set (bulk mode) they
are handed over as one ``FrameRun`` of header tuples instead of one ``Frame`` each, and
``cut_frames`` cuts them straight from a chunk that starts with a frame on an empty buffer.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from dissectors.api import (
    Direction,
    Frame,
    Junk,
    Link,
)
from dissectors.bulk import (
    FrameRun,
    LinkSide,
)
from dissectors.checksums import xor_bcc
from dissectors.framing import ArrivalTimes
from dissectors.smartlpr.tables import (
    ETX,
    LEN_HEADER,
    LEN_OVERHEAD,
    MAX_FRAME,
    MAX_PLAUSIBLE_CODE,
    SIZE_READINGS,
    STX,
)
from dissectors.speedups import SmartLprHeader, smartlpr_scan

_SIZE_TYPE_VERSION = struct.Struct("<IHH")
"""Size, Type, Version at offset 5 of a frame."""
_STX = bytes([STX])
_WAIT = -1
_REJECT = 0
MAX_JUNK_HOLD = 4096
"""Junk is emitted once this much has piled up, even before the next frame."""

_REASON_NO_STX = "no Stx (0x02) where a frame should start"
_REASON_FALSE_STX = "false Stx: no Etx and Bcc where Size points"
_REASON_HEADER = "false Stx: implausible Size, Type or Version"
_REASON_END = "incomplete frame at the end of the stream"
_REASON_GAP = "incomplete frame cut by a gap in the capture"


def candidate_length(
    buf: bytes | bytearray, pos: int, final: bool, preferred: int | None = None
) -> tuple[int, int | None]:
    """The frame starting at ``buf[pos]`` (an Stx): (length or 0 reject / -1 wait, reading).

    ``preferred`` is the extra bytes of the Size reading confirmed on this link by a frame
    with a good Bcc (None: nothing confirmed yet). ``final``: no more bytes will come, so
    readings that lack bytes are dropped instead of waited for. The reading returned is the
    one now confirmed (unchanged when the accepted frame's Bcc is bad).
    """
    available = len(buf) - pos
    if available < LEN_HEADER:
        return (_REJECT if final else _WAIT), preferred
    size, message_type, version = _SIZE_TYPE_VERSION.unpack_from(buf, pos + 5)
    if message_type > MAX_PLAUSIBLE_CODE or version > MAX_PLAUSIBLE_CODE:
        return _REJECT, preferred
    size = int(size)
    if preferred is not None:
        length = size + preferred
        if LEN_OVERHEAD <= length <= MAX_FRAME:
            if length > available:
                if not final:
                    return _WAIT, preferred
            elif buf[pos + length - 1] == ETX:
                return length, preferred
    fallback = _REJECT
    for _reading, extra in SIZE_READINGS:
        if extra == preferred:
            continue
        length = size + extra
        if length < LEN_OVERHEAD or length > MAX_FRAME:
            continue
        if length > available:
            if final:
                continue
            return _WAIT, preferred
        end = pos + length
        if buf[end - 1] != ETX:
            continue
        if xor_bcc(bytes(buf[pos : end - 2])) == buf[end - 2]:
            return length, extra
        if fallback == _REJECT:
            fallback = length
    return fallback, preferred


class SmartLprFramer:
    """Cuts one direction of a SmartLPR link into frames and junk."""

    __slots__ = (
        "_base",
        "_buf",
        "_junk_len",
        "_junk_reason",
        "_preferred",
        "_times",
        "direction",
        "header_runs",
        "link",
        "side",
    )

    def __init__(self, link: Link, direction: Direction) -> None:
        self.link = link
        self.direction = direction
        self._buf = bytearray()
        self._base = 0
        """Stream offset of ``_buf[0]``."""
        self._times = ArrivalTimes()
        self._junk_len = 0
        """Bytes at the start of the buffer already known to be junk, held back."""
        self._junk_reason = ""
        self._preferred: int | None = None
        """Extra bytes of the Size reading this link uses, once a good frame showed it."""
        self.header_runs = False
        """Hand runs of well-formed frames over as one ``FrameRun`` (bulk mode)."""
        self.side = LinkSide("smartlpr", link, direction)

    def feed(self, data: bytes, time_ns: int) -> Iterator[Frame | Junk | FrameRun]:
        """Add bytes; yield every frame and junk that became complete."""
        cut = self.cut_frames(data, time_ns, False)
        if cut is None:
            if data:
                self._times.add(self._base + len(self._buf), time_ns)
                self._buf += data
            return iter(self._scan(final=False))
        start, headers, end = cut
        run = FrameRun(self.side, start, data, headers, (start,), (time_ns,))
        if end == len(data):
            return iter([run])
        self._buf += memoryview(data)[end:]
        items = self._scan(final=False)
        items.insert(0, run)
        return iter(items)

    def cut_frames(
        self, data: bytes, time_ns: int, whole: bool
    ) -> tuple[int, list[SmartLprHeader], int] | None:
        """In bulk mode, for a chunk that starts with an Stx on an empty buffer (most of a busy
        link): the whole frames at its start, cut straight from its bytes without a copy into
        the buffer and out again, as ``feed`` would cut them: (stream offset of ``data[0]``,
        their headers, the end of the last one in ``data``); the stream moves past them, what
        follows is for ``feed`` to buffer. None, nothing changed, for any other chunk, one
        without such a frame, and with ``whole`` one that holds anything else (the pipeline's
        shortcut for chunks of whole frames: ``smartlpr.runs.WholeLanePython``)."""
        place = self.whole_place()
        if place is None or type(data) is not bytes:
            return None
        start, extra = place
        # no frame (no Stx at data[0], no data) is no header
        headers, end = smartlpr_scan(data, 0, extra, MAX_FRAME, MAX_PLAUSIBLE_CODE)
        if not headers or (whole and end != len(data)):
            return None
        self._base = start + end
        if end < len(data):  # the rest is for ``feed`` to buffer: it arrived at time_ns
            self._times.reset(self._base, time_ns)
        return start, headers, end

    def whole_place(self) -> tuple[int, int] | None:
        """Where chunks can be cut straight from their bytes (``cut_frames``): (the stream
        offset of the next byte, the extra bytes of the link's Size reading) in bulk mode with
        the reading known and nothing buffered, else None. The C ``Lane`` reads and moves
        the slots this reads (``_base``, ``_preferred``, ``_buf``, ``header_runs``) itself."""
        extra = self._preferred
        if extra is None or self._buf or not self.header_runs:
            return None
        return self._base, extra

    def flush(self) -> Iterator[Frame | Junk | FrameRun]:
        """End of stream: accept what can be accepted, the rest is junk."""
        return iter(self._scan(final=True, end_reason=_REASON_END))

    def gap(self, length: int, time_ns: int) -> Iterator[Frame | Junk | FrameRun]:
        """``length`` bytes are missing: settle the buffer, then skip the hole."""
        items = self._scan(final=True, end_reason=_REASON_GAP)
        self._base += max(0, length)
        self._times.restart(self._base)
        return iter(items)

    def _scan(self, *, final: bool, end_reason: str = _REASON_END) -> list[Frame | Junk | FrameRun]:
        buf = self._buf
        out: list[Frame | Junk | FrameRun] = []
        total = len(buf)
        pos = self._junk_len
        junk_from = 0 if pos else -1
        junk_reason = self._junk_reason
        while pos < total:
            if junk_from < 0 and self._preferred is not None and buf[pos] == STX:
                # the link's Size reading is known: what candidate_length would accept under
                # it (Etx in place, any Bcc) is cut in one call, Bcc verdicts included
                headers, end = smartlpr_scan(
                    buf, pos, self._preferred, MAX_FRAME, MAX_PLAUSIBLE_CODE
                )
                if headers:
                    self._emit_run(headers, end, out)
                    pos = end
                    continue
            if buf[pos] != STX:
                found = buf.find(_STX, pos)
                if junk_from < 0:
                    junk_from, junk_reason = pos, _REASON_NO_STX
                if found < 0:
                    pos = total
                    break
                pos = found
            length, self._preferred = candidate_length(buf, pos, final, self._preferred)
            if length == _WAIT:
                break
            if length == _REJECT:
                if junk_from < 0:
                    junk_from = pos
                    junk_reason = self._reject_reason(buf, pos, end_reason if final else None)
                pos += 1
                continue
            if junk_from >= 0:
                out.append(self._junk(junk_from, pos, junk_reason))
                junk_from = -1
            out.append(
                Frame(
                    self.link,
                    self.direction,
                    self._base + pos,
                    bytes(buf[pos : pos + length]),
                    self._times.at(self._base + pos),
                )
            )
            pos += length
        consumed = pos
        self._junk_len = 0
        if junk_from >= 0:
            if final or pos - junk_from >= MAX_JUNK_HOLD:
                out.append(self._junk(junk_from, pos, junk_reason))
            else:
                consumed = junk_from
                self._junk_len = pos - junk_from
                self._junk_reason = junk_reason
        if consumed:
            del buf[:consumed]
            self._base += consumed
            self._times.forget_before(self._base)
        return out

    def _emit_run(
        self, headers: list[SmartLprHeader], end: int, out: list[Frame | Junk | FrameRun]
    ) -> None:
        buf = self._buf
        base = self._base
        if self.header_runs:
            offsets, times = self._times.snapshot()
            out.append(FrameRun(self.side, base, bytes(buf[:end]), headers, offsets, times))
            return
        link, direction, at = self.link, self.direction, self._times.at
        for pos, length, *_ in headers:
            out.append(
                Frame(link, direction, base + pos, bytes(buf[pos : pos + length]), at(base + pos))
            )

    @staticmethod
    def _reject_reason(buf: bytearray, pos: int, end_reason: str | None) -> str:
        available = len(buf) - pos
        if available < LEN_HEADER:
            return end_reason or _REASON_END
        size, message_type, version = _SIZE_TYPE_VERSION.unpack_from(buf, pos + 5)
        if message_type > MAX_PLAUSIBLE_CODE or version > MAX_PLAUSIBLE_CODE:
            return _REASON_HEADER
        lengths = [size + e for _r, e in SIZE_READINGS if LEN_OVERHEAD <= size + e <= MAX_FRAME]
        if not lengths:
            return _REASON_HEADER
        if end_reason and any(length > available for length in lengths):
            return end_reason
        return _REASON_FALSE_STX

    def _junk(self, start: int, end: int, reason: str) -> Junk:
        offset = self._base + start
        return Junk(
            self.link,
            self.direction,
            offset,
            bytes(self._buf[start:end]),
            self._times.at(offset),
            reason,
        )


def new_framer(link: Link, direction: Direction) -> SmartLprFramer:
    """One framer per link+direction (the Dissector's ``new_framer``)."""
    return SmartLprFramer(link, direction)
