"""Every checksum our protocols use, in one place, tested against the spec vectors.

The CRCs come from ``fastcrc`` (Rust, SIMD): about 0.1 µs per KiB against 50 µs for a
pure-Python table. The table versions stay as the fallback when the wheel is missing and as
the reference the tests compare against.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from dissectors import speedups

_fast_crc16: ModuleType | None
try:
    from fastcrc import crc16 as _fast_crc16
except ImportError:  # pragma: no cover - exercised only where the wheel is missing
    _fast_crc16 = None


xor_bcc = speedups.xor_bcc
"""XOR of all bytes (SmartLPR's Bcc): C when ``dissectors._speedups`` was built, else the
integer fold ``speedups.xor_bcc_python`` (README, "Written by hand", has the measured cost)."""


def sum16(data: bytes) -> int:
    """Sum of all bytes modulo 2**16 (VNET ZM's package checksum)."""
    return sum(data) & 0xFFFF


def sum8(data: bytes) -> int:
    """Sum of all bytes modulo 2**8."""
    return sum(data) & 0xFF


def _reflected_table(poly_reflected: int) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly_reflected if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_KERMIT_TABLE = _reflected_table(0x8408)
_ARC_TABLE = _reflected_table(0xA001)


def _table_crc(table: tuple[int, ...], data: bytes, init: int) -> int:
    crc = init
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def crc16_kermit_reference(data: bytes, init: int = 0) -> int:
    """CRC-16/KERMIT by table lookup: the reference the fast path is tested against."""
    return _table_crc(_KERMIT_TABLE, data, init)


def crc16_arc_reference(data: bytes, init: int = 0) -> int:
    """CRC-16/ARC (IBM, poly 0x8005 reflected) by table lookup."""
    return _table_crc(_ARC_TABLE, data, init)


def _pick(fast_name: str, reference: Callable[[bytes, int], int]) -> Callable[[bytes, int], int]:
    if _fast_crc16 is None:
        return reference
    # the Rust function itself: a Python wrapper around it cost as much again per call
    # (0.4 µs, when checking one 1 KiB DualCam DATA frame takes 0.5 µs)
    fast: Callable[[bytes, int], int] = getattr(_fast_crc16, fast_name)
    return fast


crc16_kermit: Callable[[bytes, int], int] = _pick("kermit", crc16_kermit_reference)
"""CRC-16/KERMIT (DualCam): poly 0x1021 reflected, init 0, no xorout; check 0x2189."""
crc16_arc: Callable[[bytes, int], int] = _pick("arc", crc16_arc_reference)
"""CRC-16/ARC (Symeo XP): poly 0x8005 reflected, init 0, no xorout; check 0xBB3D."""
