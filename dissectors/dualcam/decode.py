"""``decode``: one DualCam frame in, one Dissection out; raises only ``DecodeError``.

``decode`` never looks at other frames: the packet number, byte offset and CRC verdict of a
DATA frame need the chain, so the matcher (``matching.py``) adds them to the record.
"""

from __future__ import annotations

import struct

from dissectors.api import DecodeError, Direction, Dissection, Field, Frame, Kind, Problem, Severity
from dissectors.dualcam import spec
from dissectors.dualcam.metadata import decode_metadata
from dissectors.dualcam.records import (
    DualCamBare,
    DualCamData,
    DualCamEnhancedData,
    DualCamInit,
    DualCamResume,
    DualCamStart,
    DualCamStatus,
    DualCamSync,
    DualCamText,
    DualCamUnknown,
    _declared_len,
    _header_fields,
    _hex,
    _need,
    _problem,
)
from dissectors.dualcam.tables import (
    IDENTIFIERS,
    Command,
    Settings,
)


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
                return decode_metadata(frame)
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
