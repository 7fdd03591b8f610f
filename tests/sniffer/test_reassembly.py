from __future__ import annotations

import random
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer.packet_writer import CaptureWriter, TcpConversation, UdpFlow
from sniffer.sources import PcapSource, open_source
from sniffer.sources.base import Chunk, Event, Gap, LinkClosed, Side, SourceError, Transport
from sniffer.sources.packets import PacketDecoder
from sniffer.sources.tcp_reassembly import (
    ACK_WAIT_NS,
    ACK_WAIT_PACKETS,
    RECENT,
    RECENT_PIECES,
    Reassembler,
    Stream,
    remember,
)

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
CLIENT = ("10.0.0.1", 40000)
SERVER = ("10.0.0.2", 5232)
DATA = bytes(range(256)) * 4

Packets = list[tuple[int, bytes]]


def run(
    packets: Iterable[tuple[int, bytes]], *, finish: bool = True, **kwargs: int
) -> tuple[list[Event], Reassembler]:
    decoder = PacketDecoder()
    reassembler = Reassembler(**kwargs)
    events: list[Event] = []
    for time_ns, frame in packets:
        segment = decoder.decode(1, frame)
        assert segment is not None
        events += reassembler.feed(time_ns, segment)
    if finish:
        events += reassembler.finish()
    return events, reassembler


def streams(events: list[Event]) -> dict[tuple[int, Side], list[bytes | int]]:
    """Per (link id, side): merged bytes, with gap lengths as ints in between."""
    out: dict[tuple[int, Side], list[bytes | int]] = {}
    for event in events:
        if isinstance(event, Chunk):
            items = out.setdefault((event.info.link.id, event.side), [])
            if items and isinstance(items[-1], bytes):
                items[-1] += event.data
            else:
                items.append(event.data)
        elif isinstance(event, Gap):
            out.setdefault((event.info.link.id, event.side), []).append(event.length)
    return out


def closes(events: list[Event]) -> list[tuple[int, str]]:
    return [(e.info.link.id, e.reason) for e in events if isinstance(e, LinkClosed)]


def conversation(**kwargs: object) -> tuple[TcpConversation, Packets]:
    conv = TcpConversation(CLIENT, SERVER, **kwargs)  # type: ignore[arg-type]
    return conv, conv.open(T0)


def test_in_order_both_directions_with_link_facts() -> None:
    conv, packets = conversation()
    packets += conv.send(Side.A, b"request", T0 + MS, ack=True)
    packets += conv.send(Side.B, DATA, T0 + 2 * MS, segment_size=100, ack=True)
    packets += conv.close(T0 + 3 * MS)
    events, r = run(packets)
    assert streams(events) == {(1, Side.A): [b"request"], (1, Side.B): [DATA]}
    assert closes(events) == [(1, "closed")]
    assert isinstance(events[-1], LinkClosed)
    info = events[0].info
    assert (info.link.id, info.link.transport, info.link.a, info.link.b) == (
        1, "tcp", "10.0.0.1:40000", "10.0.0.2:5232",
    )  # fmt: skip
    assert (info.port_a, info.port_b, info.transport) == (40000, 5232, Transport.STREAM)
    assert events[0].time_ns == T0 + MS
    assert r.stats.gaps == r.stats.retransmissions == r.stats.out_of_order == 0


def test_out_of_order_segments_are_delivered_in_order() -> None:
    conv, packets = conversation()
    segs = conv.send(Side.A, DATA, T0 + MS, segment_size=200)
    reordered = [(T0 + MS + i, segs[j][1]) for i, j in enumerate([2, 0, 4, 1, 3, 5])]
    events, r = run(packets + reordered)
    assert streams(events) == {(1, Side.A): [DATA]}
    assert r.stats.out_of_order == 2
    times = [e.time_ns for e in events]
    assert times == sorted(times)  # released data carries the time it became readable


def test_duplicate_retransmission_is_dropped() -> None:
    conv, packets = conversation()
    segs = conv.send(Side.A, DATA, T0 + MS, segment_size=300)
    events, r = run(packets + segs + [segs[1], segs[0]])
    assert streams(events) == {(1, Side.A): [DATA]}
    assert r.stats.retransmissions == 2
    assert r.stats.overlaps_conflicting == 0


