"""The fast path (``PcapSource.events`` through ``fast_path.FastPath``) against the general
path (``CaptureReader.packets`` + ``PacketDecoder.decode`` + ``Reassembler.feed``): the same
events, the same statistics, the same error, on the bundled captures (and their classic pcap
copies) and on random sessions (as pcap, and as pcapng in either byte order with several
interfaces of other link types and timestamp resolutions, Simple Packet Blocks and blocks of
other types between the packets); with the C record and block loops and with their Python
twins; and ``run_events`` gives the same chunks, in runs."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sniffer.packet_writer import ACK, FIN, PSH, RST, CaptureWriter, TcpConversation, UdpFlow
from sniffer.sources import PcapSource, fast_path
from sniffer.sources.base import Chunk, ChunkRuns, Event, Side, SourceError
from sniffer.sources.fast_packets import HAVE_C, fast_blocks_python, fast_records_python
from sniffer.sources.packets import LINKTYPE_ETHERNET, LINKTYPE_RAW, PacketDecoder
from sniffer.sources.pcap_file import CaptureReader
from sniffer.sources.tcp_reassembly import Reassembler
from tests.sniffer import pcapng_blocks as ng

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


def fast(path: Path, max_buffer: int | None = None, *, runs: bool = False) -> Outcome:
    """The source's events (with ``runs``: its run events, each run as its chunks)."""
    source = PcapSource(path, max_buffer=max_buffer)
    events: list[Event] = []
    error = None
    try:
        for event in source.run_events() if runs else source.events():
            if isinstance(event, ChunkRuns):
                assert event.runs
                assert all(pieces for _info, _side, pieces in event.runs)
                events += event.chunks()
            else:
                events.append(event)
    except SourceError as exc:
        error = str(exc)
    return events, source.decode_stats.as_dict(), source.reassembly_stats.as_dict(), error


