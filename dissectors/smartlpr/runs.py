"""SmartLPR's ``read_run``: runs of header tuples to ``LeanRecord``s (``dissectors.bulk.FrameRun``).

A frame becomes a ``LeanRecord`` only when ``codec.decode`` would report no problem for it
and the matcher needs nothing but header facts and a few body integers: Bcc good, Size
counting the whole frame, and one of Status, ACK, Trigger, a healthy StatusResponse or a
LicenseInfo v2 with a valid timestamp and qualities up to 100 (nearly every message of a
busy link). Every other frame goes through ``full``, the pipeline's usual decode, ``Record``
and ``observe``, so unusual input has exactly one code path. The pairing rules are the
matcher's own methods, called here with header facts instead of a decoded record. Without
``rows`` (``objects``) the LeanRecords are annotated all the same, then dropped.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from collections.abc import Callable

from dissectors.api import (
    Frame,
    Kind,
    Matcher,
    Record,
)
from dissectors.bulk import FrameRun, LeanRecord, read_in_full
from dissectors.smartlpr.codec import (
    MAX_QUALITY,
    kind_of,
    type_name,
    unit_healthy,
    valid_timestamp,
)
from dissectors.smartlpr.matching import SmartLprMatcher
from dissectors.smartlpr.tables import LEN_HEADER, LEN_OVERHEAD, MessageType

_ACK = int(MessageType.ACK)
_STATUS = int(MessageType.STATUS)
_STATUS_RESPONSE = int(MessageType.STATUS_RESPONSE)
_TRIGGER = int(MessageType.TRIGGER)
_LICENSE_INFO = int(MessageType.LICENSE_INFO)

_I32 = struct.Struct("<i")
_PLATE = struct.Struct("<4xiII")
"""TriggerId, Timestamp, TimestampUsec of a LicenseInfo v2 body."""
_LICENSE_INFO_LENGTH = LEN_OVERHEAD + 169
_QUALITIES = (LEN_HEADER + 56, LEN_HEADER + 96)
"""Frame offsets of LicenseInfo's 40 quality bytes."""


_ACTIVE = LEN_HEADER
_CAMERA = LEN_HEADER + 2
"""Frame offsets of StatusResponse's Actv and Cam bytes."""


def _stats_key(message_type: int) -> tuple[str, str, Kind]:
    return "smartlpr", type_name(message_type), kind_of(message_type)


_ACK_KEY = _stats_key(_ACK)
_STATUS_KEY = _stats_key(_STATUS)
_STATUS_RESPONSE_KEY = _stats_key(_STATUS_RESPONSE)
_TRIGGER_KEY = _stats_key(_TRIGGER)
_LICENSE_INFO_KEY = _stats_key(_LICENSE_INFO)
_ACK_KIND = _ACK_KEY[2]
_REQUEST = Kind.REQUEST
_EVENT = Kind.EVENT
_RESPONSE = Kind.RESPONSE

# what a frame's lean record does in the matcher (None: decoded the usual way)
_REPLY, _OPENER, _TRIGGER_OPENER, _PLATE_OPENER = range(4)
_new = object.__new__


def read_run(
    run: FrameRun,
    number: int,
    matcher: Matcher | None,
    full: Callable[[Frame, int], Record],
    out: list[Record | LeanRecord],
    rows: bool,
) -> int:
    """The dissector's ``read_run`` (see ``dissectors.bulk.RunReader``); the runs carry
    arrival times per chunk (``SmartLprFramer``)."""
    if not isinstance(matcher, SmartLprMatcher):
        # the lean records need this matcher's rules; anything else takes the usual path
        return read_in_full(run, 0, number, full, out)
    side = run.side
    data = run.data
    start = run.start
    offsets = run.arrival_offsets
    assert offsets is not None
    times = run.arrival_times
    index = max(0, bisect_right(offsets, start + run.headers[0][0]) - 1)
    time_ns = times[index] if times else 0
    next_offset = offsets[index + 1] if index + 1 < len(offsets) else -1
    hosts = matcher.hosts_of(side.link)
    opened = matcher.opened
    replied = matcher.replied
    append = out.append
    for header in run.headers:
        offset, length, unit_id, size, message_type, version, conv_id, bcc_ok = header
        if 0 <= next_offset <= start + offset:
            index = bisect_right(offsets, start + offset) - 1
            time_ns = times[index]
            next_offset = offsets[index + 1] if index + 1 < len(offsets) else -1
        number += 1
        role = None
        if bcc_ok and size == length:
            if message_type == _ACK:
                if length == LEN_OVERHEAD:
                    role, key, kind = _REPLY, _ACK_KEY, _ACK_KIND
            elif message_type == _STATUS:
                if length == LEN_OVERHEAD:
                    role, key, kind = _OPENER, _STATUS_KEY, _REQUEST
            elif message_type == _STATUS_RESPONSE:
                if length == LEN_OVERHEAD + 3 and unit_healthy(
                    data[offset + _ACTIVE], data[offset + _CAMERA]
                ):
                    role, key, kind = _REPLY, _STATUS_RESPONSE_KEY, _RESPONSE
            elif message_type == _TRIGGER:
                if length == LEN_OVERHEAD + 4:
                    role, key, kind = _TRIGGER_OPENER, _TRIGGER_KEY, _REQUEST
            elif message_type == _LICENSE_INFO:
                plate = _plain_plate(data, offset, length, version)
                if plate is not None:
                    role, key, kind = _PLATE_OPENER, _LICENSE_INFO_KEY, _EVENT
                    trigger_id, timestamp, usec = plate
        if role is None:
            append(full(run.frame(header, time_ns), number))
            continue
        # LeanRecord's fields one by one: 0.25 µs less than its __init__ call, per message
        row = _new(LeanRecord)
        row.number = number
        row.side = side
        row.time_ns = time_ns
        row.length = length
        row.key = key
        row.problems = None
        row.request_in = None
        row.response_in = None
        row.latency_ns = None
        if role == _REPLY:
            replied(row, time_ns, kind, hosts, unit_id, conv_id, message_type)
        else:
            opened(row, time_ns, kind, hosts, unit_id, conv_id, message_type, version, True)
            if role == _TRIGGER_OPENER:
                trigger_id = _I32.unpack_from(data, offset + LEN_HEADER)[0]
                matcher.trigger_seen(hosts, unit_id, trigger_id, number, time_ns)
            elif role == _PLATE_OPENER:
                matcher.plate_seen(row, time_ns, hosts, unit_id, trigger_id, timestamp, usec)
        if rows:
            append(row)
    return number


def _plain_plate(
    data: bytes, offset: int, length: int, version: int
) -> tuple[int, int, int] | None:
    """TriggerId, Timestamp and TimestampUsec of a LicenseInfo that decodes without a problem
    (v2 layout, valid time, qualities up to 100); None for any other."""
    if version != 2 or length != _LICENSE_INFO_LENGTH:
        return None
    plate: tuple[int, int, int] = _PLATE.unpack_from(data, offset + LEN_HEADER)
    _trigger_id, timestamp, usec = plate
    if (
        valid_timestamp(timestamp, usec)
        and max(data[offset + _QUALITIES[0] : offset + _QUALITIES[1]]) <= MAX_QUALITY
    ):
        return plate
    return None
