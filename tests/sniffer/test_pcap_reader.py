from __future__ import annotations

import io
import os
import random
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.utils import RawPcapNgReader

from sniffer.cli import EXIT_OK, main
from sniffer.packet_writer import CaptureWriter, UdpFlow
from sniffer.sources.base import Side, SourceError
from sniffer.sources.pcap_file import CaptureReader, detect_format
from tests.sniffer.pcapng_blocks import block, epb, idb, opt, shb

T0 = 1_700_000_000_123_456_789


def _read(path: Path, **kwargs: object) -> list[tuple[int, int, bytes]]:
    return list(CaptureReader(path, **kwargs).packets())  # type: ignore[arg-type]


def _packets(n: int = 5) -> list[tuple[int, bytes]]:
    return [(T0 + i * 1_000_001, bytes([i]) * (i * 37 % 200 + 1)) for i in range(n)]


# -- hand-built files (independent of CaptureWriter) for byte orders and block kinds -----------


def _pcap_bytes(
    order: str, magic: int, records: list[tuple[int, int, bytes]], lt: int = 1
) -> bytes:
    out = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, lt)
    for sec, frac, data in records:
        out += struct.pack(order + "IIII", sec, frac, len(data), len(data)) + data
    return out


@pytest.mark.parametrize("suffix", [".pcap", ".pcapng"])
@pytest.mark.parametrize("nanosecond", [True, False])
def test_writer_reader_round_trip(tmp_path: Path, suffix: str, nanosecond: bool) -> None:
    packets = _packets(50)
    path = tmp_path / f"x{suffix}"
    with CaptureWriter(path, nanosecond=nanosecond, comment="c") as writer:
        for i, (time_ns, data) in enumerate(packets):
            if suffix == ".pcapng" and i % 3 == 0:
                writer.write(time_ns, data, comment=f"n{i}", flags=1)
            else:
                writer.write(time_ns, data)
    got = _read(path)
    scale = 1 if nanosecond else 1000
    assert got == [(t // scale * scale, 1, d) for t, d in packets]


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 1000])
def test_small_buffers_give_identical_packets(tmp_path: Path, chunk_size: int) -> None:
    packets = _packets(30)
    for suffix in (".pcap", ".pcapng"):
        path = tmp_path / f"x{suffix}"
        with CaptureWriter(path) as writer:
            writer.write_all(packets)
        assert _read(path, chunk_size=chunk_size) == [(t, 1, d) for t, d in packets]


@pytest.mark.parametrize(
    ("order", "magic", "unit"),
    [
        ("<", 0xA1B2C3D4, 1000),
        (">", 0xA1B2C3D4, 1000),
        ("<", 0xA1B23C4D, 1),
        (">", 0xA1B23C4D, 1),
    ],
)
def test_pcap_both_byte_orders_and_resolutions(
    tmp_path: Path, order: str, magic: int, unit: int
) -> None:
    path = tmp_path / "x.pcap"
    path.write_bytes(_pcap_bytes(order, magic, [(10, 5, b"abc"), (11, 999, b"defg")], lt=113))
    assert _read(path) == [
        (10_000_000_000 + 5 * unit, 113, b"abc"),
        (11_000_000_000 + 999 * unit, 113, b"defg"),
    ]


@pytest.mark.parametrize("order", ["<", ">"])
def test_pcapng_interfaces_with_own_linktype_and_resolution(tmp_path: Path, order: str) -> None:

    def tsresol(code: int) -> bytes:
        return opt(order, 9, bytes([code]))

    tsoffset = opt(order, 14, struct.pack(order + "q", 100))
    blob = (
        shb(order)
        + idb(order, 1)  # default resolution: microseconds
        + idb(order, 276, tsresol(9))
        + idb(order, 101, tsresol(0x80 | 10) + tsoffset)  # 2**-10 s ticks, +100 s
        + idb(order, 252, tsresol(3) + opt(order, 2, b"serial0"))  # milliseconds
        + block(order, 4, b"\x00\x00\x00\x00")  # a name resolution block, skipped
        + epb(order, 0, 1_500_000, b"eth")
        + epb(order, 1, 2_000_000_007, b"sll2")
        + epb(order, 2, 3 * 1024 + 512, b"raw")
        + epb(order, 3, 4_321, b"pdu")
        + block(order, 5, struct.pack(order + "III", 0, 0, 0))  # interface statistics
    )
    path = tmp_path / "x.pcapng"
    path.write_bytes(blob)
    reader = CaptureReader(path)
    assert list(reader.packets()) == [
        (1_500_000_000, 1, b"eth"),
        (2_000_000_007, 276, b"sll2"),
        (103_500_000_000, 101, b"raw"),
        (4_321_000_000, 252, b"pdu"),
    ]
    assert reader.linktypes == [1, 276, 101, 252]


