"""DualCam messages (frozen records) and ``decode``: one frame in, one Dissection out.

``decode`` never looks at other frames: the packet number, byte offset and CRC verdict of a
DATA frame need the chain, so the matcher (``matching.py``) adds them to the record.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

from dissectors.api import DecodeError, Direction, Dissection, Field, Frame, Kind, Problem, Severity
from dissectors.dualcam import spec
from dissectors.dualcam.tables import (
    FILE_TYPES,
    IDENTIFIERS,
    TRIGGERS,
    Command,
    Settings,
    luhn_ok,
    pending_words,
    status_text,
)

PROTOCOL = "dualcam"
FAR_FUTURE_S = 86_400
"""A metadata timestamp more than a day after the frame's capture time is flagged."""
RTC_UNSET_LIMIT_MS = 2_145_916_800_000
"""2038-01-01: beyond this the camera clock was surely not set (real logs show year 2043)."""


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


@dataclass(frozen=True, slots=True)
class DualCamStart:
    """START: the device announces the file (packets, or bytes in byte mode)."""

    count: int
    blank: int


@dataclass(frozen=True, slots=True)
class DualCamResume:
    """RESUME: the server sets the start point."""

    offset: int


@dataclass(frozen=True, slots=True)
class DualCamSync:
    """SYNC: the device confirms the start point; the CRC chain restarts."""

    offset: int


@dataclass(frozen=True, slots=True)
class DualCamData:
    """DATA: file bytes and the chained CRC (``data_start`` is the offset in the frame)."""

    length: int
    crc: int
    data_start: int = 4


@dataclass(frozen=True, slots=True)
class DualCamEnhancedData:
    """ENHANCED_DATA: byte offset, file bytes and CRC."""

    offset: int
    length: int
    crc: int
    data_start: int = 8


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


@dataclass(frozen=True, slots=True)
class DualCamText:
    """FILE_REQUEST, METADATA_REQUEST or PATH_RESPONSE: an identifier or a path."""

    text: str


@dataclass(frozen=True, slots=True)
class DualCamBare:
    """CLOSE or REPEAT_INIT, with or without the length field."""

    bare: bool


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

    @property
    def kind_camera(self) -> tuple[str, str] | None:
        """(photo|video, front|rear) from the file type, if known."""
        if self.file_type is None:
            return None
        return FILE_TYPES.get(self.file_type)


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


def _decode_init(data: bytes) -> Dissection:
    _need(data, spec.INIT_SIZE, "INIT")
    _, protocol_id, imei, settings = spec.INIT_FAST.unpack_from(data, 0)
    message = DualCamInit(protocol_id, imei, settings)
    problems: list[Problem] = []
    if not message.imei_ok:
        problems.append(
            _problem(
                Severity.WARNING,
                "bad_imei",
                f"IMEI {imei} fails the Luhn check (or is not 15 digits): check the tracker's "
                "IMEI encoding (it is a binary u64 of the decimal IMEI).",
            )
        )
    if protocol_id not in (5, 6):
        problems.append(
            _problem(
                Severity.NOTE,
                "protocol_id",
                f"protocol id {protocol_id}: seen values are 5 (DualCam) and 6 (unified).",
            )
        )
    pending = message.pending
    words = ", ".join(pending) if pending else "nothing pending"

    def fields() -> tuple[Field, ...]:
        bits = tuple(
            Field(flag.name.lower() if flag.name else hex(flag), bool(settings & flag), (12, 16))
            for flag in Settings
        )
        return (
            Field("command", 0, (0, 2), "INIT (0x0000)"),
            Field("protocol_id", protocol_id, (2, 4)),
            Field("imei", imei, (4, 12), f"{imei} ({'Luhn ok' if message.imei_ok else 'BAD'})"),
            Field("imei_ok", message.imei_ok, (4, 12)),
            Field("settings", settings, (12, 16), _hex(settings, 8), bits),
            Field("pending", words, (12, 16)),
        )

    return Dissection(
        "INIT",
        f"INIT p={protocol_id} IMEI {imei} [{words}]",
        kind=Kind.EVENT,
        message=message,
        problems=tuple(problems),
        fields=fields,
    )


