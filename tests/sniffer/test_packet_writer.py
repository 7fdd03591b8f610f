from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.utils import RawPcapNgReader, RawPcapReader

from sniffer.packet_writer import (
    ACK,
    FIN,
    PSH,
    RST,
    SYN,
    CaptureWriter,
    TcpConversation,
    UdpFlow,
    internet_checksum,
)
from sniffer.sources.base import Side

T0 = 1_700_000_000_123_456_789
CLIENT = ("10.0.0.1", 40000)
SERVER = ("10.0.0.2", 5232)


def _checksums_ok(frame: bytes) -> bool:
    """Recompute IP/TCP/UDP checksums with scapy (an independent implementation)."""
    pkt = Ether(frame)
    rebuilt = pkt.copy()
    for layer in (IP, TCP, UDP):
        if layer in rebuilt:
            del rebuilt[layer].chksum
    return bytes(Ether(bytes(rebuilt))) == bytes(pkt)


def test_internet_checksum_rfc1071_example() -> None:
    # RFC 1071 section 3: words 0001 f203 f4f5 f6f7 sum to ddf2 (folded), checksum is ~ddf2
    assert internet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_internet_checksum_ipv4_header_vector() -> None:
    # the classic IPv4 header example (Wikipedia "Internet checksum"): checksum b861
    header = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    assert internet_checksum(header) == 0xB861


@given(st.binary(max_size=300))
def test_internet_checksum_verifies_to_zero(data: bytes) -> None:
    padded = data + b"\0" * (len(data) & 1)
    csum = internet_checksum(padded)
    # summing data plus its checksum gives all ones (0 after complement)
    assert internet_checksum(padded + csum.to_bytes(2, "big")) in (0xFFFF, 0)


def test_handshake_flags_and_numbers() -> None:
    conv = TcpConversation(CLIENT, SERVER, isn=(100, 5000))
    packets = conv.open(T0)
    assert [t for t, _ in packets] == [T0, T0 + 1000, T0 + 2000]
    syn, synack, ack = (Ether(p)[TCP] for _, p in packets)
    assert (syn.flags, syn.seq, syn.sport, syn.dport) == (SYN, 100, 40000, 5232)
    assert (synack.flags, synack.seq, synack.ack) == (SYN | ACK, 5000, 101)
    assert (ack.flags, ack.seq, ack.ack) == (ACK, 101, 5001)
    assert all(_checksums_ok(p) for _, p in packets)


def test_send_splits_at_mss_with_psh_on_last() -> None:
    conv = TcpConversation(CLIENT, SERVER, mss=1000, isn=(0, 0))
    conv.open(T0)
    data = bytes(range(256)) * 10  # 2560 bytes -> 1000 + 1000 + 560
    packets = conv.send(Side.A, data, T0 + 10, ack=True)
    segs = [Ether(p)[TCP] for _, p in packets]
    assert [len(bytes(s.payload)) for s in segs] == [1000, 1000, 560, 0]
    assert [s.seq for s in segs[:3]] == [1, 1001, 2001]
    assert [int(s.flags) for s in segs] == [ACK, ACK, ACK | PSH, ACK]
    assert segs[3].ack == 2561  # the server's pure ACK covers everything
    assert b"".join(bytes(s.payload) for s in segs) == data
    assert all(_checksums_ok(p) for _, p in packets)


def test_segment_size_override_and_reply_direction() -> None:
    conv = TcpConversation(CLIENT, SERVER, isn=(0, 0))
    conv.open(T0)
    conv.send(Side.A, b"hello", T0)
    packets = conv.send(Side.B, b"abcdefg", T0, segment_size=3)
    segs = [Ether(p) for _, p in packets]
    assert [bytes(s[TCP].payload) for s in segs] == [b"abc", b"def", b"g"]
    assert all(s[IP].src == "10.0.0.2" and s[TCP].ack == 6 for s in segs)


def test_close_fin_exchange_and_rst() -> None:
    conv = TcpConversation(CLIENT, SERVER, isn=(0, 0))
    conv.open(T0)
    conv.send(Side.A, b"abc", T0)
    fin, finack, last = (Ether(p)[TCP] for _, p in conv.close(T0 + 5))
    assert (int(fin.flags), fin.seq) == (FIN | ACK, 4)
    assert (int(finack.flags), finack.ack) == (FIN | ACK, 5)
    assert (int(last.flags), last.seq, last.ack) == (ACK, 5, 2)
    other = TcpConversation(CLIENT, SERVER)
    [(_, rst)] = other.close(T0, rst=True, side=Side.B)
    assert int(Ether(rst)[TCP].flags) == RST | ACK
    assert Ether(rst)[IP].src == "10.0.0.2"


def test_raw_segment_and_skip_do_what_they_say() -> None:
    conv = TcpConversation(CLIENT, SERVER, isn=(0xFFFFFFF0, 0))
    conv.open(T0)
    conv.skip(Side.A, 100)
    [(_, seg)] = conv.send(Side.A, b"x", T0)
    assert Ether(seg)[TCP].seq == (0xFFFFFFF0 + 1 + 100) & 0xFFFFFFFF  # wrapped
    _, retx = conv.raw_segment(Side.A, 10, b"again", T0)
    assert Ether(retx)[TCP].seq == (0xFFFFFFF0 + 11) & 0xFFFFFFFF
    assert conv.sent[Side.A] == 101