def test_partial_overlap_with_same_bytes() -> None:
    conv, packets = conversation()
    packets.append(conv.raw_segment(Side.A, 0, DATA[:10], T0))
    packets.append(conv.raw_segment(Side.A, 5, DATA[5:20], T0))  # overlaps 5 bytes
    packets.append(conv.raw_segment(Side.A, 30, DATA[30:40], T0))  # out of order
    packets.append(conv.raw_segment(Side.A, 15, DATA[15:35], T0))  # fills, overlaps both
    events, r = run(packets)
    assert streams(events) == {(1, Side.A): [DATA[:40]]}
    assert r.stats.overlaps_conflicting == 0
    assert r.stats.retransmissions >= 2


def test_conflicting_overlap_keeps_first_seen_bytes() -> None:
    conv, packets = conversation()
    packets.append(conv.raw_segment(Side.A, 20, DATA[20:30], T0))  # buffered
    packets.append(conv.raw_segment(Side.A, 15, b"X" * 10, T0))  # [15,20) new, [20,25) differs
    packets.append(conv.raw_segment(Side.A, 0, DATA[:20], T0))  # [15,20) differs from the Xs
    packets.append(conv.raw_segment(Side.A, 0, b"Y" * 5, T0))  # differs from delivered bytes
    events, r = run(packets)
    assert streams(events) == {(1, Side.A): [DATA[:15] + b"XXXXX" + DATA[20:30]]}
    assert r.stats.overlaps_conflicting == 3


def test_hole_acknowledged_by_peer_becomes_gap_after_the_wait_then_resyncs() -> None:
    conv, packets = conversation()
    packets += conv.send(Side.A, DATA[:100], T0 + MS)
    conv.skip(Side.A, 50)  # lost before the capture point
    packets += conv.send(Side.A, DATA[150:200], T0 + 2 * MS)
    packets.append((T0 + 3 * MS, conv.pure_ack(Side.B)))  # the server got everything
    packets += conv.send(Side.A, DATA[200:300], T0 + 4 * MS)
    late = T0 + 3 * MS + ACK_WAIT_NS + 1
    packets += conv.send(Side.A, DATA[300:400], late)
    events, r = run(packets)
    assert streams(events) == {(1, Side.A): [DATA[:100], 50, DATA[150:400]]}
    gap = next(e for e in events if isinstance(e, Gap))
    assert (gap.time_ns, gap.side, gap.length) == (late, Side.A, 50)
    assert (r.stats.gaps, r.stats.gap_bytes) == (1, 50)


def test_ack_recorded_before_the_data_it_acknowledges_is_no_gap() -> None:
    conv, packets = conversation()
    packets += conv.send(Side.A, DATA[:100], T0 + MS)
    data = conv.send(Side.A, DATA[100:300], T0 + 2 * MS, segment_size=100, ack=True)
    packets += [data[2], data[0], data[1]]  # the server's ACK first
    packets += conv.send(Side.B, b"reply", T0 + 3 * MS, ack=True)
    events, r = run(packets)
    assert streams(events) == {(1, Side.A): [DATA[:300]], (1, Side.B): [b"reply"]}
    assert r.stats.gaps == 0


def test_acknowledged_bytes_are_waited_for_a_bounded_number_of_packets() -> None:
    conv, packets = conversation()
    packets += conv.send(Side.A, b"a" * 10, T0)
    conv.skip(Side.A, 20)
    packets += conv.send(Side.A, b"b" * 10, T0, ack=True)  # the server acknowledges the hole
    waiting = [(T0, conv.pure_ack(Side.B)) for _ in range(ACK_WAIT_PACKETS)]  # same time
    before, _ = run(packets + waiting[:-1], finish=False)
    after, _ = run(packets + waiting, finish=False)
    assert not any(isinstance(e, Gap) for e in before)
    assert streams(after) == {(1, Side.A): [b"a" * 10, 20, b"b" * 10]}