def _decode_start(data: bytes) -> Dissection:
    length = _declared_len(data, "START")
    if length != 6:
        raise DecodeError(f"START payload is 6 bytes, not {length}")
    count, blank = spec.START_FAST.unpack_from(data, 4)
    problems: tuple[Problem, ...] = ()
    if blank:
        problems = (
            _problem(
                Severity.WARNING,
                "start_blank",
                f"START blank field is {_hex(blank)}, always 0 on the wire so far: a firmware "
                "that fills it (old 'File CRC') or a framing error.",
            ),
        )
    nothing = " (nothing to send)" if count == 0 else ""
    return Dissection(
        "START",
        f"START count={count}{nothing}",
        kind=Kind.RESPONSE,
        message=DualCamStart(count, blank),
        problems=problems,
        fields=lambda: (
            *_header_fields(data, "START"),
            Field("count", count, (4, 8)),
            Field("blank", blank, (8, 10), _hex(blank)),
        ),
    )


def _decode_offset(data: bytes, name: str) -> Dissection:
    length = _declared_len(data, name)
    if length != 4:
        raise DecodeError(f"{name} payload is 4 bytes, not {length}")
    offset = spec.U32.unpack_from(data, 4)[0]
    message: DualCamResume | DualCamSync
    if name == "RESUME":
        message, kind = DualCamResume(offset), Kind.REQUEST
    else:
        message, kind = DualCamSync(offset), Kind.RESPONSE
    return Dissection(
        name,
        f"{name} {offset}",
        kind=kind,
        message=message,
        fields=lambda: (*_header_fields(data, name), Field("offset", offset, (4, 8))),
    )


def _decode_data(data: bytes) -> Dissection:
    length = _declared_len(data, "DATA")
    if length < 3:
        raise DecodeError(f"DATA payload of {length} bytes cannot hold data and a CRC")
    size = length - 2
    crc = spec.U16.unpack_from(data, 4 + size)[0]
    return Dissection(
        "DATA",
        f"DATA {size} B crc {_hex(crc)}",
        kind=Kind.DATA,
        message=DualCamData(size, crc),
        fields=lambda: (
            *_header_fields(data, "DATA"),
            Field("data", size, (4, 4 + size), f"{size} file bytes"),
            Field("crc", crc, (4 + size, 6 + size), _hex(crc)),
        ),
    )


def _decode_enhanced(data: bytes) -> Dissection:
    length = _declared_len(data, "ENHANCED_DATA")
    if length < 7:
        raise DecodeError(f"ENHANCED_DATA payload of {length} bytes is too short")
    offset = spec.U32.unpack_from(data, 4)[0]
    size = length - 6
    crc = spec.U16.unpack_from(data, 8 + size)[0]
    return Dissection(
        "ENHANCED_DATA",
        f"ENHANCED_DATA offset {offset} {size} B crc {_hex(crc)}",
        kind=Kind.DATA,
        message=DualCamEnhancedData(offset, size, crc),
        fields=lambda: (
            *_header_fields(data, "ENHANCED_DATA"),
            Field("offset", offset, (4, 8)),
            Field("data", size, (8, 8 + size), f"{size} file bytes"),
            Field("crc", crc, (8 + size, 10 + size), _hex(crc)),
        ),
    )


def _bare_problem(text: str) -> Problem:
    return _problem(
        Severity.NOTE,
        "bare_command",
        f"{text} sent without its length field (the reference server and traccar do this); "
        "the device accepts it.",
    )


