"""SmartLPR wire constants: type numbers, NAK codes per product, limits.

Spec: /work/shared/specs/smartlpr.md B.3 (frame), B.5 (types), B.7 (NAK codes).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

STX = 0x02
ETX = 0x03
LEN_HEADER = 17
"""Stx, UnitId, Size, Type, Version, Id (B.3)."""
LEN_OVERHEAD = 19
"""Header plus Bcc and Etx: a frame with no message data."""
MAX_IMAGE = 65000
"""GetPicture / CurrentFrame JPEG cap (seed 4.4.8/4.4.9)."""
MAX_FRAME = MAX_IMAGE + 64
"""Largest frame the framer believes: the biggest known message plus headroom."""
MAX_PLAUSIBLE_CODE = 0xFF
"""Type and Version are u16 on the wire but every known value fits one byte; the framer
treats a header with a larger Type or Version as a false Stx."""


class MessageType(IntEnum):
    """Message types of the seed (B.5). Names follow the seed's section titles."""

    LICENSE_INFO = 2
    TRIGGER = 67
    STATUS = 68
    GET_PICTURE = 71
    CURRENT_FRAME = 72
    PING = 96
    STATUS_RESPONSE = 132
    GET_PICTURE_RESPONSE = 135
    CURRENT_FRAME_RESPONSE = 136
    ACK = 192
    NAK = 193


TYPE_NAMES: dict[int, str] = {
    MessageType.LICENSE_INFO: "LicenseInfo",
    MessageType.TRIGGER: "Trigger",
    MessageType.STATUS: "Status",
    MessageType.GET_PICTURE: "GetPicture",
    MessageType.CURRENT_FRAME: "CurrentFrame",
    MessageType.PING: "Ping",
    MessageType.STATUS_RESPONSE: "StatusResponse",
    MessageType.GET_PICTURE_RESPONSE: "GetPictureResponse",
    MessageType.CURRENT_FRAME_RESPONSE: "CurrentFrameResponse",
    MessageType.ACK: "ACK",
    MessageType.NAK: "NAK",
}

RESPONSE_OFFSET = 64
"""SmartLPR: response type = request type + 64 (68→132, 71→135, 72→136). QuercusVL uses +32."""

ACK_NAK_ONLY = frozenset({MessageType.TRIGGER, MessageType.PING})
"""Requests answered only with ACK/NAK: no "+64" response exists."""


class MessageClass(StrEnum):
    """The class of a Type from its top two bits (B.5, [H] but fits every known type)."""

    EVENT = "event"
    REQUEST = "request"
    RESPONSE = "response"
    ACK_NAK = "ack/nak"


def message_class(message_type: int) -> MessageClass:
    """00 event, 01 request, 10 response, 11 ack/nak, from bits 7..6 of the low byte."""
    return _CLASSES[(message_type >> 6) & 0b11]


_CLASSES = (
    MessageClass.EVENT,
    MessageClass.REQUEST,
    MessageClass.RESPONSE,
    MessageClass.ACK_NAK,
)


class SizeReading(StrEnum):
    """What the Size field counts. The seed says "total size of the message" (B.9 #1)."""

    WHOLE = "whole frame"
    """Stx..Etx inclusive = 19 + len(data): the most natural reading, used by B.8."""
    STX_DATA = "Stx..data"
    """Stx through the last data byte = 17 + len(data) (the span the Bcc covers)."""
    DATA_ONLY = "data only"
    """Message data alone."""


SIZE_READINGS: tuple[tuple[SizeReading, int], ...] = (
    (SizeReading.WHOLE, 0),
    (SizeReading.STX_DATA, 2),
    (SizeReading.DATA_ONLY, LEN_OVERHEAD),
)
"""Each reading with what to add to Size to get the frame length, shortest frame first."""


SMARTLPR_NAK: dict[int, str] = {
    0: "unknown message (well formed, meaning unknown)",
    1: "bad format (BCC failure, missing bytes)",
    2: "unknown error (the action failed, e.g. I/O card fault)",
    3: "bad parameters (SubCode = index of the bad parameter)",
    4: "can't complete (busy: previous capture not finished)",
    5: "incorrect unit (UnitId mismatch)",
    6: "incorrect version",
    10: "bad authorization (configuration system)",
}
"""SmartLPR seed 4.5.2."""

QUERCUSVL_NAK: dict[int, str] = {
    **{code: text for code, text in SMARTLPR_NAK.items() if code != 10},
    6: "incompatible version",
    7: "unsupported feature",
    8: "bad authorization",
}
"""QuercusVL sibling: bad auth is 8 there, 10 in SmartLPR (B.7)."""

NAK_TABLES: dict[str, dict[int, str]] = {"smartlpr": SMARTLPR_NAK, "quercusvl": QUERCUSVL_NAK}

NAK_SHORT: dict[int, str] = {
    0: "unknown message",
    1: "bad format",
    2: "unknown error",
    3: "bad parameters",
    4: "can't complete",
    5: "incorrect unit",
    6: "incorrect version",
    10: "bad auth",
}

NAK_HINTS: dict[tuple[int | None, int], str] = {
    (MessageType.TRIGGER, 3): "the unit works in hardware-trigger mode or is not active",
    (MessageType.TRIGGER, 4): "the unit is still capturing images from the previous Trigger",
    (None, 1): "the peer saw a corrupted frame: check the BCC of the request and the line",
    (None, 4): "the unit is busy with a previous capture; retry later",
    (None, 5): "the UnitId configured in the central system does not match this unit",
    (None, 6): "the peer cannot read this message version; expect a retry with a lower one",
    (None, 10): "the configuration system refused: log in first or check the password",
}
"""Context hints for a NAK, keyed by (request type or None for any, code) (B.10)."""


def nak_hint(request_type: int | None, code: int) -> str | None:
    """The most specific hint for a NAK ``code`` answering ``request_type``."""
    return NAK_HINTS.get((request_type, code)) or NAK_HINTS.get((None, code))
