"""A streaming reader for pcap and pcapng capture files, hand-written with ``struct``.

Supported: classic pcap with microsecond and nanosecond magics in both byte orders (and the
Kuznetzov "modified" variant); pcapng with Section Header, Interface Description (each interface
its own link type, ``if_tsresol`` and ``if_tsoffset``), Enhanced, Simple and the obsolete Packet
Blocks, both byte orders and several sections per file. Other blocks (name resolution,
statistics, decryption secrets, custom) are skipped.

Why not scapy: ``RawPcapNgReader`` parses each block through several Python method calls and
builds a metadata namedtuple per packet (about 4x slower here, see ``benchmarks/bench_pcap.py``);
it also reads a block at a time with a ``read`` call each. This reader refills a 1 MiB buffer
and walks it with precompiled ``struct.Struct.unpack_from``, yielding plain tuples, so memory
stays bounded by the buffer size and the largest packet, whatever the file size.

A truncated or corrupt file yields every packet before the damage, then raises ``SourceError``
with a one-line message naming the byte offset and the packet number.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, NamedTuple, Protocol, cast

from sniffer.sources.base import SourceError

Packet = tuple[int, int, bytes]
"""``(time_ns, linktype, data)``: one captured packet (data as captured, maybe snapped)."""

Record = tuple[int, int, bytes, int, int]
"""``(time_ns, linktype, buffer, start, end)``: a packet left in the read buffer, not copied:
its data is ``buffer[start:end]``."""


class PacketMeta(NamedTuple):
    """A packet with its pcapng metadata (``packets_with_meta``)."""

    time_ns: int
    linktype: int
    data: bytes
    interface: int
    """Index into ``CaptureReader.interfaces`` (over all sections of the file)."""
    flags: int | None
    """The ``epb_flags`` word (bits 0-1: 1 inbound, 2 outbound), when present."""
    comment: str | None
    orig_len: int


@dataclass(frozen=True, slots=True)
class Interface:
    """One capture interface: pcap has one, pcapng one per Interface Description Block."""

    linktype: int
    name: str = ""
    description: str = ""


Progress = Callable[[int, int], None]
"""Called as ``progress(bytes_read, total_bytes)`` after each buffer refill and at the end."""

Format = Literal["pcap", "pcapng"]

CHUNK_SIZE = 1 << 16
MAX_PACKET = 256 << 20
"""Larger captured lengths are treated as corruption, not as a reason to allocate."""
MAX_TIME_NS = 2**63 - 1
"""Packet times are signed 64-bit nanoseconds (JSON output cannot write larger integers): a
later pcapng timestamp (after 2262) is corruption. Classic pcap times cannot get there."""
MAX_TIME_OFFSET_NS = 2**62
"""Bound on a pcapng interface's time offset either way: with it, only a packet's ticks can
take its time out of the signed 64-bit range (upwards)."""

PCAP_MAGICS: dict[bytes, tuple[str, int, int]] = {
    # first four bytes -> (byte order, fraction unit in ns, record header size)
    b"\xd4\xc3\xb2\xa1": ("<", 1000, 16),
    b"\xa1\xb2\xc3\xd4": (">", 1000, 16),
    b"\x4d\x3c\xb2\xa1": ("<", 1, 16),
    b"\xa1\xb2\x3c\x4d": (">", 1, 16),
    b"\x34\xcd\xb2\xa1": ("<", 1000, 24),  # Kuznetzov's modified pcap: 8 extra bytes per record
    b"\xa1\xb2\xcd\x34": (">", 1000, 24),
}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"

BLOCK_SHB = 0x0A0D0D0A
BLOCK_IDB = 1
BLOCK_PB = 2
BLOCK_SPB = 3
BLOCK_EPB = 6
OPT_IF_TSRESOL = 9
OPT_IF_TSOFFSET = 14
OPT_COMMENT = 1
OPT_IF_NAME = 2
OPT_IF_DESCRIPTION = 3
OPT_EPB_FLAGS = 2


def detect_format(head: bytes) -> Format | None:
    """``pcap`` or ``pcapng`` from a file's first four bytes, or None."""
    if head[:4] == PCAPNG_MAGIC:
        return "pcapng"
    if head[:4] in PCAP_MAGICS:
        return "pcap"
    return None


