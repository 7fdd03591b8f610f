"""The C record and block loops (``sniffer.sources._fast_path.fast_records`` for classic pcap,
``fast_blocks`` for pcapng) against their Python twins (``fast_packets.fast_records_python``,
``fast_blocks_python``) on arbitrary record and block bytes: the same records taken, the same
runs, the same stream state afterwards, and never a crash or a read past the buffer; and the
blocks they take are packets ``CaptureReader`` reads with the same times and frames."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dissectors.api import Link
from sniffer.sources.base import LinkInfo, Side, Transport
from sniffer.sources.fast_packets import (
    HAVE_C,
    Cache,
    FastBlocks,
    FastRecords,
    KernelInterfaces,
    Piece,
    Run,
    fast_blocks,
    fast_blocks_python,
    fast_records,
    fast_records_python,
    kernel_interfaces,
    take_packet,
)
from sniffer.sources.packets import LINKTYPE_ETHERNET, LINKTYPE_RAW
from sniffer.sources.pcap_file import (
    MAX_TIME_NS,
    CaptureReader,
    PcapLayout,
    PcapngLayout,
    SourceError,
)
from sniffer.sources.tcp_reassembly import ACK, Connection, Stream, trim_recent
from tests.sniffer import pcapng_blocks as ng

needs_c = pytest.mark.skipif(not HAVE_C, reason="sniffer.sources._fast_path was not built")

CLIENT = bytes([10, 0, 0, 1])
SERVER = bytes([10, 0, 0, 2])
KEY_A = CLIENT + SERVER + struct.pack("!HH", 40000, 5232)
KEY_B = SERVER + CLIENT + struct.pack("!HH", 5232, 40000)
BASES = (1000, 2**32 - 100)

StreamState = tuple[int | None, int, bool, int]
"""A stream's base, delivered, whether it has pending data, and recent_start."""


class SubclassedStream(Stream):
    """Not read through its slots by the C kernel (only ``Stream`` itself is): by name."""

    __slots__ = ()


class SubclassedConnection(Connection):
    """Not read through its slots by the C kernel (only ``Connection`` itself is): by name."""

    __slots__ = ()


Subclassed = tuple[bool, bool]
"""Whether the streams, and whether the connection, are of the subclasses above."""


def make_cache(
    slow: bool, states: tuple[StreamState, StreamState], subclassed: Subclassed = (False, False)
) -> tuple[Cache, Connection]:
    link = Link(1, "tcp", "10.0.0.1:40000", "10.0.0.2:5232")
    info = LinkInfo(link, Transport.STREAM, 40000, 5232)
    conn = (SubclassedConnection if subclassed[1] else Connection)(
        info, (CLIENT, 40000, SERVER, 5232)
    )
    if subclassed[0]:
        conn.streams = (SubclassedStream(), SubclassedStream())
    conn.slow = slow
    for stream, (base, delivered, pending, recent_back) in zip(conn.streams, states, strict=True):
        stream.base = base
        stream.delivered = delivered
        if pending:
            stream.pending[delivered + 10] = (b"x", 0)
        stream.recent_start = max(0, delivered - recent_back)
        stream.recent = [bytes(delivered - stream.recent_start)]
    a, b = conn.streams
    cache: Cache = {
        KEY_A: (conn, Side.A, a, b, conn.info),
        KEY_B: (conn, Side.B, b, a, conn.info),
    }
    return cache, conn


def usually(draw: Any, good: Any, *bad: Any) -> Any:
    """``good`` 29 times in 30, else one of ``bad``."""
    return draw(st.sampled_from(bad)) if draw(st.sampled_from([False] * 29 + [True])) else good


