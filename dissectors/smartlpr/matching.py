"""The SmartLPR matcher: pairs by (hosts, UnitId, Id), never by order (B.4, B.10).

A reply (response, ACK, NAK) reuses the Id of the request or event it answers, so the
pending table is keyed by the two hosts of the link, the UnitId and the Id. The hosts rather
than the link itself, because over UDP the reply may come from another port than the one the
request went to (QuercusVL answers "to the port given in the Login/Ping"), which makes it a
different flow.

Problems added here (codes are stable):

* ``smartlpr.unanswered`` (warning): no reply within ``timeout_ns`` of capture time, before
  the link closed, or before the capture ended.
* ``smartlpr.unexpected_response`` (warning): a response whose Type is not request + 64.
* ``smartlpr.unmatched_reply`` (warning) / ``smartlpr.duplicate_reply`` (note).
* ``smartlpr.retransmission`` (note): same Type and Id sent again.
* ``smartlpr.id_reuse`` (warning): an Id reused for another Type while still pending.
* ``smartlpr.version_downgrade`` (note): an event re-sent with a lower Version after NAK 6.
* ``smartlpr.id_parity`` (warning): unit-opened conversations use odd Ids, central even.
* ``smartlpr.nak_context`` (note): what a NAK means for the request it answers; NAK 1 is
  linked to the frame with the bad Bcc it refuses.
* ``smartlpr.trigger_latency`` (note): Trigger → LicenseInfo with the same TriggerId.
* ``smartlpr.clock_drift`` (note): LicenseInfo timestamp vs capture time over 2 s.

Memory is bounded: every table is pruned by age in ``expire`` and capped in size.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from dissectors.api import (
    ExtractedObject,
    Kind,
    Link,
    Record,
    Severity,
    Transfer,
)
from dissectors.smartlpr.codec import type_name
from dissectors.smartlpr.records import (
    CurrentFrame,
    CurrentFrameResponse,
    GetPicture,
    GetPictureResponse,
    LicenseInfo,
    Nak,
    SmartLprMessage,
    Trigger,
)
from dissectors.smartlpr.tables import (
    RESPONSE_OFFSET,
    SMARTLPR_NAK,
    MessageType,
    nak_hint,
)

P = "smartlpr."
DEFAULT_TIMEOUT_NS = 2_000_000_000
"""Unanswered after 2 s of capture time (B.10 suggests a configurable 2 s)."""
MEMORY_NS = 60_000_000_000
"""How long answered conversations, Triggers and NAK 6 refusals are remembered."""
MAX_ENTRIES = 100_000
"""Hard cap on each table, whatever the timestamps do."""
CLOCK_DRIFT_NS = 2_000_000_000

_OPENERS = (Kind.EVENT, Kind.REQUEST)
_REPLIES = (Kind.RESPONSE, Kind.ACK, Kind.NAK)

Key = tuple[str, str, int, int]
K = TypeVar("K")
V = TypeVar("V")


def _host(endpoint: str) -> str:
    """``10.0.0.1:8050`` → ``10.0.0.1``; serial names and bare hosts stay as they are."""
    host, sep, port = endpoint.rpartition(":")
    return host if sep and port.isdigit() else endpoint


def _hosts(link: Link) -> tuple[str, str]:
    a, b = _host(link.a), _host(link.b)
    return (a, b) if a <= b else (b, a)


def _ms(ns: int) -> str:
    return f"{ns / 1e6:.1f} ms"


@dataclass(slots=True)
class _Pending:
    record: Record
    message: SmartLprMessage
    time_ns: int
    """Time of the latest (re)transmission: the reply's latency counts from it."""
    retries: int = 0


@dataclass(slots=True)
class _Answered:
    request: int
    type: int
    reply: int
    time_ns: int


def _is_jpeg(image: bytes) -> bool:
    return image.startswith(b"\xff\xd8") and image.rstrip(b"\0").endswith(b"\xff\xd9")


