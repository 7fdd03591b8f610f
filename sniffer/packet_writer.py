"""Build real-looking packets around stream bytes and write pcap / pcapng capture files.

Used by simulators, tests and benchmarks. Everything is hand-written with ``struct``: building a
packet with scapy layers costs ~350 µs (2.9k pkt/s), here a TCP segment is a few µs, and the
writer does well over 200k packets/s.

* ``TcpConversation``: one synthetic TCP connection (Ethernet + IPv4, or IPv6 when the addresses
  are v6) with handshake, data segments cut to the MSS, correct seq/ack numbers, valid IP and TCP
  checksums, FIN or RST close, and fault injection (``raw_segment``, ``skip``) for tests.
* ``UdpFlow``: datagrams between two endpoints.
* ``CaptureWriter``: a streaming pcap or pcapng writer (a context manager). pcapng gets one
  Interface Description Block per interface (``if_tsresol`` = 9 for nanoseconds) and one
  Enhanced Packet Block per packet, with optional comments and direction flags.

Packets are returned as ``(time_ns, bytes)`` tuples so callers can interleave, drop, duplicate
or reorder them before writing.
"""

from __future__ import annotations

import ipaddress
import os
import struct
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Literal, Self

from sniffer.sources.base import Side

# -- constants ----------------------------------------------------------------------------------

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
PROTO_TCP = 6
PROTO_UDP = 17

FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10

MAX_IPV4_PAYLOAD = 65535 - 20 - 20
"""Largest TCP payload one IPv4 packet (20-byte IP and TCP headers) can carry."""

_ETH = struct.Struct("!6s6sH")
_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_IPV6 = struct.Struct("!IHBB16s16s")
_TCP = struct.Struct("!HHIIBBHHH")
_UDP = struct.Struct("!HHHH")

# pcap / pcapng
PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_IDB = 0x00000001
PCAPNG_EPB = 0x00000006
PCAPNG_BOM = 0x1A2B3C4D
OPT_ENDOFOPT = 0
OPT_COMMENT = 1
SHB_USERAPPL = 4
IF_NAME = 2
IF_DESCRIPTION = 3
IF_TSRESOL = 9
EPB_FLAGS = 2
EPB_INBOUND = 0x1
EPB_OUTBOUND = 0x2

_PCAP_HEADER = struct.Struct("<IHHiIII")
_PCAP_RECORD = struct.Struct("<IIII")
_EPB_HEAD = struct.Struct("<IIIIIII")
_U32 = struct.Struct("<I")
_OPT = struct.Struct("<HH")
_PAD = (b"", b"\0\0\0", b"\0\0", b"\0")
"""Zero bytes that bring a length ``n`` to a multiple of 4, indexed by ``n % 4``."""

Format = Literal["pcap", "pcapng"]

# -- checksums ----------------------------------------------------------------------------------


def internet_checksum(*parts: bytes) -> int:
    """RFC 1071 checksum of the concatenation of ``parts`` (each but the last of even length).

    The one's complement sum of 16-bit words equals the big-endian integer value modulo 0xFFFF
    (because 2**16 = 1 mod 0xFFFF), which CPython computes in C: no per-word Python loop.
    A result of 0 is sent as 0xFFFF (equivalent, and mandatory for UDP).
    """
    total = 0
    for part in parts:
        if len(part) & 1:
            part = part + b"\0"
        total += int.from_bytes(part, "big")
    return 0xFFFF - total % 0xFFFF


# -- packet building ----------------------------------------------------------------------------


def _mac_for(address: bytes) -> bytes:
    """A locally administered MAC derived from an IP address, stable per endpoint."""
    return b"\x02\x00" + address[-4:]


class _Endpoint:
    __slots__ = ("addr", "mac", "port", "text")

    def __init__(self, host: str, port: int, *, version: int) -> None:
        ip = ipaddress.ip_address(host)
        if ip.version != version:
            raise ValueError(f"cannot mix IPv{version} and IPv{ip.version} addresses ({host})")
        if not 0 <= port <= 0xFFFF:
            raise ValueError(f"port out of range: {port}")
        self.addr = ip.packed
        self.mac = _mac_for(self.addr)
        self.port = port
        self.text = f"[{host}]:{port}" if version == 6 else f"{host}:{port}"


def _version_of(host: str) -> int:
    return ipaddress.ip_address(host).version