def _decode_status(data: bytes, direction: Direction) -> Dissection:
    name = "STATUS" if direction is Direction.FROM_DEVICE else "COMPLETE"
    if len(data) == 2:
        message = DualCamStatus(None)
        problem = _problem(
            Severity.WARNING,
            "bare_command",
            "bare 00 05 without length or status: an old traccar 'nothing to do' reply, "
            "a truncated COMPLETE.",
        )
        return Dissection(
            name,
            f"{name} (bare 00 05)",
            kind=Kind.OTHER,
            message=message,
            problems=(problem,),
            fields=lambda: (
                Field("command", 5, (0, 2), f"{name} (0x0005)"),
                Field("bare_command", True, (0, 2)),
            ),
        )
    length = _declared_len(data, name)
    if length != 4:
        raise DecodeError(f"{name} payload is 4 bytes, not {length}")
    status = spec.U32.unpack_from(data, 4)[0]
    message = DualCamStatus(status)
    problems: tuple[Problem, ...] = ()
    if direction is Direction.FROM_DEVICE and status != 0:
        problems = (
            _problem(
                Severity.ERROR,
                "device_status",
                f"device reports status {status}: {message.reason}.",
            ),
        )
    kind = Kind.EVENT if direction is Direction.FROM_DEVICE else Kind.OTHER
    return Dissection(
        name,
        f"{name} {status} ({message.reason})",
        kind=kind,
        message=message,
        problems=problems,
        fields=lambda: (
            *_header_fields(data, name),
            Field("status", status, (4, 8)),
            Field("reason", message.reason, (4, 8)),
        ),
    )


def _decode_bare_or_empty(data: bytes, name: str, kind: Kind) -> Dissection:
    cmd = spec.U16.unpack_from(data, 0)[0]
    if len(data) == 2:
        return Dissection(
            name,
            f"{name} (bare {data.hex(' ')})",
            kind=kind,
            message=DualCamBare(True),
            problems=(_bare_problem(name),),
            fields=lambda: (
                Field("command", cmd, (0, 2), f"{name} ({_hex(cmd)})"),
                Field("bare_command", True, (0, 2)),
            ),
        )
    length = _declared_len(data, name)
    problems: tuple[Problem, ...] = ()
    if length:
        problems = (
            _problem(Severity.WARNING, "bad_length", f"{name} carries {length} unexpected bytes."),
        )
    return Dissection(
        name,
        name,
        kind=kind,
        message=DualCamBare(False),
        problems=problems,
        fields=lambda: tuple(_header_fields(data, name)),
    )


def _text(payload: bytes) -> str:
    return payload.rstrip(b"\x00").decode("ascii", "backslashreplace")


def _decode_text(data: bytes, name: str, field_name: str, kind: Kind) -> Dissection:
    length = _declared_len(data, name)
    payload = data[4 : 4 + length]
    text = _text(payload)
    extra = ""
    if text in IDENTIFIERS:
        what, camera = IDENTIFIERS[text]
        extra = f" ({what}, {camera})"
    summary = f"{name} {text}{extra}" if text else name
    return Dissection(
        name,
        summary,
        kind=kind,
        message=DualCamText(text),
        fields=lambda: (
            *_header_fields(data, name),
            Field(field_name, text, (4, 4 + length), f"{text!r}{extra}"),
        ),
    )


def _decode_path_request(data: bytes) -> Dissection:
    length = _declared_len(data, "PATH_REQUEST")
    value = int.from_bytes(data[4 : 4 + length], "big") if length else 0
    return Dissection(
        "PATH_REQUEST",
        "PATH_REQUEST",
        kind=Kind.REQUEST,
        message=DualCamText(""),
        fields=lambda: (
            *_header_fields(data, "PATH_REQUEST"),
            Field("value", value, (4, 4 + length)),
        ),
    )


def _far_future(timestamp_ms: int, frame_time_ns: int) -> bool:
    if frame_time_ns >= 1_000_000_000 * 978_307_200:  # a real wall-clock capture time
        return timestamp_ms // 1000 > frame_time_ns // 1_000_000_000 + FAR_FUTURE_S
    return timestamp_ms > RTC_UNSET_LIMIT_MS


