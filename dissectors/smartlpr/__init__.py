"""Quercus SmartLPR: licence-plate-reading units talking to a central system.

Binary frames: Stx, UnitId, Size, Type, Version, Id (all little-endian), message data,
Bcc (XOR of Stx..data), Etx. Units send events (LicenseInfo plate reads) and answer the
central system's requests (Trigger, Status, GetPicture, CurrentFrame, Ping) by Id.

Transports: UDP (QuercusVL sibling defaults: the unit listens on 8051 and sends to 8050),
one message per datagram; TCP also supported (frames are self-delimiting, the framer resyncs
on the next 0x02). No SmartLPR default port is published.

Scope: every message of the seed: LicenseInfo v2 (other versions shown raw), Trigger,
Status + response, GetPicture + response (ROI, JPEG), CurrentFrame + response, Ping, ACK,
NAK (codes from a per-product table, context hints). Unknown types are shown raw with their
class from the top two bits of Type. All three readings of Size are accepted and reported.
The matcher pairs by (link, unit, Id), reports unanswered and unexpected replies,
retransmissions, version downgrades after NAK 6, Id parity, Trigger→plate latency, and
extracts the JPEGs. Not yet: types 0, 1, 64-66, 69-70, 97+ (layouts unknown), LicenseInfo
v1/v3 layouts, the QuercusVL message set.

Wireshark: ``smartlpr.lua`` beside this module is a frame-level Lua twin with the same field
names (``wireshark -X lua_script:dissectors/smartlpr/smartlpr.lua``).

Spec: camshark notes /work/shared/specs/smartlpr.md (Part B), built from the SmartLPR seed
(sections 4.1, 4.3.3, 4.4.4-4.4.9, 4.5, 4.6.1) and the QuercusVL Programming Manual.
"""

from __future__ import annotations

import struct

from dissectors.api import Direction, Dissector, Udp
from dissectors.checksums import xor_bcc
from dissectors.deferred import deferred
from dissectors.smartlpr.tables import (
    ETX,
    LEN_HEADER,
    LEN_OVERHEAD,
    MAX_FRAME,
    MAX_PLAUSIBLE_CODE,
    SIZE_READINGS,
    STX,
    TYPE_NAMES,
    MessageClass,
    message_class,
)

_SIZE_TYPE_VERSION = struct.Struct("<IHH")


SNIFF_SEARCH = 256
"""How far into a prefix to look for an Stx (a capture may start in the middle of a frame)."""
_STX = bytes([STX])
_MID_STREAM = {0.95: 0.85, 0.7: 0.55}
"""Scores past offset 0: only a frame whose Etx and Bcc check keeps a real score."""


def _score_at(prefix: bytes, pos: int) -> float:
    """Confidence for a frame starting at ``prefix[pos]`` (an Stx)."""
    if len(prefix) - pos < LEN_HEADER:
        return 0.0
    size, message_type, version = _SIZE_TYPE_VERSION.unpack_from(prefix, pos + 5)
    if message_type > MAX_PLAUSIBLE_CODE or version > 16:
        return 0.0
    known = message_type in TYPE_NAMES
    best = 0.0
    for _reading, extra in SIZE_READINGS:
        length = size + extra
        if not LEN_OVERHEAD <= length <= MAX_FRAME:
            continue
        end = pos + length
        if end > len(prefix):
            best = max(best, 0.6 if known else 0.3)
            continue
        if prefix[end - 1] != ETX:
            continue
        if xor_bcc(prefix[pos : end - 2]) == prefix[end - 2]:
            return 0.95 if known else 0.7
        best = max(best, 0.8 if known else 0.4)
    return best


def _candidates(prefix: bytes) -> list[tuple[int, float]]:
    """(offset, score) of every Stx in the first ``SNIFF_SEARCH`` bytes.

    Past offset 0 only a frame whose Etx and Bcc check counts for much: 0.85 for a known
    Type, 0.55 for an unknown one, at most 0.4 otherwise.
    """
    found: list[tuple[int, float]] = []
    pos = prefix.find(_STX, 0, SNIFF_SEARCH)
    while pos >= 0:
        score = _score_at(prefix, pos)
        if pos:
            score = _MID_STREAM.get(score, min(score, 0.4))
        found.append((pos, score))
        if score >= 0.85:
            break
        pos = prefix.find(_STX, pos + 1, SNIFF_SEARCH)
    return found


def sniff(prefix: bytes) -> float:
    """Confidence that a stream whose first bytes are ``prefix`` is SmartLPR.

    At offset 0: 0.95 with a known Type and a complete frame whose Etx and Bcc check; 0.8
    with the Etx only; 0.6 for a plausible header of a known Type whose end is not in the
    prefix yet. A capture that starts mid-frame is recognised by the first complete,
    checked frame within ``SNIFF_SEARCH`` bytes (0.85).
    """
    return max((score for _pos, score in _candidates(prefix)), default=0.0)


def orient(prefix: bytes) -> Direction | None:
    """Direction of the side that sent ``prefix``: events and responses come from the unit.

    Requests (0x40-0x7F) go to the unit. ACK/NAK travel both ways, so they say nothing.
    The frame used is the one at offset 0, or the first checked frame further in.
    """
    for pos, score in _candidates(prefix):
        if score < (0.6 if pos == 0 else 0.85):
            continue
        message_type = int.from_bytes(prefix[pos + 9 : pos + 11], "little")
        cls = message_class(message_type)
        if cls in (MessageClass.EVENT, MessageClass.RESPONSE):
            return Direction.FROM_DEVICE
        if cls is MessageClass.REQUEST:
            return Direction.TO_DEVICE
    return None


DISSECTOR = Dissector(
    id="smartlpr",
    name="SmartLPR",
    description="Quercus SmartLPR unit / central-system protocol.",
    new_framer=deferred("dissectors.smartlpr.framing", "new_framer"),
    decode=deferred("dissectors.smartlpr.codec", "decode"),
    bindings=(Udp(8051), Udp(8050)),
    sniff=sniff,
    orient=orient,
    new_matcher=deferred("dissectors.smartlpr.matching", "new_matcher"),
    device_is_client=None,
    doc=__doc__ or "",
    read_run=deferred("dissectors.smartlpr.runs", "read_run"),
    whole_lane=deferred("dissectors.smartlpr.runs", "whole_lane"),
    lean_renderer=deferred("dissectors.smartlpr.lean_json", "new_renderer"),
)

__all__ = ["DISSECTOR", "orient", "sniff"]