def test_ack_beyond_with_nothing_buffered_declares_gap() -> None:
    conv, packets = conversation()
    packets += conv.send(Side.A, b"a" * 10, T0)
    conv.skip(Side.A, 20)
    packets.append((T0 + MS, conv.pure_ack(Side.B)))
    packets += conv.send(Side.A, b"b" * 10, T0 + 2 * MS)
    events, _ = run(packets)
    assert streams(events) == {(1, Side.A): [b"a" * 10, 20, b"b" * 10]}


def test_hole_at_fin_becomes_gap_before_close() -> None:
    conv, packets = conversation()
    packets += conv.send(Side.A, b"a" * 10, T0)
    conv.skip(Side.A, 7)
    packets += conv.send(Side.A, b"c" * 10, T0)
    conv.skip(Side.A, 3)  # missing right before the FIN too
    packets += conv.close(T0 + MS, side=Side.B)[:2]  # server FIN, client FIN; no last ACK
    events, _ = run(packets)
    assert streams(events) == {(1, Side.A): [b"a" * 10, 7, b"c" * 10, 3]}
    assert closes(events) == [(1, "closed")]
    assert isinstance(events[-1], LinkClosed)


def test_hole_at_end_of_capture_and_link_closed_reason() -> None:
    conv, packets = conversation()
    packets += conv.send(Side.B, b"a" * 10, T0)
    conv.skip(Side.B, 5)
    packets += conv.send(Side.B, b"b" * 10, T0 + MS)
    events, _ = run(packets)
    assert streams(events) == {(1, Side.B): [b"a" * 10, 5, b"b" * 10]}
    assert closes(events) == [(1, "end of capture")]
    assert events[-1].time_ns == T0 + MS


def test_buffer_bound_declares_gap() -> None:
    conv, packets = conversation()
    conv.skip(Side.A, 50)
    packets += conv.send(Side.A, DATA[:300], T0, segment_size=50)
    events, r = run(packets, max_buffer=120)
    # 150 bytes buffered > 120: the 50-byte hole is given up, the rest flows
    assert streams(events) == {(1, Side.A): [50, DATA[:300]]}
    assert r.stats.buffer_overflows == 1
    gap_index = next(i for i, e in enumerate(events) if isinstance(e, Gap))
    assert gap_index == 0


@pytest.mark.parametrize("isn", [2**32 - 1, 2**32 - 300, 2**32 - 1000, 0])
def test_sequence_wrap_around(isn: int) -> None:
    conv, packets = conversation(isn=(isn, isn - 5))
    segs = conv.send(Side.A, DATA, T0, segment_size=97)
    segs = segs[1::2] + segs[::2]  # out of order across the wrap
    packets += segs + conv.send(Side.B, DATA, T0, segment_size=333, ack=True)
    packets += conv.close(T0 + MS)
    events, r = run(packets)
    assert streams(events) == {(1, Side.A): [DATA], (1, Side.B): [DATA]}
    assert r.stats.gaps == 0


def test_mid_stream_pickup_first_sender_is_side_a() -> None:
    conv = TcpConversation(CLIENT, SERVER)
    conv.skip(Side.A, 5000)
    conv.skip(Side.B, 7000)
    packets = conv.send(Side.B, b"hello from server", T0)  # no handshake captured
    packets += conv.send(Side.A, b"client", T0 + MS, ack=True)
    packets += conv.send(Side.B, b" again", T0 + 2 * MS)
    events, _ = run(packets)
    link = events[0].info.link
    assert (link.a, link.b) == ("10.0.0.2:5232", "10.0.0.1:40000")
    assert streams(events) == {
        (1, Side.A): [b"hello from server again"],
        (1, Side.B): [b"client"],
    }


def test_missing_syn_client_found_from_syn_ack() -> None:
    conv, packets = conversation()
    packets = packets[1:]  # SYN not captured
    packets += conv.send(Side.B, b"banner", T0 + MS)
    events, _ = run(packets)
    assert events[0].info.link.a == "10.0.0.1:40000"
    assert streams(events) == {(1, Side.B): [b"banner"]}


def test_reset_closes_the_link() -> None:
    conv, packets = conversation()
    packets += conv.send(Side.A, b"x", T0)
    packets += conv.close(T0 + MS, rst=True, side=Side.B)
    packets += conv.send(Side.A, b"late", T0 + 2 * MS)  # after the reset: ignored
    events, r = run(packets)
    assert closes(events) == [(1, "reset")]
    assert streams(events) == {(1, Side.A): [b"x"]}
    assert r.stats.ignored == 1


