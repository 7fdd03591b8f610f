"""What the tracker reports per file: the extracted object, its details and the Transfer."""

from __future__ import annotations

from bisect import bisect_left
from datetime import UTC, datetime

from dissectors.api import ExtractedObject, Transfer
from dissectors.dualcam import media
from dissectors.dualcam.coverage import packets_text
from dissectors.dualcam.records import PROTOCOL, DualCamMetadata, iso_ms
from dissectors.dualcam.state import FileState
from dissectors.dualcam.tables import TRIGGERS

GAP_BUCKETS_MS = {
    "<100": 100.0,
    "100-200": 200.0,
    "200-500": 500.0,
    "500-1000": 1000.0,
    "1000-2000": 2000.0,
    ">=2000": float("inf"),
}
"""Inter-DATA gap histogram buckets (upper limits, ms)."""


def _stamp(time_ns: int) -> str:
    return datetime.fromtimestamp(time_ns / 1e9, UTC).strftime("%Y%m%dT%H%M%SZ")


def _metadata_dict(meta: DualCamMetadata) -> dict[str, object]:
    out: dict[str, object] = {}
    if meta.version is not None:
        out["version"] = meta.version
    kc = meta.kind_camera
    if kc:
        out["file_type"] = f"{kc[0]} {kc[1]}"
    if meta.timestamp_ms is not None:
        out["timestamp"] = iso_ms(meta.timestamp_ms)
    if meta.trigger is not None:
        out["trigger"] = TRIGGERS.get(meta.trigger, str(meta.trigger))
    for name in ("duration_s", "fps", "timezone_min", "latitude", "longitude"):
        value = getattr(meta, name)
        if value is not None:
            out[name] = value
    if meta.trigger_timestamp_ms is not None:
        out["trigger_timestamp"] = iso_ms(meta.trigger_timestamp_ms)
    return out


def extract_object(file: FileState) -> ExtractedObject:
    """The file as received (holes zero-filled), with its details and derived files.

    The object takes the file's buffer as it is (no copy); the file starts an empty one.
    """
    size = file.size if file.size is not None else len(file.data)
    data, file.data = file.data, bytearray()
    if len(data) > size:
        del data[size:]
    elif len(data) < size:
        data += bytes(size - len(data))
    content_type, suffix = media.sniff_content(data)
    if suffix == ".bin":  # the first packet is missing: go by what was requested
        photo = file.kind_camera[0] == "photo"
        content_type = "image/jpeg" if photo else "video/x-teltonika-ptmf"
    name = file_name(file)
    holes = tuple(file.verified.gaps(0, file.expected))
    details = file_details(file)
    extra: dict[str, bytes | tuple[memoryview, ...]] = {}
    if content_type == "image/jpeg":
        details["jpeg"] = media.jpeg_summary(data)
    elif content_type == "video/x-teltonika-ptmf":
        records, _ = media.ptmf_records(data)
        details["ptmf"] = media.ptmf_summary(data)
        if records:
            extra[".h265"] = media.annexb_pieces(data, records)
    return ExtractedObject(
        protocol=PROTOCOL,
        name=name,
        data=data,
        frames=tuple(file.frames),
        complete=file.complete,
        holes=holes,
        content_type=content_type,
        details=details,
        extra_files=extra,
    )


def file_name(file: FileState) -> str:
    """``dualcam-<IMEI>-<photof|videor|path stem>-<file time>.<jpg|ptmf|path suffix>``.

    The Transfer and the ExtractedObject of a file share this name, so views can pair them.
    """
    kind = file.kind_camera[0]
    if file.identifier.startswith("%") or file.identifier == "unknown":
        label = file.identifier.lstrip("%")
        suffix = ".jpg" if kind == "photo" else ".ptmf"
    else:
        base = file.identifier.rstrip("\x00").rsplit("/", 1)[-1]
        stem, dot, extension = base.rpartition(".")
        label, suffix = (stem, f".{extension}") if dot else (base, ".bin")
    if file.metadata is not None and file.metadata.timestamp_ms is not None:
        when = _stamp(file.metadata.timestamp_ms * 1_000_000)
    else:
        when = _stamp(file.start.time_ns)
    return f"dualcam-{file.session.who}-{label or 'file'}-{when}{suffix}"