class SmartLprMatcher:
    """Pairs SmartLPR requests/events with their replies for one capture."""

    def __init__(
        self, timeout_ns: int = DEFAULT_TIMEOUT_NS, nak_table: dict[int, str] = SMARTLPR_NAK
    ) -> None:
        self.timeout_ns = timeout_ns
        self.nak_table = nak_table
        self.retransmissions = 0
        """Events and requests seen again with the same Type and Id."""
        # OrderedDicts: the tables are pruned from the oldest end, and next(iter(dict)) on a
        # plain dict skips every slot deleted since its last resize (quadratic over a
        # long capture); an OrderedDict finds its first key in O(1)
        self._pending: OrderedDict[Key, _Pending] = OrderedDict()
        self._answered: OrderedDict[Key, _Answered] = OrderedDict()
        self._triggers: OrderedDict[tuple[str, str, int, int], tuple[int, int]] = OrderedDict()
        """(hosts, unit, TriggerId) → (Trigger record number, time)."""
        self._refused: OrderedDict[tuple[str, str, int, int], tuple[int, int, int]] = OrderedDict()
        """(hosts, unit, Type) → (refused Version, record number, time) after a NAK 6."""
        self._objects: list[ExtractedObject] = []
        self._transfers: list[Transfer] = []
        self._last_ns = 0
        """Latest capture time seen (records and expire calls)."""
        self._hosts: dict[int, tuple[str, str]] = {}
        self._host_links: dict[int, Link] = {}

    # -- Matcher protocol -----------------------------------------------------------------------

    def observe(self, record: Record) -> None:
        """See one record in arrival order; annotate it and the request it answers."""
        message = record.dissection.message
        if not isinstance(message, SmartLprMessage):
            return
        kind = record.dissection.kind
        if record.time_ns > self._last_ns:
            self._last_ns = record.time_ns
        link = record.link
        hosts = self._hosts.get(link.id)
        if hosts is None or self._host_links.get(link.id) is not link:
            if len(self._hosts) > MAX_ENTRIES:
                self._hosts.clear()
                self._host_links.clear()
            hosts = self._hosts[link.id] = _hosts(link)
            self._host_links[link.id] = link
        key: Key = (*hosts, message.unit_id, message.id)
        if kind in _OPENERS:
            self._observe_opener(record, message, kind, key)
        elif kind in _REPLIES:
            self._observe_reply(record, message, kind, key)

    def expire(self, now_ns: int) -> None:
        """Flag what waited longer than the timeout; forget old history."""
        self._last_ns = max(self._last_ns, now_ns)
        deadline = now_ns - self.timeout_ns
        pending = self._pending
        while pending:
            key, entry = next(iter(pending.items()))
            if entry.time_ns > deadline and len(pending) <= MAX_ENTRIES:
                break
            del pending[key]
            self._unanswered(entry, f"within {self.timeout_ns / 1e9:g} s")
        horizon = now_ns - MEMORY_NS
        _prune(self._answered, lambda v: v.time_ns <= horizon)
        _prune(self._triggers, lambda v: v[1] <= horizon)
        _prune(self._refused, lambda v: v[2] <= horizon)

    def link_closed(self, link: Link, time_ns: int) -> None:
        """Requests still waiting on ``link`` will never get their reply there."""
        closing = [k for k, e in self._pending.items() if e.record.link == link]
        for key in closing:
            self._unanswered(self._pending.pop(key), "before the link closed")

    def finish(self) -> None:
        """End of capture: everything still pending is unanswered.

        A request younger than the timeout when the capture ended gets a note, not a
        warning: its reply may simply not have been captured.
        """
        for entry in self._pending.values():
            waited = self._last_ns - entry.time_ns
            if waited < self.timeout_ns:
                entry.record.add_problem(
                    Severity.NOTE,
                    P + "unanswered",
                    f"no reply to {type_name(entry.message.type)} Id {entry.message.id} in the "
                    f"{_ms(waited)} the capture still ran: the reply may not have been captured",
                )
            else:
                self._unanswered(entry, "before the capture ended")
        self._pending.clear()

    def take_objects(self) -> list[ExtractedObject]:
        """JPEGs from GetPicture / CurrentFrame responses since the last call."""
        objects, self._objects = self._objects, []
        return objects

    def transfers(self) -> list[Transfer]:
        """One transfer per picture response seen."""
        return list(self._transfers)

    # -- openers --------------------------------------------------------------------------------

    def _observe_opener(
        self, record: Record, message: SmartLprMessage, kind: Kind, key: Key
    ) -> None:
        unit_opened = kind is Kind.EVENT
        if (message.id & 1) != unit_opened:
            opener, parity = ("unit", "odd") if unit_opened else ("central system", "even")
            record.add_problem(
                Severity.WARNING,
                P + "id_parity",
                f"{type_name(message.type)} opens a conversation from the {opener}, whose Ids "
                f"are {parity}; Id {message.id} is not (B.4)",
            )
        self._check_downgrade(record, message, key)
        retries = 0
        previous = self._pending.pop(key, None)
        if previous is not None:
            if previous.message.type == message.type:
                retries = previous.retries + 1
                self.retransmissions += 1
                record.add_problem(
                    Severity.NOTE,
                    P + "retransmission",
                    f"{type_name(message.type)} Id {message.id} sent again without a reply "
                    f"(retry {retries}, first #{previous.record.number})",
                )
            else:
                record.add_problem(
                    Severity.WARNING,
                    P + "id_reuse",
                    f"Id {message.id} reused for {type_name(message.type)} while "
                    f"{type_name(previous.message.type)} #{previous.record.number} is still "
                    "unanswered",
                )
                self._unanswered(previous, "before its Id was reused")
        else:
            answered = self._answered.get(key)
            if answered is not None and answered.type == message.type:
                self.retransmissions += 1
                retries = 1
                record.add_problem(
                    Severity.NOTE,
                    P + "retransmission",
                    f"{type_name(message.type)} Id {message.id} sent again after reply "
                    f"#{answered.reply} to #{answered.request}",
                )
        self._pending[key] = _Pending(record, message, record.time_ns, retries)
        body = message.body
        if isinstance(body, Trigger):
            self._triggers[(key[0], key[1], message.unit_id, body.trigger_id)] = (
                record.number,
                record.time_ns,
            )
        elif isinstance(body, LicenseInfo):
            self._check_plate(record, message, body, key)
        if len(self._triggers) > MAX_ENTRIES:
            _prune(self._triggers, lambda _v: True, limit=len(self._triggers) - MAX_ENTRIES)

    def _check_downgrade(self, record: Record, message: SmartLprMessage, key: Key) -> None:
        refused_key = (key[0], key[1], message.unit_id, message.type)
        refused = self._refused.get(refused_key)
        if refused is None:
            return
        version, number, _time = refused
        if message.version < version:
            del self._refused[refused_key]
            record.add_problem(
                Severity.NOTE,
                P + "version_downgrade",
                f"{type_name(message.type)} re-sent as version {message.version} after NAK 6 "
                f"refused version {version} (#{number})",
            )

    def _check_plate(
        self, record: Record, message: SmartLprMessage, body: LicenseInfo, key: Key
    ) -> None:
        if body.trigger_id != -1:
            trigger = self._triggers.get((key[0], key[1], message.unit_id, body.trigger_id))
            if trigger is not None:
                number, time_ns = trigger
                record.add_problem(
                    Severity.NOTE,
                    P + "trigger_latency",
                    f"plate read {_ms(record.time_ns - time_ns)} after Trigger "
                    f"{body.trigger_id} (#{number})",
                )
        if body.timestamp and body.timestamp_usec < 1_000_000:
            unit_ns = body.timestamp * 1_000_000_000 + body.timestamp_usec * 1000
            drift = unit_ns - record.time_ns
            if abs(drift) > CLOCK_DRIFT_NS:
                side = "ahead of" if drift > 0 else "behind"
                record.add_problem(
                    Severity.NOTE,
                    P + "clock_drift",
                    f"the unit's timestamp is {abs(drift) / 1e9:.3f} s {side} capture time: "
                    "check the unit's clock (NTP)",
                )

    # -- replies --------------------------------------------------------------------------------

    def _observe_reply(
        self, record: Record, message: SmartLprMessage, kind: Kind, key: Key
    ) -> None:
        entry = self._pending.pop(key, None)
        if entry is None:
            answered = self._answered.get(key)
            if answered is not None:
                record.request_in = answered.request
                record.add_problem(
                    Severity.NOTE,
                    P + "duplicate_reply",
                    f"another reply to #{answered.request} (first reply #{answered.reply})",
                )
            else:
                record.add_problem(
                    Severity.WARNING,
                    P + "unmatched_reply",
                    f"no request or event with unit {message.unit_id} Id {message.id} was "
                    "seen (capture started late, or the peer used a wrong Id)",
                )
            self._picture(record, message, None)
            return
        request = entry.record
        record.request_in = request.number
        record.latency_ns = record.time_ns - entry.time_ns
        if request.response_in is None:
            request.response_in = record.number
        asked = entry.message.type
        if kind is Kind.RESPONSE and message.type != asked + RESPONSE_OFFSET:
            expected = asked + RESPONSE_OFFSET
            want = (
                f"{expected} {type_name(expected)} or ACK/NAK"
                if expected
                in (
                    MessageType.STATUS_RESPONSE,
                    MessageType.GET_PICTURE_RESPONSE,
                    MessageType.CURRENT_FRAME_RESPONSE,
                )
                else "ACK/NAK"
            )
            record.add_problem(
                Severity.WARNING,
                P + "unexpected_response",
                f"{type_name(message.type)} ({message.type}) answers "
                f"{type_name(asked)} ({asked}) #{request.number}; expected {want}",
            )
        if isinstance(message.body, Nak):
            self._nak_context(record, message.body, entry, key)
        self._answered[key] = _Answered(request.number, asked, record.number, record.time_ns)
        if len(self._answered) > MAX_ENTRIES:
            _prune(self._answered, lambda _v: True, limit=len(self._answered) - MAX_ENTRIES)
        self._picture(record, message, entry)

    def _nak_context(self, record: Record, nak: Nak, entry: _Pending, key: Key) -> None:
        request = entry.record
        asked = entry.message.type
        hint = nak_hint(asked, nak.code)
        if nak.code not in self.nak_table:
            hint = "the code is not in this product's table (QuercusVL uses other codes)"
        number = request.number
        text = f"NAK {nak.code} answers {type_name(asked)} #{number}"
        if nak.code == 1:
            if not entry.message.bcc_ok:
                text += f": #{number} had a bad Bcc here too, so the line corrupted it"
            else:
                text += (
                    f": #{number} checks fine here, so the corruption happened after the "
                    "capture point, or the peer reads Size differently"
                )
        elif hint:
            text += f": {hint}"
        if nak.code == 3:
            text += f" (bad parameter index {nak.subcode})"
        record.add_problem(Severity.NOTE, P + "nak_context", text)
        if nak.code == 6:
            self._refused[(key[0], key[1], entry.message.unit_id, asked)] = (
                entry.message.version,
                request.number,
                record.time_ns,
            )

    def _unanswered(self, entry: _Pending, when: str) -> None:
        message = entry.message
        what = "ACK/NAK" if entry.record.dissection.kind is Kind.EVENT else "reply"
        retries = f" after {entry.retries} retransmission(s)" if entry.retries else ""
        entry.record.add_problem(
            Severity.WARNING,
            P + "unanswered",
            f"no {what} to {type_name(message.type)} Id {message.id} {when}{retries}: check "
            "that the peer is up and its address, port and UnitId settings",
        )

    # -- pictures -------------------------------------------------------------------------------

    def _picture(self, record: Record, message: SmartLprMessage, entry: _Pending | None) -> None:
        body = message.body
        if not isinstance(body, GetPictureResponse | CurrentFrameResponse):
            return
        request_body = entry.message.body if entry is not None else None
        details: dict[str, object] = {
            "unit_id": message.unit_id,
            "image_size": body.image_size,
            "response_frame": record.number,
            "bcc_ok": message.bcc_ok,
        }
        if entry is not None:
            details["request_frame"] = entry.record.number
        if isinstance(body, GetPictureResponse):
            details.update(
                roi_top=body.roi_top,
                roi_left=body.roi_left,
                roi_bottom=body.roi_bottom,
                roi_right=body.roi_right,
            )
            car = request_body.car_id if isinstance(request_body, GetPicture) else None
            details["car_id"] = car
            label = f"car{car}" if car is not None else "car-unknown"
        else:
            if isinstance(request_body, CurrentFrame):
                details["exposure_time_us"] = request_body.exposure_time_us
            label = "current"
        name = f"smartlpr-unit{message.unit_id}-{label}-frame{record.number}.jpg"
        image = body.image[: body.image_size]
        complete = len(image) == body.image_size
        first = entry.record.number if entry is not None else record.number
        duration = record.latency_ns or 0
        if body.image_size == 0:
            outcome = "device error: no image (unit busy or capture failed)"
        elif not complete:
            outcome = "aborted"
        else:
            outcome = "complete"
        if body.image_size:
            jpeg_ok = _is_jpeg(image)
            details["jpeg_ok"] = jpeg_ok
            if not jpeg_ok:
                details["jpeg_problem"] = (
                    "no SOI marker (FF D8)"
                    if not image.startswith(b"\xff\xd8")
                    else "no EOI marker (FF D9): truncated or corrupt"
                )
            self._objects.append(
                ExtractedObject(
                    protocol="smartlpr",
                    name=name,
                    data=image,
                    frames=(record.number,),
                    complete=complete,
                    holes=() if complete else ((len(image), body.image_size),),
                    content_type="image/jpeg",
                    details=details,
                )
            )
        verified = len(image) if complete and message.bcc_ok else 0
        self._transfers.append(
            Transfer(
                protocol="smartlpr",
                link=record.link,
                name=name,
                first_record=first,
                last_record=record.number,
                expected_size=body.image_size,
                received=len(image),
                verified=verified,
                outcome=outcome,
                missing=() if complete else ((len(image), body.image_size),),
                duration_ns=duration,
                details=dict(details),
            )
        )


def _prune(table: dict[K, V], old: Callable[[V], bool], limit: int | None = None) -> None:
    """Drop entries from the oldest while ``old`` says so (at most ``limit`` of them)."""
    dropped = 0
    while table and (limit is None or dropped < limit):
        key = next(iter(table))
        if not old(table[key]):
            break
        del table[key]
        dropped += 1


def new_matcher() -> SmartLprMatcher:
    """A fresh matcher for one capture (the Dissector's ``new_matcher``)."""
    return SmartLprMatcher()


__all__ = ["DEFAULT_TIMEOUT_NS", "SmartLprMatcher", "new_matcher"]
