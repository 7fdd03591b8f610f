"""The hot loop from capture records to source events.

Almost every packet of a capture is an in-order TCP segment (or a pure ACK) on an established
connection, in an untagged Ethernet frame with an IPv4 header without options. For those,
``tcp_events`` reads the headers straight from the reader's buffer with one precompiled
``struct``, finds the stream, and delivers the payload as a ``Chunk``: one copy of the
payload, no intermediate ``Segment``, no per-packet lists. Any other packet (another link
type, VLAN tags, IPv6, UDP, IP options or fragments, SYN/FIN/RST, out-of-order data, an ACK
past a hole, a connection closed or waiting for acknowledged bytes, an unknown connection)
goes through the general path, ``PacketDecoder.decode`` then ``Reassembler.feed``, which is
also the reference this loop is tested against (``tests/sniffer/test_fast_path.py``): both
give the same events and statistics.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator

from sniffer.sources.base import Chunk, Event, LinkInfo, Side
from sniffer.sources.packets import (
    ETHERTYPE_IPV4,
    LINKTYPE_ETHERNET,
    PROTO_TCP,
    PacketDecoder,
)
from sniffer.sources.pcap_file import Record
from sniffer.sources.tcp_reassembly import (
    ACK,
    MAX_ACK_JUMP,
    RECENT_LIMIT,
    RECENT_PIECES,
    SLOW_FLAGS,
    WRAP,
    Connection,
    Reassembler,
    Stream,
    trim_recent,
)

ETH_IPV4_TCP = struct.Struct("!12xHBxH2xHxB2x12sIIBB")
"""Ethernet type, IPv4 (version/IHL, total length, fragment word, protocol), the addresses and
ports as on the wire (IPv4 source and destination, TCP source and destination ports: 12
bytes, the key of the connection cache), then TCP seq, ack, data offset and flags, assuming
a 20-byte IPv4 header."""
MIN_FRAME = ETH_IPV4_TCP.size
MAX_CACHED = 1024
"""Connection cache entries allowed beyond twice the reassembler's connection count."""


def tcp_events(
    records: Iterable[Record], decoder: PacketDecoder, reassembler: Reassembler
) -> Iterator[Event]:
    """The events of ``records`` in capture order (the caller calls ``reassembler.finish``)."""
    unpack = ETH_IPV4_TCP.unpack_from
    connections = reassembler.tcp_connections
    cache: dict[bytes, tuple[Connection, Side, Stream, Stream, LinkInfo]] = {}
    """By the raw 12-byte address key (no 4-tuple to build): the connection, the side that
    sends on that key, its stream, the other stream and the link. An entry is refreshed
    whenever its packets take the general path, which they all do once the connection is
    ``slow`` (closed: it may be replaced by a new one on the same 4-tuple)."""
    decode = decoder.decode
    feed = reassembler.feed
    stats = decoder.stats
    fast = 0
    """Packets taken by the fast path, not yet added to ``stats``."""
    time_ns = None
    try:
        for time_ns, linktype, buf, start, end in records:
            key = None
            if linktype == LINKTYPE_ETHERNET and end - start >= MIN_FRAME:
                (ethertype, ver_ihl, total, frag, proto, addresses, seq, ack, off,
                 flags) = unpack(buf, start)  # fmt: skip
                if (
                    ver_ihl == 0x45
                    and proto == PROTO_TCP
                    and ethertype == ETHERTYPE_IPV4
                    and not frag & 0x3FFF
                    and off >= 0x50
                ):
                    key = addresses
                    found = cache.get(addresses)
                    stop = start + 14 + total
                    first = start + 34 + (off >> 4) * 4
                    if found is not None and flags & SLOW_FLAGS == ACK and first <= stop <= end:
                        conn, side, stream, other, info = found
                        base = stream.base
                        other_base = other.base
                        if (
                            not conn.slow
                            and base is not None
                            and (
                                other_base is None
                                or not 0
                                < (ack - other_base - other.delivered) % WRAP
                                <= MAX_ACK_JUMP
                            )
                        ):
                            if first == stop:  # a pure ACK that acknowledges no hole
                                fast += 1
                                continue
                            if not stream.pending and (seq - base - stream.delivered) % WRAP == 0:
                                fast += 1
                                payload = buf[first:stop]
                                delivered = stream.delivered + stop - first
                                stream.delivered = delivered
                                recent = stream.recent  # remember(stream, payload), inlined
                                recent.append(payload)
                                if (
                                    delivered - stream.recent_start > RECENT_LIMIT
                                    or len(recent) > RECENT_PIECES
                                ):
                                    trim_recent(stream)
                                yield Chunk(info, side, time_ns, payload)
                                continue
            segment = decode(linktype, buf[start:end])
            if segment is None:
                continue
            events = feed(time_ns, segment)
            if key is not None:
                entry = connections.get((segment.src, segment.sport, segment.dst, segment.dport))
                if entry is None:
                    cache.pop(key, None)
                else:
                    if len(cache) > 2 * len(connections) + MAX_CACHED:
                        cache.clear()
                    conn, side = entry
                    cache[key] = (conn, side, conn.streams[side], conn.streams[1 - side], conn.info)
            yield from events
    finally:
        stats.packets += fast
        stats.tcp += fast
        if time_ns is not None:
            reassembler.last_time = time_ns