def test_pcapng_simple_and_obsolete_packet_blocks(tmp_path: Path) -> None:
    order = "<"
    spb = block(order, 3, struct.pack(order + "I", 6) + b"simple")
    pb_head = struct.pack(order + "HHIIII", 0, 0, 0, 2_000_000, 5, 9)
    pb = block(order, 2, pb_head + b"obsol")
    snapped_spb = block(order, 3, struct.pack(order + "I", 100) + b"only8byt")
    path = tmp_path / "x.pcapng"
    path.write_bytes(shb(order) + idb(order, 1) + pb + spb + snapped_spb)
    # SPB has no timestamp: it takes the previous packet's time
    assert _read(path) == [
        (2_000_000_000, 1, b"obsol"),
        (2_000_000_000, 1, b"simple"),
        (2_000_000_000, 1, b"only8byt"),
    ]


def test_pcapng_several_sections_with_different_byte_orders(tmp_path: Path) -> None:
    first = shb("<") + idb("<", 1) + epb("<", 0, 1_000_000, b"one")
    second = (
        shb(">") + idb(">", 101, opt(">", 9, b"\x09")) + epb(">", 0, 7, b"two")
    )  # interfaces restart per section
    path = tmp_path / "x.pcapng"
    path.write_bytes(first + second)
    assert _read(path) == [(1_000_000_000, 1, b"one"), (7, 101, b"two")]


def test_reader_agrees_with_scapy_on_multi_interface_file(tmp_path: Path) -> None:
    path = tmp_path / "x.pcapng"
    with CaptureWriter(path) as writer:
        serial = writer.add_interface(147, name="ttyUSB0", description="9600 8N1")
        for i, (time_ns, data) in enumerate(_packets(20)):
            writer.write(time_ns, data, interface=serial if i % 2 else 0)
    ours = _read(path)
    with RawPcapNgReader(str(path)) as reader:
        theirs = [(data, meta.linktype) for data, meta in reader]
    assert [(d, lt) for _, lt, d in ours] == theirs


# -- damage -------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".pcap", ".pcapng"])
def test_truncated_file_yields_everything_before_the_cut(tmp_path: Path, suffix: str) -> None:
    packets = _packets(4)
    whole = tmp_path / f"whole{suffix}"
    with CaptureWriter(whole) as writer:
        writer.write_all(packets)
    blob = whole.read_bytes()
    size = len(packets[-1][1])
    last_size = size + 16 if suffix == ".pcap" else 32 + size + (-size % 4)
    cut_path = tmp_path / f"cut{suffix}"
    for cut in range(len(blob) - last_size + 1, len(blob)):
        cut_path.write_bytes(blob[:cut])
        reader = CaptureReader(cut_path)
        got: list[tuple[int, int, bytes]] = []
        with pytest.raises(SourceError) as info:
            got.extend(reader.packets())
        assert len(got) == 3, cut
        message = str(info.value)
        assert "truncated" in message
        assert "packet 4" in message
        assert "3 packets read" in message
        assert "\n" not in message
        assert f"at byte {len(blob) - last_size} " in message


@pytest.mark.parametrize(("btype", "what"), [(6, "enhanced packet block"), (2, "packet block")])
def test_a_packet_block_too_short_for_its_header_is_corruption(
    tmp_path: Path, btype: int, what: str
) -> None:
    """At the end of the file, too (it used to escape as a struct.error)."""
    order = "<"
    good = shb(order) + idb(order, 1) + epb(order, 0, 1, b"ok")
    path = tmp_path / "x.pcapng"
    path.write_bytes(good + struct.pack(order + "III", btype, 12, 12))
    got: list[tuple[int, int, bytes]] = []
    with pytest.raises(SourceError, match=rf"corrupt pcapng {what} at byte {len(good)} "):
        got.extend(CaptureReader(path).packets())
    assert got == [(1000, 1, b"ok")]


def test_corrupt_block_length_reports_offset_and_packet(tmp_path: Path) -> None:
    order = "<"
    good = shb(order) + idb(order, 1) + epb(order, 0, 1, b"ok")
    bad = struct.pack(order + "II", 6, 13) + b"\0" * 20
    path = tmp_path / "x.pcapng"
    path.write_bytes(good + bad)
    got: list[tuple[int, int, bytes]] = []
    with pytest.raises(
        SourceError, match=rf"corrupt pcapng block \(length 13\) at byte {len(good)} \(packet 2\)"
    ):
        got.extend(CaptureReader(path).packets())
    assert got == [(1000, 1, b"ok")]


