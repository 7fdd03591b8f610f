"""pcapng blocks spelled out byte by byte, in either byte order (``order``: ``<`` or ``>``),
for tests that need what ``CaptureWriter`` does not write: big-endian sections, timestamp
resolutions and offsets, Simple Packet Blocks, blocks of other types, lying lengths."""

from __future__ import annotations

import struct

BLOCK_IDB = 1
BLOCK_SPB = 3
BLOCK_NRB = 4
BLOCK_ISB = 5
BLOCK_EPB = 6
BLOCK_DSB = 0x0A
BLOCK_CUSTOM = 0xBAD


def pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def block(order: str, btype: int, body: bytes) -> bytes:
    body = pad(body)
    total = 12 + len(body)
    return struct.pack(order + "II", btype, total) + body + struct.pack(order + "I", total)


def opt(order: str, code: int, value: bytes) -> bytes:
    return struct.pack(order + "HH", code, len(value)) + pad(value)


def shb(order: str) -> bytes:
    return block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(order: str, linktype: int, options: bytes = b"") -> bytes:
    if options:
        options += struct.pack(order + "HH", 0, 0)
    return block(order, BLOCK_IDB, struct.pack(order + "HHI", linktype, 0, 65535) + options)


def idb_with_ticks(order: str, linktype: int, tsresol: int | None, tsoffset_s: int) -> bytes:
    """An IDB with an ``if_tsresol`` option (when not None) and ``if_tsoffset`` (when not 0)."""
    options = b""
    if tsresol is not None:
        options += opt(order, 9, bytes([tsresol]))
    if tsoffset_s:
        options += opt(order, 14, struct.pack(order + "q", tsoffset_s))
    return idb(order, linktype, options)


def epb(order: str, iface: int, ticks: int, data: bytes, options: bytes = b"") -> bytes:
    head = struct.pack(
        order + "IIIII", iface, ticks >> 32, ticks & 0xFFFFFFFF, len(data), len(data)
    )
    return block(order, BLOCK_EPB, head + pad(data) + options)


def spb(order: str, data: bytes) -> bytes:
    return block(order, BLOCK_SPB, struct.pack(order + "I", len(data)) + data)