class PcapLayout(NamedTuple):
    """How a classic pcap file writes its records."""

    header_size: int
    """16, or 24 in Kuznetzov's modified pcap."""
    big_endian: bool
    unit: int
    """Nanoseconds per unit of the time fraction (1000 for microseconds, or 1)."""
    linktype: int


InterfaceTicks = tuple[int, int, int, int, int]
"""A pcapng interface: (linktype, multiplier, divisor, offset_ns) turning its ticks into ns
(``ticks * multiplier // divisor + offset_ns``), and its index in
``CaptureReader.interfaces``."""


class PcapngLayout(NamedTuple):
    """How the current pcapng section writes its packet blocks."""

    big_endian: bool
    interfaces: tuple[InterfaceTicks, ...]
    """The section's interfaces so far."""


class RecordTaker(Protocol):
    """Takes whole records straight from the read buffer (``fast_path.FastPath``):
    ``records`` calls it after each block or record it read, with the buffer and the position
    of the next one; it returns the position after the records it took, how many it took
    (and for pcapng the time of the last packet, which a Simple Packet Block takes)."""

    def pcap(self, buf: bytes, pos: int, layout: PcapLayout) -> tuple[int, int]: ...

    def pcapng(
        self, buf: bytes, pos: int, layout: PcapngLayout, last_time: int
    ) -> tuple[int, int, int]: ...


class _Section:
    """Per-section pcapng state: byte order and the interfaces defined so far."""

    __slots__ = ("big_endian", "block", "epb", "interfaces", "opt", "pb", "u32", "u64")

    def __init__(self, order: str) -> None:
        self.big_endian = order == ">"
        self.block = struct.Struct(order + "II")
        self.epb = struct.Struct(order + "IIIII")
        self.pb = struct.Struct(order + "HHIIII")
        self.u32 = struct.Struct(order + "I")
        self.u64 = struct.Struct(order + "q")
        self.opt = struct.Struct(order + "HH")
        self.interfaces: list[InterfaceTicks] = []


def _tsresol_factors(code: int) -> tuple[int, int]:
    """(multiplier, divisor) that turn timestamp ticks into nanoseconds."""
    if code & 0x80:  # 2**-n seconds
        return 1_000_000_000, 1 << (code & 0x7F)
    if code <= 9:
        return 10 ** (9 - code), 1
    return 1, 10 ** (code - 9)


