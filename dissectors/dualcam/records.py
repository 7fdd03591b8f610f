"""DualCam messages (frozen records) and the small helpers every decoder uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from dissectors.api import DecodeError, Field, Problem, Severity, fast_init
from dissectors.dualcam import spec
from dissectors.dualcam.tables import (
    FILE_TYPES,
    luhn_ok,
    pending_words,
    status_text,
)

PROTOCOL = "dualcam"
FAR_FUTURE_S = 86_400
"""A metadata timestamp more than a day after the frame's capture time is flagged."""
RTC_UNSET_LIMIT_MS = 2_145_916_800_000
"""2038-01-01: beyond this the camera clock was surely not set (real logs show year 2043)."""


@fast_init
@dataclass(frozen=True, slots=True)
class DualCamInit:
    """INIT: the device's greeting, 16 bytes without a length field."""

    protocol_id: int
    imei: int
    settings: int

    @property
    def imei_ok(self) -> bool:
        """Whether the IMEI has 15 digits and a valid Luhn check digit."""
        return luhn_ok(self.imei)

    @property
    def pending(self) -> list[str]:
        """Pending files in words."""
        return pending_words(self.settings)


@fast_init
@dataclass(frozen=True, slots=True)
class DualCamStart:
    """START: the device announces the file (packets, or bytes in byte mode)."""

    count: int
    blank: int


@fast_init
@dataclass(frozen=True, slots=True)
class DualCamResume:
    """RESUME: the server sets the start point."""

    offset: int


@fast_init
@dataclass(frozen=True, slots=True)
class DualCamSync:
    """SYNC: the device confirms the start point; the CRC chain restarts."""

    offset: int


@fast_init
@dataclass(frozen=True, slots=True)
class DualCamData:
    """DATA: file bytes and the chained CRC (``data_start`` is the offset in the frame)."""

    length: int
    crc: int
    data_start: int = 4


@fast_init
@dataclass(frozen=True, slots=True)
class DualCamEnhancedData:
    """ENHANCED_DATA: byte offset, file bytes and CRC."""

    offset: int
    length: int
    crc: int
    data_start: int = 8


@fast_init
@dataclass(frozen=True, slots=True)
class DualCamStatus:
    """STATUS from the device (an error when non-zero) or COMPLETE from the server."""

    status: int | None
    """None for the bare ``00 05`` some servers send."""

    @property
    def reason(self) -> str:
        """The status in words."""
        if self.status is None:
            return "bare 00 05 (old 'nothing to do' reply)"
        return status_text(self.status)


@fast_init
@dataclass(frozen=True, slots=True)
class DualCamText:
    """FILE_REQUEST, METADATA_REQUEST or PATH_RESPONSE: an identifier or a path."""

    text: str


@fast_init
@dataclass(frozen=True, slots=True)
class DualCamBare:
    """CLOSE or REPEAT_INIT, with or without the length field."""

    bare: bool


@fast_init
@dataclass(frozen=True, slots=True)
class DualCamMetadata:
    """METADATA: binary (protocol 5) or JSON (protocol >= 6)."""

    version: int | None = None
    file_type: int | None = None
    timestamp_ms: int | None = None
    trigger: int | None = None
    duration_s: int | None = None
    fps: int | None = None
    timezone_min: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    trigger_timestamp_ms: int | None = None
    json_text: str | None = None
    quirk: bool = False
    """The 13+1 quirk: 13-byte metadata with the framerate byte outside ``len``."""
    layout: str = "dualcam"
    """``dualcam`` (v3/v4 or the 13-byte form), ``adas``, ``dsm`` or ``json``."""
    events: int | None = None
    """DSM event bits (drowsiness, distraction ...)."""
    driver_name: str | None = None

    @property
    def kind_camera(self) -> tuple[str, str] | None:
        """(photo|video, front|rear|adas|dsm) from the file type, if known."""
        if self.file_type is None:
            return None
        if self.layout in ("adas", "dsm"):
            return ("video" if self.file_type == 0 else "photo", self.layout)
        return FILE_TYPES.get(self.file_type)


@fast_init
@dataclass(frozen=True, slots=True)
class DualCamUnknown:
    """A command id the direction does not use."""

    cmd: int


def _hex(value: int, width: int = 4) -> str:
    return f"0x{value:0{width}x}"


def iso_ms(timestamp_ms: int) -> str:
    """``2024-10-30T11:35:05Z`` (ms dropped when zero), or the raw value when out of range."""
    try:
        moment = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return f"{timestamp_ms} ms"
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if timestamp_ms % 1000:
        text += f".{timestamp_ms % 1000:03d}"
    return text + "Z"


def _header_fields(frame: bytes, name: str) -> list[Field]:
    cmd = spec.U16.unpack_from(frame, 0)[0]
    fields = [Field("command", cmd, (0, 2), f"{name} ({_hex(cmd)})")]
    if len(frame) >= 4:
        fields.append(Field("length", spec.U16.unpack_from(frame, 2)[0], (2, 4)))
    return fields


def _problem(severity: Severity, code: str, text: str) -> Problem:
    return Problem(severity, f"{PROTOCOL}.{code}", text)


def _need(data: bytes, size: int, what: str) -> None:
    if len(data) < size:
        raise DecodeError(f"{what} needs {size} bytes, frame has {len(data)}")


def _declared_len(data: bytes, what: str) -> int:
    _need(data, 4, what)
    length: int = spec.U16.unpack_from(data, 2)[0]
    if len(data) < 4 + length:
        raise DecodeError(f"{what} declares {length} payload bytes, frame has {len(data) - 4}")
    return length


# --- per-command decoders --------------------------------------------------------------------
