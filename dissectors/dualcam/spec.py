"""DualCam wire layouts: construct as the readable spec, ``struct`` as the fast path.

Every integer is big-endian (spec A.3). ``tests/dissectors/test_dualcam.py`` checks that the
struct fast path and the compiled construct spec agree on the spec vectors.
"""

from __future__ import annotations

import struct

from construct import (
    Bytes,
    Const,
    Float64b,
    GreedyBytes,
    If,
    Int8ub,
    Int16sb,
    Int16ub,
    Int16ul,
    Int32sb,
    Int32ub,
    Int32ul,
    Int64ub,
    Struct,
    this,
)

HEADER = Struct(
    "cmd" / Int16ub * "command id (spec A.5)",
    "len_payload" / Int16ub * "payload length; for a device INIT this is the protocol id",
).compile()

INIT = Struct(
    "magic" / Const(b"\x00\x00") * "INIT header, always 0x0000",
    "protocol_id" / Int16ub * "5 on DualCam firmware; >= 6 unified transfer",
    "imei" / Int64ub * "binary value of the decimal IMEI (not BCD, not ASCII)",
    "settings" / Int32ub * "pending-file bit mask (spec A.4)",
).compile()

START = Struct(
    "count" / Int32ub * "DATA packets (packet mode) or file bytes (byte mode)",
    "blank" / Int16ub * "spec: 'File CRC', always 0 on the wire",
).compile()

OFFSET = Struct(
    "offset" / Int32ub * "RESUME/SYNC point: 1-based packet or byte offset",
).compile()

STATUS = Struct(
    "status" / Int32ub * "0 completed; non-zero is a device error (spec A.10)",
).compile()

METADATA_V3 = Struct(
    "version" / Int8ub * "metadata version (3 or 4)",
    "file_type" / Int8ub * "0x04 photo front, 0x08 photo rear, 0x10 video front, 0x20 rear",
    "timestamp_ms" / Int64ub * "file time, ms since the epoch (UTC)",
    "trigger" / Int8ub * "trigger source",
    "duration_s" / Int16ub * "video length (0 for photos)",
    "fps" / Int8ub * "framerate (0 for photos)",
    "timezone_min" / Int16sb * "timezone offset, signed minutes",
    "latitude" / Float64b,
    "longitude" / Float64b,
    "trigger_timestamp_ms" / If(this.version >= 4, Int64ub) * "v4 only",
).compile()

METADATA_SHORT = Struct(
    "version" / Int8ub,
    "file_type" / Int8ub,
    "timestamp_ms" / Int64ub,
    "trigger" / Int8ub,
    "duration_s" / Int16ub,
    "rest" / GreedyBytes * "the 13+1 quirk: a framerate byte outside len",
).compile()

METADATA_ADAS = Struct(
    "timestamp_s" / Int32ub,
    "file_type" / Int8ub * "0 video, 1 snapshot, 2 current snapshot, 3 retransmitted",
    "trigger" / Int8ub,
    "latitude_e6" / Int32sb * "degrees x 1e6",
    "longitude_e6" / Int32sb,
    "duration_s" / Int8ub * "spec: 'length'",
).compile()
"""ADAS/MDAS binary metadata, 15 bytes (spec A.9, [I])."""

METADATA_DSM = Struct(
    "timestamp_s" / Int32ub,
    "file_type" / Int8ub,
    "trigger" / Int8ub * "0 none ... 13 DSM event, 14 file retransmit",
    "latitude_e6" / Int32sb,
    "longitude_e6" / Int32sb,
    "events" / Int16ub * "bits: drowsiness, distraction, yawning, phone, smoking ...",
    "driver_name" / Bytes(10),
).compile()
"""DSM binary metadata, 26 bytes (spec A.9, [I])."""

DATA = Struct(
    "data" / Bytes(this._.len_data) * "file bytes (<= 1024)",
    "crc" / Int16ub * "CRC-16/KERMIT chained from the previous DATA, reset at SYNC",
)

PTMF_HEADER = Struct(
    "magic" / Const(b"PTMF"),
    "flag" / Int8ub * "frame flag (meaning unknown)",
    "kind" / Bytes(1) * "b'I'/b'P' video, b'A' audio",
    "unknown_0x06" / Bytes(2),
    "width" / Int16ul * "1280 in the real sample",
    "height" / Int16ul * "720 in the real sample",
    "sequence" / Int16ul,
    "unknown_0x0e" / Bytes(10),
    "len_payload" / Int32ul * "bytes after the 36-byte header",
    "timestamp" / Int32ul,
    "unknown_0x20" / Bytes(4),
).compile()
"""One PTMF record header of a DualCam video (spec A.11); integers are little-endian."""

# --- struct fast path --------------------------------------------------------------------------

U16 = struct.Struct(">H")
HEADER_FAST = struct.Struct(">HH")
INIT_FAST = struct.Struct(">HHQI")
START_FAST = struct.Struct(">IH")
U32 = struct.Struct(">I")
METADATA_FAST = struct.Struct(">BBQBHBhdd")
METADATA_SHORT_FAST = struct.Struct(">BBQBH")
METADATA_ADAS_FAST = struct.Struct(">IBBiiB")
METADATA_DSM_FAST = struct.Struct(">IBBiiH10s")
PTMF_FAST = struct.Struct("<4sBc2xHHH10xII4x")
"""magic, flag, kind, width, height, sequence, payload length, timestamp (36 bytes)."""
INIT_SIZE = 16
PTMF_HEADER_SIZE = 36
