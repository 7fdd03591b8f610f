"""A large DualCam capture: many photo and video uploads over several TCP connections.

Each tracker connection runs the reference flow for every file: INIT → METADATA_REQUEST →
METADATA → FILE_REQUEST → START → RESUME 1 → SYNC 1 → DATA × count → REPEAT_INIT → INIT …,
and ends with COMPLETE and a FIN. Photos are JPEG-shaped (0.5-1 MB), videos PTMF chains
(2-8 MB). The server ACKs every send, as a real TCP peer does.

Fast to generate: file contents and their DATA-frame streams (CRC-16/KERMIT chained) are
built once per distinct file and reused; a send of up to ``SEND_BYTES`` is cut into MSS
segments by ``TcpConversation``; connections are interleaved by time with ``heapq.merge`` and
streamed into ``CaptureWriter``, so memory holds one send per connection.
"""

from __future__ import annotations

import heapq
import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dissectors.checksums import crc16_kermit
from dissectors.dualcam import encode
from dissectors.dualcam.tables import PACKET_SIZE, Settings
from sniffer.packet_writer import CaptureWriter, TcpConversation
from sniffer.sources.base import Side

IMEI = 863719061653375
"""Luhn-valid (the simulator's)."""
PORT = 5232
START_NS = 1_764_000_000_000_000_000
SEND_BYTES = 64 * 1024
"""Bytes per device send: DATA frames go out in batches as a socket buffer drains them."""
TRACKER_RATE = 1_000_000
"""Bytes per second per tracker connection (capture time): a good LTE uplink."""
CONNECTIONS = 4
PHOTO_SIZES = (520_000, 780_000, 1_000_000)
VIDEO_SIZES = (2_100_000, 4_300_000, 8_000_000)
BIT = {
    "%photof": Settings.PHOTO_FRONT,
    "%photor": Settings.PHOTO_REAR,
    "%videof": Settings.VIDEO_FRONT,
    "%videor": Settings.VIDEO_REAR,
}


def _jpeg(size: int, seed: int) -> bytes:
    header = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    body = random.Random(seed).randbytes(size - len(header) - 2)
    return header + body + b"\xff\xd9"


def _ptmf(size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    out = bytearray()
    sequence = 0
    while len(out) < size:
        kind = b"I" if sequence % 20 == 0 else b"P"
        payload = b"\x00\x00\x00\x01" + rng.randbytes(min(30_000, max(100, size - len(out) - 40)))
        stamp = sequence * 50_000
        out += struct.pack(
            "<4sBc2sHHH10sII4s",
            b"PTMF", 3 if kind == b"I" else 0, kind, b"\x00\x14", 1280, 720, sequence,
            bytes(10), len(payload), stamp, bytes(4),
        )  # fmt: skip
        out += payload
        sequence += 1
    return bytes(out)


@dataclass(frozen=True, slots=True)
class _File:
    identifier: str
    content: bytes
    data_stream: bytes
    """Every DATA frame of the file, concatenated."""
    metadata: bytes

    @property
    def packets(self) -> int:
        return -(-len(self.content) // PACKET_SIZE)


def _file(identifier: str, content: bytes) -> _File:
    frames = []
    crc = 0
    view = memoryview(content)
    for offset in range(0, len(content), PACKET_SIZE):
        chunk = bytes(view[offset : offset + PACKET_SIZE])
        crc = crc16_kermit(chunk, crc)
        frames.append(encode.data(chunk, crc))
    video = identifier.startswith("%video")
    meta = encode.metadata(
        file_type=0x10 if video else 0x04,
        timestamp_ms=START_NS // 1_000_000,
        duration_s=20 if video else 0,
        fps=20 if video else 0,
        latitude=54.687157,
        longitude=25.279652,
    )
    return _File(identifier, content, b"".join(frames), meta)


def _catalogue() -> list[_File]:
    files = [_file("%photof", _jpeg(size, i)) for i, size in enumerate(PHOTO_SIZES)]
    files += [_file("%videof", _ptmf(size, 10 + i)) for i, size in enumerate(VIDEO_SIZES)]
    return files


def _connection(index: int, files: list[_File], start_ns: int) -> Iterator[tuple[int, bytes]]:
    """(time, packet) of one tracker connection uploading ``files``, in time order."""
    conv = TcpConversation((f"10.1.0.{index + 2}", 50000 + index), ("10.2.0.1", PORT))
    now = start_ns
    yield from conv.open(now)
    step = 200_000  # 0.2 ms of think time between commands

    def device(data: bytes) -> list[tuple[int, bytes]]:
        return conv.send(Side.A, data, now, ack=True)

    def server(data: bytes) -> list[tuple[int, bytes]]:
        return conv.send(Side.B, data, now, ack=True)

    def pending(remaining: list[_File]) -> int:
        bits = 0
        for item in remaining:
            bits |= BIT[item.identifier]
        return int(bits)

    now += step
    yield from device(encode.init(IMEI, pending(files)))
    for number, item in enumerate(files):
        now += step
        yield from server(encode.metadata_request(item.identifier))
        now += step
        yield from device(item.metadata)
        now += step
        yield from server(encode.file_request(item.identifier))
        now += step
        yield from device(encode.start(item.packets))
        now += step
        yield from server(encode.resume(1))
        now += step
        yield from device(encode.sync(1))
        stream = memoryview(item.data_stream)
        for offset in range(0, len(stream), SEND_BYTES):
            piece = bytes(stream[offset : offset + SEND_BYTES])
            now += len(piece) * 1_000_000_000 // TRACKER_RATE
            yield from device(piece)
        now += step
        yield from server(encode.repeat_init())
        now += step
        yield from device(encode.init(IMEI, pending(files[number + 1 :])))
    now += step
    yield from server(encode.status(0))
    now += step
    yield from conv.close(now)


@dataclass(slots=True)
class CaptureInfo:
    """What was generated."""

    path: Path
    files: int
    file_bytes: int
    """Sum of the uploaded files' sizes (the DATA payload)."""
    largest_file: int
    packets: int
    capture_bytes: int


def generate(path: Path, size: int, *, connections: int = CONNECTIONS) -> CaptureInfo:
    """Write a pcap carrying at least ``size`` bytes of uploaded files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    catalogue = _catalogue()
    per_connection: list[list[_File]] = [[] for _ in range(connections)]
    total = 0
    count = 0
    largest = 0
    while total < size:
        item = catalogue[count % len(catalogue)]
        per_connection[count % connections].append(item)
        total += len(item.content)
        largest = max(largest, len(item.content))
        count += 1
    streams = [
        _connection(i, files, START_NS + i * 1_000_000)
        for i, files in enumerate(per_connection)
        if files
    ]
    with CaptureWriter(path, fmt="pcap") as writer:
        write = writer.write
        for time_ns, packet in heapq.merge(*streams, key=lambda tp: tp[0]):
            write(time_ns, packet)
        packets = writer.count
    return CaptureInfo(path, count, total, largest, packets, path.stat().st_size)
