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

from typing import TypeVar

from dissectors.api import (
    ExtractedObject,
    Kind,
    Link,
    Record,
    Severity,
    Transfer,
)
from dissectors.bulk import Annotatable, LeanRecord
from dissectors.smartlpr.codec import type_name
from dissectors.smartlpr.pairing import (
    MAX_ENTRIES,
    TRIGGER_LATENCY,
    AgeTable,
    Pending,
    link_reply,
    new_pairing,
    trigger_latency_text,
)
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
    LEN_HEADER,
    RESPONSE_OFFSET,
    SMARTLPR_NAK,
    MessageType,
    nak_hint,
)
from dissectors.smartlpr.wire import IMAGE_HEAD

P = "smartlpr."
DEFAULT_TIMEOUT_NS = 2_000_000_000
"""Unanswered after 2 s of capture time (B.10 suggests a configurable 2 s)."""
MEMORY_NS = 60_000_000_000
"""How long answered conversations, Triggers and NAK 6 refusals are remembered."""

_OPENERS = (Kind.EVENT, Kind.REQUEST)
# plain names: attribute access on an enum class costs ~0.1 µs, too much on the hot path
_EVENT = Kind.EVENT
_RESPONSE = Kind.RESPONSE
_REPLIES = (Kind.RESPONSE, Kind.ACK, Kind.NAK)

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


def _is_jpeg(image: bytes) -> bool:
    return image.startswith(b"\xff\xd8") and image.rstrip(b"\0").endswith(b"\xff\xd9")