def test_mismatched_trailing_length_is_corruption(tmp_path: Path) -> None:
    order = "<"
    block = bytearray(epb(order, 0, 1, b"data"))
    block[-4:] = struct.pack(order + "I", 999)
    path = tmp_path / "x.pcapng"
    path.write_bytes(shb(order) + idb(order, 1) + bytes(block))
    with pytest.raises(SourceError, match="trailing length differs"):
        list(CaptureReader(path).packets())


def test_epb_on_undefined_interface_is_corruption(tmp_path: Path) -> None:
    path = tmp_path / "x.pcapng"
    path.write_bytes(shb("<") + idb("<", 1) + epb("<", 3, 1, b"x"))
    with pytest.raises(SourceError, match="corrupt pcapng enhanced packet block"):
        list(CaptureReader(path).packets())


def test_timestamp_past_signed_64_bit_nanoseconds_is_corruption(tmp_path: Path) -> None:
    """Times are int64 nanoseconds downstream (``read -T json`` fails on larger integers)."""
    path = tmp_path / "x.pcapng"
    last_ok = (2**63 - 1) // 1000  # microsecond ticks
    path.write_bytes(
        shb("<") + idb("<", 1) + epb("<", 0, last_ok, b"a") + epb("<", 0, 2**64 - 1, b"b")
    )
    got: list[tuple[int, int, bytes]] = []
    with pytest.raises(SourceError, match=r"timestamp after 2262.* \(packet 2\)"):
        got.extend(CaptureReader(path).packets())
    assert got == [(last_ok * 1000, 1, b"a")]


@pytest.mark.parametrize("seconds", [-(2**63), 2**62])
def test_interface_time_offset_beyond_signed_64_bit_nanoseconds_is_corruption(
    tmp_path: Path, seconds: int
) -> None:
    tsoffset = opt("<", 14, struct.pack("<q", seconds))
    path = tmp_path / "x.pcapng"
    path.write_bytes(shb("<") + idb("<", 1, tsoffset) + epb("<", 0, 1, b"x"))
    with pytest.raises(SourceError, match="corrupt pcapng interface description block"):
        list(CaptureReader(path).packets())


