"""TCP stream reassembly and UDP flows: decoded segments in, source events out.

Each TCP connection (by its 4-tuple) becomes one ``Link``; side A is the client (the SYN
sender, the receiver of a SYN/ACK when the SYN was missed, else the first sender). Bytes are
delivered in sequence order as ``Chunk`` events:

* out-of-order segments wait in a per-direction buffer (``max_buffer`` bytes); when it
  overflows, the hole before the buffered data is declared lost;
* retransmitted bytes are dropped; where a retransmission disagrees with bytes already seen,
  the first-seen bytes win and ``overlaps_conflicting`` is counted;
* a hole that will never fill becomes ``Gap(length)`` followed by the data after it: when the
  peer has acknowledged beyond the hole and the bytes still have not shown up ``ACK_WAIT_NS``
  of capture time or ``ACK_WAIT_PACKETS`` packets of the connection later (a capture may
  record an ACK just before the data it acknowledges), when the buffer bound is hit, and at
  FIN/RST or the end of the capture;
* sequence numbers are unwrapped against the next expected byte, so 2**32 wrap-around works;
* FIN from both sides or RST ends the link (``LinkClosed``); links still open at the end of the
  capture get ``LinkClosed(reason="end of capture")``; a new SYN on a 4-tuple (closed, or
  open with another ISN: ``replaced by a new connection``), or data far from where the old
  stream ended, opens a new link (port reuse); closed connections are forgotten after
  ``CLOSED_KEEP_NS`` of capture time;
* a capture that starts mid-connection (no SYN) starts each stream at its first data segment.

Each UDP datagram becomes one ``Chunk`` on a ``udp`` link keyed by the address pair (side A is
the first sender). Link ids are given out from 1 in order of first sight, shared by TCP and UDP.

Times: a chunk delivered straight away carries its packet's timestamp; data released from the
out-of-order buffer, and gaps, carry the time of the packet that released them (when the bytes
became readable), so event times never go backwards.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, fields

from dissectors.api import Link
from sniffer.sources.base import Chunk, Event, Gap, LinkClosed, LinkInfo, Side, Transport
from sniffer.sources.packets import PROTO_TCP, Segment, format_endpoint

FIN = 0x01
SYN = 0x02
RST = 0x04
ACK = 0x10

MAX_BUFFER = 4 << 20
"""Default bound on out-of-order bytes held per direction."""
RECENT = 16 << 10
"""Delivered bytes kept per direction (up to twice this) to compare retransmissions against."""
CLOSED_KEEP_NS = 120_000_000_000
"""How long a closed connection is remembered to absorb its late ACKs and retransmissions
(Linux TIME_WAIT is 60 s); then it is forgotten, so memory stays bounded on long captures."""
MAX_ACK_JUMP = 1 << 30
"""An ACK further than this beyond the delivered data is not trusted to declare a gap."""
ACK_WAIT_NS = 50_000_000
ACK_WAIT_PACKETS = 16
"""How long acknowledged bytes not seen yet are waited for before they become a gap: this much
capture time or this many packets of the connection, whichever comes first."""

OLD_WINDOW_BEFORE = 16 << 20
OLD_WINDOW_AFTER = 1 << 20
"""Data on a closed 4-tuple this close to the old stream's end is a leftover, not a new link."""

SLOW_FLAGS = SYN | FIN | RST | ACK
"""Flags that matter to reassembly; a segment with only ACK of them may take a fast path."""
WRAP = 1 << 32
HALF = 1 << 31
RECENT_LIMIT = 2 * RECENT
"""Delivered bytes kept per direction before ``trim_recent`` cuts them back to ``RECENT``."""
RECENT_PIECES = 64
"""Delivered payloads kept per direction before ``trim_recent`` joins them (tiny segments)."""

Key = tuple[bytes, int, bytes, int]


