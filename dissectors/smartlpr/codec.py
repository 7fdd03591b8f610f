"""SmartLPR decode: a frame to a Dissection (type, summary, kind, problems, lazy fields).

The wire work is in ``wire`` (struct fast path, construct reference, encode); this module
adds what the engineer sees: the summary line and frame-level problems with stable codes.
The detail (field values for JSON, the field tree with byte spans) is in ``detail``, built
only when someone looks at it.
"""

from __future__ import annotations

from dissectors.api import Dissection, Frame, Kind, Problem, Severity
from dissectors.smartlpr.detail import build_fields, field_values, type_name
from dissectors.smartlpr.records import (
    Ack,
    Body,
    CurrentFrame,
    CurrentFrameResponse,
    GetPicture,
    GetPictureResponse,
    LicenseInfo,
    Nak,
    Ping,
    RawBody,
    SmartLprMessage,
    Status,
    StatusResponse,
    Trigger,
)
from dissectors.smartlpr.tables import (
    ETX,
    LEN_OVERHEAD,
    MAX_IMAGE,
    NAK_SHORT,
    SMARTLPR_NAK,
    TYPE_NAMES,
    MessageClass,
    MessageType,
    SizeReading,
    message_class,
)
from dissectors.smartlpr.wire import decode_reference, encode, parse_message

__all__ = ["decode", "decode_reference", "encode", "kind_of", "parse_message", "type_name"]

P = "smartlpr."

_KIND_BY_CLASS = {
    MessageClass.EVENT: Kind.EVENT,
    MessageClass.REQUEST: Kind.REQUEST,
    MessageClass.RESPONSE: Kind.RESPONSE,
    MessageClass.ACK_NAK: Kind.OTHER,
}

# plain ints: attribute access on an enum class costs ~0.25 µs, too much on the hot path
_T_ACK = int(MessageType.ACK)
_T_NAK = int(MessageType.NAK)
_WHOLE = SizeReading.WHOLE


def _kind_slow(message_type: int) -> Kind:
    if message_type == _T_ACK:
        return Kind.ACK
    if message_type == _T_NAK:
        return Kind.NAK
    return _KIND_BY_CLASS[message_class(message_type)]


_KINDS = tuple(_kind_slow(t) for t in range(256))


def kind_of(message_type: int) -> Kind:
    """The role of a Type: ACK/NAK by number, everything else by its top two bits."""
    if 0 <= message_type < 256:
        return _KINDS[message_type]
    return _kind_slow(message_type)


EXPECTED_LENGTH: dict[int, str] = {
    MessageType.LICENSE_INFO: "169 bytes (version 2)",
    MessageType.TRIGGER: "4 bytes",
    MessageType.STATUS: "no data",
    MessageType.STATUS_RESPONSE: "3 bytes",
    MessageType.GET_PICTURE: "4 bytes",
    MessageType.GET_PICTURE_RESPONSE: "12 bytes + ImageSize",
    MessageType.CURRENT_FRAME: "4 bytes",
    MessageType.CURRENT_FRAME_RESPONSE: "4 bytes + ImageSize",
    MessageType.PING: "4 bytes",
    MessageType.ACK: "no data",
    MessageType.NAK: "2 bytes (Code, SubCode)",
}


