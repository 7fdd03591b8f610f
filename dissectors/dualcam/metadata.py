"""METADATA (0x000B): binary v3/v4, the 13+1 quirk and JSON (protocol >= 6); spec A.9."""

from __future__ import annotations

import json

from dissectors.api import DecodeError, Dissection, Field, Frame, Kind, Problem, Severity
from dissectors.dualcam import spec
from dissectors.dualcam.records import (
    FAR_FUTURE_S,
    RTC_UNSET_LIMIT_MS,
    DualCamMetadata,
    _declared_len,
    _header_fields,
    _hex,
    _problem,
    iso_ms,
)
from dissectors.dualcam.tables import DSM_EVENTS, TRIGGERS

ADAS_LEN = spec.METADATA_ADAS_FAST.size
DSM_LEN = spec.METADATA_DSM_FAST.size


def _far_future(timestamp_ms: int, frame_time_ns: int) -> bool:
    if frame_time_ns >= 1_000_000_000 * 978_307_200:  # a real wall-clock capture time
        return timestamp_ms // 1000 > frame_time_ns // 1_000_000_000 + FAR_FUTURE_S
    return timestamp_ms > RTC_UNSET_LIMIT_MS


def decode_metadata(frame: Frame) -> Dissection:
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
    elif length == ADAS_LEN:
        ts, file_type, trigger, lat, lon, duration = spec.METADATA_ADAS_FAST.unpack_from(payload)
        message = DualCamMetadata(
            None, file_type, ts * 1000, trigger, duration, None, None, lat / 1e6, lon / 1e6,
            layout="adas",
        )  # fmt: skip
    elif length == DSM_LEN:
        ts, file_type, trigger, lat, lon, events, name = spec.METADATA_DSM_FAST.unpack_from(payload)
        message = DualCamMetadata(
            None, file_type, ts * 1000, trigger, None, None, None, lat / 1e6, lon / 1e6,
            layout="dsm", events=events,
            driver_name=name.rstrip(b"\x00 ").decode("latin-1"),
        )  # fmt: skip
    else:
        raise DecodeError(f"METADATA of {length} bytes is not a known binary layout nor JSON")
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
    version = f"v{message.version}" if message.version is not None else message.layout
    summary = f"METADATA {version} {what} {when}"
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


_ADAS_SPANS = {
    "timestamp": (4, 8),
    "file_type": (8, 9),
    "trigger": (9, 10),
    "latitude": (10, 14),
    "longitude": (14, 18),
    "duration": (18, 19),
    "events": (18, 20),
    "driver_name": (20, 30),
}


def _metadata_fields(message: DualCamMetadata, length: int) -> list[Field]:
    binary = message.json_text is None
    spans = (
        _ADAS_SPANS
        if message.layout in ("adas", "dsm")
        else {
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
    )
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
        label = TRIGGERS.get(message.trigger, "?") if message.layout == "dualcam" else "?"
        add("trigger", message.trigger, f"{message.trigger} ({label})")
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
    if message.events is not None:
        words = [w for bit, w in enumerate(DSM_EVENTS) if message.events >> bit & 1]
        add("events", message.events, f"0x{message.events:04x} ({', '.join(words) or 'none'})")
    if message.driver_name is not None:
        add("driver_name", message.driver_name)
    if message.quirk:
        out.append(Field("metadata_quirk", True, (4 + length, 5 + length)))
    return out
