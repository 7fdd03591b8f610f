"""Direction-aware DualCam framer: bytes of one link direction in, Frames and Junk out.

Rules (spec A.3):

* Device -> server: ``00 00`` is always the 16-byte INIT (its second u16 is the protocol id);
  every other command is ``cmd:u16 len:u16 payload``, with ``len`` bounded per command (DATA
  at most 0x0402). A 13-byte METADATA may be followed by one framerate byte outside ``len``.
* Server -> device: ``00 00`` (CLOSE), ``00 09`` (REPEAT_INIT) and ``00 05`` (COMPLETE) are
  sometimes sent bare, without a length field. They are 4-byte (8 for COMPLETE) commands only
  when the next two bytes are ``00 00`` (``00 04`` for COMPLETE); two bytes at the very end of
  what was received so far are taken as a bare command, because servers write each command in
  its own send. This one rule looks at chunk boundaries; everything else is chunking-invariant.
* Anything else is Junk: the framer scans for the next *plausible* command (a strong header:
  exact lengths, ``00 04 04 02``, a Luhn-valid INIT, or a short frame confirmed by the header
  that follows it) and resumes there. A gap flushes the partial frame as Junk and resyncs.

The framer never raises and accounts for every byte: the Frames and Junk it yields concatenate
to its input, at rising stream offsets. Junk is held until the next frame (or flushed in blocks
of ``JUNK_BLOCK`` bytes) so that the output does not depend on how the input was chunked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import cast, overload

from dissectors.api import (
    Direction,
    Frame,
    Junk,
    Link,
)
from dissectors.bulk import (
    FrameRun,
    LinkSide,
    Piece,
)
from dissectors.dualcam import spec, speedups
from dissectors.dualcam.tables import (
    DEVICE_COMMANDS,
    MAX_DATA_LEN,
    MAX_ENHANCED_LEN,
    MAX_METADATA_LEN,
    MAX_TEXT_LEN,
    SERVER_COMMANDS,
    Command,
    luhn_ok,
)
from dissectors.framing import ArrivalTimes

NEED = -1
"""``_length`` result: more bytes are needed to decide."""
JUNK_BLOCK = 65_536
"""Long junk runs are emitted in blocks of this many bytes (memory stays bounded)."""
IMEI_MIN = 10**13
IMEI_MAX = 10**15

_DATA = int(Command.DATA)
_DATA_LENGTHS = range(speedups.MIN_DATA_LEN, MAX_DATA_LEN + 1)
"""Declared lengths of a DATA frame (at least one file byte and the CRC)."""
_PRINTABLE = bytes(range(0x20, 0x7F))
"""Identifiers and paths are printable ASCII (paths may end with NUL)."""
_DEVICE_SCAN = re.compile(rb"\x00[\x00\x01\x03\x04\x05\x0b\x0d\x0e]")
_SERVER_SCAN = re.compile(rb"\x00[\x00\x02\x05\x08\x09\x0a\x0c]")


class DataRunHeaders(Sequence[tuple[int, int]]):
    """The (offset, length) of each DATA frame of a run, listed only when asked for: the
    tracker takes most runs whole without them (``len`` and the last one are known)."""

    __slots__ = ("_count", "_data", "_last", "_listed")

    def __init__(self, data: bytes, count: int, last: tuple[int, int]) -> None:
        self._data = data
        self._count = count
        self._last = last
        self._listed: list[tuple[int, int]] | None = None

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> tuple[int, int]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[int, int]]: ...

    def __getitem__(self, index: int | slice) -> tuple[int, int] | list[tuple[int, int]]:
        if isinstance(index, int) and index in (-1, self._count - 1):
            return self._last
        return self._list()[index]

    def _list(self) -> list[tuple[int, int]]:
        if self._listed is None:
            data = self._data
            listed = []
            offset = 0
            for _ in range(self._count):
                length = 4 + (data[offset + 2] << 8 | data[offset + 3])
                listed.append((offset, length))
                offset += length
            self._listed = listed
        return self._listed


class DualCamFramer:
    """Cuts one direction of a DualCam TCP stream into frames (see the module docstring)."""

    __slots__ = (
        "_base",
        "_buf",
        "_device",
        "_direction",
        "_junk",
        "_junk_reason",
        "_link",
        "_pending",
        "_pos",
        "_resync",
        "_scan",
        "_times",
        "side",
    )

    def __init__(self, link: Link, direction: Direction) -> None:
        self._link = link
        self._direction = direction
        self.side = LinkSide("dualcam", link, direction)
        self._device = direction is Direction.FROM_DEVICE
        self._scan = _DEVICE_SCAN if self._device else _SERVER_SCAN
        self._buf = bytearray()
        self._base = 0
        """Stream offset of ``_buf[0]``."""
        self._pos = 0
        """Index in ``_buf`` of the first undecided byte."""
        self._junk = -1
        """Index in ``_buf`` where pending junk starts, or -1."""
        self._junk_reason: str | None = None
        self._pending = (-1, 0)
        """(stream offset, length) of the frame whose bytes are still arriving."""
        self._resync = False
        self._times = ArrivalTimes()

    # -- Framer protocol ----------------------------------------------------------------------

    def feed(self, data: bytes, time_ns: int) -> Iterator[Frame | Junk]:
        """Add bytes; yield the frames (and junk) they complete."""
        out: list[Frame | Junk | FrameRun] = []
        if data:
            self._add(data, time_ns)
            self._drain(out, final=False)
            self._compact()
        return iter(cast(list[Frame | Junk], out))  # runs come from feed_pieces only

    def gap(self, length: int, time_ns: int) -> Iterator[Frame | Junk]:
        """``length`` bytes are missing: end what can be ended, junk the rest, resync after."""
        out: list[Frame | Junk | FrameRun] = []
        self._drain(out, final=True)
        self._leftover(out, f"incomplete before a {length}-byte gap")
        self._base += length
        self._resync = True
        return iter(cast(list[Frame | Junk], out))

    def flush(self) -> Iterator[Frame | Junk]:
        """End of stream: the last frames, then any leftover as Junk."""
        out: list[Frame | Junk | FrameRun] = []
        self._drain(out, final=True)
        self._leftover(out, "truncated at end of stream")
        self._resync = False
        return iter(cast(list[Frame | Junk], out))

    # -- internals ----------------------------------------------------------------------------

    def _add(self, data: bytes, time_ns: int) -> None:
        self._times.add(self._base + len(self._buf), time_ns)
        self._buf += data

    def _emit_junk(self, out: list[Frame | Junk | FrameRun], end: int) -> None:
        start = self._junk
        if start < 0 or end <= start:
            self._junk = -1
            return
        if self._junk_reason is None:
            self._junk_reason = self._reason(start)
        while start < end:  # blocks of at most JUNK_BLOCK, aligned on the run's start
            stop = min(end, start + JUNK_BLOCK)
            offset = self._base + start
            out.append(
                Junk(
                    self._link,
                    self._direction,
                    offset,
                    bytes(self._buf[start:stop]),
                    self._times.at(offset),
                    self._junk_reason or "",
                )
            )
            start = stop
        self._junk = -1

    def _start_junk(self, index: int) -> None:
        if self._junk >= 0:
            return
        self._junk = index
        self._junk_reason = None  # worked out when the run is emitted: chunking-invariant

    def _reason(self, start: int) -> str:
        head = bytes(self._buf[start : start + 4])
        who = "device" if self._device else "server"
        known = DEVICE_COMMANDS if self._device else SERVER_COMMANDS
        if len(head) >= 2 and head[0] == 0 and head[1] <= 0x0E:
            if head[1] in known:
                why = f"command 0x{head[1]:04x} with an impossible length"
            else:
                why = f"command 0x{head[1]:04x} is not one the {who} sends"
        else:
            why = f"not a {who} command"
        return f"{why} ({head.hex(' ')}…); resynchronised"

    def _drain(
        self, out: list[Frame | Junk | FrameRun], *, final: bool, runs: bool = False
    ) -> None:
        buf = self._buf
        while True:
            pos = self._pos
            if pos >= len(buf):
                break
            if self._resync:
                match = self._scan.search(buf, pos)
                if match is None:
                    self._pos = len(buf) - 1 if buf[-1] == 0 and not final else len(buf)
                    self._start_junk(pos)
                    self._junk_blocks(out)
                    break
                index = match.start()
                if index > pos:
                    self._start_junk(pos)
                length = self._length(index, strong=True, final=final)
                if length == NEED:
                    self._pos = index
                    self._junk_blocks(out)
                    break
                if length == 0:
                    self._start_junk(index)
                    self._pos = index + 1
                    continue
                self._pos = index
                self._resync = False
                pos = index
            elif self._pending[0] == self._base + pos:
                length = self._pending[1]  # the frame in progress: its header was checked
            else:
                length = self._length(pos, strong=False, final=final)
                if length == NEED:
                    break
                if length == 0:
                    self._start_junk(pos)
                    self._resync = True
                    self._pos = pos + 1
                    continue
            if len(buf) - pos < length:
                self._pending = (self._base + pos, length)
                break  # a frame in progress (at flush: the caller junks it)
            if self._junk >= 0:
                self._emit_junk(out, pos)
            if runs and buf[pos + 1] == _DATA:
                self._pos = self._data_run(out, pos, length)
                continue
            offset = self._base + pos
            out.append(
                Frame(
                    self._link,
                    self._direction,
                    offset,
                    bytes(buf[pos : pos + length]),
                    self._times.at(offset),
                )
            )
            self._pos = pos + length

    def _data_run(self, out: list[Frame | Junk | FrameRun], pos: int, length: int) -> int:
        """Emit the DATA frame at ``pos`` and the complete DATA frames right after it as one
        FrameRun (headers worked out when asked for, times per chunk); return the index
        after the run. Stops where ``_length`` would say anything but "a complete DATA
        frame", so the frames are the ones ``_drain`` would cut; a DATA frame still arriving
        becomes the pending one, as ``_drain`` would make it."""
        buf = self._buf
        base = self._base
        end, count, last, pending = speedups.scan_data_frames(buf, pos)
        if pending:
            self._pending = (base + end, pending)
        with memoryview(buf) as view:
            data = bytes(view[pos:end])  # one copy (a bytearray slice would be a second)
        headers = DataRunHeaders(data, count, (last - pos, end - last))
        offsets, times = self._times.snapshot()
        out.append(FrameRun(self.side, base + pos, data, headers, offsets, times))
        return end

    def _junk_blocks(self, out: list[Frame | Junk | FrameRun]) -> None:
        while self._junk >= 0 and self._pos - self._junk >= JUNK_BLOCK:
            start = self._junk
            self._emit_junk(out, start + JUNK_BLOCK)
            self._junk = start + JUNK_BLOCK
            # the reason of the first block stays: it is one run

    def _leftover(self, out: list[Frame | Junk | FrameRun], reason: str) -> None:
        buf = self._buf
        start = self._junk if self._junk >= 0 else self._pos
        if start < len(buf):
            if self._junk < 0:
                self._junk = start
                self._junk_reason = reason
            self._emit_junk(out, len(buf))
        self._base += len(buf)
        buf.clear()
        self._pos = 0
        self._junk = -1
        self._times.restart(self._base)

    def _compact(self) -> None:
        cut = self._junk if self._junk >= 0 else self._pos
        if cut <= 0:
            return
        del self._buf[:cut]
        self._base += cut
        self._pos -= cut
        if self._junk >= 0:
            self._junk -= cut
        self._times.forget_before(self._base)

    # -- frame boundaries -----------------------------------------------------------------------

    def _length(self, pos: int, *, strong: bool, final: bool) -> int:
        """Length of the frame starting at ``pos``; 0 if none starts there; NEED if unknown."""
        buf = self._buf
        avail = len(buf) - pos
        if avail <= 0:
            return 0 if final else NEED
        if buf[pos] != 0:
            return 0
        if avail < 2:
            return 0 if final else NEED
        cmd = buf[pos + 1]
        if self._device:
            if cmd not in DEVICE_COMMANDS:
                return 0
            if avail < 4:
                return 0 if final else NEED
            return self._device_length(pos, cmd, strong=strong, final=final)
        if cmd not in SERVER_COMMANDS:
            return 0
        return self._server_length(pos, cmd, strong=strong, final=final)

    def _device_length(self, pos: int, cmd: int, *, strong: bool, final: bool) -> int:
        buf = self._buf
        length: int = spec.U16.unpack_from(buf, pos + 2)[0]
        if cmd == Command.INIT_OR_CLOSE:
            if not (length in (5, 6) if strong else 0 < length <= 0xFF):
                return 0
            if len(buf) - pos < spec.INIT_SIZE:
                return 0 if final else NEED
            imei = int.from_bytes(buf[pos + 4 : pos + 12], "big")
            if not IMEI_MIN <= imei < IMEI_MAX:
                return 0
            # resync: protocol 5/6 and a Luhn-valid IMEI; in sync one of the two suffices,
            # so decode can still flag an odd protocol id or a bad check digit
            if (strong or length not in (5, 6)) and not luhn_ok(imei):
                return 0
            return spec.INIT_SIZE
        if cmd in (Command.START,):
            return 10 if length == 6 else 0
        if cmd in (Command.SYNC, Command.STATUS):
            return 8 if length == 4 else 0
        if cmd == Command.DATA:
            if length not in _DATA_LENGTHS:
                return 0
            if strong and length != MAX_DATA_LEN:
                return self._confirm(pos, 4 + length, final)
            return 4 + length
        if cmd == Command.METADATA:
            if length == 13:
                return self._metadata_quirk(pos, final)
            if length in (15, 26, 32, 40):  # ADAS, DSM, DualCam v3, v4
                return 4 + length
            if not 1 <= length <= MAX_METADATA_LEN:
                return 0
            if len(buf) - pos < 5:
                return 0 if final else NEED
            if buf[pos + 4] != 0x7B:  # JSON metadata starts with "{"
                return 0
            return self._confirm(pos, 4 + length, final) if strong else 4 + length
        if cmd == Command.PATH_RESPONSE:
            if not 1 <= length <= MAX_TEXT_LEN:
                return 0
            text = self._text_ok(pos + 4, length, final)
            if text != 1:
                return text
            return self._confirm(pos, 4 + length, final) if strong else 4 + length
        # ENHANCED_DATA
        if not 7 <= length <= MAX_ENHANCED_LEN:
            return 0
        return self._confirm(pos, 4 + length, final) if strong else 4 + length

    def _metadata_quirk(self, pos: int, final: bool) -> int:
        """13-byte METADATA: take the stray framerate byte after it when one is there."""
        buf = self._buf
        end = pos + 17
        if len(buf) <= end:
            return 17 if final else NEED
        if buf[end] != 0:
            return 18  # every command starts with 00: a non-zero byte is the stray framerate
        here = self._length(end, strong=False, final=final)
        if here == NEED:
            return NEED
        if here > 0:
            return 17
        after = self._length(end + 1, strong=False, final=final)
        if after == NEED:
            return NEED
        return 18 if after > 0 else 17

    def _server_length(self, pos: int, cmd: int, *, strong: bool, final: bool) -> int:
        buf = self._buf
        avail = len(buf) - pos
        if cmd in (Command.INIT_OR_CLOSE, Command.REPEAT_INIT, Command.STATUS):
            if avail < 4:
                if avail == 2:
                    return 2  # bare, at the end of what the server sent so far
                return 2 if final else NEED
            length: int = spec.U16.unpack_from(buf, pos + 2)[0]
            if cmd == Command.STATUS:
                if length == 4:
                    return 8
            elif length == 0:
                return 4
            return self._confirm(pos, 2, final)  # bare: only if a command follows
        if avail < 4:
            return 0 if final else NEED
        length = spec.U16.unpack_from(buf, pos + 2)[0]
        if cmd == Command.RESUME:
            return 8 if length == 4 else 0
        if cmd == Command.PATH_REQUEST:
            if length == 2:
                return 6
            if strong or length > 4:
                return 0
            return 4 + length
        # FILE_REQUEST, METADATA_REQUEST
        low = 1 if cmd == Command.FILE_REQUEST else 0
        if not low <= length <= MAX_TEXT_LEN:
            return 0
        text = self._text_ok(pos + 4, length, final)
        if text != 1:
            return text
        if strong and length != 7:
            return self._confirm(pos, 4 + length, final)
        return 4 + length

    def _text_ok(self, start: int, length: int, final: bool) -> int:
        """1 if ``length`` bytes at ``start`` are printable ASCII (NUL-padded); 0; or NEED."""
        if len(self._buf) < start + length:
            return 0 if final else NEED
        text = bytes(self._buf[start : start + length]).rstrip(b"\x00")
        return 0 if text.translate(None, _PRINTABLE) else 1

    def _confirm(self, pos: int, length: int, final: bool) -> int:
        """Accept a weak header only if a plausible header (or the end) follows it."""
        end = pos + length
        if len(self._buf) == end and final:
            return length
        if len(self._buf) < end + 1:
            return 0 if final else NEED
        after = self._length(end, strong=False, final=final)
        if after == NEED:
            return NEED
        return length if after > 0 else 0


class DualCamDeviceFramer(DualCamFramer):
    """The device direction, which can also hand DATA frames over in runs (``PieceFramer``):
    its framing does not depend on the chunking (the server's bare commands do). Runs come
    from ``feed_pieces`` only: a chunk carries about one DATA frame, so chunk by chunk a run
    would hold one frame and save nothing."""

    __slots__ = ("header_runs",)

    def __init__(self, link: Link, direction: Direction) -> None:
        super().__init__(link, direction)
        self.header_runs = False
        """Hand consecutive complete DATA frames over as one ``FrameRun`` (bulk mode)."""

    def feed_pieces(self, pieces: Sequence[Piece]) -> Iterator[Frame | Junk | FrameRun]:
        """``feed`` of each piece in turn, in one call."""
        out: list[Frame | Junk | FrameRun] = []
        buf = self._buf
        add_time = self._times.add
        base = self._base
        for piece in pieces:  # what ``_add`` does, without a call per chunk
            data = piece.data
            if data:
                add_time(base + len(buf), piece.time_ns)
                buf += data
        self._drain(out, final=False, runs=self.header_runs)
        self._compact()
        return iter(out)


def new_framer(link: Link, direction: Direction) -> DualCamFramer:
    """A framer for one direction of a DualCam link."""
    if direction is Direction.FROM_DEVICE:
        return DualCamDeviceFramer(link, direction)
    return DualCamFramer(link, direction)