def test_ipv6_conversation_and_udp() -> None:
    conv = TcpConversation(("fe80::1", 1), ("fe80::2", 2))
    packets = [*conv.open(T0), *conv.send(Side.A, b"v6data", T0)]
    last = Ether(packets[-1][1])
    assert last[IPv6].src == "fe80::1"
    assert bytes(last[TCP].payload) == b"v6data"
    assert all(_checksums_ok(p) for _, p in packets)
    flow = UdpFlow(("192.168.1.5", 5000), ("192.168.1.6", 6000))
    _, dgram = flow.datagram(Side.B, b"odd", T0)
    pkt = Ether(dgram)
    assert (pkt[IP].src, pkt[UDP].sport, bytes(pkt[UDP].payload)) == ("192.168.1.6", 6000, b"odd")
    assert _checksums_ok(dgram)


def test_mixed_address_families_rejected() -> None:
    with pytest.raises(ValueError, match="cannot mix"):
        TcpConversation(("10.0.0.1", 1), ("fe80::1", 2))


def _sample_packets() -> list[tuple[int, bytes]]:
    conv = TcpConversation(CLIENT, SERVER)
    flow = UdpFlow(("10.0.0.1", 7000), ("10.0.0.3", 7001))
    return [
        *conv.open(T0),
        *conv.send(Side.A, b"request", T0 + 1_000_000, ack=True),
        *conv.send(Side.B, b"reply" * 500, T0 + 2_000_000, ack=True),
        flow.datagram(Side.A, b"ping", T0 + 3_000_001),
        *conv.close(T0 + 4_000_000),
    ]


@pytest.mark.parametrize("nanosecond", [True, False])
def test_pcap_round_trip_through_scapy_reader(tmp_path: Path, nanosecond: bool) -> None:
    packets = _sample_packets()
    path = tmp_path / "x.pcap"
    with CaptureWriter(path, nanosecond=nanosecond) as writer:
        writer.write_all(packets)
    assert writer.count == len(packets)
    with RawPcapReader(str(path)) as reader:
        got = list(reader)
    assert [data for data, _ in got] == [p for _, p in packets]
    scale = 1 if nanosecond else 1000
    for (data, meta), (time_ns, _) in zip(got, packets, strict=True):
        frac = meta.usec if hasattr(meta, "usec") else meta.nsec
        assert meta.sec * 1_000_000_000 + frac * scale == time_ns // scale * scale
        assert meta.caplen == meta.wirelen == len(data)


@pytest.mark.parametrize("nanosecond", [True, False])
def test_pcapng_round_trip_through_scapy_reader(tmp_path: Path, nanosecond: bool) -> None:
    packets = _sample_packets()
    path = tmp_path / "x.pcapng"
    with CaptureWriter(path, nanosecond=nanosecond, comment="made by tests") as writer:
        for i, (time_ns, data) in enumerate(packets):
            writer.write(time_ns, data, comment=f"packet {i}" if i % 2 else None)
    with RawPcapNgReader(str(path)) as reader:
        got = list(reader)
    assert [data for data, _ in got] == [p for _, p in packets]
    resolution = 1 if nanosecond else 1000
    for (_, meta), (time_ns, _) in zip(got, packets, strict=True):
        ticks = (meta.tshigh << 32) | meta.tslow
        assert ticks == time_ns // resolution
        assert meta.tsresol == 1_000_000_000 // resolution


def test_classic_pcap_refuses_pcapng_features(tmp_path: Path) -> None:
    with CaptureWriter(tmp_path / "x.pcap") as writer:
        with pytest.raises(ValueError, match="single interface"):
            writer.add_interface(1)
        with pytest.raises(ValueError, match="no comments"):
            writer.write(T0, b"x", comment="no")


tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not on PATH")


@pytest.mark.tshark
@tshark
@pytest.mark.parametrize(
    ("name", "nanosecond"), [("a.pcapng", True), ("b.pcapng", False), ("c.pcap", True)]
)
def test_tshark_reads_files_and_checksums_are_good(
    tmp_path: Path, name: str, nanosecond: bool
) -> None:
    packets = _sample_packets()
    path = tmp_path / name
    with CaptureWriter(path, nanosecond=nanosecond, comment="camshark test") as writer:
        writer.write_all(packets)
        if writer.fmt == "pcapng":
            iface = writer.add_interface(252, name="serial0", description="9600 8N1")
            writer.write(T0 + 5_000_000, b"\x00\x00\x00\x00", interface=iface, flags=1)
    result = subprocess.run(
        [
            "tshark", "-r", str(path), "-o", "tcp.check_checksum:TRUE",
            "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
            "-T", "fields", "-E", "separator=|",
            "-e", "frame.time_epoch", "-e", "ip.checksum.status",
            "-e", "tcp.checksum.status", "-e", "udp.checksum.status", "-e", "tcp.len",
        ],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    rows = [line.split("|") for line in result.stdout.splitlines()]
    expected = len(packets) + (1 if path.suffix == ".pcapng" else 0)
    assert len(rows) == expected
    for row, (time_ns, _) in zip(rows, packets, strict=False):
        assert row[1] == "1"  # PROTO_CHECKSUM_E_GOOD
        assert "1" in (row[2], row[3])
        secs, _, frac = row[0].partition(".")
        got_ns = int(secs) * 1_000_000_000 + int(frac.ljust(9, "0")[:9])
        assert got_ns == (time_ns if nanosecond else time_ns // 1000 * 1000)
    assert sum(int(row[4] or 0) for row in rows) == len(b"request") + 2500


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown capture format"):
        CaptureWriter(tmp_path / "x.cap", fmt="erf")  # type: ignore[arg-type]
    assert not (tmp_path / "x.cap").exists()