def file_details(file: FileState) -> dict[str, object]:
    """Everything the objects index and the transfers view show about one file."""
    if file.final_details is not None:
        final = dict(file.final_details)
        if "session_inits" in final:  # the session goes on after the file ended
            final["session_inits"] = file.session.inits
        return final
    session = file.session
    kind, camera = file.kind_camera
    missing = file.verified.gaps(0, file.expected)
    details: dict[str, object] = {
        "imei": session.imei,
        "link": session.link.name,
        "identifier": file.identifier,
        "kind": kind,
        "camera": camera,
        "mode": "bytes" if file.byte_mode else "packets",
        "start_count": file.count,
        "size": file.size,
        "expected_size": file.expected,
        "complete": file.complete,
        "outcome": file.outcome,
        "packets_verified": len(file.packets) if not file.byte_mode else None,
        "data_frames": len(file.frames),
        "crc_failures": list(file.crc_failures),
        "in_flight_after_error": file.in_flight,
        "resumes": [dict(r) for r in file.resumes],
        "syncs": file.syncs,
        "repeated_starts": len(file.starts) - 1,
        "duplicates": list(file.duplicates.as_tuples()),
        "conflicts": list(file.conflicts.as_tuples()),
        "missing": list(missing),
        "stalls": list(file.stalls),
        "junk_bytes": file.junk_bytes,
    }
    if missing and not file.byte_mode:
        details["missing_packets"] = packets_text(missing)
    if file.gaps_ms:
        ordered = sorted(file.gaps_ms)
        details["median_gap_ms"] = round(ordered[len(ordered) // 2], 1)
        # the gaps are sorted: each bucket's count is a difference of two bisections
        # (one per bucket, not one generator per DATA frame)
        histogram: dict[str, int] = {}
        below = 0
        for name, limit in GAP_BUCKETS_MS.items():
            up_to = bisect_left(ordered, limit)
            histogram[name] = up_to - below
            below = up_to
        details["gap_histogram_ms"] = histogram
    if session.first_init_ns is not None:
        details["session_inits"] = session.inits
        if session.first_server_ns is not None:
            first_ms = (session.first_server_ns - session.first_init_ns) / 1e6
            details["init_to_first_command_ms"] = round(first_ms, 1)
        meta = file.metadata
        if meta is not None and meta.timestamp_ms is not None:
            delay_s = session.first_init_ns / 1e9 - meta.timestamp_ms / 1e3
            details["capture_to_upload_s"] = round(delay_s, 3)
    if file.first_data_ns is not None and file.last_data_ns is not None:
        span = file.last_data_ns - file.first_data_ns
        if span > 0:
            details["throughput_Bps"] = round(file.received * 1e9 / span, 1)
    if file.metadata is not None:
        details["metadata"] = _metadata_dict(file.metadata)
    if session.path:
        details["path"] = session.path
    return details


def file_transfer(file: FileState) -> Transfer:
    """The file's progress and outcome as a Transfer."""
    session = file.session
    missing = tuple(file.verified.gaps(0, file.expected)) if file.count else ()
    duration = 0
    if file.last_data_ns is not None:
        duration = file.last_data_ns - file.start.time_ns
    return Transfer(
        protocol=PROTOCOL,
        link=session.link,
        name=file_name(file),
        first_record=file.request.number if file.request else file.start.number,
        last_record=file.last_record,
        expected_size=file.size if file.size is not None else file.expected or None,
        received=file.received,
        verified=file.verified.total,
        outcome=file.outcome,
        retries=max(0, len(file.resumes) - 1, file.syncs - 1),
        crc_failures=len(file.crc_failures),
        missing=missing,
        duration_ns=duration,
        details=file_details(file),
    )