def frame(draw: Any, expect: list[int]) -> bytes:
    """An Ethernet frame in the fast path's case, or off it in a field or several.

    ``expect``: the next sequence number of each side, moved on by the payload."""
    side = draw(st.sampled_from([0, 1, 0, 1, 2]))
    key = (KEY_A, KEY_B, KEY_A[:11] + b"\x00")[side]
    payload = draw(st.binary(max_size=40))
    off = usually(draw, 0x50, 0x80, 0x40, 0xF0)
    tcp_len = max(20, (off >> 4) * 4)
    total = 20 + tcp_len + len(payload) + usually(draw, 0, -1, 1, -30, 1000)
    seq = (expect[side % 2] + usually(draw, 0, 5, 40, -3)) % 2**32
    ack = (expect[1 - side % 2] + usually(draw, 0, 7, 2**30, -5, 2**31)) % 2**32
    expect[side % 2] = (seq + len(payload)) % 2**32
    flags = usually(draw, ACK, ACK | 0x08, 0x02, ACK | 0x01, ACK | 0x04, 0, 0xFF)
    ethernet = b"\x00" * 12 + struct.pack("!H", usually(draw, 0x0800, 0x86DD, 0x8100))
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        usually(draw, 0x45, 0x46, 0x65),
        0,
        total % 65536,
        0,
        usually(draw, 0x4000, 0x2000, 1, 0xFFFF),
        64,
        usually(draw, 6, 17),
        0,
        key[:4],
        key[4:8],
    )
    tcp = key[8:12] + struct.pack("!IIBBHHH", seq, ack, off, flags, 0, 0, 0)
    tcp += bytes(max(0, tcp_len - len(tcp)))
    data = ethernet + ip + tcp + payload
    return data[: draw(st.integers(0, len(data)))] if usually(draw, False, True) else data


@st.composite
def buffers(
    draw: Any, stream_states: tuple[StreamState, StreamState]
) -> tuple[bytes, int, int, bool, int]:
    """A classic pcap buffer: records of plausible frames and of arbitrary bytes, record
    lengths that may lie, cut anywhere; with a start position, layout and time unit."""
    expect = [((base or 0) + delivered) % 2**32 for base, delivered, _, _ in stream_states]
    header_size = draw(st.sampled_from([16, 24]))
    big_endian = draw(st.booleans())
    unit = draw(st.sampled_from([1, 1000]))
    head = struct.Struct((">" if big_endian else "<") + "IIII")
    out = bytearray()
    for _ in range(draw(st.integers(0, 12))):
        data = frame(draw, expect) if usually(draw, True, False) else draw(st.binary(max_size=80))
        incl = len(data) + usually(draw, 0, 1, -1, 1 << 31)
        sec, frac = draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 2**32 - 1))
        out += head.pack(sec, frac, max(0, incl) % 2**32, len(data))
        out += bytes(header_size - 16) + data
    buf = bytes(out[: draw(st.integers(0, len(out)))]) if draw(st.booleans()) else bytes(out)
    pos = usually(draw, 0, 1, len(buf))
    return buf, min(pos, len(buf)), header_size, big_endian, unit


states = st.tuples(
    st.sampled_from([*BASES, *BASES, None]),
    st.sampled_from([0, 0, 40, (32 << 10) - 3]),
    st.sampled_from([False, False, False, True]),
    st.sampled_from([0, 1, 32 << 10]),
)


def outcome(
    kernel: FastRecords, arguments: Any, subclassed: Subclassed = (False, False)
) -> tuple[object, ...]:
    """What one kernel returns and leaves in the streams, comparable across twins."""
    (buf, pos, header_size, big_endian, unit), slow, stream_states = arguments
    cache, conn = make_cache(slow, stream_states, subclassed)
    end, taken, runs, last_time = kernel(
        buf, pos, header_size, big_endian, unit, cache, trim_recent
    )
    assert 0 <= end <= len(buf)
    return (
        end,
        taken,
        [_plain(run) for run in runs],
        last_time,
        [
            (s.base, s.delivered, b"".join(s.recent), s.recent_start, len(s.recent))
            for s in conn.streams
        ],
    )


def _plain(run: Run) -> tuple[Side, list[tuple[bytes, int]]]:
    _info, side, pieces = run
    assert pieces
    return side, [(piece.data, piece.time_ns) for piece in pieces]