def test_json_output_of_a_capture_with_a_far_timestamp_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, frame = UdpFlow(("10.0.0.1", 4000), ("10.0.0.2", 5000)).datagram(Side.A, b"hello", 0)
    path = tmp_path / "x.pcapng"
    path.write_bytes(shb("<") + idb("<", 1) + epb("<", 0, 2**64 - 1, frame))
    assert main(["read", "-T", "jsonl", str(path)]) != EXIT_OK
    assert "timestamp after 2262" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"", "empty"),
        (b"GET / HTTP/1.1\r\n", "starts with 47 45 54 20"),
        (b"\x89PNG\r\n\x1a\n....", "starts with 89 50 4e 47"),
    ],
)
def test_not_a_capture_file(tmp_path: Path, content: bytes, detail: str) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=f"is not a pcap or pcapng file \\({detail}"):
        CaptureReader(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        CaptureReader(tmp_path / "nope.pcap")
    with pytest.raises(SourceError, match="is a directory"):
        CaptureReader(tmp_path)


def test_truncated_pcap_header(tmp_path: Path) -> None:
    path = tmp_path / "x.pcap"
    path.write_bytes(struct.pack("<I", 0xA1B2C3D4) + b"\0" * 10)
    with pytest.raises(SourceError, match="truncated pcap file header"):
        list(CaptureReader(path).packets())


def test_detect_format() -> None:
    assert detect_format(b"\x0a\x0d\x0d\x0a") == "pcapng"
    assert detect_format(b"\xd4\xc3\xb2\xa1") == "pcap"
    assert detect_format(b"\xa1\xb2\x3c\x4d") == "pcap"
    assert detect_format(b"PK\x03\x04") is None


def test_progress_reports_reach_the_total(tmp_path: Path) -> None:
    path = tmp_path / "x.pcapng"
    with CaptureWriter(path) as writer:
        writer.write_all(_packets(100))
    calls: list[tuple[int, int]] = []
    progress: Callable[[int, int], None] = lambda done, total: calls.append((done, total))  # noqa: E731
    assert len(_read(path, progress=progress, chunk_size=512)) == 100
    size = path.stat().st_size
    assert calls[-1] == (size, size)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert len(calls) > 3


@settings(max_examples=40, deadline=None)
@given(
    packets=st.lists(st.tuples(st.integers(0, 2**62), st.binary(max_size=300)), max_size=20),
    fmt=st.sampled_from(["pcap", "pcapng"]),
    chunk=st.integers(1, 700),
)
def test_round_trip_property(
    tmp_path_factory: pytest.TempPathFactory,
    packets: list[tuple[int, bytes]],
    fmt: str,
    chunk: int,
) -> None:
    path = tmp_path_factory.mktemp("rt") / f"x.{fmt}"
    if fmt == "pcap":  # 32-bit seconds
        packets = [(t % (2**32 * 10**9), d) for t, d in packets]
    with CaptureWriter(path) as writer:
        writer.write_all(packets)
    assert _read(path, chunk_size=chunk) == [(t, 1, d) for t, d in packets]


def test_memory_stays_bounded_on_a_large_file(tmp_path: Path) -> None:
    import tracemalloc

    from sniffer.packet_writer import TcpConversation
    from sniffer.sources import PcapSource
    from sniffer.sources.base import Side

    conv = TcpConversation(("10.0.0.1", 1), ("10.0.0.2", 2))
    path = tmp_path / "big.pcapng"
    block = bytes(range(256)) * 160  # 40 KiB per send, about 28 segments
    with CaptureWriter(path) as writer:
        writer.write_all(conv.open(T0))
        for i in range(400):
            writer.write_all(conv.send(Side.A, block, T0 + i, ack=True))
    size = path.stat().st_size
    assert size > 15_000_000
    tracemalloc.start()
    try:
        source = PcapSource(path)
        delivered = sum(len(getattr(e, "data", b"")) for e in source.events())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert delivered == 400 * len(block)
    assert peak < 5_000_000, f"peak {peak} bytes for a {size}-byte file"


def test_packets_with_meta_gives_interfaces_flags_and_comments(tmp_path: Path) -> None:
    from sniffer.sources.pcap_file import Interface, PacketMeta

    path = tmp_path / "x.pcapng"
    with CaptureWriter(path, interface_name="eth0") as writer:
        port = writer.add_interface(252, name="/dev/ttyUSB0", description="9600 8N1")
        writer.write(T0, b"eth")
        writer.write(T0 + 1, b"in", interface=port, flags=1, comment="summary é")
        writer.write(T0 + 2, b"out!", interface=port, flags=2)
    reader = CaptureReader(path)
    got = list(reader.packets_with_meta())
    assert got == [
        PacketMeta(T0, 1, b"eth", 0, None, None, 3),
        PacketMeta(T0 + 1, 252, b"in", 1, 1, "summary é", 2),
        PacketMeta(T0 + 2, 252, b"out!", 1, 2, None, 4),
    ]
    assert reader.interfaces == [
        Interface(1, "eth0", ""),
        Interface(252, "/dev/ttyUSB0", "9600 8N1"),
    ]
    pcap = tmp_path / "x.pcap"
    with CaptureWriter(pcap) as writer:
        writer.write(T0, b"abc")
    assert list(CaptureReader(pcap).packets_with_meta()) == [
        PacketMeta(T0, 1, b"abc", 0, None, None, 3)
    ]


def test_reads_from_a_pipe(tmp_path: Path) -> None:
    import os
    import threading

    path = tmp_path / "x.pcapng"
    packets = _packets(40)
    with CaptureWriter(path) as writer:
        writer.write_all(packets)
    read_fd, write_fd = os.pipe()
    blob = path.read_bytes()

    def feed() -> None:
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(blob)

    thread = threading.Thread(target=feed)
    thread.start()
    try:
        got = _read(Path(f"/proc/self/fd/{read_fd}"), chunk_size=100)
    finally:
        thread.join(timeout=10)
        os.close(read_fd)
    assert got == [(t, 1, d) for t, d in packets]


class _ShortReads(io.BytesIO):
    """A stream whose every read returns a random number of bytes, like a pipe."""

    def __init__(self, data: bytes, seed: int) -> None:
        super().__init__(data)
        self.rng = random.Random(seed)
        self.null = os.open(os.devnull, os.O_RDONLY)  # for the reader's fstat

    def read1(self, size: int | None = -1) -> bytes:
        assert size is not None
        assert size > 0
        return super().read1(min(size, self.rng.randint(1, 3000)))

    def fileno(self) -> int:
        return self.null

    def close(self) -> None:
        if not self.closed:
            os.close(self.null)
        super().close()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32), fmt=st.sampled_from(["pcap", "pcapng"]))
def test_short_reads_anywhere_give_identical_packets(
    tmp_path_factory: pytest.TempPathFactory, seed: int, fmt: str
) -> None:
    path = tmp_path_factory.mktemp("short") / f"x.{fmt}"
    packets = [(T0 + i, bytes([i % 256]) * (i * 37 % 1600)) for i in range(60)]
    with CaptureWriter(path) as writer:
        writer.write_all(packets)
    stream = _ShortReads(path.read_bytes(), seed)
    got = list(CaptureReader(path, fileobj=stream, chunk_size=4096).packets())
    assert got == [(t, 1, d) for t, d in packets]