class _IpPath:
    """Ethernet + IP header building for one direction between two endpoints."""

    __slots__ = ("addr_sum", "dst", "eth", "ident", "src", "version")

    def __init__(self, src: _Endpoint, dst: _Endpoint, version: int) -> None:
        self.src = src
        self.dst = dst
        self.version = version
        self.ident = int.from_bytes(src.addr[-2:], "big") ^ 0x1234
        self.addr_sum = int.from_bytes(src.addr, "big") + int.from_bytes(dst.addr, "big")
        """The addresses' part of the pseudo-header sum (see ``internet_checksum``)."""
        ethertype = ETHERTYPE_IPV4 if version == 4 else ETHERTYPE_IPV6
        self.eth = _ETH.pack(dst.mac, src.mac, ethertype)

    def checksum(self, proto: int, header: bytes, data: bytes) -> int:
        """TCP/UDP checksum over the pseudo-header, ``header`` (even length) and ``data``."""
        total = self.addr_sum + proto + len(header) + len(data) + int.from_bytes(header, "big")
        if len(data) & 1:
            data = data + b"\0"
        total += int.from_bytes(data, "big")
        return 0xFFFF - total % 0xFFFF

    def wrap(self, proto: int, segment: bytes) -> bytes:
        """Ethernet + IP header in front of a transport ``segment`` (checksum already set)."""
        if self.version == 4:
            self.ident = ident = (self.ident + 1) & 0xFFFF
            fields = [0x45, 0, 20 + len(segment), ident, 0x4000, 64, proto, 0]
            header = _IPV4.pack(*fields, self.src.addr, self.dst.addr)
            fields[7] = internet_checksum(header)
            header = _IPV4.pack(*fields, self.src.addr, self.dst.addr)
        else:
            header = _IPV6.pack(0x60000000, len(segment), proto, 64, self.src.addr, self.dst.addr)
        return self.eth + header + segment