def _decode_metadata(frame: Frame) -> Dissection:
    data = frame.data
    length = _declared_len(data, "METADATA")
    payload = data[4 : 4 + length]
    problems: list[Problem] = []
    fields: list[Field] = _header_fields(data, "METADATA")
    if payload[:1] == b"{":
        text = payload.decode("utf-8", "replace")
        message = _metadata_from_json(text)
        fields.append(Field("json", text, (4, 4 + length)))
    elif length in (32, 40):
        if payload[0] not in (3, 4):
            problems.append(
                _problem(
                    Severity.WARNING,
                    "metadata_version",
                    f"metadata version {payload[0]} with {length} bytes: read as v3/v4.",
                )
            )
        values = spec.METADATA_FAST.unpack_from(payload, 0)
        trigger_ts = int.from_bytes(payload[32:40], "big") if length == 40 else None
        version, file_type, ts, trigger, duration, fps, tz, lat, lon = values
        message = DualCamMetadata(
            version, file_type, ts, trigger, duration, fps, tz, lat, lon, trigger_ts
        )
    elif length == 13:
        version, file_type, ts, trigger, duration = spec.METADATA_SHORT_FAST.unpack_from(payload, 0)
        fps = data[4 + length] if len(data) > 4 + length else None
        message = DualCamMetadata(
            version, file_type, ts, trigger, duration, fps, quirk=len(data) > 4 + length
        )
        if message.quirk:
            problems.append(
                _problem(
                    Severity.NOTE,
                    "metadata_quirk",
                    "13-byte metadata followed by one framerate byte outside len (older "
                    "firmware); the byte belongs to this message.",
                )
            )
    else:
        raise DecodeError(f"METADATA of {length} bytes is neither v3/v4 binary nor JSON")
    if message.timestamp_ms is not None and _far_future(message.timestamp_ms, frame.time_ns):
        problems.append(
            _problem(
                Severity.WARNING,
                "future_timestamp",
                f"file time {iso_ms(message.timestamp_ms)} is far in the future: the camera "
                "clock was probably not synchronised (check NTP/GNSS time on the tracker).",
            )
        )
    fields.extend(_metadata_fields(message, length))
    kc = message.kind_camera
    what = f"{kc[0]} {kc[1]}" if kc else f"type {message.file_type}"
    when = iso_ms(message.timestamp_ms) if message.timestamp_ms is not None else "?"
    summary = f"METADATA v{message.version} {what} {when}"
    if message.duration_s:
        summary += f" {message.duration_s}s@{message.fps}fps"
    return Dissection(
        "METADATA",
        summary,
        kind=Kind.RESPONSE,
        message=message,
        problems=tuple(problems),
        fields=tuple(fields),
    )


def _metadata_from_json(text: str) -> DualCamMetadata:
    try:
        doc = json.loads(text)
    except ValueError as error:
        raise DecodeError(f"METADATA JSON does not parse: {error}") from None
    if not isinstance(doc, dict):
        raise DecodeError("METADATA JSON is not an object")
    file = doc.get("file") if isinstance(doc.get("file"), dict) else {}
    location = doc.get("location") if isinstance(doc.get("location"), dict) else {}
    trigger = doc.get("fm_trigger") if isinstance(doc.get("fm_trigger"), dict) else {}
    assert isinstance(file, dict)
    assert isinstance(location, dict)
    assert isinstance(trigger, dict)

    def num(value: object) -> int | None:
        return int(value) if isinstance(value, int | float) else None

    def real(value: object) -> float | None:
        return float(value) if isinstance(value, int | float) else None

    stamp = num(file.get("file_timestamp"))
    return DualCamMetadata(
        version=num(doc.get("version")),
        file_type=num(file.get("file_type")),
        timestamp_ms=stamp * 1000 if stamp is not None else None,
        trigger=num(trigger.get("type")),
        duration_s=num(file.get("duration")),
        fps=num(file.get("framerate")),
        latitude=real(location.get("latitude")),
        longitude=real(location.get("longitude")),
        json_text=text,
    )


