"""DualCam's run kernels (``dissectors._dualcam_speedups``) against their pure-Python twins
and the spec, on golden vectors and on any input."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from fastcrc import crc16
from hypothesis import given
from hypothesis import strategies as st

from dissectors.dualcam import speedups
from dissectors.dualcam.framing import DataRunHeaders
from dissectors.dualcam.tables import MAX_DATA_LEN

needs_c = pytest.mark.skipif(not speedups.HAVE_C, reason="the C kernels were not built")
STALL = 2_000_000_000


def _both(name: str) -> list[Callable[..., Any]]:
    kernels: list[Callable[..., Any]] = [getattr(speedups, f"{name}_python")]
    if speedups.HAVE_C:
        kernels.append(getattr(speedups, name))
    return kernels


def data_frame(payload: bytes, crc: int) -> tuple[bytes, int]:
    """A device DATA frame continuing the chain from ``crc``, and the chain's next value."""
    value = crc16.kermit(payload, crc)
    return b"\x00\x04" + (len(payload) + 2).to_bytes(2, "big") + payload + value.to_bytes(
        2, "big"
    ), value


def chain(payloads: list[bytes], crc: int = 0) -> bytes:
    out = b""
    for payload in payloads:
        frame, crc = data_frame(payload, crc)
        out += frame
    return out


@pytest.mark.parametrize("kernel", _both("crc16_kermit"))
def test_crc_spec_vectors(kernel: Callable[..., int]) -> None:
    assert kernel(b"123456789", 0) == 0x2189  # the catalogue's check value
    assert kernel(b"", 0x1234) == 0x1234
    assert kernel(b"6789", kernel(b"12345", 0)) == 0x2189  # a chain continues the register


@given(
    st.binary(max_size=3000)
    | st.integers(0, 70).flatmap(lambda n: st.binary(min_size=n * 16, max_size=n * 16 + 15)),
    st.integers(0, 0xFFFF),
)
def test_crc_matches_fastcrc(data: bytes, init: int) -> None:
    for kernel in _both("crc16_kermit"):
        assert kernel(data, init) == crc16.kermit(data, init)
        assert kernel(bytearray(data), init) == crc16.kermit(data, init)


def test_scan_golden() -> None:
    frames = chain([b"a" * 1024, b"b" * 1024, b"c" * 7])
    tail = data_frame(b"d" * 100, 0)[0]
    for kernel in _both("scan_data_frames"):
        assert kernel(frames, 0) == (len(frames), 3, 2 * 1030, 0)
        assert kernel(frames + tail[:50], 0) == (len(frames), 3, 2 * 1030, 106)
        assert kernel(frames + tail[:3], 0) == (len(frames), 3, 2 * 1030, 0)
        assert kernel(frames + b"\x00\x05" + tail[2:], 0) == (len(frames), 3, 2 * 1030, 0)
        assert kernel(frames, 1030) == (len(frames), 2, 2 * 1030, 0)
        assert kernel(b"\x00\x04\x00\x02xx", 0) == (0, 0, 0, 0)  # len below one byte + CRC
        too_long = (MAX_DATA_LEN + 1).to_bytes(2, "big")
        assert kernel(b"\x00\x04" + too_long + bytes(MAX_DATA_LEN + 1), 0) == (0, 0, 0, 0)
        with pytest.raises(ValueError):
            kernel(frames, len(frames) + 1)
        with pytest.raises(ValueError):
            kernel(frames, -1)


@needs_c
@given(st.binary(max_size=200), st.data())
def test_scan_c_matches_python_on_any_bytes(data: bytes, draw: st.DataObject) -> None:
    pos = draw.draw(st.integers(0, len(data)))
    assert speedups.scan_data_frames(data, pos) == speedups.scan_data_frames_python(data, pos)


@needs_c
@given(
    st.lists(st.binary(min_size=1, max_size=MAX_DATA_LEN - 2), max_size=6),
    st.data(),
)
def test_scan_c_matches_python_on_cut_runs(payloads: list[bytes], draw: st.DataObject) -> None:
    frames = chain(payloads)
    cut = draw.draw(st.integers(0, len(frames)))
    pos = draw.draw(st.integers(0, cut))
    buf = frames[:cut]
    assert speedups.scan_data_frames(buf, pos) == speedups.scan_data_frames_python(buf, pos)


def _take(kernel: Callable[..., Any], run: bytes, *args: Any) -> tuple[Any, bytes, list[float]]:
    out = bytearray(b"earlier")
    gaps: list[float] = [1.5]
    result = kernel(run, *args[:1], out, *args[1:10], gaps)
    return result, bytes(out), gaps


