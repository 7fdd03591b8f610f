"""Teltonika DualCam camera file transfer: trackers uploading photos and videos to a server.

A tracker (FMx125/225/650 with a DualCam, DashCam, ADAS or DSM camera) opens its own TCP
connection to a camera server and greets it with a 16-byte INIT (IMEI, pending-file bits).
The server requests a file, the device announces it (START), the server sets the start point
(RESUME), the device confirms (SYNC) and streams DATA frames of up to 1024 file bytes, each
carrying a CRC-16/KERMIT chained from the previous one and restarted at every SYNC.

Transports: TCP, device = client. No standard port: traccar uses 5232, so that is the
binding; otherwise the INIT is recognised heuristically (``00 00 00 05|06`` + a Luhn-valid IMEI).

Scope: every command both ways (INIT, FILE_REQUEST, START, RESUME, SYNC, DATA, STATUS/COMPLETE,
REPEAT_INIT, CLOSE, METADATA_REQUEST, METADATA (DualCam v3/v4 and 13+1, ADAS, DSM, JSON),
PATH_REQUEST, PATH_RESPONSE, ENHANCED_DATA), bare 2-byte server commands, resynchronisation
after garbage, the transfer tracker (coverage, CRC chain, resumes, stalls, outcome) and file
extraction with PTMF video to H.265 Annex-B. Not yet: TLS (CTS ``--tls``). The ADAS/DSM
layouts and protocol 6 come from server code, not yet checked against device bytes.

Spec: camshark notes ``specs/dualcam.md`` (Part A), which corrects the Teltonika wiki page
"DualCam Communication Protocol" (2021 revision); real device logs in ``real/dualcam``.
"""

from __future__ import annotations

from dissectors.api import Direction, Dissector, Tcp
from dissectors.deferred import deferred
from dissectors.dualcam.tables import SERVER_COMMANDS, luhn_ok

__all__ = ["DISSECTOR", "orient", "sniff"]

_SERVER_STRONG = (
    b"\x00\x08\x00\x07%",  # FILE_REQUEST "%photof"...
    b"\x00\x0a\x00\x07%",  # METADATA_REQUEST "%photof"...
    b"\x00\x0c\x00\x02",  # PATH_REQUEST
    b"\x00\x02\x00\x04",  # RESUME
)


def sniff(prefix: bytes) -> float:
    """Confidence that a stream starting with ``prefix`` (either side) is DualCam."""
    if prefix[:3] == b"\x00\x00\x00" and prefix[3:4] in (b"\x05", b"\x06"):
        if len(prefix) < 12:
            return 0.6
        imei = int.from_bytes(prefix[4:12], "big")
        return 0.95 if luhn_ok(imei) else 0.3
    if prefix.startswith(_SERVER_STRONG):
        return 0.7
    if prefix.startswith(b"\x00\x04\x04\x02"):
        return 0.5  # a full DATA header: a capture that starts mid-transfer
    return 0.0


def orient(prefix: bytes) -> Direction | None:
    """INIT (or another device command) => FROM_DEVICE; server commands => TO_DEVICE."""
    if len(prefix) < 2 or prefix[0] != 0:
        return None
    cmd = prefix[1]
    if cmd == 0:
        if len(prefix) >= 4:
            second = int.from_bytes(prefix[2:4], "big")
            # device INIT carries the protocol id here; a server CLOSE has length 0
            return Direction.FROM_DEVICE if second != 0 else Direction.TO_DEVICE
        return None
    if cmd in (1, 3, 4, 0x0B, 0x0D, 0x0E):
        return Direction.FROM_DEVICE
    if cmd in SERVER_COMMANDS:
        return Direction.TO_DEVICE
    return None


DISSECTOR = Dissector(
    id="dualcam",
    name="Teltonika DualCam",
    description="Teltonika camera file transfer (DualCam).",
    new_framer=deferred("dissectors.dualcam.framing", "new_framer"),
    decode=deferred("dissectors.dualcam.decode", "decode"),
    bindings=(Tcp(5232),),
    sniff=sniff,
    orient=orient,
    new_matcher=deferred("dissectors.dualcam.matching", "new_matcher"),
    device_is_client=True,
    doc=__doc__ or "",
    read_run=deferred("dissectors.dualcam.runs", "read_run"),
)
