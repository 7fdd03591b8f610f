"""Checksums against the spec vectors, and the fast paths against the references."""

from __future__ import annotations

import functools
import operator

from hypothesis import given
from hypothesis import strategies as st

from dissectors.checksums import (
    crc16_arc,
    crc16_arc_reference,
    crc16_kermit,
    crc16_kermit_reference,
    sum16,
    xor_bcc,
)

CHECK = b"123456789"


def test_crc16_kermit_check_value() -> None:
    # specs/dualcam.md A.6: check value of "123456789" is 0x2189
    assert crc16_kermit(CHECK, 0) == 0x2189
    assert crc16_kermit_reference(CHECK) == 0x2189


def test_crc16_arc_check_value() -> None:
    # CRC-16/ARC catalogue check value (specs/symeo-xp.md)
    assert crc16_arc(CHECK, 0) == 0xBB3D
    assert crc16_arc_reference(CHECK) == 0xBB3D


def test_dualcam_chained_crc_table() -> None:
    # specs/dualcam.md A.13: 2500-byte file, byte[i] = i mod 251, split 1024/1024/452
    data = bytes(i % 251 for i in range(2500))
    first = crc16_kermit(data[:1024], 0)
    second = crc16_kermit(data[1024:2048], first)
    third = crc16_kermit(data[2048:], second)
    assert (first, second, third) == (0xEF1F, 0x3090, 0x2F7B)
    assert third == crc16_kermit(data, 0)  # chaining equals the CRC of the concatenation
    # after a failure on packet 2, RESUME 2 / SYNC 2 restarts the chain at 0
    resent = crc16_kermit(data[1024:2048], 0)
    assert (resent, crc16_kermit(data[2048:], resent)) == (0xE199, 0xC1A0)


def test_smartlpr_bcc_vectors() -> None:
    # specs/smartlpr.md B.8: Status request id=2, BCC 0x56; LicenseInfo v2, BCC 0xE8
    status = bytes.fromhex("0201000000130000004400000002000000")
    assert xor_bcc(status) == 0x56
    ack = bytes.fromhex("02010000001300000" + "0c000000004000000")
    assert xor_bcc(ack) == 0xD4


def test_sum16_wraps() -> None:
    assert sum16(b"\xff" * 300) == (255 * 300) & 0xFFFF
    assert sum16(b"") == 0


@given(st.binary(max_size=3000), st.integers(0, 0xFFFF))
def test_fast_crcs_equal_the_references(data: bytes, init: int) -> None:
    assert crc16_kermit(data, init) == crc16_kermit_reference(data, init)
    assert crc16_arc(data, init) == crc16_arc_reference(data, init)


@given(st.binary(max_size=600))
def test_xor_fold_equals_the_byte_loop(data: bytes) -> None:
    assert xor_bcc(data) == functools.reduce(operator.xor, data, 0)
