"""The fast path's decision for one packet, and its loop over the records of a pcap buffer.

Almost every packet of a capture is an in-order TCP segment (or a pure ACK) on an established
connection, in an untagged Ethernet frame with an IPv4 header without options: ``take_packet``
takes those (updating the stream as ``Reassembler.feed`` would) and refuses anything else,
which then goes through the general path. ``fast_records`` applies it to the consecutive
records of a classic pcap buffer, ``fast_blocks`` to the consecutive packet blocks of a pcapng
one; both are C (``sniffer.sources._fast_path``) when it was built: ``fast_records_python``
and ``fast_blocks_python`` are their pure-Python twins, the fallback and the test oracle.

A connection is found by the 12 address bytes of its packets as on the wire (IPv4 source and
destination, TCP source and destination ports) in a cache the caller keeps (``fast_path``).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import NamedTuple

from sniffer.sources.base import LinkInfo, Side
from sniffer.sources.packets import ETHERTYPE_IPV4, LINKTYPE_ETHERNET, PROTO_TCP
from sniffer.sources.pcap_file import (
    BLOCK_EPB,
    BLOCK_SPB,
    MAX_PACKET,
    MAX_TIME_NS,
    MAX_TIME_OFFSET_NS,
    InterfaceTicks,
)
from sniffer.sources.tcp_reassembly import (
    ACK,
    MAX_ACK_JUMP,
    SLOW_FLAGS,
    WRAP,
    Connection,
    Stream,
    remember,
)

ETH_IPV4_TCP = struct.Struct("!12xHBxH2xHxB2x12sIIBB")
"""Ethernet type, IPv4 (version/IHL, total length, fragment word, protocol), the addresses and
ports as on the wire (IPv4 source and destination, TCP source and destination ports: 12
bytes, the key of the connection cache), then TCP seq, ack, data offset and flags, assuming
a 20-byte IPv4 header."""
MIN_FRAME = ETH_IPV4_TCP.size

Entry = tuple[Connection, Side, Stream, Stream, LinkInfo]
"""A connection cache entry: the connection, the side that sends on the key, its stream, the
other stream and the link."""
Cache = dict[bytes, Entry]


class Piece(NamedTuple):
    """One in-order payload and its packet's time (a ``dissectors.bulk.Piece``)."""

    data: bytes
    time_ns: int


Run = tuple[LinkInfo, Side, list[Piece]]
"""Consecutive payloads taken for one link side (pure ACKs between them take nothing): the
link and side of their cache entry, and the pieces (a ``base.PieceRun``)."""
Trim = Callable[[Stream], None]
FastRecords = Callable[
    [bytes, int, int, bool, int, Cache, Trim], tuple[int, int, list[Run], int | None]
]
KernelInterfaces = tuple[tuple[int, int], ...]
"""Per pcapng interface: (mul, offset_ns) turning an EPB's ticks into its time, mul 0 for an
interface whose packets ``fast_blocks`` does not take."""
FastBlocks = Callable[
    [bytes, int, bool, KernelInterfaces, int, Cache, Trim],
    tuple[int, int, list[Run], int],
]


def take_packet(cache: Cache, buf: bytes, start: int, end: int) -> tuple[Entry, bytes] | None:
    """Take the Ethernet frame ``buf[start:end]`` if it is a pure ACK that acknowledges no
    hole (empty payload) or the next payload of its stream (delivered: the stream counts and
    remembers it); None leaves it, untouched, to the general path."""
    if end - start < MIN_FRAME:
        return None
    (ethertype, ver_ihl, total, frag, proto, addresses, seq, ack, off,
     flags) = ETH_IPV4_TCP.unpack_from(buf, start)  # fmt: skip
    if not (
        ver_ihl == 0x45
        and proto == PROTO_TCP
        and ethertype == ETHERTYPE_IPV4
        and not frag & 0x3FFF
        and off >= 0x50
        and flags & SLOW_FLAGS == ACK
    ):
        return None
    found = cache.get(addresses)
    if found is None:
        return None
    stop = start + 14 + total
    first = start + 34 + (off >> 4) * 4
    if not first <= stop <= end:
        return None
    conn, _side, stream, other, _info = found
    base = stream.base
    if conn.slow or base is None:
        return None
    other_base = other.base
    if other_base is not None and (
        other.fin is not None  # an ACK past the FIN counts up to it: the general path decides
        or 0 < (ack - other_base - other.delivered) % WRAP <= MAX_ACK_JUMP
    ):
        return None  # acknowledges bytes not seen yet: the general path waits for them
    if first == stop:
        return found, b""
    if stream.pending or (seq - base - stream.delivered) % WRAP:
        return None
    payload = buf[first:stop]
    stream.delivered += stop - first
    remember(stream, payload)
    return found, payload