def decode(frame: Frame, nak_table: dict[int, str] = SMARTLPR_NAK) -> Dissection:
    """Decode one framed SmartLPR frame into a Dissection.

    Raises:
        DecodeError: not a frame at all (too short, no Stx).
    """
    data = frame.data
    message = parse_message(data)
    body = message.body
    problems: list[Problem] = []
    length = len(data)
    if data[-1] != ETX:
        problems.append(
            Problem(Severity.ERROR, P + "bad_etx", f"last byte 0x{data[-1]:02x} is not Etx (0x03)")
        )
    if not message.bcc_ok:
        problems.append(
            Problem(
                Severity.ERROR,
                P + "bad_checksum",
                f"Bcc received 0x{message.bcc:02x}, computed 0x{message.bcc_computed:02x} "
                "over Stx..data: the frame was corrupted on the way; the peer should "
                "answer NAK 1 (bad format)",
            )
        )
    if message.size_reading is None:
        problems.append(
            Problem(
                Severity.ERROR,
                P + "bad_size",
                f"Size {message.size} fits none of the readings of this {length}-byte frame "
                f"(whole frame {length}, Stx..data {length - 2}, data only {length - 19})",
            )
        )
    elif message.size_reading is not _WHOLE:
        problems.append(
            Problem(
                Severity.NOTE,
                P + "size_reading",
                f"Size {message.size} counts the {message.size_reading.value} "
                f"({length}-byte frame); the reference vectors count the whole frame",
            )
        )
    name = type_name(message.type)
    payload_len = length - LEN_OVERHEAD
    if isinstance(body, RawBody):
        summary = _raw_summary(message, payload_len, problems)
    else:
        summary = _summary(message, body, problems, nak_table)
    return Dissection(
        name,
        summary,
        kind=kind_of(message.type),
        message=message,
        problems=tuple(problems),
        fields=lambda: build_fields(data, message, nak_table),
        json_fields=lambda: field_values(data, message, nak_table),
    )


def _raw_summary(message: SmartLprMessage, payload_len: int, problems: list[Problem]) -> str:
    name = type_name(message.type)
    if message.type == MessageType.LICENSE_INFO and message.version != LicenseInfo.VERSION:
        problems.append(
            Problem(
                Severity.NOTE,
                P + "unknown_version",
                f"LicenseInfo version {message.version} has no public layout; shown raw "
                "(only version 2 is documented)",
            )
        )
        return f"LicenseInfo v{message.version} (layout unknown) {payload_len} B"
    if message.type in TYPE_NAMES:
        expected = EXPECTED_LENGTH.get(message.type, "?")
        problems.append(
            Problem(
                Severity.ERROR,
                P + "bad_length",
                f"{name} carries {payload_len} bytes of data; its layout needs {expected}",
            )
        )
        return f"{name} (bad length {payload_len} B)"
    cls = message_class(message.type).value
    problems.append(
        Problem(
            Severity.NOTE,
            P + "unknown_type",
            f"Type {message.type} is not in the seed's catalogue; class {cls} by its top two bits",
        )
    )
    return f"{name} ({cls}) v{message.version} {payload_len} B"


def _image_problems(image_size: int, image: bytes, problems: list[Problem], what: str) -> None:
    if image_size == 0:
        problems.append(
            Problem(
                Severity.NOTE,
                P + "image_unavailable",
                f"ImageSize 0: {what} was not obtained (unit busy with another image)",
            )
        )
    if image_size > MAX_IMAGE:
        problems.append(
            Problem(
                Severity.WARNING,
                P + "image_too_large",
                f"ImageSize {image_size} exceeds the documented maximum of {MAX_IMAGE} bytes",
            )
        )
    if len(image) != image_size:
        problems.append(
            Problem(
                Severity.ERROR,
                P + "bad_length",
                f"ImageSize says {image_size} bytes but {len(image)} follow: "
                + ("the picture is truncated" if len(image) < image_size else "extra bytes"),
            )
        )
    if image and not image.startswith(JPEG_SOI):
        problems.append(
            Problem(
                Severity.WARNING,
                P + "not_jpeg",
                "image data does not start with the JPEG SOI marker FF D8",
            )
        )


MAX_QUALITY = 100
"""Character qualities are percentages: above this, decode reports ``quality_range``."""


def valid_timestamp(seconds: int, usec: int) -> bool:
    """A LicenseInfo capture time decode accepts (else ``smartlpr.timestamp``)."""
    return seconds != 0 and usec < 1_000_000


JPEG_SOI = b"\xff\xd8"


def plain_image(image_size: int, received: int, start: bytes) -> bool:
    """A picture decode reports nothing about (``_image_problems``): ImageSize within
    1..``MAX_IMAGE``, all of it ``received``, and ``start`` (its first two bytes) the JPEG SOI
    marker."""
    return 0 < image_size <= MAX_IMAGE and received == image_size and start == JPEG_SOI


