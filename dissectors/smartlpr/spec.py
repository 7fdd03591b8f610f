"""SmartLPR frame and message layouts as construct declarations (compiled). No logic here.

These are the readable specification; ``codec`` has the struct fast path and a test checks
both agree on every golden vector. Spec: /work/shared/specs/smartlpr.md B.3, B.5, B.6.
"""

from __future__ import annotations

from construct import (
    Bytes,
    Const,
    Int8ul,
    Int16ul,
    Int32sl,
    Int32ul,
    Struct,
    this,
)

from dissectors.smartlpr.tables import ETX, STX, MessageType

HEADER = Struct(
    "stx" / Const(bytes([STX])) * "spec: Stx, ASCII 2",
    "unit_id" / Int32ul * "spec: Unit Id; destination (C→U) or source (U→C)",
    "size" / Int32ul * "spec: Size; whole frame in B.8, other readings tolerated",
    "type" / Int16ul * "spec: Type",
    "version" / Int16ul * "spec: Version; message layout version",
    "id" / Int32ul * "spec: Id; conversation id, odd unit-opened, even central",
).compile()

TRAILER = Struct(
    "bcc" / Int8ul * "spec: Bcc; XOR of Stx..last data byte",
    "etx" / Const(bytes([ETX])) * "spec: Etx, ASCII 3",
).compile()

FRAME = Struct(
    "header" / HEADER,
    "data" / Bytes(this.header.size - 19) * "spec: Message data (whole-frame Size)",
    "trailer" / TRAILER,
).compile()
"""The frame under the whole-frame Size reading (B.8); the framer also accepts the others."""

LICENSE_INFO_V2 = Struct(
    "car_id" / Int32ul * "spec: CarId; same id for arrival or departure",
    "trigger_id" / Int32sl * "spec: TriggerId; -1 in hardware-trigger mode",
    "timestamp" / Int32ul * "spec: Timestamp; seconds since 1970 (2038 limit)",
    "timestamp_usec" / Int32ul * "spec: TimestampUSec",
    "detected_chars" / Bytes(40) * "spec: Detected Chars; UTF-8, zero-padded",
    "qualities" / Bytes(40) * "spec: Qualities; 0-100 per character",
    "grammar_ok" / Int8ul * "spec: GOk / Grammar Ok; 1 = known grammar",
    "printable" / Bytes(40) * "spec: Printable string; UTF-8, zero-padded",
    "country" / Bytes(32) * "spec: Country; zero if no grammar matched",
).compile()

TRIGGER = Struct(
    "trigger_id" / Int32sl * "spec: Trigger Id",
).compile()

STATUS = Struct().compile()

STATUS_RESPONSE = Struct(
    "active" / Int8ul * "spec: Actv; 1 unit active",
    "io" / Int8ul * "spec: IO / Ioc; reserved, 0",
    "camera" / Int8ul * "spec: Cam; 1 camera ok",
).compile()

GET_PICTURE = Struct(
    "car_id" / Int32ul * "spec: Car Id",
).compile()

GET_PICTURE_RESPONSE = Struct(
    "roi_top" / Int16ul * "spec: RoiTop",
    "roi_left" / Int16ul * "spec: RoiLeft",
    "roi_bottom" / Int16ul * "spec: RoiBottom",
    "roi_right" / Int16ul * "spec: RoiRight",
    "image_size" / Int32ul * "spec: ImageSize; 0 = unit busy, max 65000",
    "image" / Bytes(this.image_size) * "spec: Image Data; JPEG",
).compile()

CURRENT_FRAME = Struct(
    "exposure_time_us" / Int32ul * "spec: Exposure Time, µs",
).compile()

CURRENT_FRAME_RESPONSE = Struct(
    "image_size" / Int32ul * "spec: Image Size; 0 = failed, max 65000",
    "image" / Bytes(this.image_size) * "spec: Image Data; JPEG",
).compile()

PING = Struct(
    "port" / Int32ul * "spec: Port; where the reply goes (16-bit in 4 bytes)",
).compile()

ACK = Struct().compile()

NAK = Struct(
    "code" / Int8ul * "spec: Code",
    "subcode" / Int8ul * "spec: SubCode",
).compile()

BODIES: dict[tuple[int, int | None], Struct] = {
    (MessageType.LICENSE_INFO, 2): LICENSE_INFO_V2,
    (MessageType.TRIGGER, None): TRIGGER,
    (MessageType.STATUS, None): STATUS,
    (MessageType.STATUS_RESPONSE, None): STATUS_RESPONSE,
    (MessageType.GET_PICTURE, None): GET_PICTURE,
    (MessageType.GET_PICTURE_RESPONSE, None): GET_PICTURE_RESPONSE,
    (MessageType.CURRENT_FRAME, None): CURRENT_FRAME,
    (MessageType.CURRENT_FRAME_RESPONSE, None): CURRENT_FRAME_RESPONSE,
    (MessageType.PING, None): PING,
    (MessageType.ACK, None): ACK,
    (MessageType.NAK, None): NAK,
}
"""Body layout by (type, version); None = any version (only LicenseInfo is versioned)."""
