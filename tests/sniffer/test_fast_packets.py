"""The C record loop (``sniffer.sources._fast_path.fast_records``) against its Python twin
(``fast_packets.fast_records_python``) on arbitrary record bytes: the same records taken, the
same runs, the same stream state afterwards, and never a crash or a read past the buffer."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dissectors.api import Link
from sniffer.sources.base import LinkInfo, Side, Transport
from sniffer.sources.fast_packets import (
    HAVE_C,
    Cache,
    FastRecords,
    Run,
    fast_records,
    fast_records_python,
)
from sniffer.sources.tcp_reassembly import ACK, Connection, trim_recent

needs_c = pytest.mark.skipif(not HAVE_C, reason="sniffer.sources._fast_path was not built")

CLIENT = bytes([10, 0, 0, 1])
SERVER = bytes([10, 0, 0, 2])
KEY_A = CLIENT + SERVER + struct.pack("!HH", 40000, 5232)
KEY_B = SERVER + CLIENT + struct.pack("!HH", 5232, 40000)
BASES = (1000, 2**32 - 100)

StreamState = tuple[int | None, int, bool, int]
"""A stream's base, delivered, whether it has pending data, and recent_start."""


def make_cache(slow: bool, states: tuple[StreamState, StreamState]) -> tuple[Cache, Connection]:
    link = Link(1, "tcp", "10.0.0.1:40000", "10.0.0.2:5232")
    conn = Connection(LinkInfo(link, Transport.STREAM, 40000, 5232), (CLIENT, 40000, SERVER, 5232))
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


def outcome(kernel: FastRecords, arguments: Any) -> tuple[object, ...]:
    """What one kernel returns and leaves in the streams, comparable across twins."""
    (buf, pos, header_size, big_endian, unit), slow, stream_states = arguments
    cache, conn = make_cache(slow, stream_states)
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
    (_conn, side, _stream, _other, _info), pieces = run
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
        assert b"".join(piece.data for piece in runs[0][1]) == b"".join(
            bytes([n]) * 1000 for n in range(100)
        )
        assert conn.streams[0].delivered == 100_000
        assert conn.streams[0].recent_start >= 100_000 - (32 << 10)


@needs_c
def test_a_position_outside_the_buffer_is_refused() -> None:
    for kernel in (fast_records, fast_records_python):
        with pytest.raises(ValueError):
            kernel(b"", 1, 16, False, 1000, {}, trim_recent)