@st.composite
def cases(draw: Any) -> tuple[Any, bool, tuple[StreamState, StreamState]]:
    """Arguments for ``outcome``: a buffer, whether the connection is slow, stream states."""
    stream_states = draw(st.tuples(states, states))
    return draw(buffers(stream_states)), usually(draw, False, True), stream_states


@needs_c
@settings(max_examples=600, deadline=None)
@given(cases())
def test_c_and_python_take_the_same_records(
    case: tuple[Any, bool, tuple[StreamState, StreamState]],
) -> None:
    assert outcome(fast_records, case) == outcome(fast_records_python, case)


@needs_c
@settings(max_examples=300, deadline=None)
@given(cases(), st.tuples(st.booleans(), st.booleans()))
def test_subclassed_streams_read_by_name_take_the_same_records(
    case: tuple[Any, bool, tuple[StreamState, StreamState]], subclassed: Subclassed
) -> None:
    assert outcome(fast_records, case, subclassed) == outcome(fast_records_python, case)


@needs_c
def test_only_classes_with_plain_slots_are_read_through_them() -> None:
    from sniffer.sources import _fast_path

    class NoSlots:
        pass

    class CustomAccess(Stream):
        __slots__ = ()

        def __getattribute__(self, name: str) -> Any:
            return super().__getattribute__(name)

    for stream_type, connection_type in (
        (NoSlots, Connection),
        (CustomAccess, Connection),
        (Connection, Connection),
        (Stream, Stream),
    ):
        with pytest.raises(TypeError):
            _fast_path.bind_slots(stream_type, connection_type)


@needs_c
def test_a_run_of_in_order_payloads_and_acks_is_taken_whole() -> None:
    """Payloads of side A with B's pure ACKs between them: one run, every record taken."""
    head = struct.Struct("<IIII")
    buf = bytearray()
    seq = BASES[0]
    ack_seq = BASES[1]
    for n in range(100):
        payload = bytes([n]) * 1000
        for key, this_seq, this_ack, data in (
            (KEY_A, seq, ack_seq, payload),
            (KEY_B, ack_seq, seq + len(payload), b""),
        ):
            ip = struct.pack("!BBHHHBBH", 0x45, 0, 40 + len(data), 0, 0x4000, 64, 6, 0) + key[:8]
            tcp = key[8:] + struct.pack("!IIBBHHH", this_seq, this_ack, 0x50, ACK, 0, 0, 0)
            packet = b"\x00" * 12 + b"\x08\x00" + ip + tcp + data
            buf += head.pack(1, n, len(packet), len(packet)) + packet
        seq += len(payload)
    cache, conn = make_cache(False, ((BASES[0], 0, False, 0), (BASES[1], 0, False, 0)))
    for kernel in (fast_records, fast_records_python):
        cache, conn = make_cache(False, ((BASES[0], 0, False, 0), (BASES[1], 0, False, 0)))
        end, taken, runs, last_time = kernel(bytes(buf), 0, 16, False, 1000, cache, trim_recent)
        assert (end, taken, last_time) == (len(buf), 200, 1_000_000_000 + 99_000)
        assert [_plain(run)[0] for run in runs] == [Side.A]
        assert b"".join(piece.data for piece in runs[0][2]) == b"".join(
            bytes([n]) * 1000 for n in range(100)
        )
        assert conn.streams[0].delivered == 100_000
        assert conn.streams[0].recent_start >= 100_000 - (32 << 10)


@needs_c
def test_a_position_outside_the_buffer_is_refused() -> None:
    for kernel in (fast_records, fast_records_python):
        with pytest.raises(ValueError):
            kernel(b"", 1, 16, False, 1000, {}, trim_recent)


# -- pcapng blocks ------------------------------------------------------------------------------