def unit_healthy(active: int, camera: int) -> bool:
    """A StatusResponse decode accepts without ``smartlpr.unit_health``."""
    return active == 1 and camera == 1


def _summary(
    message: SmartLprMessage, body: Body, problems: list[Problem], nak_table: dict[int, str]
) -> str:
    if isinstance(body, LicenseInfo):
        quals = body.qualities
        count = len(body.detected_chars)
        shown = quals[:count] if count else quals
        if shown:
            low, high = min(shown), max(shown)
            q = f"q={low}" if low == high else f"q={low}-{high}"
        else:
            q = "q=-"
        trig = "trig hw" if body.trigger_id == -1 else f"trig {body.trigger_id}"
        country = f" {body.country}" if body.country else ""
        if not valid_timestamp(body.timestamp, body.timestamp_usec):
            problems.append(
                Problem(
                    Severity.WARNING,
                    P + "timestamp",
                    f"Timestamp {body.timestamp}.{body.timestamp_usec:06d} is not a valid "
                    "capture time: check the unit's clock",
                )
            )
        if quals and max(quals) > MAX_QUALITY:
            problems.append(Problem(Severity.WARNING, P + "quality_range", "a quality exceeds 100"))
        plate = body.printable or body.detected_chars
        return f"LicenseInfo car {body.car_id} plate {plate!r}{country} {q} {trig}"
    if isinstance(body, Trigger):
        return f"Trigger {body.trigger_id}"
    if isinstance(body, Status):
        return "Status"
    if isinstance(body, StatusResponse):
        if not unit_healthy(body.active, body.camera):
            problems.append(
                Problem(
                    Severity.WARNING,
                    P + "unit_health",
                    ("unit not active; " if body.active != 1 else "")
                    + ("camera status incorrect" if body.camera != 1 else "camera ok"),
                )
            )
        return (
            f"StatusResponse {'active' if body.active == 1 else 'inactive'} io={body.io} "
            f"camera {'ok' if body.camera == 1 else 'FAULT'}"
        )
    if isinstance(body, GetPicture):
        return f"GetPicture car {body.car_id}"
    if isinstance(body, GetPictureResponse):
        _image_problems(body.image_size, body.image, problems, "the picture")
        roi = f"roi t{body.roi_top} l{body.roi_left} b{body.roi_bottom} r{body.roi_right}"
        if body.image_size == 0:
            return f"GetPictureResponse no image (busy) {roi}"
        return f"GetPictureResponse JPEG {body.image_size} B {roi}"
    if isinstance(body, CurrentFrame):
        return f"CurrentFrame exposure {body.exposure_time_us} µs"
    if isinstance(body, CurrentFrameResponse):
        _image_problems(body.image_size, body.image, problems, "the current frame")
        if body.image_size == 0:
            return "CurrentFrameResponse no image (failed)"
        return f"CurrentFrameResponse JPEG {body.image_size} B"
    if isinstance(body, Ping):
        if not 0 < body.port <= 0xFFFF:
            problems.append(
                Problem(
                    Severity.WARNING,
                    P + "bad_port",
                    f"Ping asks for replies on port {body.port}, which is not a UDP/TCP port "
                    "(1-65535): the configuration system cannot answer",
                )
            )
        return f"Ping port {body.port}"
    if isinstance(body, Ack):
        return f"ACK id={message.id}"
    if isinstance(body, Nak):
        reason = nak_table.get(body.code, "code not in the product's table")
        problems.append(
            Problem(
                Severity.WARNING,
                P + "nak",
                f"NAK {body.code} (SubCode {body.subcode}): {reason}",
            )
        )
        short = NAK_SHORT.get(body.code, "unknown code")
        return f"NAK {body.code} {short} sub={body.subcode} id={message.id}"
    raise AssertionError(body)  # pragma: no cover - every Body is handled above