class TcpConversation:
    """One synthetic TCP connection; side A is the client (the SYN sender).

    Sequence numbers are tracked per side from deterministic initial sequence numbers (pass
    ``isn`` to choose them, e.g. near 2**32 to test wrap-around). Every method returns the
    packets as ``(time_ns, ethernet_frame)`` in wire order.
    """

    def __init__(
        self,
        client: tuple[str, int],
        server: tuple[str, int],
        *,
        mss: int = 1460,
        isn: tuple[int, int] = (1_000_000, 2_000_000),
        window: int = 65535,
    ) -> None:
        version = _version_of(client[0])
        self.version = version
        self.mss = mss
        self.window = window
        self.endpoints = (
            _Endpoint(client[0], client[1], version=version),
            _Endpoint(server[0], server[1], version=version),
        )
        a, b = self.endpoints
        self._paths = (_IpPath(a, b, version), _IpPath(b, a, version))
        self.isn = (isn[0] & 0xFFFFFFFF, isn[1] & 0xFFFFFFFF)
        self.sent = [0, 0]
        """Stream bytes each side has sent so far (SYN/FIN flags not counted)."""
        self._syn_sent = [False, False]
        self._fin_sent = [False, False]

    # sequence space: ISN is the SYN; the first data byte is ISN + 1; FIN takes one number.
    def seq_of(self, side: Side, offset: int) -> int:
        """The 32-bit sequence number of stream byte ``offset`` of ``side``."""
        return (self.isn[side] + 1 + offset) & 0xFFFFFFFF

    def _next_seq(self, side: Side) -> int:
        return self.seq_of(side, self.sent[side])

    def _ack_for(self, side: Side) -> int:
        """What ``side`` acknowledges: everything the other side sent, FIN included."""
        other = 1 - side
        return (self.isn[other] + 1 + self.sent[other] + self._fin_sent[other]) & 0xFFFFFFFF

    def segment(
        self,
        side: Side,
        seq: int,
        ack: int,
        flags: int,
        data: bytes = b"",
        *,
        options: bytes = b"",
    ) -> bytes:
        """One Ethernet frame carrying a TCP segment with exactly these header values."""
        path = self._paths[side]
        src, dst = path.src, path.dst
        if len(options) % 4:
            raise ValueError("TCP options must be padded to a multiple of 4 bytes")
        offset_words = (20 + len(options)) // 4
        fields = [
            src.port, dst.port, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, offset_words << 4, flags,
            self.window, 0, 0,
        ]  # fmt: skip
        fields[7] = path.checksum(PROTO_TCP, _TCP.pack(*fields) + options, data)
        return path.wrap(PROTO_TCP, _TCP.pack(*fields) + options + data)

    def open(self, time_ns: int, *, step_ns: int = 1000) -> list[tuple[int, bytes]]:
        """The three-way handshake: SYN, SYN/ACK, ACK, ``step_ns`` apart."""
        mss_option = struct.pack("!BBH", 2, 4, self.mss)
        syn = self.segment(Side.A, self.isn[0], 0, SYN, options=mss_option)
        self._syn_sent[0] = True
        synack = self.segment(Side.B, self.isn[1], self.isn[0] + 1, SYN | ACK, options=mss_option)
        self._syn_sent[1] = True
        ack = self.segment(Side.A, self._next_seq(Side.A), self._ack_for(Side.A), ACK)
        return [(time_ns, syn), (time_ns + step_ns, synack), (time_ns + 2 * step_ns, ack)]

    def send(
        self,
        side: Side,
        data: bytes,
        time_ns: int,
        *,
        segment_size: int | None = None,
        ack: bool = False,
    ) -> list[tuple[int, bytes]]:
        """``data`` from ``side`` as segments of at most ``segment_size`` (default: the MSS).

        PSH is set on the last segment. With ``ack``, the peer's pure ACK follows (same time).
        """
        size = segment_size or self.mss
        if size <= 0 or (self.version == 4 and size > MAX_IPV4_PAYLOAD):
            raise ValueError(f"bad segment size {size}")
        out: list[tuple[int, bytes]] = []
        view = memoryview(data)
        ack_no = self._ack_for(side)
        for start in range(0, len(data), size):
            piece = bytes(view[start : start + size])
            last = start + size >= len(data)
            flags = ACK | PSH if last else ACK
            out.append((time_ns, self.segment(side, self._next_seq(side), ack_no, flags, piece)))
            self.sent[side] += len(piece)
        if ack:
            out.append((time_ns, self.pure_ack(Side(1 - side))))
        return out

    def pure_ack(self, side: Side) -> bytes:
        """A bare ACK from ``side`` acknowledging everything the peer has sent."""
        return self.segment(
            side, self._next_seq(side) + self._fin_sent[side], self._ack_for(side), ACK
        )

    def raw_segment(
        self,
        side: Side,
        seq_offset: int,
        data: bytes,
        time_ns: int,
        *,
        flags: int = ACK | PSH,
    ) -> tuple[int, bytes]:
        """A segment at an arbitrary stream offset of ``side`` (retransmission, overlap, fake).

        The conversation's state does not change.
        """
        seg = self.segment(side, self.seq_of(side, seq_offset), self._ack_for(side), flags, data)
        return (time_ns, seg)

    def skip(self, side: Side, length: int) -> None:
        """Advance ``side``'s stream by ``length`` bytes without emitting them (a lost segment)."""
        self.sent[side] += length

    def close(
        self, time_ns: int, *, rst: bool = False, side: Side = Side.A, step_ns: int = 1000
    ) -> list[tuple[int, bytes]]:
        """End the connection from ``side``: FIN, FIN/ACK, ACK; or a single RST."""
        other = Side(1 - side)
        if rst:
            seg = self.segment(side, self._next_seq(side), self._ack_for(side), RST | ACK)
            return [(time_ns, seg)]
        fin = self.segment(side, self._next_seq(side), self._ack_for(side), FIN | ACK)
        self._fin_sent[side] = True
        finack = self.segment(other, self._next_seq(other), self._ack_for(other), FIN | ACK)
        self._fin_sent[other] = True
        last = self.segment(side, self._next_seq(side) + 1, self._ack_for(side), ACK)
        return [(time_ns, fin), (time_ns + step_ns, finack), (time_ns + 2 * step_ns, last)]


class UdpFlow:
    """Datagrams between ``a`` and ``b`` (side A is ``a``)."""

    def __init__(self, a: tuple[str, int], b: tuple[str, int]) -> None:
        version = _version_of(a[0])
        self.version = version
        ea = _Endpoint(a[0], a[1], version=version)
        eb = _Endpoint(b[0], b[1], version=version)
        self._paths = (_IpPath(ea, eb, version), _IpPath(eb, ea, version))

    def datagram(self, side: Side, data: bytes, time_ns: int) -> tuple[int, bytes]:
        """One UDP datagram from ``side`` as an Ethernet frame."""
        path = self._paths[side]
        length = 8 + len(data)
        if self.version == 4 and length > 65535 - 20:
            raise ValueError(f"datagram too large: {len(data)} bytes")
        header = _UDP.pack(path.src.port, path.dst.port, length, 0)
        header = _UDP.pack(
            path.src.port, path.dst.port, length, path.checksum(PROTO_UDP, header, data)
        )
        return (time_ns, path.wrap(PROTO_UDP, header + data))


# -- capture files ------------------------------------------------------------------------------


def _option(code: int, value: bytes) -> bytes:
    return _OPT.pack(code, len(value)) + value + _PAD[len(value) % 4]


def _options(items: Iterable[tuple[int, bytes]]) -> bytes:
    body = b"".join(_option(code, value) for code, value in items)
    return body + _OPT.pack(OPT_ENDOFOPT, 0) if body else b""


