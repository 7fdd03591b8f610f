"""The hot loop from capture records to source events.

Almost every packet of a capture is an in-order TCP segment (or a pure ACK) on an established
connection: ``fast_packets.take_packet`` takes those straight from the reader's buffer, and
the reader hands its buffer to a kernel (C when built) after each record it reads, which walks
the following records itself (``fast_packets.fast_records`` for classic pcap,
``fast_blocks`` for pcapng), taking every packet it can in one call. Any other packet
(another link type, VLAN tags, IPv6, UDP, IP options or fragments, SYN/FIN/RST, out-of-order
data, an ACK past a hole, a connection closed or waiting for acknowledged bytes, an unknown
connection) goes through the general path, ``PacketDecoder.decode`` then
``Reassembler.feed``, which is also the reference this loop is tested against
(``tests/sniffer/test_fast_path.py``): both give the same events and statistics.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from sniffer.sources.base import Chunk, ChunkRuns, Event, SourceError
from sniffer.sources.fast_packets import (
    Cache,
    KernelInterfaces,
    Run,
    fast_blocks,
    fast_records,
    kernel_interfaces,
    take_packet,
)
from sniffer.sources.packets import LINKTYPE_ETHERNET, PROTO_TCP, PacketDecoder
from sniffer.sources.pcap_file import CaptureReader, PcapLayout, PcapngLayout
from sniffer.sources.tcp_reassembly import Reassembler, trim_recent

MAX_CACHED = 1024
"""Connection cache entries allowed beyond twice the reassembler's connection count."""
PORTS = struct.Struct("!HH")


class FastPath:
    """Records in, events out: the fast path where it applies, the general path elsewhere.

    The caller calls ``reassembler.finish`` after the events.
    """

    def __init__(self, decoder: PacketDecoder, reassembler: Reassembler) -> None:
        self.decoder = decoder
        self.reassembler = reassembler
        self.cache: Cache = {}
        """By the raw 12-byte address key (see ``fast_packets``). An entry is refreshed
        whenever its packets take the general path, which they all do once the connection is
        ``slow`` (closed: it may be replaced by a new one on the same 4-tuple)."""
        self.fast = 0
        """Packets taken by the fast path, not yet added to the decoder's statistics."""
        self.last_time: int | None = None
        self.taken: list[Run] = []
        """Payloads the kernel took from the reader's buffer, not yet given as events."""
        self._layout: PcapngLayout | None = None
        self._interfaces: KernelInterfaces = ()
        """The kernel's (mul, offset_ns) per interface of ``_layout`` (``pcapng``)."""

    def events(self, reader: CaptureReader, *, runs: bool = False) -> Iterator[Event | ChunkRuns]:
        """The events of the reader's records; with ``runs``, the payloads the kernel takes
        in one call come as one ``ChunkRuns`` instead of one ``Chunk`` each. A
        ``SourceError`` comes after the events of every record before it."""
        taken = self.taken
        try:
            for record in reader.take_records(self):
                if taken:
                    yield from self._taken_events(runs)
                if record is not None:
                    yield from self._one(*record)
        except SourceError:
            yield from self._taken_events(runs)
            raise
        finally:
            self._done()
        yield from self._taken_events(runs)

    def pcap(self, buf: bytes, pos: int, layout: PcapLayout) -> tuple[int, int]:
        """``RecordTaker.pcap``: the kernel over a classic pcap buffer."""
        if not self.cache or layout.linktype != LINKTYPE_ETHERNET:
            return pos, 0
        header_size, big_endian, unit, _linktype = layout
        pos, count, runs, last_time = fast_records(
            buf, pos, header_size, big_endian, unit, self.cache, trim_recent
        )
        if count:
            self.fast += count
            self.last_time = last_time
            self.taken += runs
        return pos, count

    def pcapng(
        self, buf: bytes, pos: int, layout: PcapngLayout, last_time: int
    ) -> tuple[int, int, int]:
        """``RecordTaker.pcapng``: the kernel over a pcapng buffer, for the packets of
        Ethernet interfaces whose ticks are a whole number of nanoseconds."""
        if not self.cache:
            return pos, 0, last_time
        if layout is not self._layout:
            self._layout = layout
            self._interfaces = kernel_interfaces(layout.interfaces)
        pos, count, runs, last_time = fast_blocks(
            buf, pos, layout.big_endian, self._interfaces, last_time, self.cache, trim_recent
        )
        if count:
            self.fast += count
            self.last_time = last_time
            self.taken += runs
        return pos, count, last_time

    def _taken_events(self, runs: bool) -> Iterator[Event | ChunkRuns]:
        taken = self.taken[:]
        self.taken.clear()
        if not taken:
            return
        if runs:
            yield ChunkRuns(taken)
        else:
            for info, side, pieces in taken:
                for data, time_ns in pieces:
                    yield Chunk(info, side, time_ns, data)

    def _one(self, time_ns: int, linktype: int, buf: bytes, start: int, end: int) -> list[Event]:
        """The events of one record."""
        if linktype == LINKTYPE_ETHERNET and self.cache:
            took = take_packet(self.cache, buf, start, end)
            if took is not None:
                self.fast += 1
                self.last_time = time_ns
                entry, payload = took
                return [Chunk(entry[4], entry[1], time_ns, payload)] if payload else []
        return self._general(time_ns, linktype, buf, start, end)

    def _general(
        self, time_ns: int, linktype: int, buf: bytes, start: int, end: int
    ) -> list[Event]:
        self.last_time = time_ns
        segment = self.decoder.decode(linktype, buf[start:end])
        if segment is None:
            return []
        reassembler = self.reassembler
        events = reassembler.feed(time_ns, segment)
        src, sport, dst, dport = segment.src, segment.sport, segment.dst, segment.dport
        if len(src) == 4 and segment.transport == PROTO_TCP and linktype == LINKTYPE_ETHERNET:
            connections = reassembler.tcp_connections
            key = src + dst + PORTS.pack(sport, dport)
            cache = self.cache
            entry = connections.get((src, sport, dst, dport))
            if entry is None:
                cache.pop(key, None)
            else:
                if len(cache) > 2 * len(connections) + MAX_CACHED:
                    cache.clear()
                conn, side = entry
                cache[key] = (conn, side, conn.streams[side], conn.streams[1 - side], conn.info)
        return events

    def _done(self) -> None:
        stats = self.decoder.stats
        stats.packets += self.fast
        stats.tcp += self.fast
        self.fast = 0
        if self.last_time is not None:
            self.reassembler.last_time = self.last_time