@dataclass(slots=True)
class ReassemblyStats:
    """Counters for ``stats`` output and tests."""

    tcp_links: int = 0
    udp_links: int = 0
    retransmissions: int = 0
    """Segments whose bytes (some or all) had already been seen."""
    overlaps_conflicting: int = 0
    """Retransmissions or overlaps whose bytes differ from the first-seen ones."""
    out_of_order: int = 0
    gaps: int = 0
    gap_bytes: int = 0
    buffer_overflows: int = 0
    ignored: int = 0
    """Segments that belong to no stream (ACKs after close, retransmissions before the start)."""

    def as_dict(self) -> dict[str, int]:
        """The counters by name, for statistics output."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Stream:
    """One direction of a TCP connection."""

    __slots__ = (
        "acked",
        "acked_packets",
        "acked_time",
        "base",
        "delivered",
        "fin",
        "pending",
        "pending_bytes",
        "pending_starts",
        "recent",
        "recent_start",
    )

    def __init__(self) -> None:
        self.base: int | None = None
        """Sequence number of stream offset 0 (ISN + 1); None until the first SYN or data."""
        self.delivered = 0
        """Stream offset of the next byte to deliver."""
        self.fin: int | None = None
        """Stream offset of the FIN, once seen."""
        self.pending: dict[int, tuple[bytes, int]] = {}
        """Out-of-order data by stream offset: (bytes, packet time). Never overlapping."""
        self.pending_starts: list[int] = []
        self.pending_bytes = 0
        self.recent: list[bytes] = []
        """The last delivered payloads, ending at ``delivered`` (kept as they are: no copy)."""
        self.recent_start = 0
        """Stream offset of the first byte of ``recent``."""
        self.acked: int | None = None
        """Stream offset the peer acknowledged beyond ``delivered``, while its bytes are awaited."""
        self.acked_time = 0
        """Capture time of the ACK that started the wait."""
        self.acked_packets = 0
        """Packets of the connection seen since."""

    def offset_of(self, seq: int) -> int:
        """Unwrap a 32-bit sequence number to a stream offset near the delivered position."""
        assert self.base is not None
        rel = (seq - self.base - self.delivered) % WRAP
        if rel >= HALF:
            rel -= WRAP
        return self.delivered + rel


def remember(stream: Stream, data: bytes) -> None:
    """Keep ``data``, just delivered (``delivered`` already counts it), for retransmission
    checks."""
    recent = stream.recent
    recent.append(data)
    if stream.delivered - stream.recent_start > RECENT_LIMIT or len(recent) > RECENT_PIECES:
        trim_recent(stream)


def trim_recent(stream: Stream) -> None:
    """Called when ``stream.recent`` holds more than ``RECENT_LIMIT`` bytes or more than
    ``RECENT_PIECES`` payloads: keep only the last ``RECENT`` bytes in the first case, and
    join the payloads into one in the second."""
    recent = stream.recent
    if stream.delivered - stream.recent_start > RECENT_LIMIT:
        keep_from = stream.delivered - RECENT
        start = stream.recent_start
        drop = 0
        while start + len(recent[drop]) <= keep_from:
            start += len(recent[drop])
            drop += 1
        del recent[:drop]
        if start < keep_from:
            recent[0] = recent[0][keep_from - start :]
        stream.recent_start = keep_from
    if len(recent) > RECENT_PIECES:
        recent[:] = [b"".join(recent)]


class Connection:
    """Both directions of one TCP connection and its link."""

    __slots__ = ("closed", "info", "key", "slow", "streams")

    def __init__(self, info: LinkInfo, key: Key) -> None:
        self.info = info
        self.key = key
        """(addr_a, port_a, addr_b, port_b)."""
        self.streams = (Stream(), Stream())
        self.closed = False
        self.slow = False
        """Closed, or waiting for acknowledged bytes: every segment takes the general path."""


class Reassembler:
    """Feeds decoded segments in capture order; returns the events they complete.

    Args:
        max_buffer: out-of-order bytes held per direction before declaring a gap.
    """

    def __init__(self, *, max_buffer: int = MAX_BUFFER) -> None:
        self.max_buffer = max_buffer
        self.stats = ReassemblyStats()
        self._next_id = 1
        self.tcp_connections: dict[Key, tuple[Connection, Side]] = {}
        """Both directions' 4-tuples of each connection, with the side that sends on it."""
        self._udp: dict[Key, tuple[LinkInfo, Side]] = {}
        self._open: dict[int, Connection] = {}
        """Connections not yet closed, by link id (insertion order = first sight)."""
        self._closed: deque[tuple[int, Connection]] = deque()
        """Closed connections still in ``tcp_connections``, by closing time."""
        self.last_time = 0
        """Time of the last segment fed, the default end time of ``finish``."""

    # -- public -------------------------------------------------------------------------------

    def feed(self, time_ns: int, seg: Segment) -> list[Event]:
        """Process one segment; returns the events it makes ready, in order."""
        self.last_time = time_ns
        if seg[0] != PROTO_TCP:
            return self._udp_datagram(time_ns, seg)
        return self._tcp_segment(time_ns, seg)

    def finish(self, time_ns: int | None = None) -> list[Event]:
        """End of capture: flush every open connection and close every link."""
        when = self.last_time if time_ns is None else time_ns
        closing: list[tuple[int, Connection | LinkInfo]] = [
            (cid, conn) for cid, conn in self._open.items()
        ]
        closing += [(info.link.id, info) for info, side in self._udp.values() if side is Side.A]
        closing.sort(key=lambda item: item[0])
        out: list[Event] = []
        for _, what in closing:
            if isinstance(what, LinkInfo):
                out.append(LinkClosed(what, when, "end of capture"))
            else:
                self._close(what, when, "end of capture", out)
        self._udp.clear()
        return out

    # -- UDP ----------------------------------------------------------------------------------

    def _udp_datagram(self, time_ns: int, seg: Segment) -> list[Event]:
        key = (seg.src, seg.sport, seg.dst, seg.dport)
        found = self._udp.get(key)
        if found is None:
            link = Link(
                self._next_id,
                "udp",
                format_endpoint(seg.src, seg.sport),
                format_endpoint(seg.dst, seg.dport),
            )
            self._next_id += 1
            self.stats.udp_links += 1
            info = LinkInfo(link, Transport.DATAGRAM, seg.sport, seg.dport)
            found = (info, Side.A)
            self._udp[key] = found
            self._udp[(seg.dst, seg.dport, seg.src, seg.sport)] = (info, Side.B)
        return [Chunk(found[0], found[1], time_ns, seg.payload)]

    # -- TCP ----------------------------------------------------------------------------------

    def _new_connection(self, seg: Segment, *, sender_is_client: bool) -> Connection:
        if sender_is_client:
            key = (seg.src, seg.sport, seg.dst, seg.dport)
        else:
            key = (seg.dst, seg.dport, seg.src, seg.sport)
        a, pa, b, pb = key
        link = Link(self._next_id, "tcp", format_endpoint(a, pa), format_endpoint(b, pb))
        self._next_id += 1
        self.stats.tcp_links += 1
        conn = Connection(LinkInfo(link, Transport.STREAM, pa, pb), key)
        self.tcp_connections[key] = (conn, Side.A)
        self.tcp_connections[(b, pb, a, pa)] = (conn, Side.B)
        self._open[link.id] = conn
        return conn

    def _tcp_segment(self, time_ns: int, seg: Segment) -> list[Event]:
        flags = seg.flags
        found = self.tcp_connections.get((seg.src, seg.sport, seg.dst, seg.dport))
        out: list[Event] = []
        if found is not None and found[0].closed:
            conn, side = found
            if self._belongs_to_closed(conn.streams[side], seg):
                self.stats.ignored += 1
                return out
            found = None  # port reuse: a new connection on the same 4-tuple
        elif found is not None and flags & (SYN | ACK) == SYN:
            conn, side = found
            old = conn.streams[side]
            if side is Side.B or (
                old.base is not None and (seg.seq + 1) % WRAP != old.base
            ):  # a new SYN while the old connection's end was never seen
                self._close(conn, time_ns, "replaced by a new connection", out)
                found = None
        if found is None:
            if flags & RST or (flags & FIN and not seg.payload):
                self.stats.ignored += 1  # the tail of a connection we never saw
                return out
            syn_ack = flags & (SYN | ACK) == SYN | ACK
            conn = self._new_connection(seg, sender_is_client=not syn_ack)
            side = Side.B if syn_ack else Side.A
        else:
            conn, side = found
        stream = conn.streams[side]
        info = conn.info

        if flags & SYN:
            if stream.base is None or (stream.delivered == 0 and not stream.pending):
                stream.base = (seg.seq + 1) % WRAP
        elif stream.base is None and (seg.payload or flags & FIN):
            stream.base = seg.seq  # mid-stream pickup: this segment starts the stream

        if flags & ACK:
            self._check_ack(conn, side, seg.ack, time_ns)

        payload = seg.payload
        if payload and stream.base is not None:
            offset = stream.offset_of((seg.seq + 1) % WRAP if flags & SYN else seg.seq)
            if offset == stream.delivered and not stream.pending:
                out.append(Chunk(info, side, time_ns, payload))
                stream.delivered += len(payload)
                remember(stream, payload)
            else:
                self._insert(stream, offset, payload, time_ns)
                self._drain(info, side, stream, time_ns, out)
                if stream.pending_bytes > self.max_buffer:
                    self.stats.buffer_overflows += 1
                    self._skip_to_pending(info, side, stream, time_ns, out)

        if flags & FIN and stream.base is not None and stream.fin is None:
            stream.fin = stream.offset_of(seg.seq) + len(payload)
        if conn.slow:
            self._settle_acks(conn, time_ns, out, now=False)
        if flags & RST:
            self._close(conn, time_ns, "reset", out)
        elif conn.streams[0].fin is not None and conn.streams[1].fin is not None:
            self._close(conn, time_ns, "closed", out)
        return out

    def _belongs_to_closed(self, stream: Stream, seg: Segment) -> bool:
        """Whether a segment on a closed 4-tuple is a leftover of the old connection."""
        if seg.flags & SYN and not seg.flags & ACK:
            return False
        if not seg.payload or stream.base is None:
            return True
        end = stream.fin if stream.fin is not None else stream.delivered
        # a new connection without a captured SYN has a random ISN: far from the old stream
        return end - OLD_WINDOW_BEFORE <= stream.offset_of(seg.seq) < end + OLD_WINDOW_AFTER

    def _check_ack(self, conn: Connection, side: Side, ack: int, time_ns: int) -> None:
        """The peer acknowledged up to ``ack``: bytes before it that we lack are waited for
        (``_settle_acks`` makes gaps of those that do not come)."""
        other = conn.streams[1 - side]
        if other.base is None:
            return
        acked = other.offset_of(ack)
        if other.fin is not None and acked > other.fin:
            acked = other.fin  # the FIN takes one sequence number
        if acked <= other.delivered or acked - other.delivered > MAX_ACK_JUMP:
            return
        if other.acked is None:
            other.acked_time = time_ns
            other.acked_packets = 0
            conn.slow = True
            other.acked = acked
        elif acked > other.acked:
            other.acked = acked

    def _settle_acks(self, conn: Connection, time_ns: int, out: list[Event], *, now: bool) -> None:
        """End the waits for acknowledged bytes that arrived, or that waited long enough (or
        ``now``): the bytes still missing become gaps."""
        for side in (Side.A, Side.B):
            stream = conn.streams[side]
            acked = stream.acked
            if acked is None:
                continue
            if stream.fin is not None and acked > stream.fin:
                acked = stream.fin  # a FIN seen after the ACK that counted it
            stream.acked_packets += 1
            if acked > stream.delivered and not (
                now
                or stream.acked_packets > ACK_WAIT_PACKETS
                or time_ns - stream.acked_time > ACK_WAIT_NS
            ):
                continue
            stream.acked = None
            while stream.delivered < acked:
                nxt = stream.pending_starts[0] if stream.pending_starts else acked
                if nxt > stream.delivered:
                    length = min(nxt, acked) - stream.delivered
                    self._gap(conn.info, side, stream, length, time_ns, out)
                self._drain(conn.info, side, stream, time_ns, out)
        conn.slow = conn.closed or any(stream.acked is not None for stream in conn.streams)

    def _compare_recent(self, stream: Stream, offset: int, data: bytes) -> None:
        """Count a conflict if ``data`` at ``offset`` differs from delivered bytes we still hold."""
        lo = max(offset, stream.recent_start)
        hi = min(offset + len(data), stream.delivered)
        if lo < hi:
            mine = b"".join(stream.recent)[lo - stream.recent_start : hi - stream.recent_start]
            if mine != data[lo - offset : hi - offset]:
                self.stats.overlaps_conflicting += 1

    def _insert(self, stream: Stream, offset: int, data: bytes, time_ns: int) -> None:
        """Add data to the pending set, keeping first-seen bytes where it overlaps."""
        end = offset + len(data)
        if offset < stream.delivered:
            self.stats.retransmissions += 1
            self._compare_recent(stream, offset, data)
            if end <= stream.delivered:
                return
            data = data[stream.delivered - offset :]
            offset = stream.delivered
        elif offset > stream.delivered:
            self.stats.out_of_order += 1
        starts = stream.pending_starts
        pending = stream.pending
        i = bisect.bisect_right(starts, offset)
        if i > 0:
            i -= 1  # the entry starting at or before offset may overlap
        pieces: list[tuple[int, bytes]] = []
        cursor = offset
        overlapped = False
        while i < len(starts) and starts[i] < end:
            p_start = starts[i]
            p_data = pending[p_start][0]
            p_end = p_start + len(p_data)
            if p_end > cursor:
                overlapped = True
                if p_start > cursor:
                    pieces.append((cursor, data[cursor - offset : p_start - offset]))
                lo, hi = max(p_start, cursor), min(p_end, end)
                if p_data[lo - p_start : hi - p_start] != data[lo - offset : hi - offset]:
                    self.stats.overlaps_conflicting += 1
                cursor = max(cursor, p_end)
            i += 1
        if cursor < end:
            pieces.append((cursor, data[cursor - offset :]))
        if overlapped:
            self.stats.retransmissions += 1
        for start, piece in pieces:
            pending[start] = (piece, time_ns)
            bisect.insort(starts, start)
            stream.pending_bytes += len(piece)

    def _drain(
        self, info: LinkInfo, side: Side, stream: Stream, time_ns: int, out: list[Event]
    ) -> None:
        """Deliver pending data that now continues the stream."""
        starts = stream.pending_starts
        while starts and starts[0] <= stream.delivered:
            start = starts.pop(0)
            data, _seen = stream.pending.pop(start)
            stream.pending_bytes -= len(data)
            if start < stream.delivered:  # only after a gap moved past part of it
                data = data[stream.delivered - start :]
                if not data:
                    continue
            out.append(Chunk(info, side, time_ns, data))
            stream.delivered += len(data)
            remember(stream, data)

    def _gap(
        self,
        info: LinkInfo,
        side: Side,
        stream: Stream,
        length: int,
        time_ns: int,
        out: list[Event],
    ) -> None:
        out.append(Gap(info, side, time_ns, length))
        self.stats.gaps += 1
        self.stats.gap_bytes += length
        stream.delivered += length
        stream.recent.clear()
        stream.recent_start = stream.delivered

    def _skip_to_pending(
        self, info: LinkInfo, side: Side, stream: Stream, time_ns: int, out: list[Event]
    ) -> None:
        """Declare the hole before the buffered data lost, until the buffer is within bounds."""
        while stream.pending_starts and stream.pending_bytes > self.max_buffer:
            first = stream.pending_starts[0]
            self._gap(info, side, stream, first - stream.delivered, time_ns, out)
            self._drain(info, side, stream, time_ns, out)

    def _close(self, conn: Connection, time_ns: int, reason: str, out: list[Event]) -> None:
        """Flush both directions (holes become gaps) and emit LinkClosed."""
        self._settle_acks(conn, time_ns, out, now=True)
        for side in (Side.A, Side.B):
            stream = conn.streams[side]
            while stream.pending_starts:
                first = stream.pending_starts[0]
                self._gap(conn.info, side, stream, first - stream.delivered, time_ns, out)
                self._drain(conn.info, side, stream, time_ns, out)
            if stream.fin is not None and stream.fin > stream.delivered:
                self._gap(conn.info, side, stream, stream.fin - stream.delivered, time_ns, out)
            stream.recent = []
            stream.pending.clear()
        conn.closed = conn.slow = True
        self._open.pop(conn.info.link.id, None)
        out.append(LinkClosed(conn.info, time_ns, reason))
        closed = self._closed
        closed.append((time_ns, conn))
        while closed and closed[0][0] < time_ns - CLOSED_KEEP_NS:
            _, old = closed.popleft()
            a, pa, b, pb = old.key
            for key in ((a, pa, b, pb), (b, pb, a, pa)):
                entry = self.tcp_connections.get(key)
                if entry is not None and entry[0] is old:
                    del self.tcp_connections[key]