def _block(block_type: int, body: bytes) -> bytes:
    total = 12 + len(body)
    return _U32.pack(block_type) + _U32.pack(total) + body + _U32.pack(total)


class CaptureWriter:
    """Streaming pcap / pcapng writer; use as a context manager.

    The format follows the suffix (``.pcap`` → pcap, anything else → pcapng) unless ``fmt`` is
    given. Interface 0 is created with ``linktype``; pcapng files can get more interfaces with
    ``add_interface`` (classic pcap has exactly one). Timestamps are integer nanoseconds; with
    ``nanosecond=False`` they are stored in microseconds (truncated).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fmt: Format | None = None,
        linktype: int = LINKTYPE_ETHERNET,
        nanosecond: bool = True,
        comment: str | None = None,
        snaplen: int = 262144,
        interface_name: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.fmt: Format = fmt or ("pcap" if self.path.suffix.lower() == ".pcap" else "pcapng")
        if self.fmt not in ("pcap", "pcapng"):
            raise ValueError(f"unknown capture format {self.fmt!r} (pcap or pcapng)")
        self.nanosecond = nanosecond
        self.snaplen = snaplen
        self.count = 0
        """Packets written so far."""
        self._linktypes: list[int] = []
        self._file: BinaryIO = open(self.path, "wb", buffering=1 << 20)  # noqa: SIM115
        if self.fmt == "pcap":
            magic = PCAP_MAGIC_NS if nanosecond else PCAP_MAGIC_US
            self._file.write(_PCAP_HEADER.pack(magic, 2, 4, 0, 0, snaplen, linktype))
            self._linktypes.append(linktype)
        else:
            shb_options = [(SHB_USERAPPL, b"camshark")]
            if comment:
                shb_options.insert(0, (OPT_COMMENT, comment.encode()))
            body = struct.pack("<IHHq", PCAPNG_BOM, 1, 0, -1) + _options(shb_options)
            self._file.write(_block(PCAPNG_SHB, body))
            self.add_interface(linktype, name=interface_name)

    def add_interface(
        self, linktype: int, *, name: str | None = None, description: str | None = None
    ) -> int:
        """Add a pcapng interface (its own link type); returns its id for ``write``."""
        if self.fmt == "pcap":
            raise ValueError("classic pcap files have a single interface")
        items: list[tuple[int, bytes]] = []
        if name:
            items.append((IF_NAME, name.encode()))
        if description:
            items.append((IF_DESCRIPTION, description.encode()))
        if self.nanosecond:
            items.append((IF_TSRESOL, b"\x09"))
        body = struct.pack("<HHI", linktype, 0, self.snaplen) + _options(items)
        self._file.write(_block(PCAPNG_IDB, body))
        self._linktypes.append(linktype)
        return len(self._linktypes) - 1

    def write(
        self,
        time_ns: int,
        packet: bytes,
        *,
        comment: str | None = None,
        interface: int = 0,
        flags: int | None = None,
        orig_len: int | None = None,
    ) -> None:
        """Append one packet. ``flags`` is the pcapng ``epb_flags`` word (bits 0-1: direction)."""
        ts = time_ns if self.nanosecond else time_ns // 1000
        length = len(packet)
        wire_len = length if orig_len is None else orig_len
        if self.fmt == "pcap":
            if comment is not None or interface or flags is not None:
                raise ValueError("classic pcap has no comments, interfaces or flags")
            div = 1_000_000_000 if self.nanosecond else 1_000_000
            sec, frac = divmod(ts, div)
            self._file.write(_PCAP_RECORD.pack(sec, frac, length, wire_len))
            self._file.write(packet)
        else:
            if interface >= len(self._linktypes) or interface < 0:
                raise ValueError(f"unknown interface {interface}")
            pad = _PAD[length & 3]
            opts = b""
            if comment is not None or flags is not None:
                items: list[tuple[int, bytes]] = []
                if flags is not None:
                    items.append((EPB_FLAGS, _U32.pack(flags)))
                if comment is not None:
                    items.append((OPT_COMMENT, comment.encode()))
                opts = _options(items)
            total = 32 + length + len(pad) + len(opts)
            write = self._file.write
            write(
                _EPB_HEAD.pack(
                    PCAPNG_EPB, total, interface, ts >> 32, ts & 0xFFFFFFFF, length, wire_len
                )
            )
            write(packet)
            write(pad + opts + _U32.pack(total))
        self.count += 1

    def write_all(self, packets: Iterable[tuple[int, bytes]]) -> None:
        """Write ``(time_ns, packet)`` pairs as returned by the packet builders."""
        for time_ns, packet in packets:
            self.write(time_ns, packet)

    def close(self) -> None:
        """Flush and close the file (idempotent)."""
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
