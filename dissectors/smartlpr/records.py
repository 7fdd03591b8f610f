"""SmartLPR records: the frozen dataclasses the rest of camshark sees.

A frame decodes to one ``SmartLprMessage`` (the header facts plus a checksum verdict) whose
``body`` is one of the message records below, or ``RawBody`` when the type or version has no
known layout, or when the data length does not fit the layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dissectors.api import fast_init
from dissectors.smartlpr.tables import MessageType, SizeReading


@fast_init
@dataclass(frozen=True, slots=True)
class LicenseInfo:
    """Type 2, version 2: a plate read (B.6). Strings are shown without their zero padding."""

    TYPE: ClassVar[int] = MessageType.LICENSE_INFO
    VERSION: ClassVar[int] = 2

    car_id: int
    trigger_id: int
    """-1 when the unit works in hardware-trigger mode."""
    timestamp: int
    """Seconds since 1970 (32-bit)."""
    timestamp_usec: int
    detected_chars: str
    qualities: tuple[int, ...]
    """0-100 per detected character; trailing zero padding removed."""
    grammar_ok: bool
    printable: str
    country: str


@fast_init
@dataclass(frozen=True, slots=True)
class Trigger:
    """Type 67: capture and read a plate now; answered by ACK/NAK."""

    TYPE: ClassVar[int] = MessageType.TRIGGER
    VERSION: ClassVar[int] = 0

    trigger_id: int


@fast_init
@dataclass(frozen=True, slots=True)
class Status:
    """Type 68: ask the unit for its component status."""

    TYPE: ClassVar[int] = MessageType.STATUS
    VERSION: ClassVar[int] = 0


@fast_init
@dataclass(frozen=True, slots=True)
class StatusResponse:
    """Type 132: Actv, IO (reserved), Cam."""

    TYPE: ClassVar[int] = MessageType.STATUS_RESPONSE
    VERSION: ClassVar[int] = 0

    active: int
    io: int
    camera: int


@fast_init
@dataclass(frozen=True, slots=True)
class GetPicture:
    """Type 71: the picture of a car's plate read."""

    TYPE: ClassVar[int] = MessageType.GET_PICTURE
    VERSION: ClassVar[int] = 0

    car_id: int


@fast_init
@dataclass(frozen=True, slots=True)
class GetPictureResponse:
    """Type 135: ROI (top, left, bottom, right), ImageSize, JPEG.

    ``image`` holds the bytes present, which may be fewer than ``image_size`` claims.
    """

    TYPE: ClassVar[int] = MessageType.GET_PICTURE_RESPONSE
    VERSION: ClassVar[int] = 0

    roi_top: int
    roi_left: int
    roi_bottom: int
    roi_right: int
    image_size: int
    image: bytes


@fast_init
@dataclass(frozen=True, slots=True)
class CurrentFrame:
    """Type 72: grab the current camera image with this exposure."""

    TYPE: ClassVar[int] = MessageType.CURRENT_FRAME
    VERSION: ClassVar[int] = 0

    exposure_time_us: int


@fast_init
@dataclass(frozen=True, slots=True)
class CurrentFrameResponse:
    """Type 136: ImageSize, JPEG (0 = failed)."""

    TYPE: ClassVar[int] = MessageType.CURRENT_FRAME_RESPONSE
    VERSION: ClassVar[int] = 0

    image_size: int
    image: bytes


@fast_init
@dataclass(frozen=True, slots=True)
class Ping:
    """Type 96: is a configuration system there? Answered by ACK/NAK."""

    TYPE: ClassVar[int] = MessageType.PING
    VERSION: ClassVar[int] = 0

    port: int


@fast_init
@dataclass(frozen=True, slots=True)
class Ack:
    """Type 192: received and understood."""

    TYPE: ClassVar[int] = MessageType.ACK
    VERSION: ClassVar[int] = 0


@fast_init
@dataclass(frozen=True, slots=True)
class Nak:
    """Type 193: refused, with a code from the product's table and a subcode."""

    TYPE: ClassVar[int] = MessageType.NAK
    VERSION: ClassVar[int] = 0

    code: int
    subcode: int


@fast_init
@dataclass(frozen=True, slots=True)
class RawBody:
    """Message data with no known layout (unknown type or version, or a wrong length)."""

    type: int
    data: bytes


Body = (
    LicenseInfo
    | Trigger
    | Status
    | StatusResponse
    | GetPicture
    | GetPictureResponse
    | CurrentFrame
    | CurrentFrameResponse
    | Ping
    | Ack
    | Nak
    | RawBody
)

BODY_CLASSES: tuple[type[Body], ...] = (
    LicenseInfo,
    Trigger,
    Status,
    StatusResponse,
    GetPicture,
    GetPictureResponse,
    CurrentFrame,
    CurrentFrameResponse,
    Ping,
    Ack,
    Nak,
)


def body_type(body: Body) -> int:
    """The wire Type of a body record."""
    if isinstance(body, RawBody):
        return body.type
    return body.TYPE


@fast_init
@dataclass(frozen=True, slots=True)
class SmartLprMessage:
    """One decoded frame: header, checksum verdict and body.

    Spans and display text are built by ``codec`` from these values and the frame bytes.
    """

    unit_id: int
    size: int
    type: int
    version: int
    id: int
    bcc: int
    bcc_computed: int
    size_reading: SizeReading | None
    """Which Size reading the frame length fits; None when it fits none (bad_size)."""
    body: Body

    @property
    def bcc_ok(self) -> bool:
        """Whether the received Bcc matches the XOR computed over Stx..data."""
        return self.bcc == self.bcc_computed