def _metadata_fields(message: DualCamMetadata, length: int) -> list[Field]:
    binary = message.json_text is None
    spans = {
        "version": (4, 5),
        "file_type": (5, 6),
        "timestamp": (6, 14),
        "trigger": (14, 15),
        "duration": (15, 17),
        "fps": (17, 18),
        "timezone": (18, 20),
        "latitude": (20, 28),
        "longitude": (28, 36),
        "trigger_timestamp": (36, 44),
    }
    whole = (4, 4 + length)
    out: list[Field] = []

    def add(name: str, value: object, display: str | None = None) -> None:
        if value is None:
            return
        out.append(Field(name, value, spans[name] if binary else whole, display))

    add("version", message.version)
    if message.file_type is not None:
        kc = message.kind_camera
        add(
            "file_type",
            message.file_type,
            f"{_hex(message.file_type, 2)} ({' '.join(kc) if kc else '?'})",
        )
    if message.timestamp_ms is not None:
        add(
            "timestamp",
            iso_ms(message.timestamp_ms),
            f"{iso_ms(message.timestamp_ms)} ({message.timestamp_ms} ms)",
        )
    if message.trigger is not None:
        add("trigger", message.trigger, f"{message.trigger} ({TRIGGERS.get(message.trigger, '?')})")
    add("duration", message.duration_s)
    add("fps", message.fps)
    add(
        "timezone",
        message.timezone_min,
        None if message.timezone_min is None else f"{message.timezone_min:+d} min",
    )
    add("latitude", message.latitude)
    add("longitude", message.longitude)
    if message.trigger_timestamp_ms is not None:
        add("trigger_timestamp", iso_ms(message.trigger_timestamp_ms))
    if message.quirk:
        out.append(Field("metadata_quirk", True, (4 + length, 5 + length)))
    return out


def _decode_unknown(data: bytes, direction: Direction) -> Dissection:
    cmd = spec.U16.unpack_from(data, 0)[0]
    who = "device" if direction is Direction.FROM_DEVICE else "server"
    return Dissection(
        "UNKNOWN",
        f"unknown command {_hex(cmd)} from the {who}",
        kind=Kind.OTHER,
        message=DualCamUnknown(cmd),
        problems=(
            _problem(
                Severity.WARNING,
                "unknown_command",
                f"command {_hex(cmd)} is not one the {who} sends (spec A.5).",
            ),
        ),
        fields=lambda: tuple(_header_fields(data, "UNKNOWN")),
    )


def decode(frame: Frame) -> Dissection:
    """Decode one DualCam frame; raises only ``DecodeError``."""
    data = frame.data
    _need(data, 2, "a command")
    cmd = spec.U16.unpack_from(data, 0)[0]
    device = frame.direction is Direction.FROM_DEVICE
    try:
        if cmd == Command.INIT_OR_CLOSE:
            if device:
                return _decode_init(data)
            return _decode_bare_or_empty(data, "CLOSE", Kind.OTHER)
        if device:
            if cmd == Command.DATA:
                return _decode_data(data)
            if cmd == Command.START:
                return _decode_start(data)
            if cmd == Command.SYNC:
                return _decode_offset(data, "SYNC")
            if cmd == Command.STATUS:
                return _decode_status(data, frame.direction)
            if cmd == Command.METADATA:
                return _decode_metadata(frame)
            if cmd == Command.PATH_RESPONSE:
                return _decode_text(data, "PATH_RESPONSE", "path", Kind.RESPONSE)
            if cmd == Command.ENHANCED_DATA:
                return _decode_enhanced(data)
        else:
            if cmd == Command.RESUME:
                return _decode_offset(data, "RESUME")
            if cmd == Command.FILE_REQUEST:
                return _decode_text(data, "FILE_REQUEST", "identifier", Kind.REQUEST)
            if cmd == Command.REPEAT_INIT:
                return _decode_bare_or_empty(data, "REPEAT_INIT", Kind.REQUEST)
            if cmd == Command.STATUS:
                return _decode_status(data, frame.direction)
            if cmd == Command.METADATA_REQUEST:
                return _decode_text(data, "METADATA_REQUEST", "identifier", Kind.REQUEST)
            if cmd == Command.PATH_REQUEST:
                return _decode_path_request(data)
        _need(data, 4, "a command header")
        return _decode_unknown(data, frame.direction)
    except (IndexError, ValueError, struct.error) as error:
        raise DecodeError(str(error)) from None
