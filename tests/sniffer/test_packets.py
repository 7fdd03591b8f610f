from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP, fragment
from scapy.layers.inet6 import (
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    fragment6,
)
from scapy.layers.l2 import ARP, CookedLinux, CookedLinuxV2, Dot1AD, Dot1Q, Ether
from scapy.packet import Raw

from sniffer.packet_writer import TcpConversation, UdpFlow
from sniffer.sources.base import Side
from sniffer.sources.packets import PacketDecoder, Segment, format_endpoint

V4_A = bytes([10, 0, 0, 1])
V4_B = bytes([10, 0, 0, 2])
TCP_V4 = (
    IP(src="10.0.0.1", dst="10.0.0.2")
    / TCP(sport=40000, dport=5232, seq=1000, ack=2000, flags="PA")
    / Raw(b"payload")
)
EXPECTED_V4 = Segment(6, V4_A, 40000, V4_B, 5232, 1000, 2000, 0x18, b"payload")


def _decode(linktype: int, data: bytes) -> tuple[Segment | None, PacketDecoder]:
    decoder = PacketDecoder()
    return decoder.decode(linktype, data), decoder


def test_ethernet_ipv4_tcp_from_packet_writer() -> None:
    conv = TcpConversation(("10.0.0.1", 40000), ("10.0.0.2", 5232), isn=(999, 0))
    [(_, frame)] = conv.send(Side.A, b"payload", 0)
    seg, decoder = _decode(1, frame)
    assert seg is not None
    assert seg._replace(ack=0) == EXPECTED_V4._replace(ack=0)
    assert decoder.stats.tcp == 1


def test_ethernet_padding_is_not_payload() -> None:
    _, frame = UdpFlow(("10.0.0.1", 1), ("10.0.0.2", 2)).datagram(Side.A, b"x", 0)
    padded = frame + b"\0" * (60 - len(frame))  # minimum Ethernet frame
    seg, _ = _decode(1, padded)
    assert seg is not None
    assert seg.payload == b"x"


@pytest.mark.parametrize(
    "frame",
    [
        Ether() / Dot1Q(vlan=5) / TCP_V4,
        Ether() / Dot1AD(vlan=7) / Dot1Q(vlan=5) / TCP_V4,  # QinQ
        Ether() / Dot1Q(vlan=1) / Dot1Q(vlan=2) / TCP_V4,
    ],
    ids=["802.1Q", "802.1ad+802.1Q", "double 802.1Q"],
)
def test_vlan_tags_are_skipped(frame: Ether) -> None:
    seg, _ = _decode(1, bytes(frame))
    assert seg == EXPECTED_V4


def test_linux_cooked_sll_and_sll2() -> None:
    assert _decode(113, bytes(CookedLinux(proto=0x0800) / TCP_V4))[0] == EXPECTED_V4
    assert _decode(276, bytes(CookedLinuxV2(proto=0x0800) / TCP_V4))[0] == EXPECTED_V4


@pytest.mark.parametrize("linktype", [101, 12, 14, 228])
def test_raw_ipv4(linktype: int) -> None:
    assert _decode(linktype, bytes(TCP_V4))[0] == EXPECTED_V4


@pytest.mark.parametrize("linktype", [101, 229])
def test_raw_ipv6_udp(linktype: int) -> None:
    pkt = IPv6(src="fe80::1", dst="fe80::2") / UDP(sport=5, dport=6) / Raw(b"v6")
    seg, _ = _decode(linktype, bytes(pkt))
    assert seg is not None
    assert (seg.transport, seg.sport, seg.dport, seg.payload) == (17, 5, 6, b"v6")
    assert format_endpoint(seg.src, seg.sport) == "[fe80::1]:5"


@pytest.mark.parametrize(
    ("linktype", "header"),
    [
        (0, struct.pack("<I", 2)),  # NULL, written on a little-endian host
        (0, struct.pack(">I", 2)),  # NULL, big-endian host
        (108, struct.pack(">I", 2)),  # OpenBSD LOOP: always network order
    ],
)
def test_loopback_ipv4(linktype: int, header: bytes) -> None:
    assert _decode(linktype, header + bytes(TCP_V4))[0] == EXPECTED_V4


@pytest.mark.parametrize("family", [10, 24, 28, 30])
def test_loopback_ipv6_families(family: int) -> None:
    pkt = IPv6(src="::1", dst="::1") / TCP(sport=1, dport=2, flags="S")
    seg, _ = _decode(0, struct.pack("<I", family) + bytes(pkt))
    assert seg is not None
    assert (seg.sport, seg.dport, seg.flags) == (1, 2, 0x02)


def test_ipv4_options_are_skipped() -> None:
    pkt = IP(src="10.0.0.1", dst="10.0.0.2", options=b"\x01\x01\x01\x00") / TCP_V4[TCP]
    assert _decode(101, bytes(pkt))[0] == EXPECTED_V4


def test_tcp_options_are_skipped() -> None:
    pkt = (
        IP(src="10.0.0.1", dst="10.0.0.2")
        / TCP(sport=1, dport=2, options=[("MSS", 1460), ("NOP", None), ("WScale", 7)])
        / Raw(b"abc")
    )
    seg, _ = _decode(101, bytes(pkt))
    assert seg is not None
    assert seg.payload == b"abc"