def test_port_reuse_after_close_is_a_new_link() -> None:
    first, packets = conversation(isn=(100, 200))
    packets += first.send(Side.A, b"first", T0)
    packets += first.close(T0 + MS)
    second = TcpConversation(CLIENT, SERVER, isn=(9_000_000, 8_000_000))
    packets += second.open(T0 + 2 * MS)
    packets += second.send(Side.A, b"second", T0 + 3 * MS)
    packets += second.close(T0 + 4 * MS)
    events, r = run(packets)
    assert streams(events) == {(1, Side.A): [b"first"], (2, Side.A): [b"second"]}
    assert closes(events) == [(1, "closed"), (2, "closed")]
    assert r.stats.tcp_links == 2


def test_simultaneous_connections_get_ids_in_order_of_first_sight() -> None:
    one = TcpConversation(CLIENT, SERVER)
    two = TcpConversation(("10.0.0.3", 50000), SERVER)
    flow = UdpFlow(("10.0.0.9", 9999), ("10.0.0.2", 1234))
    packets = [*one.open(T0), *two.open(T0 + 10)]
    packets.append(flow.datagram(Side.B, b"u1", T0 + 20))
    packets += two.send(Side.A, b"two-a", T0 + 30)
    packets += one.send(Side.A, b"one-a", T0 + 40)
    packets.append(flow.datagram(Side.A, b"u2", T0 + 50))
    packets += two.send(Side.B, b"two-b", T0 + 60)
    packets += one.close(T0 + 70)
    events, _ = run(packets)
    assert streams(events) == {
        (1, Side.A): [b"one-a"],
        (2, Side.A): [b"two-a"],
        (2, Side.B): [b"two-b"],
        (3, Side.A): [b"u1"],
        (3, Side.B): [b"u2"],
    }
    assert closes(events) == [(1, "closed"), (2, "end of capture"), (3, "end of capture")]


def test_udp_flow_side_a_is_first_sender_one_chunk_per_datagram() -> None:
    flow = UdpFlow(("10.0.0.1", 5000), ("10.0.0.3", 6000))
    packets = [
        flow.datagram(Side.B, b"first", T0),
        flow.datagram(Side.A, b"second", T0 + 1),
        flow.datagram(Side.B, b"third", T0 + 2),
    ]
    events, r = run(packets)
    chunks = [e for e in events if isinstance(e, Chunk)]
    assert [(c.side, c.data, c.time_ns) for c in chunks] == [
        (Side.A, b"first", T0),
        (Side.B, b"second", T0 + 1),
        (Side.A, b"third", T0 + 2),
    ]
    info = chunks[0].info
    assert (info.link.transport, info.link.a, info.transport) == (
        "udp", "10.0.0.3:6000", Transport.DATAGRAM,
    )  # fmt: skip
    assert (info.port_a, info.port_b) == (6000, 5000)
    assert r.stats.udp_links == 1


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(min_size=1, max_size=3000),
    segment_size=st.integers(1, 400),
    isn=st.integers(0, 2**32 - 1),
    shuffle=st.randoms(use_true_random=False),
    duplicates=st.lists(st.integers(0, 1000), max_size=10),
)
def test_any_permutation_with_duplicates_reassembles(
    data: bytes, segment_size: int, isn: int, shuffle: object, duplicates: list[int]
) -> None:
    conv, packets = conversation(isn=(isn, 7))
    segs = conv.send(Side.A, data, T0, segment_size=segment_size)
    segs += [segs[i % len(segs)] for i in duplicates]
    shuffle.shuffle(segs)  # type: ignore[attr-defined]
    events, r = run(packets + segs + conv.close(T0 + MS))
    assert streams(events) == {(1, Side.A): [data]}
    assert r.stats.gaps == 0
    assert r.stats.overlaps_conflicting == 0


# -- through the file source --------------------------------------------------------------------


def _write(path: Path, packets: Packets) -> None:
    with CaptureWriter(path) as writer:
        writer.write_all(packets)


