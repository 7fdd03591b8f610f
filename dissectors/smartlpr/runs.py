"""The ``stats`` bulk path: runs of SmartLPR header tuples to ``LeanRecord``s.

A frame becomes a ``LeanRecord`` only when ``codec.decode`` would report no problem for it
and the matcher needs nothing but header facts and a few body integers: Bcc good, Size
counting the whole frame, and one of Status, ACK, Trigger, a healthy StatusResponse or a
LicenseInfo v2 with a valid timestamp and qualities up to 100 (nearly every message of a
busy link). Every other frame goes through ``full``, the pipeline's usual decode, ``Record``
and ``observe``, so unusual input has exactly one code path. The pairing rules are the
matcher's own methods, called here with header facts instead of a decoded record.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from collections.abc import Callable

from dissectors.api import Frame, FrameRun, Kind, LeanRecord, Matcher, Record
from dissectors.smartlpr.codec import kind_of, type_name
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


def _type_kind(message_type: int) -> tuple[str, Kind]:
    return type_name(message_type), kind_of(message_type)


_ACK_KEY = _type_kind(_ACK)
_STATUS_KEY = _type_kind(_STATUS)
_STATUS_RESPONSE_KEY = _type_kind(_STATUS_RESPONSE)
_TRIGGER_KEY = _type_kind(_TRIGGER)
_LICENSE_INFO_KEY = _type_kind(_LICENSE_INFO)
_ACK_KIND = _ACK_KEY[1]
_REQUEST = Kind.REQUEST
_EVENT = Kind.EVENT
_RESPONSE = Kind.RESPONSE


def read_run(
    run: FrameRun,
    number: int,
    matcher: Matcher | None,
    full: Callable[[Frame, int], Record],
    out: list[Record | LeanRecord],
) -> int:
    """The dissector's ``read_run`` (see ``api.RunReader``)."""
    if not isinstance(matcher, SmartLprMatcher):
        # the lean records need this matcher's rules; anything else takes the usual path
        for header in run.headers:
            number += 1
            out.append(full(run.frame(header, _time_of(run, header[0])), number))
        return number
    side = run.side
    data = run.data
    start = run.start
    offsets = run.arrival_offsets
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
        if bcc_ok and size == length:
            if message_type == _ACK:
                if length == LEN_OVERHEAD:
                    row = LeanRecord(number, side, time_ns, length, _ACK_KEY)
                    replied(row, time_ns, _ACK_KIND, hosts, unit_id, conv_id, message_type)
                    append(row)
                    continue
            elif message_type == _STATUS:
                if length == LEN_OVERHEAD:
                    row = LeanRecord(number, side, time_ns, length, _STATUS_KEY)
                    opened(
                        row, time_ns, _REQUEST, hosts, unit_id, conv_id, message_type, version, True
                    )
                    append(row)
                    continue
            elif message_type == _STATUS_RESPONSE:
                if (
                    length == LEN_OVERHEAD + 3
                    and data[offset + LEN_HEADER] == 1
                    and (data[offset + LEN_HEADER + 2] == 1)
                ):
                    row = LeanRecord(number, side, time_ns, length, _STATUS_RESPONSE_KEY)
                    replied(row, time_ns, _RESPONSE, hosts, unit_id, conv_id, message_type)
                    append(row)
                    continue
            elif message_type == _TRIGGER:
                if length == LEN_OVERHEAD + 4:
                    row = LeanRecord(number, side, time_ns, length, _TRIGGER_KEY)
                    opened(
                        row, time_ns, _REQUEST, hosts, unit_id, conv_id, message_type, version, True
                    )
                    trigger_id = _I32.unpack_from(data, offset + LEN_HEADER)[0]
                    matcher.trigger_seen(hosts, unit_id, trigger_id, number, time_ns)
                    append(row)
                    continue
            elif message_type == _LICENSE_INFO and _plain_plate(data, offset, length, version):
                trigger_id, timestamp, usec = _PLATE.unpack_from(data, offset + LEN_HEADER)
                row = LeanRecord(number, side, time_ns, length, _LICENSE_INFO_KEY)
                opened(row, time_ns, _EVENT, hosts, unit_id, conv_id, message_type, version, True)
                matcher.plate_seen(row, time_ns, hosts, unit_id, trigger_id, timestamp, usec)
                append(row)
                continue
        append(full(run.frame(header, time_ns), number))
    return number


def _plain_plate(data: bytes, offset: int, length: int, version: int) -> bool:
    """Whether a LicenseInfo decodes without a problem: v2 layout, valid time, qualities."""
    if version != 2 or length != _LICENSE_INFO_LENGTH:
        return False
    _trigger_id, timestamp, usec = _PLATE.unpack_from(data, offset + LEN_HEADER)
    return bool(
        timestamp
        and usec < 1_000_000
        and max(data[offset + _QUALITIES[0] : offset + _QUALITIES[1]]) <= 100
    )


def _time_of(run: FrameRun, offset: int) -> int:
    """Arrival time of the frame at ``offset`` in ``run.data`` (``ArrivalTimes.at``)."""
    if not run.arrival_times:
        return 0
    index = bisect_right(run.arrival_offsets, run.start + offset) - 1
    return run.arrival_times[max(index, 0)]