def test_ipv6_extension_headers_are_skipped() -> None:
    pkt = (
        IPv6(src="fe80::1", dst="fe80::2")
        / IPv6ExtHdrHopByHop()
        / IPv6ExtHdrRouting()
        / IPv6ExtHdrDestOpt()
        / TCP(sport=7, dport=8, seq=5)
        / Raw(b"ext")
    )
    seg, _ = _decode(229, bytes(pkt))
    assert seg is not None
    assert (seg.sport, seg.seq, seg.payload) == (7, 5, b"ext")


def test_ipv6_fragments_are_reassembled() -> None:
    body = bytes(range(256)) * 6
    whole = (
        IPv6(src="fe80::1", dst="fe80::2")
        / IPv6ExtHdrFragment(id=9)
        / UDP(sport=3, dport=4)
        / Raw(body)
    )
    pieces = [bytes(p) for p in fragment6(whole, 600)]
    assert len(pieces) == 3
    decoder = PacketDecoder()
    results = [decoder.decode(229, pieces[i]) for i in (2, 0, 1)]
    assert results[:2] == [None, None]
    seg = results[2]
    assert seg is not None
    assert (seg.sport, seg.dport, seg.payload) == (3, 4, body)
    assert (decoder.stats.fragments, decoder.stats.reassembled) == (3, 1)


def test_ipv6_atomic_fragment_is_decoded_directly() -> None:
    pkt = IPv6() / IPv6ExtHdrFragment(m=0, offset=0) / UDP(sport=1, dport=2) / Raw(b"atomic")
    seg, decoder = _decode(229, bytes(pkt))
    assert seg is not None
    assert seg.payload == b"atomic"
    assert decoder.stats.fragments == 0


def test_incomplete_fragments_are_dropped_beyond_the_bound() -> None:
    decoder = PacketDecoder()
    piece = bytes(IP(id=1, flags="MF", proto=17) / Raw(b"x" * 1400))
    for ident in range(4000):  # 5.6 MB of first fragments that never complete
        data = bytearray(piece)
        data[4:6] = ident.to_bytes(2, "big")
        assert decoder.decode(101, bytes(data)) is None
    assert decoder.stats.fragments == 4000
    assert decoder.stats.fragments_dropped > 0


def test_ipv4_fragments_are_reassembled_in_any_order() -> None:
    body = bytes(range(256)) * 8
    whole = IP(src="10.0.0.1", dst="10.0.0.2", id=77) / UDP(sport=9, dport=10) / Raw(body)
    pieces = [bytes(p) for p in fragment(whole, fragsize=512)]
    assert len(pieces) == 5
    decoder = PacketDecoder()
    order = [3, 0, 4, 1, 2]
    results = [decoder.decode(101, pieces[i]) for i in order]
    assert results[:-1] == [None] * 4
    seg = results[-1]
    assert seg is not None
    assert (seg.sport, seg.dport, seg.payload) == (9, 10, body)
    assert decoder.stats.fragments == 5
    assert decoder.stats.reassembled == 1


def test_non_ip_and_other_transports_are_counted() -> None:
    decoder = PacketDecoder()
    assert decoder.decode(1, bytes(Ether() / ARP())) is None
    assert decoder.decode(1, bytes(Ether() / IP() / ICMP())) is None
    assert decoder.decode(147, b"\x01\x02") is None
    assert decoder.decode(0, struct.pack("<I", 7) + b"xxxx") is None
    stats = decoder.stats
    assert (stats.non_ip, stats.other_transport, stats.unsupported_linktype) == (2, 1, 1)
    assert stats.packets == 4


def test_snapped_packet_is_decoded_partially_and_counted() -> None:
    frame = bytes(Ether() / TCP_V4)
    seg, decoder = _decode(1, frame[:-3])
    assert seg is not None
    assert seg.payload == b"payl"
    assert decoder.stats.truncated == 1


def test_every_truncation_of_a_header_is_counted_never_raised() -> None:
    frames = [
        bytes(Ether() / Dot1Q() / TCP_V4),
        bytes(Ether() / IPv6() / IPv6ExtHdrDestOpt() / UDP() / Raw(b"u")),
    ]
    for frame in frames:
        for cut in range(len(frame)):
            decoder = PacketDecoder()
            decoder.decode(1, frame[:cut])
            s = decoder.stats
            assert s.packets == 1
            assert s.malformed + s.tcp + s.udp + s.truncated + s.non_ip >= 1


def test_bad_header_lengths_are_malformed() -> None:
    bad_ihl = bytearray(bytes(TCP_V4))
    bad_ihl[0] = 0x44  # IHL 16 bytes < 20
    bad_offset = bytearray(bytes(TCP_V4))
    bad_offset[20 + 12] = 0x20  # TCP data offset 8 bytes
    bad_udp = bytes(IP() / UDP(len=4) / Raw(b"zz"))
    decoder = PacketDecoder()
    for data in (bytes(bad_ihl), bytes(bad_offset), bad_udp):
        assert decoder.decode(101, data) is None
    assert decoder.stats.malformed == 3


@given(
    linktype=st.sampled_from([0, 1, 12, 101, 108, 113, 228, 229, 276]), data=st.binary(max_size=120)
)
def test_decode_never_raises(linktype: int, data: bytes) -> None:
    decoder = PacketDecoder()
    decoder.decode(linktype, data)
    assert decoder.stats.packets == 1