def packet_block(draw: Any, order: str, expect: list[int], interfaces: int) -> bytes:
    """An EPB or SPB of a plausible frame or of arbitrary bytes, on an interface that may not
    exist, with a time that may not fit, lengths that may lie, options or not."""
    data = frame(draw, expect) if usually(draw, True, False) else draw(st.binary(max_size=80))
    if draw(st.integers(0, 5)) == 0:
        orig = len(data) + usually(draw, 0, 1, -1, 1 << 31)
        return ng.block(order, ng.BLOCK_SPB, struct.pack(order + "I", max(0, orig)) + data)
    iface = usually(draw, draw(st.integers(0, max(0, interfaces - 1))), interfaces, 2**32 - 1)
    ticks = usually(
        draw,
        draw(st.integers(0, 2**40)),
        2**64 - 1,
        MAX_TIME_NS,
        MAX_TIME_NS // 1000 + 1,
        MAX_TIME_NS // 10**9,
    )
    caplen = len(data) + usually(draw, 0, 1, -1, 4, 1 << 31)
    options = usually(draw, b"", ng.opt(order, 1, b"note") + ng.opt(order, 0, b""), b"\xff" * 3)
    head = struct.pack(order + "IIIII", iface, ticks >> 32, ticks & 0xFFFFFFFF, 0, len(data))
    head = head[:12] + struct.pack(order + "I", max(0, caplen) % 2**32) + head[16:]
    return ng.block(order, ng.BLOCK_EPB, head + ng.pad(data) + options)


def other_block(draw: Any, order: str) -> bytes:
    btype = draw(st.sampled_from([ng.BLOCK_IDB, ng.BLOCK_NRB, ng.BLOCK_ISB, ng.BLOCK_DSB,
                                  ng.BLOCK_CUSTOM, 2, 0x0A0D0D0A]))  # fmt: skip
    return ng.block(order, btype, draw(st.binary(max_size=24)))


def lie(draw: Any, order: str, block: bytes) -> bytes:
    """The block, sometimes with a leading or trailing length that lies."""
    which = usually(draw, None, 4, len(block) - 4)
    if which is None:
        return block
    length = draw(st.sampled_from([0, 8, 12, 13, len(block) + 4, len(block) - 4, 2**31]))
    return block[:which] + struct.pack(order + "I", length % 2**32) + block[which + 4 :]


def block_list(draw: Any, order: str, expect: list[int], interfaces: int) -> bytes:
    out = bytearray()
    for _ in range(draw(st.integers(0, 12))):
        if usually(draw, True, False):
            block = packet_block(draw, order, expect, interfaces)
        else:
            block = other_block(draw, order)
        out += lie(draw, order, block)
    return bytes(out[: draw(st.integers(0, len(out)))]) if draw(st.booleans()) else bytes(out)


interface_ticks = st.tuples(
    st.sampled_from([1, 1000, 10**9, 10**6, 0]),
    st.sampled_from([0, 0, 10**11, -(10**11), 2**62, -(2**62)]),
)


@st.composite
def block_cases(draw: Any) -> tuple[Any, bool, tuple[StreamState, StreamState]]:
    """Arguments for ``blocks_outcome``: a pcapng buffer, start, byte order, interfaces and
    last time; whether the connection is slow; stream states."""
    stream_states = draw(st.tuples(states, states))
    expect = [((base or 0) + delivered) % 2**32 for base, delivered, _, _ in stream_states]
    order = draw(st.sampled_from("<>"))
    interfaces = tuple(draw(st.lists(interface_ticks, min_size=usually(draw, 1, 0), max_size=3)))
    buf = block_list(draw, order, expect, len(interfaces))
    pos = min(len(buf), usually(draw, 0, 4, len(buf)))
    last_time = draw(st.sampled_from([0, 12_345, -(10**11), MAX_TIME_NS]))
    arguments = (buf, pos, order == ">", interfaces, last_time)
    return arguments, usually(draw, False, True), stream_states


def blocks_outcome(kernel: FastBlocks, case: Any) -> tuple[object, ...]:
    (buf, pos, big_endian, interfaces, last_time), slow, stream_states = case
    cache, conn = make_cache(slow, stream_states)
    end, taken, runs, last = kernel(buf, pos, big_endian, interfaces, last_time, cache, trim_recent)
    assert pos <= end <= len(buf)
    return (end, taken, [_plain(run) for run in runs], last, _streams(conn))


def _streams(conn: Connection) -> list[tuple[object, ...]]:
    return [
        (s.base, s.delivered, b"".join(s.recent), s.recent_start, len(s.recent))
        for s in conn.streams
    ]


