"""The C kernels (``dissectors._speedups``) against their pure-Python twins, on any input."""

from __future__ import annotations

import functools
import operator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dissectors import speedups
from dissectors.smartlpr.codec import encode
from dissectors.smartlpr.records import Ack, LicenseInfo, Status, Trigger
from dissectors.smartlpr.tables import MAX_FRAME, MAX_PLAUSIBLE_CODE, SizeReading

needs_c = pytest.mark.skipif(not speedups.HAVE_C, reason="the C kernels were not built")


PLATE = LicenseInfo(7, 3, 1_700_000_000, 5, "AB123", (90, 91, 92, 93, 94), True, "AB 123", "E")
GOLDEN = (
    encode(Status(), 1, 2)
    + encode(Trigger(9), 1, 4)
    + encode(PLATE, 1, 3)
    + encode(Ack(), 1, 3, bcc=0x55)  # a bad Bcc: still cut, with bcc_ok False
)


def test_golden_stream_is_cut_into_its_four_frames() -> None:
    headers, end = speedups.smartlpr_scan_python(GOLDEN, 0, 0, MAX_FRAME, MAX_PLAUSIBLE_CODE)
    assert end == len(GOLDEN)
    assert [(h[1], h[4], h[6], h[7]) for h in headers] == [
        (19, 68, 2, True),
        (23, 67, 4, True),
        (188, 2, 3, True),
        (19, 192, 3, False),
    ]
    assert [h[0] for h in headers] == [0, 19, 42, 230]


def test_scan_stops_where_a_frame_is_not_plainly_whole() -> None:
    status = encode(Status(), 1, 2)
    for tail in (b"", b"\x02\x01", b"junk", status[:-1], status[:-1] + b"\x04"):
        headers, end = speedups.smartlpr_scan_python(
            status + tail, 0, 0, MAX_FRAME, MAX_PLAUSIBLE_CODE
        )
        assert (len(headers), end) == (1, 19)


def test_scan_follows_the_size_reading_it_is_given() -> None:
    data = encode(Trigger(1), 1, 2, size_reading=SizeReading.DATA_ONLY)
    assert speedups.smartlpr_scan_python(data, 0, 0, MAX_FRAME, 255) == ([], 0)
    headers, end = speedups.smartlpr_scan_python(data, 0, 19, MAX_FRAME, 255)
    assert (headers[0][1], headers[0][3], end) == (23, 4, 23)


def test_scan_rejects_a_position_outside_the_buffer() -> None:
    with pytest.raises(ValueError, match="outside"):
        speedups.smartlpr_scan_python(b"abc", 4, 0, MAX_FRAME, 255)


@needs_c
def test_c_scan_rejects_a_position_outside_the_buffer() -> None:
    with pytest.raises(ValueError, match="outside"):
        speedups.smartlpr_scan(b"abc", -1, 0, MAX_FRAME, 255)


@needs_c
def test_c_kernels_agree_on_the_golden_stream() -> None:
    for pos in range(len(GOLDEN) + 1):
        for extra in (0, 2, 19):
            assert speedups.smartlpr_scan(
                GOLDEN, pos, extra, MAX_FRAME, MAX_PLAUSIBLE_CODE
            ) == speedups.smartlpr_scan_python(GOLDEN, pos, extra, MAX_FRAME, MAX_PLAUSIBLE_CODE)
    assert speedups.xor_bcc(GOLDEN) == speedups.xor_bcc_python(GOLDEN)


@given(st.binary(max_size=3000))
def test_xor_bcc_equals_the_byte_loop(data: bytes) -> None:
    expected = functools.reduce(operator.xor, data, 0)
    assert speedups.xor_bcc_python(data) == expected
    assert speedups.xor_bcc(data) == expected
    assert speedups.xor_bcc(bytearray(data)) == expected


_PIECES = st.sampled_from(
    [
        encode(Status(), 1, 2),
        encode(Trigger(-5), 2, 6),
        encode(PLATE, 1, 3),
        encode(Ack(), 1, 3, bcc=0),
        encode(Status(), 1, 2, size_reading=SizeReading.STX_DATA),
        b"\x02",
        b"\x03",
        b"\x02\x01\x00\x00\x00\xff\xff\xff\xff",  # a header whose Size is huge
    ]
)


@needs_c
@given(
    st.lists(st.one_of(_PIECES, st.binary(max_size=40)), max_size=12),
    st.integers(0, 400),
    st.sampled_from([0, 2, 19, -30, 2**40, 2**63 - 1, -(2**63)]),
    st.sampled_from([MAX_FRAME, 19, 25, 2**62]),
    st.sampled_from([MAX_PLAUSIBLE_CODE, 0, 0xFFFF]),
)
def test_c_scan_equals_python_scan_on_any_bytes(
    pieces: list[bytes], pos: int, extra: int, max_frame: int, max_code: int
) -> None:
    data = b"".join(pieces)
    pos = min(pos, len(data))
    python = speedups.smartlpr_scan_python(data, pos, extra, max_frame, max_code)
    assert speedups.smartlpr_scan(data, pos, extra, max_frame, max_code) == python
    assert speedups.smartlpr_scan(bytearray(data), pos, extra, max_frame, max_code) == python