def test_pcap_source_streams_events_and_stats(tmp_path: Path) -> None:
    conv, packets = conversation()
    packets += conv.send(Side.A, DATA, T0 + MS, ack=True)
    packets += conv.close(T0 + 2 * MS)
    path = tmp_path / "x.pcapng"
    _write(path, packets)
    for target in (str(path), f"pcap:{path}"):
        source = open_source(target)
        assert isinstance(source, PcapSource)
        events = list(source.events())
        assert streams(events) == {(1, Side.A): [DATA]}
        assert source.decode_stats.tcp == len(packets)
        assert source.reassembly_stats.tcp_links == 1


def test_truncated_capture_yields_events_closes_links_then_raises(tmp_path: Path) -> None:
    conv, packets = conversation()
    packets += conv.send(Side.A, b"a" * 100, T0 + MS)
    packets += conv.send(Side.A, b"b" * 100, T0 + 2 * MS)
    path = tmp_path / "x.pcap"
    _write(path, packets)
    path.write_bytes(path.read_bytes()[:-30])
    source = PcapSource(path)
    events: list[Event] = []
    with pytest.raises(SourceError, match=r"truncated pcap record .* \(packet 5\)"):
        events.extend(source.events())
    assert streams(events) == {(1, Side.A): [b"a" * 100]}
    assert closes(events) == [(1, "end of capture")]


def test_open_source_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        open_source(str(tmp_path / "missing.pcap"))
    with pytest.raises(SourceError, match="without a file"):
        open_source("pcap:")
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"hello world")
    with pytest.raises(SourceError, match="is not a pcap or pcapng file"):
        open_source(str(junk))


def test_port_reuse_without_syn_far_from_old_stream_is_a_new_link() -> None:
    first, packets = conversation(isn=(100, 200))
    packets += first.send(Side.A, b"first", T0)
    packets += first.close(T0 + MS, rst=True)
    second = TcpConversation(CLIENT, SERVER, isn=(2_000_000_000, 5))
    packets += second.send(Side.A, b"second", T0 + 2 * MS)  # its SYN was not captured
    events, _ = run(packets)
    assert streams(events) == {(1, Side.A): [b"first"], (2, Side.A): [b"second"]}
    assert closes(events) == [(1, "reset"), (2, "end of capture")]


def test_new_syn_on_unclosed_four_tuple_replaces_the_connection() -> None:
    first, packets = conversation(isn=(100, 200))
    packets += first.send(Side.A, b"first", T0)  # its end was never captured
    second = TcpConversation(CLIENT, SERVER, isn=(5_000, 6_000))
    packets += second.open(T0 + MS)
    packets += second.send(Side.A, b"second", T0 + 2 * MS)
    packets.append(second.open(T0 + 3 * MS)[0])  # a retransmitted SYN changes nothing
    events, _ = run(packets)
    assert streams(events) == {(1, Side.A): [b"first"], (2, Side.A): [b"second"]}
    assert closes(events) == [(1, "replaced by a new connection"), (2, "end of capture")]