class SmartLprMatcher:
    """Pairs SmartLPR requests/events with their replies for one capture.

    Every rule is written once, in the methods ``opened``, ``trigger_seen``, ``plate_seen``,
    ``replied``, ``nak_seen`` and ``picture_seen``, which take the header facts and an
    ``Annotatable``. ``observe`` feeds them from a decoded ``Record`` (read, TUI); the
    ``stats`` path (``runs.read_run``) feeds them from header tuples and ``LeanRecord``s.
    """

    def __init__(
        self, timeout_ns: int = DEFAULT_TIMEOUT_NS, nak_table: dict[int, str] = SMARTLPR_NAK
    ) -> None:
        self.timeout_ns = timeout_ns
        self.nak_table = nak_table
        self.retransmissions = 0
        """Events and requests seen again with the same Type and Id."""
        self.pairing = new_pairing(self.lean_picture)
        """The common case of every rule, on the tables below (C when built)."""
        tables = self.pairing.tables
        self._pending = tables.pending
        self._answered = tables.answered
        self._triggers = tables.triggers
        self._refused = tables.refused
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
        time_ns = record.time_ns
        hosts = self.hosts_of(record.link)
        unit_id = message.unit_id
        body = message.body
        if kind in _OPENERS:
            request_body = body if isinstance(body, GetPicture | CurrentFrame) else None
            self.opened(
                record,
                time_ns,
                kind,
                hosts,
                unit_id,
                message.id,
                message.type,
                message.version,
                message.bcc_ok,
                request_body,
            )
            if isinstance(body, Trigger):
                self.trigger_seen(hosts, unit_id, body.trigger_id, record.number, time_ns)
            elif isinstance(body, LicenseInfo):
                self.plate_seen(
                    record,
                    time_ns,
                    hosts,
                    unit_id,
                    body.trigger_id,
                    body.timestamp,
                    body.timestamp_usec,
                )
        elif kind in _REPLIES:
            entry = self.replied(record, time_ns, kind, hosts, unit_id, message.id, message.type)
            if entry is not None and isinstance(body, Nak):
                self.nak_seen(record, time_ns, body.code, body.subcode, entry, hosts)
            if isinstance(body, GetPictureResponse | CurrentFrameResponse):
                self.picture_seen(record, unit_id, message.bcc_ok, body, entry)

    def saw(self, time_ns: int) -> None:
        """Messages up to ``time_ns`` were paired in bulk (``Pairing.take_run``)."""
        if time_ns > self._last_ns:
            self._last_ns = time_ns

    def expire(self, now_ns: int) -> None:
        """Flag what waited longer than the timeout; forget old history."""
        self._last_ns = max(self._last_ns, now_ns)
        deadline = now_ns - self.timeout_ns
        pending = self._pending
        while (entry := pending.oldest()) is not None:
            if entry.time_ns > deadline and len(pending) <= MAX_ENTRIES:
                break
            pending.pop_oldest()
            self._unanswered(entry, f"within {self.timeout_ns / 1e9:g} s")
        horizon = now_ns - MEMORY_NS
        self._answered.prune(3, horizon)
        self._triggers.prune(1, horizon)
        self._refused.prune(2, horizon)

    def link_closed(self, link: Link, time_ns: int) -> None:
        """Requests still waiting on ``link`` will never get their reply there."""
        for key, entry in self._pending.items():
            if entry.target.link == link:
                self._pending.pop(*key)
                self._unanswered(entry, "before the link closed")

    def finish(self) -> None:
        """End of capture: everything still pending is unanswered.

        A request younger than the timeout when the capture ended gets a note, not a
        warning: its reply may simply not have been captured.
        """
        while (entry := self._pending.pop_oldest()) is not None:
            waited = self._last_ns - entry.time_ns
            if waited < self.timeout_ns:
                entry.target.add_problem(
                    Severity.NOTE,
                    P + "unanswered",
                    f"no reply to {type_name(entry.type)} Id {entry.id} in the "
                    f"{_ms(waited)} the capture still ran: the reply may not have been captured",
                )
            else:
                self._unanswered(entry, "before the capture ended")

    def take_objects(self) -> list[ExtractedObject]:
        """JPEGs from GetPicture / CurrentFrame responses since the last call."""
        objects, self._objects = self._objects, []
        return objects

    def transfers(self) -> list[Transfer]:
        """One transfer per picture response seen (since ``forget_transfers``)."""
        return list(self._transfers)

    def forget_transfers(self) -> None:
        """Forget the transfers so far (a picture's ends with its response)."""
        self._transfers.clear()

    # -- the rules ------------------------------------------------------------------------------

    def hosts_of(self, link: Link) -> tuple[str, str]:
        """The two hosts of ``link``, sorted: the first half of every pairing key."""
        hosts = self._hosts.get(link.id)
        if hosts is None or self._host_links.get(link.id) is not link:
            if len(self._hosts) > MAX_ENTRIES:
                self._hosts.clear()
                self._host_links.clear()
            hosts = self._hosts[link.id] = _hosts(link)
            self._host_links[link.id] = link
        return hosts

    def opened(
        self,
        target: Annotatable,
        time_ns: int,
        kind: Kind,
        hosts: tuple[str, str],
        unit_id: int,
        conv_id: int,
        message_type: int,
        version: int,
        bcc_ok: bool,
        request_body: GetPicture | CurrentFrame | None = None,
    ) -> None:
        """An event or request opens a conversation: Id parity, downgrade, retransmission."""
        if time_ns > self._last_ns:
            self._last_ns = time_ns
        pairing = self.pairing
        if pairing.opened(
            target, time_ns, kind, hosts, unit_id, conv_id, message_type, version, bcc_ok,
            request_body,
        ):  # fmt: skip
            return
        unit_opened = kind is _EVENT
        if not pairing.parity_ok(conv_id, kind):
            opener, parity = ("unit", "odd") if unit_opened else ("central system", "even")
            target.add_problem(
                Severity.WARNING,
                P + "id_parity",
                f"{type_name(message_type)} opens a conversation from the {opener}, whose Ids "
                f"are {parity}; Id {conv_id} is not (B.4)",
            )
        if self._refused:
            self._check_downgrade(target, hosts, unit_id, message_type, version)
        retries = 0
        previous = self._pending.pop(hosts, unit_id, conv_id)
        if previous is not None:
            if previous.type == message_type:
                retries = previous.retries + 1
                self.retransmissions += 1
                target.add_problem(
                    Severity.NOTE,
                    P + "retransmission",
                    f"{type_name(message_type)} Id {conv_id} sent again without a reply "
                    f"(retry {retries}, first #{previous.target.number})",
                )
            else:
                target.add_problem(
                    Severity.WARNING,
                    P + "id_reuse",
                    f"Id {conv_id} reused for {type_name(message_type)} while "
                    f"{type_name(previous.type)} #{previous.target.number} is still "
                    "unanswered",
                )
                self._unanswered(previous, "before its Id was reused")
        else:
            answered = self._answered.get(hosts, unit_id, conv_id)
            if answered is not None and answered[1] == message_type:
                request_number, _type, reply_number, _time = answered
                self.retransmissions += 1
                retries = 1
                target.add_problem(
                    Severity.NOTE,
                    P + "retransmission",
                    f"{type_name(message_type)} Id {conv_id} sent again after reply "
                    f"#{reply_number} to #{request_number}",
                )
        self._pending.set(hosts, unit_id, conv_id, Pending(
            target, kind, message_type, conv_id, unit_id, version, bcc_ok, request_body, time_ns,
            retries,
        ))  # fmt: skip

    def trigger_seen(
        self, hosts: tuple[str, str], unit_id: int, trigger_id: int, number: int, time_ns: int
    ) -> None:
        """Remember a Trigger for the latency of the plate read that answers it."""
        if self.pairing.trigger_seen(hosts, unit_id, trigger_id, number, time_ns):
            return
        self._triggers.set(hosts, unit_id, trigger_id, (number, time_ns))
        _cap(self._triggers)

    def _check_downgrade(
        self,
        target: Annotatable,
        hosts: tuple[str, str],
        unit_id: int,
        message_type: int,
        version: int,
    ) -> None:
        refused = self._refused.get(hosts, unit_id, message_type)
        if refused is None:
            return
        refused_version, number, _time = refused
        if version < refused_version:
            self._refused.pop(hosts, unit_id, message_type)
            target.add_problem(
                Severity.NOTE,
                P + "version_downgrade",
                f"{type_name(message_type)} re-sent as version {version} after NAK 6 "
                f"refused version {refused_version} (#{number})",
            )

    def plate_seen(
        self,
        target: Annotatable,
        time_ns: int,
        hosts: tuple[str, str],
        unit_id: int,
        trigger_id: int,
        timestamp: int,
        timestamp_usec: int,
    ) -> None:
        """A LicenseInfo (after ``opened``): Trigger→plate latency and the unit's clock."""
        pairing = self.pairing
        trigger = pairing.trigger_of(hosts, unit_id, trigger_id)
        if trigger is not None:
            code, severity = TRIGGER_LATENCY
            target.add_problem(severity, code, trigger_latency_text(time_ns, *trigger, trigger_id))
        drift = pairing.clock_drift(timestamp, timestamp_usec, time_ns)
        if drift is not None:
            side = "ahead of" if drift > 0 else "behind"
            target.add_problem(
                Severity.NOTE,
                P + "clock_drift",
                f"the unit's timestamp is {abs(drift) / 1e9:.3f} s {side} capture time: "
                "check the unit's clock (NTP)",
            )

    def replied(
        self,
        target: Annotatable,
        time_ns: int,
        kind: Kind,
        hosts: tuple[str, str],
        unit_id: int,
        conv_id: int,
        message_type: int,
    ) -> Pending | None:
        """A response, ACK or NAK: pair it by (hosts, unit, Id); the request it answered."""
        if time_ns > self._last_ns:
            self._last_ns = time_ns
        done = self.pairing.replied(target, time_ns, kind, hosts, unit_id, conv_id, message_type)
        if done is not None:
            return done
        entry = self._pending.pop(hosts, unit_id, conv_id)
        if entry is None:
            answered = self._answered.get(hosts, unit_id, conv_id)
            if answered is not None:
                request_number, _type, reply_number, _time = answered
                target.request_in = request_number
                target.add_problem(
                    Severity.NOTE,
                    P + "duplicate_reply",
                    f"another reply to #{request_number} (first reply #{reply_number})",
                )
            else:
                target.add_problem(
                    Severity.WARNING,
                    P + "unmatched_reply",
                    f"no request or event with unit {unit_id} Id {conv_id} was "
                    "seen (capture started late, or the peer used a wrong Id)",
                )
            return None
        number = link_reply(target, entry, time_ns)
        asked = entry.type
        if kind is _RESPONSE and message_type != asked + RESPONSE_OFFSET:
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
            target.add_problem(
                Severity.WARNING,
                P + "unexpected_response",
                f"{type_name(message_type)} ({message_type}) answers "
                f"{type_name(asked)} ({asked}) #{number}; expected {want}",
            )
        self._answered.set(hosts, unit_id, conv_id, (number, asked, target.number, time_ns))
        _cap(self._answered)
        return entry

    def nak_seen(
        self,
        target: Annotatable,
        time_ns: int,
        code: int,
        subcode: int,
        entry: Pending,
        hosts: tuple[str, str],
    ) -> None:
        """A NAK that answered ``entry`` (after ``replied``): what it means for that request."""
        request = entry.target
        asked = entry.type
        hint = nak_hint(asked, code)
        if code not in self.nak_table:
            hint = "the code is not in this product's table (QuercusVL uses other codes)"
        number = request.number
        text = f"NAK {code} answers {type_name(asked)} #{number}"
        if code == 1:
            if not entry.bcc_ok:
                text += f": #{number} had a bad Bcc here too, so the line corrupted it"
            else:
                text += (
                    f": #{number} checks fine here, so the corruption happened after the "
                    "capture point, or the peer reads Size differently"
                )
        elif hint:
            text += f": {hint}"
        if code == 3:
            text += f" (bad parameter index {subcode})"
        target.add_problem(Severity.NOTE, P + "nak_context", text)
        if code == 6:
            self._refused.set(hosts, entry.unit_id, asked, (entry.version, number, time_ns))
            _cap(self._refused)

    def _unanswered(self, entry: Pending, when: str) -> None:
        what = "ACK/NAK" if entry.kind is Kind.EVENT else "reply"
        retries = f" after {entry.retries} retransmission(s)" if entry.retries else ""
        entry.target.add_problem(
            Severity.WARNING,
            P + "unanswered",
            f"no {what} to {type_name(entry.type)} Id {entry.id} {when}{retries}: check "
            "that the peer is up and its address, port and UnitId settings",
        )

    # -- pictures -------------------------------------------------------------------------------

    def lean_picture(self, row: LeanRecord, unit_id: int, entry: Pending | None) -> None:
        """A GetPictureResponse taken as a LeanRecord (its lean form: the picture checks
        fine), after ``replied``: ``picture_seen``'s rules, on the body read from its frame."""
        frame = row.frame_data
        top, left, bottom, right, image_size = IMAGE_HEAD.unpack_from(frame, LEN_HEADER)
        image = frame[LEN_HEADER + IMAGE_HEAD.size : -2]
        self._picture(row, unit_id, True, image_size, image, (top, left, bottom, right), entry)

    def picture_seen(
        self,
        target: Annotatable,
        unit_id: int,
        bcc_ok: bool,
        body: GetPictureResponse | CurrentFrameResponse,
        entry: Pending | None,
    ) -> None:
        """A picture response (after ``replied``): the transfers table and the JPEG."""
        roi = (
            (body.roi_top, body.roi_left, body.roi_bottom, body.roi_right)
            if isinstance(body, GetPictureResponse)
            else None
        )
        self._picture(target, unit_id, bcc_ok, body.image_size, body.image, roi, entry)

    def _picture(
        self,
        target: Annotatable,
        unit_id: int,
        bcc_ok: bool,
        image_size: int,
        data: bytes,
        roi: tuple[int, int, int, int] | None,
        entry: Pending | None,
    ) -> None:
        """``picture_seen`` of a GetPictureResponse (``roi`` given) or CurrentFrameResponse
        whose ImageSize and image bytes (``data``) are given."""
        request_body = entry.request_body if entry is not None else None
        number = target.number
        details: dict[str, object] = {
            "unit_id": unit_id,
            "image_size": image_size,
            "response_frame": number,
            "bcc_ok": bcc_ok,
        }
        if entry is not None:
            details["request_frame"] = entry.target.number
        if roi is not None:
            details["roi_top"], details["roi_left"], details["roi_bottom"], details["roi_right"] = (
                roi
            )
            car = request_body.car_id if isinstance(request_body, GetPicture) else None
            details["car_id"] = car
            label = f"car{car}" if car is not None else "car-unknown"
        else:
            if isinstance(request_body, CurrentFrame):
                details["exposure_time_us"] = request_body.exposure_time_us
            label = "current"
        name = f"smartlpr-unit{unit_id}-{label}-frame{number}.jpg"
        image = data[:image_size]
        complete = len(image) == image_size
        first = entry.target.number if entry is not None else number
        duration = target.latency_ns or 0
        if image_size == 0:
            outcome = "device error: no image (unit busy or capture failed)"
        elif not complete:
            outcome = "aborted"
        else:
            outcome = "complete"
        missing = () if complete else ((len(image), image_size),)
        if image_size:
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
                    "smartlpr", name, image, (number,), complete, missing, "image/jpeg", details
                )
            )
        verified = len(image) if complete and bcc_ok else 0
        transfer = Transfer(
            "smartlpr", target.link, name, first, number, image_size, len(image), verified,
            outcome, 0, 0, missing, duration, dict(details),
        )  # fmt: skip
        self._transfers.append(transfer)


def _cap(table: AgeTable[V]) -> None:
    """Forget the oldest entries of ``table`` beyond ``MAX_ENTRIES``."""
    while len(table) > MAX_ENTRIES:
        table.pop_oldest()


def new_matcher() -> SmartLprMatcher:
    """A fresh matcher for one capture (the Dissector's ``new_matcher``)."""
    return SmartLprMatcher()


__all__ = ["DEFAULT_TIMEOUT_NS", "SmartLprMatcher", "new_matcher"]