@pytest.fixture(params=["c", "python"])
def kernel(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run with the C record loop, then with its Python twin."""
    if request.param == "c" and not HAVE_C:
        pytest.skip("sniffer.sources._fast_path was not built")
    if request.param == "python":
        python_kernels(monkeypatch)
    return str(request.param)


def python_kernels(patch: pytest.MonkeyPatch) -> None:
    patch.setattr(fast_path, "fast_records", fast_records_python)
    patch.setattr(fast_path, "fast_blocks", fast_blocks_python)


def as_pcap(path: Path, tmp_path: Path) -> Path | None:
    """A classic pcap copy of a capture whose packets all have one link type."""
    packets = list(CaptureReader(path).packets())
    linktypes = {linktype for _time, linktype, _data in packets}
    if len(linktypes) != 1:
        return None
    copy = tmp_path / (path.stem + ".pcap")
    with CaptureWriter(copy, linktype=linktypes.pop()) as writer:
        writer.write_all((time_ns, data) for time_ns, _linktype, data in packets)
    return copy


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_bundled_captures_give_the_same_events(path: Path, tmp_path: Path, kernel: str) -> None:
    reference = general_path(path)
    assert fast(path) == reference
    assert fast(path, runs=True) == reference
    copy = as_pcap(path, tmp_path)
    if copy is not None:
        reference = general_path(copy)
        assert fast(copy) == reference
        assert fast(copy, runs=True) == reference


def test_a_truncated_capture_gives_the_same_events_and_error(tmp_path: Path) -> None:
    conv = TcpConversation(("10.0.0.1", 40000), ("10.0.0.2", 5232))
    packets = conv.open(T0) + conv.send(Side.A, bytes(range(256)) * 20, T0 + 10, ack=True)
    path = tmp_path / "cut.pcap"
    with CaptureWriter(path) as writer:
        writer.write_all(packets)
    path.write_bytes(path.read_bytes()[:-700])
    outcome = fast(path)
    assert outcome == general_path(path)
    assert fast(path, runs=True) == outcome
    assert outcome[3] is not None
    assert any(isinstance(e, Chunk) for e in outcome[0])


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
@example(seed=33188827, ipv6=False, max_buffer=None)  # an ACK far past a FIN after a hole
def test_random_sessions_give_the_same_events(
    tmp_path: Path, seed: int, ipv6: bool, max_buffer: int | None
) -> None:
    packets = session(seed, ipv6=ipv6 and seed % 4 == 0)
    path = tmp_path / "session.pcap"
    with CaptureWriter(path) as writer:
        writer.write_all(packets)
    assert_fast_path_agrees(path, max_buffer)
    plain_ng = tmp_path / "session.pcapng"
    with CaptureWriter(plain_ng) as writer:
        writer.write_all(packets)
    assert_fast_path_agrees(plain_ng, max_buffer)
    mixed_ng = tmp_path / "mixed.pcapng"
    mixed_ng.write_bytes(mixed_pcapng(packets, random.Random(seed)))
    assert_fast_path_agrees(mixed_ng, max_buffer)


def assert_fast_path_agrees(path: Path, max_buffer: int | None) -> None:
    """The fast path (chunk by chunk, as runs, and with the Python kernels) gives exactly the
    general path's events."""
    reference = general_path(path, max_buffer)
    assert fast(path, max_buffer) == reference
    assert fast(path, max_buffer, runs=True) == reference
    with pytest.MonkeyPatch.context() as patch:
        python_kernels(patch)
        assert fast(path, max_buffer) == reference


INTERFACES = (
    # (link type, if_tsresol, if_tsoffset in seconds): the first five are Ethernet, the
    # kernel takes the packets of the first three (whole nanosecond ticks)
    (LINKTYPE_ETHERNET, 9, 0),
    (LINKTYPE_ETHERNET, None, 100),  # microseconds, the default
    (LINKTYPE_ETHERNET, 3, -50),
    (LINKTYPE_ETHERNET, 0x80 | 20, 0),  # 2**-20 s
    (LINKTYPE_ETHERNET, 10, 7),  # tenths of nanoseconds
    (LINKTYPE_RAW, 6, 0),
)


def mixed_pcapng(packets: list[tuple[int, bytes]], rng: random.Random) -> bytes:
    """``packets`` (Ethernet frames) as a pcapng file in a random byte order, spread over a
    few interfaces of ``INTERFACES`` (raw IP ones get the frame without its Ethernet header),
    some as Simple Packet Blocks, with options on some EPBs, and blocks of other types, more
    interfaces and sometimes a new section (the other byte order) between them."""
    order = rng.choice("<>")
    out = bytearray()
    interfaces: list[tuple[int, int | None, int]] = []

    def section() -> None:
        nonlocal order
        out.extend(ng.shb(order))
        interfaces.clear()
        for _ in range(rng.randint(1, 3)):
            interface()

    def interface() -> None:
        chosen = INTERFACES[0] if rng.random() < 0.3 else rng.choice(INTERFACES)
        interfaces.append(chosen)
        out.extend(ng.idb_with_ticks(order, *chosen))

    section()
    for time_ns, frame in packets:
        roll = rng.random()
        if roll < 0.04:
            interface()
        elif roll < 0.06:
            order = rng.choice("<>")
            section()
        elif roll < 0.15:
            btype = rng.choice([ng.BLOCK_NRB, ng.BLOCK_ISB, ng.BLOCK_DSB, ng.BLOCK_CUSTOM])
            out.extend(ng.block(order, btype, rng.randbytes(rng.randint(0, 12))))
        iface = 0 if rng.random() < 0.5 else rng.randrange(len(interfaces))
        linktype, tsresol, tsoffset_s = interfaces[iface]
        data = frame if linktype == LINKTYPE_ETHERNET else frame[14:]
        if iface == 0 and rng.random() < 0.15:
            out.extend(ng.spb(order, data))
            continue
        ticks = ticks_of(time_ns - tsoffset_s * 1_000_000_000, tsresol)
        options = b""
        if rng.random() < 0.1:
            options = ng.opt(order, 1, b"a comment") + ng.opt(order, 0, b"")
        out.extend(ng.epb(order, iface, ticks, data, options))
    return bytes(out)


def ticks_of(time_ns: int, tsresol: int | None) -> int:
    """``time_ns`` in an interface's timestamp ticks (truncated)."""
    if tsresol is None:
        tsresol = 6
    if tsresol & 0x80:
        return (time_ns << (tsresol & 0x7F)) // 1_000_000_000
    return time_ns * 10**tsresol // 1_000_000_000


@pytest.mark.parametrize("suffix", [".pcap", ".pcapng"])
@pytest.mark.parametrize("seed", range(4))
def test_long_interleaved_transfers_give_the_same_events(
    tmp_path: Path, seed: int, suffix: str, kernel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several connections' bulk transfers, interleaved, over many read buffers (records cut
    by buffer ends), with a lost segment, a retransmission and a reordering here and there."""
    rng = random.Random(seed)
    conversations = [
        TcpConversation(("10.0.0.1", 40000 + n), ("10.0.0.2", 5232), isn=(n, 2**32 - 9000))
        for n in range(3)
    ]
    packets: list[tuple[int, bytes]] = []
    t = T0
    for conv in conversations:
        packets += conv.open(t)
    for _ in range(120):
        conv = rng.choice(conversations)
        t += 1_000_000
        side = Side(rng.random() < 0.2)
        part = conv.send(side, rng.randbytes(rng.randint(1, 6000)), t, ack=rng.random() < 0.7)
        roll = rng.random()
        if roll < 0.05 and len(part) > 1:
            del part[0]  # lost
        elif roll < 0.1 and len(part) > 2:
            part[0], part[1] = part[1], part[0]
        elif roll < 0.15:
            part.append(part[0])
        packets += part
    for conv in conversations:
        packets += conv.close(t + 5)
    path = tmp_path / ("long" + suffix)
    with CaptureWriter(path) as writer:
        writer.write_all(packets)
    assert path.stat().st_size > 4 * (1 << 16)
    reference = general_path(path)
    kernel_name = "fast_records" if suffix == ".pcap" else "fast_blocks"
    kernel_loop = getattr(fast_path, kernel_name)
    taken = 0

    def counted(*args: object) -> tuple[int, int, object, object]:
        nonlocal taken
        result = kernel_loop(*args)
        taken += result[1]
        return result  # type: ignore[no-any-return]

    monkeypatch.setattr(fast_path, kernel_name, counted)
    assert fast(path) == reference
    assert taken > len(packets) // 2  # the kernel, not take_packet, took most packets
    assert fast(path, runs=True) == reference


class Pieces:
    """A capture file read as from a pipe, in pieces of whole records or blocks: before it
    hands out a piece, every payload byte of the pieces before it must have come out as
    events (``given``), or a live capture would hold packets until more traffic arrives."""

    def __init__(self, path: Path, cuts: list[int], payload_before: list[int]) -> None:
        self.data = path.read_bytes()
        self.file = open(path, "rb")  # noqa: SIM115 - for fileno (the reader asks its size)
        self.cuts = cuts
        self.payload_before = payload_before
        self.pos = 0
        self.given = 0

    def fileno(self) -> int:
        return self.file.fileno()

    def read1(self, size: int) -> bytes:
        if self.pos in self.cuts:
            assert self.given == self.payload_before[self.cuts.index(self.pos)]
        end = min([self.pos + size, len(self.data)] + [c for c in self.cuts if c > self.pos])
        piece = self.data[self.pos : end]
        self.pos = end
        return piece

    read = read1

    def close(self) -> None:
        self.file.close()


def record_ends(path: Path) -> list[int]:
    """The file offset after each record or block."""
    data = path.read_bytes()
    if path.suffix == ".pcap":
        pos, size, length = 24, 16, struct.Struct("<8xI4x")
    else:
        pos, size, length = 0, 0, struct.Struct("<4xI")
    ends = []
    while pos < len(data):
        pos += size + length.unpack_from(data, pos)[0]
        ends.append(pos)
    return ends


@pytest.mark.parametrize("suffix", [".pcap", ".pcapng"])
def test_taken_packets_come_out_before_the_reader_waits_for_more(
    tmp_path: Path, suffix: str, kernel: str
) -> None:
    conv = TcpConversation(("10.0.0.1", 40000), ("10.0.0.2", 5232))
    packets = conv.open(T0)
    for n in range(30):
        packets += conv.send(Side(n % 2), bytes([n]) * (100 + n), T0 + 1000 * n, ack=True)
    path = tmp_path / ("pieces" + suffix)
    with CaptureWriter(path) as writer:
        writer.write_all(packets)
    ends = record_ends(path)
    payload = [len(d) for d in _payloads(path)]
    cuts = ends[len(ends) - len(packets) + 3 :: 4]  # every 4 packets after the handshake
    first_packet = len(ends) - len(packets)
    payload_before = [sum(payload[: ends.index(cut) + 1 - first_packet]) for cut in cuts]
    pipe = Pieces(path, cuts, payload_before)
    source = PcapSource(path, fileobj=pipe)  # type: ignore[arg-type]
    for event in source.events():
        if isinstance(event, Chunk):
            pipe.given += len(event.data)
    pipe.close()
    assert pipe.given == sum(payload) > 0


def _payloads(path: Path) -> list[bytes]:
    """Each packet's TCP payload (IPv4, no options)."""
    out = []
    for _time, _linktype, data in CaptureReader(path).packets():
        total = int.from_bytes(data[16:18], "big")
        out.append(data[14 + 20 + (data[46] >> 4) * 4 : 14 + total])
    return out