def test_take_golden() -> None:
    payloads = [bytes([n]) * 1024 for n in range(4)] + [b"end"]
    run = chain(payloads)
    times = (10, 20, 1_500_000_030, 40)
    offsets = (100, 100 + 1030, 100 + 2 * 1030, 100 + 3 * 1030)
    for kernel in _both("take_data_frames"):
        # all five: the last (short) one is frame number max_frames
        everything = (0, 0, 10**6, 5, 1024, 100, offsets, times, None, STALL)
        result, out, gaps = _take(kernel, run, *everything)
        assert result == (5, len(run), crc16.kermit(b"".join(payloads)), 40, 10)
        assert out == b"earlier" + b"".join(payloads)
        assert gaps == [1.5, 10 / 1e6, (1_500_000_030 - 20) / 1e6, (40 - 1_500_000_030) / 1e6, 0.0]
        # a stall before frame 3 (1.5 s after frame 2) with a 2 ms threshold
        result, out, gaps = _take(
            kernel, run, 0, 0, 10**6, 5, 1024, 100, offsets, times, 1_000, 2_000_000
        )
        assert result == (2, 2 * 1030, crc16.kermit(b"".join(payloads[:2])), 20, 10)
        assert gaps == [1.5, (10 - 1_000) / 1e6, 10 / 1e6]
        # room for two payloads and a half: two
        result, out, _ = _take(kernel, run, 0, 0, 2560, 5, 1024, 100, offsets, times, None, STALL)
        assert result[:2] == (2, 2 * 1030)
        # the short frame is not frame number max_frames: it stops the run
        result, out, _ = _take(kernel, run, 0, 0, 10**6, 6, 1024, 100, offsets, times, None, STALL)
        assert result[:2] == (4, 4 * 1030)
        # a wrong starting register: nothing, and the arguments come back
        result, out, gaps = _take(kernel, run, 0, 1, 10**6, 5, 1024, 100, offsets, times, 7, STALL)
        assert result == (0, 0, 1, 7, None)
        assert (out, gaps) == (b"earlier", [1.5])
        # no arrival times: every frame arrived at 0
        result, _, gaps = _take(
            kernel, run, 1030, crc16.kermit(payloads[0]), 10**6, 2, 0, 0, (), (), None, STALL
        )
        assert result == (2, 3 * 1030, crc16.kermit(b"".join(payloads[:3])), 0, 0)
        assert gaps == [1.5, 0.0]
        with pytest.raises(ValueError):
            _take(kernel, run, 0, 0, 10**6, 5, 0, 100, offsets, times[:2], None, STALL)
        with pytest.raises(ValueError):
            _take(kernel, run, len(run) + 1, 0, 10**6, 5, 0, 100, offsets, times, None, STALL)


@st.composite
def damaged_runs(draw: st.DrawFn) -> tuple[bytes, int]:
    """A run of chained DATA frames (some full), cut anywhere, maybe with one byte damaged."""
    crc = draw(st.integers(0, 0xFFFF))
    sizes = st.one_of(st.just(1024), st.integers(1, MAX_DATA_LEN - 2))
    payloads = [
        draw(st.binary(min_size=size, max_size=size)) for size in draw(st.lists(sizes, max_size=5))
    ]
    run = bytearray(chain(payloads, crc))
    if run and draw(st.booleans()):
        at = draw(st.integers(0, len(run) - 1))
        run[at] ^= draw(st.integers(1, 255))
    cut = draw(st.integers(0, len(run)))
    return bytes(run[:cut]), crc


@needs_c
@given(damaged_runs(), st.data())
def test_take_c_matches_python(case: tuple[bytes, int], draw: st.DataObject) -> None:
    run, crc = case
    chunks = draw.draw(st.lists(st.integers(0, len(run) + 200), max_size=8).map(sorted))
    times = draw.draw(st.lists(st.integers(0, 10**10), min_size=len(chunks), max_size=len(chunks)))
    args = (
        draw.draw(st.integers(0, min(len(run), 1030))),
        crc if draw.draw(st.booleans()) else draw.draw(st.integers(0, 0xFFFF)),
        draw.draw(st.integers(-10, 6000)),
        draw.draw(st.integers(0, 7)),
        draw.draw(st.sampled_from([0, 1024, 500])),
        draw.draw(st.integers(0, 100)),
        tuple(chunks),
        tuple(times),
        draw.draw(st.none() | st.integers(0, 10**10)),
        draw.draw(st.sampled_from([STALL, 10**9, 0])),
    )
    assert _take(speedups.take_data_frames, run, *args) == _take(
        speedups.take_data_frames_python, run, *args
    )


@needs_c
@given(st.binary(max_size=300), st.data())
def test_take_c_matches_python_on_any_bytes(run: bytes, draw: st.DataObject) -> None:
    args = (
        draw.draw(st.integers(0, len(run))),
        draw.draw(st.integers(0, 0xFFFF)),
        10**6,
        100,
        0,
        0,
        (0,),
        (5,),
        None,
        STALL,
    )
    assert _take(speedups.take_data_frames, run, *args) == _take(
        speedups.take_data_frames_python, run, *args
    )


@given(st.lists(st.integers(1, MAX_DATA_LEN - 2), min_size=1, max_size=6))
def test_run_headers_list_each_frame(sizes: list[int]) -> None:
    run = chain([bytes(size) for size in sizes])
    end, count, last, _ = speedups.scan_data_frames(run, 0)
    headers = DataRunHeaders(run, count, (last, end - last))
    expected = []
    offset = 0
    for size in sizes:
        expected.append((offset, size + 6))
        offset += size + 6
    assert len(headers) == len(expected)
    assert headers[-1] == expected[-1]
    assert list(headers) == expected
    assert headers[1:] == expected[1:]


@needs_c
def test_crc_table_path_where_pclmul_is_off() -> None:
    """The C kernel folds with PCLMULQDQ where the CPU has it; the table path it falls back
    to (CAMSHARK_NO_PCLMUL, or another CPU) must give the same CRCs."""
    script = (
        "import random\n"
        "from fastcrc import crc16\n"
        "from dissectors.dualcam import speedups\n"
        "rng = random.Random(5)\n"
        "for size in [*range(70), 1023, 1024, 1025, 5000]:\n"
        "    data, init = rng.randbytes(size), rng.randrange(65536)\n"
        "    assert speedups.crc16_kermit(data, init) == crc16.kermit(data, init), size\n"
        "print('ok')\n"
    )
    env = {**os.environ, "CAMSHARK_NO_PCLMUL": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert done.stdout == "ok\n", done.stderr