@needs_c
@settings(max_examples=600, deadline=None)
@given(block_cases())
def test_c_and_python_take_the_same_blocks(
    case: tuple[Any, bool, tuple[StreamState, StreamState]],
) -> None:
    assert blocks_outcome(fast_blocks, case) == blocks_outcome(fast_blocks_python, case)


READER_INTERFACES = st.tuples(
    st.sampled_from([LINKTYPE_ETHERNET, LINKTYPE_ETHERNET, LINKTYPE_RAW]),
    st.sampled_from([None, 9, 6, 3, 0x80 | 20, 10]),
    st.sampled_from([0, 0, 100, -100, 2**31]),
)


class KernelAtFirstPacket:
    """A ``RecordTaker`` that runs both block loops where the packet blocks of a file begin
    (``at``) on fresh stream states, and takes nothing itself: the reader reads on."""

    def __init__(self, at: int, slow: bool, stream_states: Any) -> None:
        self.at = at
        self.slow = slow
        self.stream_states = stream_states
        self.results: list[tuple[object, ...]] = []
        self.interfaces: KernelInterfaces = ()

    def pcap(self, buf: bytes, pos: int, layout: PcapLayout) -> tuple[int, int]:
        raise AssertionError("not a pcapng file")

    def pcapng(
        self, buf: bytes, pos: int, layout: PcapngLayout, last_time: int
    ) -> tuple[int, int, int]:
        if pos == self.at:
            self.interfaces = kernel_interfaces(layout.interfaces)
            case = ((buf, pos, layout.big_endian, self.interfaces, last_time), self.slow,
                    self.stream_states)  # fmt: skip
            kernels = [fast_blocks_python] + ([fast_blocks] if HAVE_C else [])
            self.results = [blocks_outcome(kernel, case) for kernel in kernels]
        return pos, 0, last_time


@settings(max_examples=250, deadline=None)
@given(st.data())
def test_the_blocks_taken_are_the_packets_the_reader_reads(data: st.DataObject) -> None:
    """Whatever the kernel takes, ``CaptureReader`` reads as packets (no error before them),
    with the same link type (Ethernet), times and frames: ``take_packet`` on them gives the
    same runs and stream states."""
    draw = data.draw
    stream_states = draw(st.tuples(states, states))
    slow = usually(draw, False, True)
    expect = [((base or 0) + delivered) % 2**32 for base, delivered, _, _ in stream_states]
    order = draw(st.sampled_from("<>"))
    described = draw(st.lists(READER_INTERFACES, min_size=1, max_size=3))
    head = ng.shb(order) + b"".join(ng.idb_with_ticks(order, *i) for i in described)
    body = block_list(draw, order, expect, len(described))
    taker = KernelAtFirstPacket(len(head), slow, stream_states)
    records: list[tuple[int, int, bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "blocks.pcapng"
        path.write_bytes(head + body)
        try:
            for record in CaptureReader(path).take_records(taker):
                assert record is not None  # the taker takes nothing
                time_ns, linktype, buf, start, end = record
                records.append((time_ns, linktype, buf[start:end]))
        except SourceError:
            pass
    assert taker.results, "the taker was not called where the packet blocks begin"
    assert all(result == taker.results[0] for result in taker.results)
    _end, taken, runs, _last, streams = taker.results[0]
    cache, conn = make_cache(slow, stream_states)
    read_runs: list[Run] = []
    assert len(records) >= taken
    for time_ns, linktype, frame_bytes in records[:taken]:
        assert linktype == LINKTYPE_ETHERNET
        took = take_packet(cache, frame_bytes, 0, len(frame_bytes))
        assert took is not None
        entry, payload = took
        if payload:
            if read_runs and read_runs[-1][:2] == (entry[4], entry[1]):
                read_runs[-1][2].append(Piece(payload, time_ns))
            else:
                read_runs.append((entry[4], entry[1], [Piece(payload, time_ns)]))
    assert [_plain(run) for run in read_runs] == runs
    assert _streams(conn) == streams
