"""Build DualCam frames from values, with the construct specs (for simulators and tests)."""

from __future__ import annotations

from collections.abc import Iterator

from dissectors.checksums import crc16_kermit
from dissectors.dualcam import spec
from dissectors.dualcam.tables import PACKET_SIZE, Command


def command(cmd: int, payload: bytes = b"") -> bytes:
    """``cmd:u16 len:u16 payload``."""
    return bytes(spec.HEADER.build({"cmd": cmd, "len_payload": len(payload)})) + payload


def init(imei: int, settings: int, protocol_id: int = 5) -> bytes:
    """The device's 16-byte INIT."""
    return bytes(spec.INIT.build({"protocol_id": protocol_id, "imei": imei, "settings": settings}))


def start(count: int, blank: int = 0) -> bytes:
    """START: the device announces ``count`` packets (or bytes)."""
    return command(Command.START, bytes(spec.START.build({"count": count, "blank": blank})))


def resume(offset: int) -> bytes:
    """RESUME from the server."""
    return command(Command.RESUME, spec.OFFSET.build({"offset": offset}))


def sync(offset: int) -> bytes:
    """SYNC from the device."""
    return command(Command.SYNC, spec.OFFSET.build({"offset": offset}))


def status(value: int) -> bytes:
    """STATUS (device) or COMPLETE (server)."""
    return command(Command.STATUS, spec.STATUS.build({"status": value}))


def file_request(identifier: str) -> bytes:
    """FILE_REQUEST (``%photof`` … or a path)."""
    return command(Command.FILE_REQUEST, identifier.encode("ascii"))


def metadata_request(identifier: str = "") -> bytes:
    """METADATA_REQUEST (empty for ADAS/DSM)."""
    return command(Command.METADATA_REQUEST, identifier.encode("ascii"))


def repeat_init(*, bare: bool = True) -> bytes:
    """REPEAT_INIT: bare ``00 09`` as the reference server sends it, or ``00 09 00 00``."""
    return b"\x00\x09" if bare else command(Command.REPEAT_INIT)


def close(*, bare: bool = False) -> bytes:
    """CLOSE: ``00 00 00 00`` or bare ``00 00``."""
    return b"\x00\x00" if bare else command(Command.INIT_OR_CLOSE)


def metadata(
    *,
    file_type: int,
    timestamp_ms: int,
    trigger: int = 0,
    duration_s: int = 0,
    fps: int = 0,
    timezone_min: int = 0,
    latitude: float = 0.0,
    longitude: float = 0.0,
    version: int = 3,
    trigger_timestamp_ms: int | None = None,
) -> bytes:
    """Binary METADATA v3 (32 bytes) or v4 (40 bytes)."""
    payload = spec.METADATA_V3.build(
        {
            "version": version,
            "file_type": file_type,
            "timestamp_ms": timestamp_ms,
            "trigger": trigger,
            "duration_s": duration_s,
            "fps": fps,
            "timezone_min": timezone_min,
            "latitude": latitude,
            "longitude": longitude,
            "trigger_timestamp_ms": trigger_timestamp_ms,
        }
    )
    return command(Command.METADATA, payload)


def data(chunk: bytes, crc: int) -> bytes:
    """One DATA frame."""
    return command(Command.DATA, chunk + spec.U16.pack(crc))


def data_frames(
    file: bytes, first_packet: int = 1, packet_size: int = PACKET_SIZE
) -> Iterator[tuple[int, bytes]]:
    """(packet number, DATA frame) from ``first_packet`` on, CRC chain starting at 0 (a SYNC)."""
    crc = 0
    for offset in range((first_packet - 1) * packet_size, len(file), packet_size):
        chunk = file[offset : offset + packet_size]
        crc = crc16_kermit(chunk, crc)
        yield offset // packet_size + 1, data(chunk, crc)
