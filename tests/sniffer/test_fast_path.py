"""The fast path (``PcapSource.events`` through ``fast_path.tcp_events``) against the general
path (``CaptureReader.packets`` + ``PacketDecoder.decode`` + ``Reassembler.feed``): the same
events, the same statistics, the same error, on the bundled captures and on random sessions."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sniffer.packet_writer import ACK, FIN, PSH, RST, CaptureWriter, TcpConversation, UdpFlow
from sniffer.sources import PcapSource
from sniffer.sources.base import Chunk, Event, Side, SourceError
from sniffer.sources.packets import PacketDecoder
from sniffer.sources.pcap_file import CaptureReader
from sniffer.sources.tcp_reassembly import Reassembler

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = sorted((ROOT / "captures").rglob("*.pcap*"))
T0 = 1_700_000_000_000_000_000

Outcome = tuple[list[Event], dict[str, int], dict[str, int], str | None]


def general_path(path: Path, max_buffer: int | None = None) -> Outcome:
    """The reference: every packet decoded and fed one by one."""
    decoder = PacketDecoder()
    reassembler = Reassembler() if max_buffer is None else Reassembler(max_buffer=max_buffer)
    events: list[Event] = []
    last_time: int | None = None
    error = None
    try:
        for time_ns, linktype, data in CaptureReader(path).packets():
            last_time = time_ns
            segment = decoder.decode(linktype, data)
            if segment is not None:
                events += reassembler.feed(time_ns, segment)
    except SourceError as exc:
        error = str(exc)
    events += reassembler.finish(last_time)
    return events, decoder.stats.as_dict(), reassembler.stats.as_dict(), error


def fast_path(path: Path, max_buffer: int | None = None) -> Outcome:
    source = PcapSource(path, max_buffer=max_buffer)
    events: list[Event] = []
    error = None
    try:
        events.extend(source.events())
    except SourceError as exc:
        error = str(exc)
    return events, source.decode_stats.as_dict(), source.reassembly_stats.as_dict(), error


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_bundled_captures_give_the_same_events(path: Path) -> None:
    assert fast_path(path) == general_path(path)


def test_a_truncated_capture_gives_the_same_events_and_error(tmp_path: Path) -> None:
    conv = TcpConversation(("10.0.0.1", 40000), ("10.0.0.2", 5232))
    packets = conv.open(T0) + conv.send(Side.A, bytes(range(256)) * 20, T0 + 10, ack=True)
    path = tmp_path / "cut.pcap"
    with CaptureWriter(path) as writer:
        writer.write_all(packets)
    path.write_bytes(path.read_bytes()[:-700])
    fast = fast_path(path)
    assert fast == general_path(path)
    assert fast[3] is not None
    assert any(isinstance(e, Chunk) for e in fast[0])


# -- random sessions ----------------------------------------------------------------------------


def session(seed: int, *, ipv6: bool) -> list[tuple[int, bytes]]:
    """Packets of one or two TCP connections (and some UDP) with loss, reordering,
    duplicates, overlapping and conflicting retransmissions, stray ACKs, FIN/RST or no end."""
    rng = random.Random(seed)
    packets: list[tuple[int, bytes]] = []
    t = T0
    host = "fd00::{}" if ipv6 else "10.0.0.{}"
    for n in range(rng.randint(1, 2)):
        isn = (rng.randrange(2**32), rng.randrange(2**32))
        conv = TcpConversation(
            (host.format(1), 40000 + rng.randrange(2)), (host.format(2), 5232), isn=isn
        )
        part: list[tuple[int, bytes]] = []
        if rng.random() < 0.8:
            part += conv.open(t)
        for _ in range(rng.randint(0, 12)):
            side = Side(rng.randrange(2))
            t += 1000
            action = rng.random()
            if action < 0.55:
                data = rng.randbytes(rng.randint(1, 600))
                segs = conv.send(
                    side, data, t, segment_size=rng.randint(1, 300), ack=rng.random() < 0.5
                )
                part += segs
                if rng.random() < 0.2 and segs:  # a duplicate, somewhere later
                    part.append(rng.choice(segs))
            elif action < 0.65:
                conv.skip(side, rng.randint(1, 200))  # lost bytes
            elif action < 0.8 and conv.sent[side]:
                offset = rng.randrange(conv.sent[side])
                length = rng.randint(1, 300)
                part.append(conv.raw_segment(side, offset, rng.randbytes(length), t))
            else:
                part.append((t, conv.pure_ack(side)))
        # local reordering: a few swaps of nearby packets
        for _ in range(rng.randint(0, 6)):
            if len(part) > 2:
                i = rng.randrange(len(part) - 1)
                j = min(len(part) - 1, i + rng.randint(1, 4))
                part[i], part[j] = part[j], part[i]
        end = rng.random()
        t += 1000
        if end < 0.4:
            part += conv.close(t, side=Side(rng.randrange(2)))
        elif end < 0.55:
            part += conv.close(t, rst=True, side=Side(rng.randrange(2)))
        elif end < 0.65:
            part.append(conv.raw_segment(Side.A, conv.sent[0], b"", t, flags=FIN | ACK))
        elif end < 0.7:
            part.append(conv.raw_segment(Side.B, 0, b"x", t, flags=PSH | ACK | RST))
        if n and rng.random() < 0.5:  # interleave with the first connection
            merged: list[tuple[int, bytes]] = []
            while packets or part:
                source = packets if packets and (not part or rng.random() < 0.5) else part
                merged.append(source.pop(0))
            packets = merged
        else:
            packets += part
    if rng.random() < 0.3:
        flow = UdpFlow((host.format(1), 5000), (host.format(2), 5001))
        at = rng.randint(0, len(packets))
        packets.insert(at, flow.datagram(Side.A, rng.randbytes(20), t))
    return packets


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32),
    ipv6=st.booleans(),
    max_buffer=st.sampled_from([None, 64, 700]),
)
def test_random_sessions_give_the_same_events(
    tmp_path: Path, seed: int, ipv6: bool, max_buffer: int | None
) -> None:
    path = tmp_path / "session.pcap"
    with CaptureWriter(path) as writer:
        writer.write_all(session(seed, ipv6=ipv6 and seed % 4 == 0))
    assert fast_path(path, max_buffer) == general_path(path, max_buffer)