class CaptureReader:
    """Streams the packets of one pcap or pcapng file in file order.

    Args:
        path: the file (only its name, when ``fileobj`` is given).
        progress: optional ``progress(bytes_read, total)`` callback for progress bars.
        chunk_size: read size; memory use is about this plus the largest packet.
        fileobj: an already open binary stream to read instead (a pipe from a capture tool).

    Raises:
        SourceError: the file is missing, unreadable, or not a pcap/pcapng file.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        progress: Progress | None = None,
        chunk_size: int = CHUNK_SIZE,
        fileobj: IO[bytes] | None = None,
    ) -> None:
        self.path = Path(path)
        self.progress = progress
        self.chunk_size = chunk_size
        self.packets_read = 0
        """Packets yielded so far."""
        self.interfaces: list[Interface] = []
        """Interfaces seen so far (pcap: the one; pcapng: every IDB of every section)."""
        try:
            if fileobj is None:
                # unbuffered: each read lands straight in the bytes object the packets are cut from
                fileobj = open(self.path, "rb", buffering=0)  # noqa: SIM115 - closed by close()
            self._file: IO[bytes] = fileobj
            self._read_some: Callable[[int], bytes] = getattr(fileobj, "read1", fileobj.read)
            """One read of up to n bytes (``read1`` of a buffered stream, a raw ``read``)."""
            self.total = os.fstat(self._file.fileno()).st_size
        except FileNotFoundError:
            raise SourceError(f"{self.path}: no such file") from None
        except IsADirectoryError:
            raise SourceError(f"{self.path}: is a directory, not a capture file") from None
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot open: {exc.strerror or exc}") from None
        head = self._read_at_least(4)
        fmt = detect_format(head)
        if fmt is None:
            self._file.close()
            what = "empty" if not head else f"starts with {head.hex(' ')}"
            raise SourceError(f"{self.path} is not a pcap or pcapng file ({what})")
        self.format: Format = fmt
        self._head = head
        """Bytes read to detect the format, handed to the first ``_read``: no seek, so pipes
        (``/dev/stdin``) work too."""
        self._offset = len(head)

    def _read_at_least(self, size: int) -> bytes:
        """``size`` bytes, or fewer at end of file (pipes may return short reads)."""
        data = b""
        while len(data) < size:
            try:
                more = self._read_some(size - len(data))
            except OSError as exc:
                raise SourceError(f"{self.path}: read failed: {exc.strerror or exc}") from None
            if not more:
                break
            data += more
        return data

    def close(self) -> None:
        """Close the file (idempotent)."""
        self._file.close()

    @property
    def linktypes(self) -> list[int]:
        """The link type of each interface seen so far."""
        return [interface.linktype for interface in self.interfaces]

    def packets(self) -> Iterator[Packet]:
        """Yield ``(time_ns, linktype, data)`` per packet; raise SourceError on damage."""
        for time_ns, linktype, buf, start, end in self.records():
            yield (time_ns, linktype, buf[start:end])

    def records(self) -> Iterator[Record]:
        """Like ``packets`` without copying each packet out of the read buffer (faster)."""
        return cast(Iterator[Record], self.take_records(None))

    def take_records(self, taker: RecordTaker | None) -> Iterator[Record | None]:
        """Like ``records``, with ``taker`` taking what it can from the buffer after each
        record or block: those records are counted, not yielded, and None is yielded after
        each call that took some (its caller can act on them before the reader waits for
        more data, as it may on a pipe)."""
        try:
            if self.format == "pcap":
                yield from self._pcap(taker)
            else:
                yield from cast(Iterator[Record | None], self._pcapng(meta=False, taker=taker))
        finally:
            self.close()

    def packets_with_meta(self) -> Iterator[PacketMeta]:
        """Like ``packets`` with interface, EPB flags and comment (slower: parses options)."""
        try:
            if self.format == "pcap":
                for time_ns, linktype, buf, start, end in self.records():
                    yield PacketMeta(time_ns, linktype, buf[start:end], 0, None, None, end - start)
            else:
                yield from cast(Iterator[PacketMeta], self._pcapng(meta=True, taker=None))
        finally:
            self.close()

    def _read(self, size: int) -> bytes:
        try:
            # read1: whatever one read returns (up to size), so packets from a live pipe are
            # yielded as they arrive instead of when a whole buffer has filled
            data = self._read_some(size)
        except OSError as exc:
            raise SourceError(f"{self.path}: read failed: {exc.strerror or exc}") from None
        self._offset += len(data)
        if self._head:
            data = self._head + data
            self._head = b""
        if self.progress is not None:
            self.progress(self._offset, self.total)
        return data

    def _refill(
        self, buf: bytes, pos: int, base: int, need: int, what: str
    ) -> tuple[bytes, int] | None:
        """The next buffer and its file offset, when ``buf[pos:]`` holds less than the ``need``
        bytes its next record takes.

        A record cut by the end of ``buf`` is completed with a read of just its rest, so that
        the next full-size read becomes the buffer as it is instead of being copied behind
        the leftover. Returns None at a clean end of file; raises at a truncated record of
        kind ``what``.
        """
        left = len(buf) - pos
        more = self._read(need - left if left else max(self.chunk_size, need))
        if not more:
            if left:
                raise self._fail(base + pos, f"truncated {what} ({left} of {need} bytes present)")
            return None
        return (buf[pos:] + more if left else more), base + pos

    def _fail(self, offset: int, what: str) -> SourceError:
        return SourceError(
            f"{self.path}: {what} at byte {offset} (packet {self.packets_read + 1}); "
            f"{self.packets_read} packets read before it"
        )

    # -- classic pcap -------------------------------------------------------------------------

    def _pcap(self, taker: RecordTaker | None) -> Iterator[Record | None]:
        buf = self._head + self._read_at_least(20)
        self._head = b""
        self._offset = len(buf)
        if len(buf) < 24:
            raise self._fail(len(buf), "truncated pcap file header")
        order, unit, rec_size = PCAP_MAGICS[buf[:4]]
        (_major, _minor, _zone, _sigfigs, _snaplen, network) = struct.unpack_from(
            order + "HHiIII", buf, 4
        )
        linktype = network & 0xFFFF
        self.interfaces.append(Interface(linktype))
        layout = PcapLayout(rec_size, order == ">", unit, linktype)
        unpack = struct.Struct(order + "IIII").unpack_from
        base = 0  # file offset of buf[0]
        pos = 24
        count = 0
        while True:
            n = len(buf)
            need = 0
            while pos + rec_size <= n:
                sec, frac, incl, _orig = unpack(buf, pos)
                start = pos + rec_size
                end = start + incl
                if end > n:
                    if incl > MAX_PACKET:
                        self.packets_read = count
                        raise self._fail(base + pos, f"corrupt pcap record (length {incl})")
                    need = end - pos
                    break
                count += 1
                yield (sec * 1_000_000_000 + frac * unit, linktype, buf, start, end)
                pos = end
                if taker is not None:
                    pos, taken = taker.pcap(buf, pos, layout)
                    if taken:
                        count += taken
                        yield None
            self.packets_read = count
            refilled = self._refill(buf, pos, base, need or rec_size, "pcap record")
            if refilled is None:
                return
            buf, base = refilled
            pos = 0

    # -- pcapng -------------------------------------------------------------------------------

    def _pcapng(
        self, *, meta: bool, taker: RecordTaker | None
    ) -> Iterator[Record | PacketMeta | None]:
        buf = self._read(self.chunk_size)
        base = 0
        pos = 0
        count = 0
        # until the first block, a Section Header Block, says the byte order: its type reads
        # the same in both, and its length is read again once the order is known
        section = _Section("<")
        block_unpack = section.block.unpack_from
        epb_unpack = section.epb.unpack_from
        u32_unpack = section.u32.unpack_from
        interfaces = section.interfaces
        layout: PcapngLayout | None = None  # for taker, made again after a SHB or IDB
        last_time = 0
        while True:
            n = len(buf)
            need = 0
            while pos + 12 <= n:
                btype, blen = block_unpack(buf, pos)
                if btype == BLOCK_SHB:
                    bom = buf[pos + 8 : pos + 12]
                    if bom == b"\x4d\x3c\x2b\x1a":
                        section = _Section("<")
                    elif bom == b"\x1a\x2b\x3c\x4d":
                        section = _Section(">")
                    else:
                        self.packets_read = count
                        raise self._fail(base + pos, "corrupt pcapng section header")
                    block_unpack = section.block.unpack_from
                    epb_unpack = section.epb.unpack_from
                    u32_unpack = section.u32.unpack_from
                    interfaces = section.interfaces
                    layout = None
                    btype, blen = block_unpack(buf, pos)
                if blen < 12 or blen & 3 or blen > MAX_PACKET:
                    self.packets_read = count
                    raise self._fail(base + pos, f"corrupt pcapng block (length {blen})")
                end = pos + blen
                if end > n:
                    need = blen
                    break
                if u32_unpack(buf, end - 4)[0] != blen:
                    self.packets_read = count
                    raise self._fail(base + pos, "corrupt pcapng block (trailing length differs)")
                if btype == BLOCK_EPB:
                    if blen < 32:
                        self.packets_read = count
                        raise self._fail(base + pos, "corrupt pcapng enhanced packet block")
                    iface, hi, lo, caplen, orig = epb_unpack(buf, pos + 8)
                    if caplen > blen - 32 or iface >= len(interfaces):
                        self.packets_read = count
                        raise self._fail(base + pos, "corrupt pcapng enhanced packet block")
                    linktype, mul, div, offset_ns, index = interfaces[iface]
                    ticks = (hi << 32) | lo
                    last_time = (ticks * mul if div == 1 else ticks * mul // div) + offset_ns
                    if last_time > MAX_TIME_NS:
                        self.packets_read = count
                        raise self._fail(base + pos, "pcapng timestamp after 2262")
                    count += 1
                    if meta:
                        flags, comment = _epb_options(
                            section, buf, pos + 28 + caplen + (-caplen & 3), end - 4
                        )
                        data = buf[pos + 28 : pos + 28 + caplen]
                        yield PacketMeta(last_time, linktype, data, index, flags, comment, orig)
                    else:
                        yield (last_time, linktype, buf, pos + 28, pos + 28 + caplen)
                elif btype == BLOCK_IDB:
                    self.packets_read = count
                    self._interface(section, buf, base + pos, pos, blen)
                    layout = None
                elif btype == BLOCK_SPB:
                    if not interfaces:
                        self.packets_read = count
                        raise self._fail(base + pos, "simple packet block before any interface")
                    orig = u32_unpack(buf, pos + 8)[0]
                    caplen = min(orig, blen - 16)
                    count += 1
                    linktype, index = interfaces[0][0], interfaces[0][4]
                    if meta:
                        data = buf[pos + 12 : pos + 12 + caplen]
                        yield PacketMeta(last_time, linktype, data, index, None, None, orig)
                    else:
                        yield (last_time, linktype, buf, pos + 12, pos + 12 + caplen)
                elif btype == BLOCK_PB:
                    if blen < 32:
                        self.packets_read = count
                        raise self._fail(base + pos, "corrupt pcapng packet block")
                    iface, _drops, hi, lo, caplen, orig = section.pb.unpack_from(buf, pos + 8)
                    if caplen > blen - 32 or iface >= len(interfaces):
                        self.packets_read = count
                        raise self._fail(base + pos, "corrupt pcapng packet block")
                    linktype, mul, div, offset_ns, index = interfaces[iface]
                    ticks = (hi << 32) | lo
                    last_time = ticks * mul // div + offset_ns
                    if last_time > MAX_TIME_NS:
                        self.packets_read = count
                        raise self._fail(base + pos, "pcapng timestamp after 2262")
                    count += 1
                    if meta:
                        data = buf[pos + 28 : pos + 28 + caplen]
                        yield PacketMeta(last_time, linktype, data, index, None, None, orig)
                    else:
                        yield (last_time, linktype, buf, pos + 28, pos + 28 + caplen)
                pos = end
                if taker is not None:
                    if layout is None:
                        layout = PcapngLayout(section.big_endian, tuple(interfaces))
                    pos, taken, last_time = taker.pcapng(buf, pos, layout, last_time)
                    if taken:
                        count += taken
                        yield None
            self.packets_read = count
            refilled = self._refill(buf, pos, base, need or 12, "pcapng block")
            if refilled is None:
                return
            buf, base = refilled
            pos = 0

    def _interface(self, section: _Section, buf: bytes, offset: int, pos: int, blen: int) -> None:
        """Parse an Interface Description Block's link type and timestamp options (the block
        is at file ``offset``, ``buf[pos]``)."""
        linktype = struct.unpack_from(section.opt.format[0] + "H", buf, pos + 8)[0]
        mul, div = 1000, 1  # default resolution: microseconds
        offset_ns = 0
        name = description = ""
        opt_pos = pos + 16
        end = pos + blen - 4
        while opt_pos + 4 <= end:
            code, length = section.opt.unpack_from(buf, opt_pos)
            value_pos = opt_pos + 4
            if code == 0:
                break
            if value_pos + length > end:
                break  # a bad option list: keep the defaults rather than fail the capture
            if code == OPT_IF_TSRESOL and length >= 1:
                mul, div = _tsresol_factors(buf[value_pos])
            elif code == OPT_IF_TSOFFSET and length >= 8:
                offset_ns = section.u64.unpack_from(buf, value_pos)[0] * 1_000_000_000
                if not -MAX_TIME_OFFSET_NS <= offset_ns <= MAX_TIME_OFFSET_NS:
                    raise self._fail(
                        offset, "corrupt pcapng interface description block (time offset)"
                    )
            elif code == OPT_IF_NAME:
                name = _text(buf[value_pos : value_pos + length])
            elif code == OPT_IF_DESCRIPTION:
                description = _text(buf[value_pos : value_pos + length])
            opt_pos = value_pos + length + (-length & 3)
        section.interfaces.append((linktype, mul, div, offset_ns, len(self.interfaces)))
        self.interfaces.append(Interface(linktype, name, description))


def _text(value: bytes) -> str:
    return value.rstrip(b"\0").decode("utf-8", "replace")


def _epb_options(
    section: _Section, buf: bytes, pos: int, end: int
) -> tuple[int | None, str | None]:
    """The ``epb_flags`` word and the first comment of an EPB's option list."""
    flags: int | None = None
    comment: str | None = None
    while pos + 4 <= end:
        code, length = section.opt.unpack_from(buf, pos)
        value = pos + 4
        if code == 0 or value + length > end:
            break
        if code == OPT_EPB_FLAGS and length == 4:
            flags = section.u32.unpack_from(buf, value)[0]
        elif code == OPT_COMMENT and comment is None:
            comment = _text(buf[value : value + length])
        pos = value + length + (-length & 3)
    return flags, comment
