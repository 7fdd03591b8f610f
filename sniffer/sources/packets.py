"""Link layer to transport decoding for captured packets, with ``struct`` and offsets only.

Link types: Ethernet (1, with 802.1Q / 802.1ad / QinQ tags), Linux cooked SLL (113) and SLL2
(276), raw IP (101, 12, 14; 228 IPv4 only, 229 IPv6 only), BSD loopback / NULL (0, family in
host byte order) and OpenBSD LOOP (108, family big-endian).

Network: IPv4 (options skipped, Ethernet padding removed by the total length, fragments
reassembled simply: kept per (src, dst, id, protocol) until complete, with a bound) and IPv6
(extension headers skipped, fragments reassembled the same way). Transport: TCP (seq, ack,
flags, options skipped) and UDP. Checksums are not verified: captures taken on the sending host
carry offloaded, not-yet-computed checksums.

Anything else is counted in ``DecodeStats`` and skipped; malformed headers are counted as
``malformed``. ``decode`` never raises.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, fields
from typing import NamedTuple

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_RAW_BSD12 = 12
LINKTYPE_RAW_BSD14 = 14
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
VLAN_TAGS = frozenset((0x8100, 0x88A8, 0x9100, 0x9200))

AF_INET_VALUES = frozenset((2,))
AF_INET6_VALUES = frozenset((10, 24, 28, 30))
"""Linux, NetBSD/OpenBSD, FreeBSD/DragonFly, macOS: every AF_INET6 a NULL/LOOP header may carry."""

PROTO_TCP = 6
PROTO_UDP = 17
IPV6_SKIPPABLE = frozenset((0, 43, 60, 135, 139, 140))
"""Hop-by-hop, routing, destination options, mobility, HIP, shim6: generic (len+1)*8 layout."""
IPV6_FRAGMENT = 44
IPV6_AH = 51

MAX_FRAGMENT_BYTES = 4 << 20
"""Total bytes of incomplete IP datagrams kept before the oldest are dropped."""

_U16 = struct.Struct("!H")
_U32LE = struct.Struct("<I")
_U32BE = struct.Struct("!I")
_IPV4 = struct.Struct("!BxHHHxB")  # ver_ihl, total_len, ident, flags_frag, proto
_IPV6_HEAD = struct.Struct("!4xHB")  # payload_len, next_header
_TCP = struct.Struct("!HHIIBB")  # ports, seq, ack, data offset, flags
_UDP = struct.Struct("!HHH")
_IPV6_FRAG = struct.Struct("!HI")  # offset and flags, identification


class Segment(NamedTuple):
    """One transport-layer payload with its addressing (TCP fields are 0 for UDP)."""

    transport: int
    """6 (TCP) or 17 (UDP)."""
    src: bytes
    """Packed IPv4 (4 bytes) or IPv6 (16 bytes) address."""
    sport: int
    dst: bytes
    dport: int
    seq: int
    ack: int
    flags: int
    payload: bytes


@dataclass(slots=True)
class DecodeStats:
    """What the decoder saw and skipped."""

    packets: int = 0
    tcp: int = 0
    udp: int = 0
    non_ip: int = 0
    """Ethernet/SLL frames carrying something other than IP (ARP, LLDP...)."""
    other_transport: int = 0
    """IP packets that are neither TCP nor UDP (ICMP, IGMP...)."""
    unsupported_linktype: int = 0
    malformed: int = 0
    truncated: int = 0
    """Packets whose IP length exceeds what was captured (snap length); decoded partially."""
    fragments: int = 0
    """IP fragments seen (IPv4 ones are reassembled; IPv6 ones skipped)."""
    reassembled: int = 0
    fragments_dropped: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters by name, for statistics output."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def format_endpoint(addr: bytes, port: int) -> str:
    """``10.0.0.1:5232`` or ``[fe80::1]:5232``."""
    if len(addr) == 4:
        return f"{socket.inet_ntop(socket.AF_INET, addr)}:{port}"
    return f"[{socket.inet_ntop(socket.AF_INET6, addr)}]:{port}"


class PacketDecoder:
    """Turns ``(linktype, data)`` into a ``Segment`` or None (skipped, counted in ``stats``)."""

    def __init__(self) -> None:
        self.stats = DecodeStats()
        self._fragments: dict[tuple[bytes, bytes, int, int], _Datagram] = {}
        self._fragment_bytes = 0

    def decode(self, linktype: int, data: bytes) -> Segment | None:
        """Decode one captured packet down to its TCP/UDP payload.

        The general path: ``sniffer.sources.fast_path`` handles the common Ethernet/IPv4/TCP
        packets of a capture file without calling this.
        """
        stats = self.stats
        stats.packets += 1
        n = len(data)
        try:
            if linktype == LINKTYPE_ETHERNET:
                if n < 14:
                    stats.malformed += 1
                    return None
                ethertype = _U16.unpack_from(data, 12)[0]
                pos = 14
                while ethertype in VLAN_TAGS:
                    ethertype = _U16.unpack_from(data, pos + 2)[0]
                    pos += 4
            elif linktype == LINKTYPE_LINUX_SLL:
                ethertype = _U16.unpack_from(data, 14)[0]
                pos = 16
            elif linktype == LINKTYPE_LINUX_SLL2:
                ethertype = _U16.unpack_from(data, 0)[0]
                pos = 20
            elif linktype in (LINKTYPE_RAW, LINKTYPE_RAW_BSD12, LINKTYPE_RAW_BSD14):
                version = data[0] >> 4 if n else 0
                ethertype = (
                    ETHERTYPE_IPV4 if version == 4 else ETHERTYPE_IPV6 if version == 6 else 0
                )
                pos = 0
            elif linktype == LINKTYPE_IPV4:
                ethertype, pos = ETHERTYPE_IPV4, 0
            elif linktype == LINKTYPE_IPV6:
                ethertype, pos = ETHERTYPE_IPV6, 0
            elif linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
                family = _U32BE.unpack_from(data, 0)[0]
                if linktype == LINKTYPE_NULL and family > 0xFFFF:
                    family = _U32LE.unpack_from(data, 0)[0]  # host byte order of the writer
                ethertype = (
                    ETHERTYPE_IPV4
                    if family in AF_INET_VALUES
                    else ETHERTYPE_IPV6
                    if family in AF_INET6_VALUES
                    else 0
                )
                pos = 4
            else:
                stats.unsupported_linktype += 1
                return None
            if ethertype == ETHERTYPE_IPV4:
                return self._ipv4(data, pos)
            if ethertype == ETHERTYPE_IPV6:
                return self._ipv6(data, pos)
            stats.non_ip += 1
            return None
        except (struct.error, IndexError):
            stats.malformed += 1
            return None

    def _ipv4(self, data: bytes, pos: int) -> Segment | None:
        stats = self.stats
        ver_ihl, total, ident, frag, proto = _IPV4.unpack_from(data, pos)
        ihl = (ver_ihl & 0x0F) * 4
        if ver_ihl >> 4 != 4 or ihl < 20:
            stats.malformed += 1
            return None
        avail = len(data) - pos
        if total == 0:  # TSO: the NIC splits it; the capture shows the large packet
            total = avail
        elif total < ihl:
            stats.malformed += 1
            return None
        elif total > avail:
            stats.truncated += 1
            total = avail
        src = data[pos + 12 : pos + 16]
        dst = data[pos + 16 : pos + 20]
        start = pos + ihl
        end = pos + total
        if frag & 0x3FFF:  # more fragments, or a fragment offset
            stats.fragments += 1
            body = self._reassemble(src, dst, ident, proto, frag, data[start:end])
            if body is None:
                return None
            return self._transport(proto, src, dst, body, 0, len(body))
        return self._transport(proto, src, dst, data, start, end)

    def _ipv6(self, data: bytes, pos: int) -> Segment | None:
        stats = self.stats
        if data[pos] >> 4 != 6:
            stats.malformed += 1
            return None
        plen, nxt = _IPV6_HEAD.unpack_from(data, pos)
        src = data[pos + 8 : pos + 24]
        dst = data[pos + 24 : pos + 40]
        if len(src) != 16 or len(dst) != 16:
            stats.malformed += 1
            return None
        start = pos + 40
        avail = len(data) - start
        if plen == 0:  # jumbogram or TSO
            plen = avail
        elif plen > avail:
            stats.truncated += 1
            plen = avail
        end = start + plen
        while nxt != PROTO_TCP and nxt != PROTO_UDP:
            if nxt in IPV6_SKIPPABLE:
                nxt, hlen = data[start], (data[start + 1] + 1) * 8
            elif nxt == IPV6_AH:
                nxt, hlen = data[start], (data[start + 1] + 2) * 4
            elif nxt == IPV6_FRAGMENT:
                nxt = data[start]
                field, ident = _IPV6_FRAG.unpack_from(data, start + 2)
                if field & 0xFFF9:  # offset or more-fragments set: not an atomic fragment
                    stats.fragments += 1
                    frag = field >> 3 | (0x2000 if field & 1 else 0)  # as IPv4's flags word
                    body = self._reassemble(src, dst, ident, nxt, frag, data[start + 8 : end])
                    if body is None:
                        return None
                    data, start, end = body, 0, len(body)
                    continue
                hlen = 8
            else:
                stats.other_transport += 1
                return None
            start += hlen
            if start > end:
                stats.malformed += 1
                return None
        return self._transport(nxt, src, dst, data, start, end)

    def _transport(
        self, proto: int, src: bytes, dst: bytes, data: bytes, start: int, end: int
    ) -> Segment | None:
        stats = self.stats
        if proto == PROTO_TCP:
            if end - start < 20:
                stats.malformed += 1
                return None
            sport, dport, seq, ack, off, flags = _TCP.unpack_from(data, start)
            hlen = (off >> 4) * 4
            if hlen < 20 or start + hlen > end:
                stats.malformed += 1
                return None
            stats.tcp += 1
            return Segment(
                PROTO_TCP, src, sport, dst, dport, seq, ack, flags, data[start + hlen : end]
            )
        if proto == PROTO_UDP:
            if end - start < 8:
                stats.malformed += 1
                return None
            sport, dport, length = _UDP.unpack_from(data, start)
            if length < 8:
                if length != 0:  # 0: a jumbo datagram over IPv6 (RFC 2675) or offload
                    stats.malformed += 1
                    return None
                length = end - start
            stats.udp += 1
            stop = min(end, start + length)
            return Segment(PROTO_UDP, src, sport, dst, dport, 0, 0, 0, data[start + 8 : stop])
        stats.other_transport += 1
        return None

    def _reassemble(
        self, src: bytes, dst: bytes, ident: int, proto: int, frag: int, body: bytes
    ) -> bytes | None:
        """Collect IPv4 fragments; return the whole payload once every byte arrived."""
        key = (src, dst, ident, proto)
        datagram = self._fragments.get(key)
        if datagram is None:
            datagram = self._fragments[key] = _Datagram()
        offset = (frag & 0x1FFF) * 8
        if not datagram.add(offset, body, last=not frag & 0x2000):
            self.stats.malformed += 1
        self._fragment_bytes += len(body)
        whole = datagram.whole()
        if whole is not None:
            del self._fragments[key]
            self._fragment_bytes -= datagram.size
            self.stats.reassembled += 1
            return whole
        while self._fragment_bytes > MAX_FRAGMENT_BYTES and self._fragments:
            oldest = next(iter(self._fragments))
            dropped = self._fragments.pop(oldest)
            self._fragment_bytes -= dropped.size
            self.stats.fragments_dropped += dropped.count
        return None


class _Datagram:
    """The fragments of one IPv4 datagram received so far."""

    __slots__ = ("count", "end", "pieces", "size")

    def __init__(self) -> None:
        self.pieces: dict[int, bytes] = {}
        self.end: int | None = None
        self.size = 0
        self.count = 0

    def add(self, offset: int, body: bytes, *, last: bool) -> bool:
        self.count += 1
        self.size += len(body)
        if last:
            self.end = offset + len(body)
        if offset in self.pieces:
            return self.pieces[offset] == body
        self.pieces[offset] = body
        return True

    def whole(self) -> bytes | None:
        if self.end is None:
            return None
        parts: list[bytes] = []
        covered = 0
        for offset in sorted(self.pieces):
            piece = self.pieces[offset]
            if offset > covered:
                return None
            if offset + len(piece) > covered:
                parts.append(piece[covered - offset :])
                covered = offset + len(piece)
        if covered < self.end:
            return None
        return b"".join(parts)[: self.end]
