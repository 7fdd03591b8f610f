"""DualCam code tables: command ids, settings bits, file types, triggers and status texts."""

from __future__ import annotations

from enum import IntEnum, IntFlag


class Command(IntEnum):
    """Command ids (spec A.5). 0x0000 is INIT from the device and CLOSE from the server."""

    INIT_OR_CLOSE = 0x0000
    START = 0x0001
    RESUME = 0x0002
    SYNC = 0x0003
    DATA = 0x0004
    STATUS = 0x0005
    FILE_REQUEST = 0x0008
    REPEAT_INIT = 0x0009
    METADATA_REQUEST = 0x000A
    METADATA = 0x000B
    PATH_REQUEST = 0x000C
    PATH_RESPONSE = 0x000D
    ENHANCED_DATA = 0x000E


DEVICE_COMMANDS = frozenset({0x0000, 0x0001, 0x0003, 0x0004, 0x0005, 0x000B, 0x000D, 0x000E})
"""Ids the device (tracker) sends; 0x0000 from the device is always the 16-byte INIT."""
SERVER_COMMANDS = frozenset({0x0000, 0x0002, 0x0005, 0x0008, 0x0009, 0x000A, 0x000C})
"""Ids the camera server sends."""
BARE_SERVER_COMMANDS = frozenset({0x0000, 0x0005, 0x0009})
"""Server commands some servers send as 2 bytes, without a length field (spec A.3)."""

MAX_DATA_LEN = 0x0402
"""DATA carries at most 1024 file bytes plus the 2-byte CRC."""
MAX_ENHANCED_LEN = 0x0406
"""ENHANCED_DATA: 4-byte offset + at most 1024 file bytes + CRC."""
MAX_TEXT_LEN = 0x0100
"""Identifiers and paths: far below this in every trace; a larger value is not a frame."""
MAX_METADATA_LEN = 0x0800
"""Binary metadata is 13, 32 or 40 bytes; JSON metadata (protocol >= 6) stays small."""
PACKET_SIZE = 1024
"""File bytes per DATA packet in packet mode (spec A.7)."""


class Settings(IntFlag):
    """Bits of the INIT settings word (spec A.4)."""

    BIT10 = 0x0000_0400
    PATH_FLOW = 0x0200_0000
    PHOTO_FRONT = 0x0400_0000
    PHOTO_REAR = 0x0800_0000
    VIDEO_FRONT = 0x1000_0000
    VIDEO_REAR = 0x2000_0000
    BIT30 = 0x4000_0000


PENDING_WORDS: tuple[tuple[Settings, str], ...] = (
    (Settings.VIDEO_REAR, "video rear"),
    (Settings.VIDEO_FRONT, "video front"),
    (Settings.PHOTO_REAR, "photo rear"),
    (Settings.PHOTO_FRONT, "photo front"),
    (Settings.PATH_FLOW, "file via path flow"),
)
"""Pending-file bits in the reference server's preference order."""

IDENTIFIERS: dict[str, tuple[str, str]] = {
    "%photof": ("photo", "front"),
    "%photor": ("photo", "rear"),
    "%videof": ("video", "front"),
    "%videor": ("video", "rear"),
}
"""Legacy DualCam file identifiers -> (kind, camera)."""

FILE_TYPES: dict[int, tuple[str, str]] = {
    0x04: ("photo", "front"),
    0x08: ("photo", "rear"),
    0x10: ("video", "front"),
    0x20: ("video", "rear"),
}
"""Binary metadata file-type bits (spec A.9)."""

TRIGGERS: dict[int, str] = {
    0: "server request",
    1: "DIN1",
    2: "DIN2",
    3: "crash",
    4: "towing",
    5: "idling",
    6: "geofence",
    7: "unplug",
    8: "green driving",
    9: "periodic",
    10: "DIN3",
    11: "DIN4",
}
"""Trigger source as the reference server reads it (an enumeration; firmware-dependent)."""

DSM_EVENTS = (
    "drowsiness",
    "distraction",
    "yawning",
    "phone",
    "smoking",
    "driver absence",
    "mask",
    "seat belt",
    "g-sensor",
)
"""DSM metadata event bits, bit 0 first (spec A.9)."""

STATUS_TEXT: dict[int, str] = {
    0: "completed",
    1: "reconnect limit reached (5 tries)",
    2: "failed to close GPRS",
    3: "failed to close socket",
    4: "device aborted the transfer",
    5: "invalid server response to INIT",
    6: "invalid server response to RESUME",
    7: "SD card: failed to create file",
    8: "SD card: failed to open file",
    9: "SD card: failed to write file",
    10: "SD card: failed to flush file",
    11: "undefined event",
    13: "file CRC recalculation failed",
    15: "bad file header",
    16: "file pointer roll failed",
    17: "failed to read file (camera not configured or file not available)",
}
"""STATUS reason texts (spec A.10: 0, 2, 3, 5 and 0x11 documented by the wiki; the others as
the spec quotes the reference server's table; values missing here are shown as unknown)."""


def status_text(status: int) -> str:
    """A sentence for a STATUS value, or ``unknown status N``."""
    return STATUS_TEXT.get(status, f"unknown status {status}")


def pending_words(settings: int) -> list[str]:
    """The pending files an INIT announces, in words (empty: nothing pending)."""
    return [word for flag, word in PENDING_WORDS if settings & flag]


def luhn_ok(number: int) -> bool:
    """Whether a 15-digit IMEI's last digit is its Luhn check digit."""
    digits = str(number)
    if len(digits) != 15:
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if index % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0