@pytest.mark.tshark
@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not on PATH")
def test_streams_agree_with_tshark_follow(tmp_path: Path) -> None:
    conv, packets = conversation(isn=(2**32 - 700, 12345))
    rng = random.Random(7)
    for i in range(6):
        segs = conv.send(Side.A, rng.randbytes(rng.randint(1, 900)), T0 + i * MS, segment_size=200)
        segs += [segs[0]]  # a retransmission
        rng.shuffle(segs)
        packets += segs
        packets += conv.send(Side.B, rng.randbytes(rng.randint(1, 500)), T0 + i * MS + 1, ack=True)
    packets += conv.close(T0 + 10 * MS)
    path = tmp_path / "x.pcapng"
    _write(path, packets)
    result = subprocess.run(
        ["tshark", "-r", str(path), "-q", "-z", "follow,tcp,raw,0"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    theirs = {Side.A: b"", Side.B: b""}
    body = result.stdout.split("Node 1:")[1].split("\n", 1)[1]
    for line in body.splitlines():
        if line.startswith("="):
            break
        side = Side.B if line.startswith("\t") else Side.A
        theirs[side] += bytes.fromhex(line.strip())
    events, _ = run(packets)
    ours = streams(events)
    assert ours[(1, Side.A)] == [theirs[Side.A]]
    assert ours[(1, Side.B)] == [theirs[Side.B]]


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(min_size=1, max_size=2000),
    segment_size=st.integers(1, 300),
    keep=st.lists(st.booleans(), min_size=1, max_size=200),
    shuffle=st.randoms(use_true_random=False),
    max_buffer=st.sampled_from([64, 512, 1 << 20]),
)
def test_lost_segments_become_gaps_and_every_byte_is_in_place(
    data: bytes,
    segment_size: int,
    keep: list[bool],
    shuffle: object,
    max_buffer: int,
) -> None:
    conv, packets = conversation()
    segs = conv.send(Side.A, data, T0, segment_size=segment_size)
    kept = [s for i, s in enumerate(segs) if keep[i % len(keep)]]
    shuffle.shuffle(kept)  # type: ignore[attr-defined]
    events, r = run(packets + kept + conv.close(T0 + MS), max_buffer=max_buffer)
    items = streams(events).get((1, Side.A), [])
    position = 0
    for item in items:
        if isinstance(item, int):
            assert item > 0
            position += item
        else:
            assert item == data[position : position + len(item)]
            position += len(item)
    assert position == len(data)  # the FIN tells where the stream ends
    assert r.stats.gap_bytes + sum(len(i) for i in items if isinstance(i, bytes)) == len(data)
    assert closes(events) == [(1, "closed")]


DATA_DIR = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("name", "linktype"),
    [("dumpcap-lo-tcp-udp.pcap", 1), ("dumpcap-any-tcp-udp.pcapng", 113)],
)
def test_real_dumpcap_captures(name: str, linktype: int) -> None:
    # tests/sniffer/data/README.md: one TCP exchange and one UDP datagram on loopback
    source = PcapSource(DATA_DIR / name)
    events = list(source.events())
    assert [i.linktype for i in source.interfaces] == [linktype]
    assert streams(events) == {
        (1, Side.A): [b"hello camshark\n" + bytes(range(256)) * 8],
        (1, Side.B): [b"got 2063 bytes\n"],
        (2, Side.A): [b"udp-hello"],
    }
    tcp, udp = events[0].info, events[-1].info
    assert (tcp.link.a, tcp.link.b) == ("127.0.0.1:44172", "127.0.0.1:47125")
    assert (udp.link.a, udp.link.b) == ("127.0.0.1:60398", "127.0.0.1:47126")
    assert closes(events) == [(1, "closed"), (2, "end of capture")]
    assert source.decode_stats.packets == 13
    assert source.reassembly_stats.ignored == 1  # the last ACK after both FINs


def test_closed_connections_are_forgotten_after_a_while() -> None:
    packets: Packets = []
    for i in range(50):
        conv = TcpConversation(("10.0.0.1", 30000 + i), SERVER)
        start = T0 + i * 10_000 * MS  # one connection every 10 s
        packets += conv.open(start)
        packets += conv.send(Side.A, b"x" * 100, start + MS)
        packets += conv.close(start + 2 * MS)
    events, r = run(packets)
    assert len(closes(events)) == 50
    # only connections closed in the last 120 s of capture time are still remembered
    assert len(r.tcp_connections) <= 2 * 14
    assert r.stats.ignored == 50  # each final ACK, absorbed while remembered


@given(sizes=st.lists(st.one_of(st.integers(1, 9000), st.integers(1, 20)), max_size=300))
def test_recent_bytes_are_the_last_delivered_window(sizes: list[int]) -> None:
    """The pieces kept for retransmission checks are exactly what a byte buffer cut back to
    RECENT bytes whenever it exceeds twice that would hold, in a bounded number of pieces."""
    stream = Stream()
    model = bytearray()
    model_start = 0
    for n, size in enumerate(sizes):
        piece = bytes([n % 256]) * size
        stream.delivered += size
        remember(stream, piece)
        assert len(stream.recent) <= RECENT_PIECES
        model += piece
        if len(model) > 2 * RECENT:
            cut = len(model) - RECENT
            del model[:cut]
            model_start += cut
        assert (stream.recent_start, b"".join(stream.recent)) == (model_start, bytes(model))
