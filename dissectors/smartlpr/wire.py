"""SmartLPR on the wire: the struct fast path, the construct reference parse, and encode.

``parse_message`` is the hot path: one ``struct.Struct.unpack_from`` for the header, one
for the body, the Bcc by integer fold. ``decode_reference`` parses the same frame with the
construct specs; the tests check both agree on every golden vector. ``encode`` builds
frames from the construct specs (simulator, tests). construct and the specs are imported (and
compiled) at their first use: the hot path never needs them, and they cost ~50 ms of
``camshark read``'s start-up.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from dissectors.api import DecodeError
from dissectors.checksums import xor_bcc
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
    body_type,
)
from dissectors.smartlpr.tables import (
    LEN_HEADER,
    LEN_OVERHEAD,
    SIZE_READINGS,
    STX,
    MessageType,
    SizeReading,
)

HEADER = struct.Struct("<BIIHHI")
LICENSE_INFO_V2 = struct.Struct("<IiII40s40sB40s32s")
IMAGE_HEAD = struct.Struct("<HHHHI")
U32 = struct.Struct("<I")
I32 = struct.Struct("<i")
STATUS_RESPONSE = struct.Struct("<BBB")
NAK = struct.Struct("<BB")

# plain ints: attribute access on an enum class costs ~0.25 µs, too much on the hot path
_T_LICENSE_INFO = int(MessageType.LICENSE_INFO)
_WHOLE = SizeReading.WHOLE


def _text(raw: bytes) -> tuple[str, bool]:
    """Zero-padded UTF-8 to text; False when the bytes were not valid UTF-8."""
    stripped = raw.rstrip(b"\0")
    try:
        return stripped.decode("utf-8"), True
    except UnicodeDecodeError:
        return stripped.decode("utf-8", "replace"), False


# ------------------------------------------------------------------ body decode (fast path)


def _license_info(data: bytes) -> LicenseInfo | None:
    if len(data) != LICENSE_INFO_V2.size:
        return None
    car, trig, ts, usec, chars, quals, gok, printable, country = LICENSE_INFO_V2.unpack(data)
    return LicenseInfo(
        car_id=car,
        trigger_id=trig,
        timestamp=ts,
        timestamp_usec=usec,
        detected_chars=_text(chars)[0],
        qualities=tuple(quals.rstrip(b"\0")),
        grammar_ok=gok != 0,
        printable=_text(printable)[0],
        country=_text(country)[0],
    )


def _get_picture_response(data: bytes) -> GetPictureResponse | None:
    if len(data) < IMAGE_HEAD.size:
        return None
    top, left, bottom, right, size = IMAGE_HEAD.unpack_from(data)
    return GetPictureResponse(top, left, bottom, right, size, data[IMAGE_HEAD.size :])


def _current_frame_response(data: bytes) -> CurrentFrameResponse | None:
    if len(data) < U32.size:
        return None
    return CurrentFrameResponse(U32.unpack_from(data)[0], data[U32.size :])


def _fixed(layout: struct.Struct, build: Callable[..., Body]) -> Callable[[bytes], Body | None]:
    def parse(data: bytes) -> Body | None:
        if len(data) != layout.size:
            return None
        return build(*layout.unpack(data))

    return parse


def _empty(build: Callable[[], Body]) -> Callable[[bytes], Body | None]:
    def parse(data: bytes) -> Body | None:
        return build() if not data else None

    return parse


_BODY_PARSERS: dict[int, Callable[[bytes], Body | None]] = {
    MessageType.TRIGGER: _fixed(I32, Trigger),
    MessageType.STATUS: _empty(Status),
    MessageType.STATUS_RESPONSE: _fixed(STATUS_RESPONSE, StatusResponse),
    MessageType.GET_PICTURE: _fixed(U32, GetPicture),
    MessageType.GET_PICTURE_RESPONSE: _get_picture_response,
    MessageType.CURRENT_FRAME: _fixed(U32, CurrentFrame),
    MessageType.CURRENT_FRAME_RESPONSE: _current_frame_response,
    MessageType.PING: _fixed(U32, Ping),
    MessageType.ACK: _empty(Ack),
    MessageType.NAK: _fixed(NAK, Nak),
}


def decode_body(message_type: int, version: int, data: bytes) -> tuple[Body, bool]:
    """The body record for ``data``; False when a known type has the wrong data length.

    Unknown types and LicenseInfo versions other than 2 come back as ``RawBody`` (True).
    """
    body: Body | None
    if message_type == _T_LICENSE_INFO:
        if version != 2:
            return RawBody(message_type, data), True
        body = _license_info(data)
    else:
        parser = _BODY_PARSERS.get(message_type)
        if parser is None:
            return RawBody(message_type, data), True
        body = parser(data)
    if body is None:
        return RawBody(message_type, data), False
    return body, True


def size_reading_of(size: int, frame_length: int) -> SizeReading | None:
    """Which reading of Size the frame length fits (B.3 "[H]"), or None."""
    if size == frame_length:
        return _WHOLE
    for reading, extra in SIZE_READINGS:
        if size + extra == frame_length:
            return reading
    return None


def parse_message(data: bytes) -> SmartLprMessage:
    """The struct fast path: a frame's bytes to a ``SmartLprMessage``.

    Raises:
        DecodeError: shorter than 19 bytes, or no Stx at the start.
    """
    length = len(data)
    if length < LEN_OVERHEAD:
        raise DecodeError(f"{length} bytes: a SmartLPR frame has at least {LEN_OVERHEAD}")
    stx, unit_id, size, message_type, version, conv_id = HEADER.unpack_from(data)
    if stx != STX:
        raise DecodeError(f"first byte 0x{stx:02x} is not Stx (0x02)")
    end = length - 2
    body, _ = decode_body(message_type, version, data[LEN_HEADER:end])
    return SmartLprMessage(
        unit_id=unit_id,
        size=size,
        type=message_type,
        version=version,
        id=conv_id,
        bcc=data[end],
        bcc_computed=xor_bcc(data[:end]),
        size_reading=size_reading_of(size, length),
        body=body,
    )


# ------------------------------------------------------------------ construct reference path


def decode_reference(data: bytes) -> SmartLprMessage:
    """Parse a whole-frame-Size frame with the construct specs (slow; tests compare paths).

    Raises:
        DecodeError: construct could not parse the frame.
    """
    from construct import ConstructError

    from dissectors.smartlpr import spec  # see the module docstring

    try:
        parsed = spec.FRAME.parse(data)
    except ConstructError as error:
        raise DecodeError(str(error)) from error
    header = parsed.header
    payload = parsed.data
    layout = spec.BODIES.get((header.type, None)) or spec.BODIES.get((header.type, header.version))
    body: Body = RawBody(header.type, payload)
    if layout is not None:
        try:
            container = layout.parse(payload)
            consumed = layout.sizeof(**container) if "image" not in container else None
        except ConstructError:
            container = None
            consumed = None
        if container is not None:
            body = _body_from_container(header.type, container, payload, consumed)
    return SmartLprMessage(
        unit_id=header.unit_id,
        size=header.size,
        type=header.type,
        version=header.version,
        id=header.id,
        bcc=parsed.trailer.bcc,
        bcc_computed=xor_bcc(data[: len(data) - 2]),
        size_reading=size_reading_of(header.size, len(data)),
        body=body,
    )


def _body_from_container(
    message_type: int, container: Any, payload: bytes, consumed: int | None
) -> Body:
    if consumed is not None and consumed != len(payload):
        return RawBody(message_type, payload)
    values = {k: v for k, v in container.items() if not k.startswith("_")}
    if message_type == MessageType.LICENSE_INFO:
        return LicenseInfo(
            car_id=values["car_id"],
            trigger_id=values["trigger_id"],
            timestamp=values["timestamp"],
            timestamp_usec=values["timestamp_usec"],
            detected_chars=_text(values["detected_chars"])[0],
            qualities=tuple(values["qualities"].rstrip(b"\0")),
            grammar_ok=values["grammar_ok"] != 0,
            printable=_text(values["printable"])[0],
            country=_text(values["country"])[0],
        )
    if message_type in (MessageType.GET_PICTURE_RESPONSE, MessageType.CURRENT_FRAME_RESPONSE):
        head = IMAGE_HEAD.size if message_type == MessageType.GET_PICTURE_RESPONSE else U32.size
        values["image"] = payload[head:]  # the bytes present, as the fast path keeps them
    cls = _CLASS_BY_TYPE[message_type]
    body: Body = cls(**values)
    return body


# ------------------------------------------------------------------ encode


_CLASS_BY_TYPE: dict[int, Any] = {
    MessageType.LICENSE_INFO: LicenseInfo,
    MessageType.TRIGGER: Trigger,
    MessageType.STATUS: Status,
    MessageType.STATUS_RESPONSE: StatusResponse,
    MessageType.GET_PICTURE: GetPicture,
    MessageType.GET_PICTURE_RESPONSE: GetPictureResponse,
    MessageType.CURRENT_FRAME: CurrentFrame,
    MessageType.CURRENT_FRAME_RESPONSE: CurrentFrameResponse,
    MessageType.PING: Ping,
    MessageType.ACK: Ack,
    MessageType.NAK: Nak,
}


def _padded(text: str, length: int, name: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > length:
        raise ValueError(f"{name} is {len(raw)} bytes in UTF-8; the field holds {length}")
    return raw.ljust(length, b"\0")


def encode_body(body: Body) -> bytes:
    """The message data of ``body``, built with its construct spec."""
    from dissectors.smartlpr import spec  # see the module docstring

    if isinstance(body, RawBody):
        return body.data
    if isinstance(body, LicenseInfo):
        if len(body.qualities) > 40:
            raise ValueError("at most 40 qualities")
        return bytes(
            spec.LICENSE_INFO_V2.build(
                {
                    "car_id": body.car_id,
                    "trigger_id": body.trigger_id,
                    "timestamp": body.timestamp,
                    "timestamp_usec": body.timestamp_usec,
                    "detected_chars": _padded(body.detected_chars, 40, "detected_chars"),
                    "qualities": bytes(body.qualities).ljust(40, b"\0"),
                    "grammar_ok": int(body.grammar_ok),
                    "printable": _padded(body.printable, 40, "printable"),
                    "country": _padded(body.country, 32, "country"),
                }
            )
        )
    layout = spec.BODIES[(body.TYPE, None)]
    values = {name: getattr(body, name) for name in body.__slots__}
    if isinstance(body, GetPictureResponse | CurrentFrameResponse) and len(body.image) != (
        body.image_size
    ):
        # fault injection: ImageSize disagrees with the bytes sent; build, then patch the size
        values["image_size"] = len(body.image)
        built = bytearray(layout.build(values))
        U32.pack_into(built, len(built) - len(body.image) - 4, body.image_size)
        return bytes(built)
    return bytes(layout.build(values))


def encode(
    body: Body,
    unit_id: int = 1,
    id: int = 1,
    version: int | None = None,
    *,
    size_reading: SizeReading = SizeReading.WHOLE,
    bcc: int | None = None,
) -> bytes:
    """A complete frame carrying ``body``.

    Args:
        body: the message record.
        unit_id: destination (central→unit) or source (unit→central) unit.
        id: conversation id (odd: unit-opened, even: central-opened).
        version: the Version field; None takes the record's (2 for LicenseInfo, else 0).
        size_reading: what Size counts; B.8 uses the whole frame.
        bcc: force this Bcc (fault injection); None computes the right one.
    """
    from dissectors.smartlpr import spec  # see the module docstring

    data = encode_body(body)
    if version is None:
        version = 0 if isinstance(body, RawBody) else body.VERSION
    extra = dict(SIZE_READINGS)[size_reading]
    size = LEN_OVERHEAD + len(data) - extra
    head = spec.HEADER.build(
        {"unit_id": unit_id, "size": size, "type": body_type(body), "version": version, "id": id}
    )
    covered = head + data
    check = xor_bcc(covered) if bcc is None else bcc
    return bytes(covered + spec.TRAILER.build({"bcc": check}))