def fast_records_python(
    buf: bytes,
    pos: int,
    header_size: int,
    big_endian: bool,
    unit: int,
    cache: Cache,
    trim: Trim,
) -> tuple[int, int, list[Run], int | None]:
    """Take the Ethernet records of a classic pcap buffer from ``buf[pos]`` (a record header)
    while ``take_packet`` takes them; stop at the first record it refuses or that ``buf``
    does not hold whole.

    ``trim`` is ``tcp_reassembly.trim_recent`` (the C version calls it when a stream's
    retransmission memory is full). Returns the position of the first record not taken, how
    many were taken, their payloads by link side, and the time of the last one taken.
    """
    del trim  # take_packet calls remember, which trims
    record = struct.Struct((">" if big_endian else "<") + "IIII")
    total = len(buf)
    if not 0 <= pos <= total:
        raise ValueError("pos outside the buffer")
    taken = 0
    runs: list[Run] = []
    last_time: int | None = None
    while pos + header_size <= total:
        sec, frac, incl, _orig = record.unpack_from(buf, pos)
        start = pos + header_size
        end = start + incl
        if end > total:
            break
        took = take_packet(cache, buf, start, end)
        if took is None:
            break
        time_ns = sec * 1_000_000_000 + frac * unit
        _add_piece(runs, took, time_ns)
        taken += 1
        last_time = time_ns
        pos = end
    return pos, taken, runs, last_time


def fast_blocks_python(
    buf: bytes,
    pos: int,
    big_endian: bool,
    interfaces: KernelInterfaces,
    last_time: int,
    cache: Cache,
    trim: Trim,
) -> tuple[int, int, list[Run], int]:
    """Take the Enhanced and Simple Packet Blocks of a pcapng section's buffer from
    ``buf[pos]`` (a block header) while ``take_packet`` takes their frames.

    ``interfaces``: per interface of the section, ``(mul, offset_ns)`` turning an EPB's ticks
    into its time (``ticks * mul + offset_ns``), or ``mul`` 0 for an interface whose packets
    are not taken here; a Simple Packet Block (interface 0) has time ``last_time``. Stops at
    any other block, and at any block ``CaptureReader`` would refuse or not hold whole (it is
    the one to say why). Returns like ``fast_records_python``, ``last_time`` unchanged when
    nothing was taken.
    """
    del trim  # take_packet calls remember, which trims
    order = ">" if big_endian else "<"
    head = struct.Struct(order + "II").unpack_from
    enhanced = struct.Struct(order + "IIIII").unpack_from
    word = struct.Struct(order + "I").unpack_from
    total = len(buf)
    if not 0 <= pos <= total:
        raise ValueError("pos outside the buffer")
    if any(mul < 0 or abs(offset_ns) > MAX_TIME_OFFSET_NS for mul, offset_ns in interfaces):
        raise ValueError("not an interface's (mul, offset_ns)")
    taken = 0
    runs: list[Run] = []
    while pos + 12 <= total:
        btype, blen = head(buf, pos)
        end = pos + blen
        if (
            blen < 12
            or blen & 3
            or blen > MAX_PACKET
            or end > total
            or word(buf, end - 4)[0] != blen
        ):
            break
        if btype == BLOCK_EPB:
            if blen < 32:
                break
            iface, high, low, caplen, _orig = enhanced(buf, pos + 8)
            if caplen > blen - 32 or iface >= len(interfaces):
                break
            mul, offset_ns = interfaces[iface]
            ticks = (high << 32) | low
            if mul == 0 or ticks > MAX_TIME_NS // mul:
                break
            time_ns = ticks * mul + offset_ns
            if time_ns > MAX_TIME_NS:
                break
            start = pos + 28
            stop = start + caplen
        elif btype == BLOCK_SPB:
            if blen < 16 or not interfaces or interfaces[0][0] == 0:
                break
            time_ns = last_time
            start = pos + 12
            stop = start + min(word(buf, pos + 8)[0], blen - 16)
        else:
            break
        took = take_packet(cache, buf, start, stop)
        if took is None:
            break
        _add_piece(runs, took, time_ns)
        taken += 1
        last_time = time_ns
        pos = end
    return pos, taken, runs, last_time


def kernel_interfaces(interfaces: Iterable[InterfaceTicks]) -> KernelInterfaces:
    """``fast_blocks``'s view of a section's interfaces: Ethernet interfaces whose ticks are
    a whole number of nanoseconds (if_tsresol 10**-n, n <= 9) are taken."""
    return tuple(
        (mul, offset_ns) if linktype == LINKTYPE_ETHERNET and div == 1 else (0, 0)
        for linktype, mul, div, offset_ns, _index in interfaces
    )


def _add_piece(runs: list[Run], took: tuple[Entry, bytes], time_ns: int) -> None:
    """Add a taken packet's payload (if any) to the runs: consecutive payloads of one cache
    entry (link side) make one run."""
    entry, payload = took
    if not payload:
        return
    info, side = entry[4], entry[1]
    if runs and runs[-1][0] is info and runs[-1][1] is side:
        runs[-1][2].append(Piece(payload, time_ns))
    else:
        runs.append((info, side, [Piece(payload, time_ns)]))


_fast_path: ModuleType | None
try:
    from sniffer.sources import _fast_path
except ImportError:  # pragma: no cover - exercised where no compiler was available
    _fast_path = None

if _fast_path is not None:
    _fast_path.bind_slots(Stream, Connection)

HAVE_C = _fast_path is not None
"""Whether the C kernel was built (``setup.py``, optional)."""
fast_records: FastRecords = (
    _fast_path.fast_records if _fast_path is not None else fast_records_python
)
fast_blocks: FastBlocks = _fast_path.fast_blocks if _fast_path is not None else fast_blocks_python
