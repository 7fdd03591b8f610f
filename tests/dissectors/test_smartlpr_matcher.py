"""SmartLPR matcher: message sequences built with encode(), mapped to expected pairings."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dissectors.api import Direction, Frame, Link, Record, Severity
from dissectors.smartlpr import matching
from dissectors.smartlpr.codec import decode, encode
from dissectors.smartlpr.matching import SmartLprMatcher
from dissectors.smartlpr.records import (
    Ack,
    Body,
    CurrentFrame,
    CurrentFrameResponse,
    GetPicture,
    GetPictureResponse,
    LicenseInfo,
    Nak,
    RawBody,
    Status,
    StatusResponse,
    Trigger,
)

LINK = Link(1, "udp", "10.0.0.5:8051", "10.0.0.1:8050")
OTHER_LINK = Link(2, "udp", "10.0.0.1:40000", "10.0.0.5:8051")
T0 = 1_700_000_000_000_000_000
MS = 1_000_000
TO = Direction.TO_DEVICE
FROM = Direction.FROM_DEVICE
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(40)) + b"\xff\xd9"


def plate(trigger_id: int = 7, car_id: int = 1001, timestamp: int = T0 // 10**9) -> LicenseInfo:
    return LicenseInfo(
        car_id, trigger_id, timestamp, 0, "1234ABC", (90,) * 7, True, "1234 ABC", "E"
    )


class Session:
    """Feeds records to a matcher the way the pipeline does, numbering them."""

    def __init__(self) -> None:
        self.matcher = SmartLprMatcher()
        self.records: list[Record] = []

    def send(
        self,
        direction: Direction,
        body: Body,
        conv_id: int,
        at_ms: float,
        *,
        version: int | None = None,
        bcc: int | None = None,
        link: Link = LINK,
        unit_id: int = 1,
    ) -> Record:
        data = encode(body, unit_id, conv_id, version, bcc=bcc)
        frame = Frame(link, direction, 0, data, T0 + int(at_ms * MS))
        record = Record(len(self.records) + 1, "smartlpr", frame, decode(frame))
        self.records.append(record)
        self.matcher.observe(record)
        return record


def codes(record: Record) -> list[str]:
    return [p.code for p in record.problems]


def test_request_and_response_in_order() -> None:
    s = Session()
    request = s.send(TO, Status(), 2, 0)
    response = s.send(FROM, StatusResponse(1, 0, 1), 2, 12.5)
    assert request.response_in == response.number
    assert response.request_in == request.number
    assert response.latency_ns == int(12.5 * MS)
    s.matcher.finish()
    assert codes(request) == [] and codes(response) == []


def test_event_between_request_and_response_pairs_by_id() -> None:
    s = Session()
    status = s.send(TO, Status(), 2, 0)
    event = s.send(FROM, plate(trigger_id=-1), 1, 5)
    response = s.send(FROM, StatusResponse(1, 0, 1), 2, 10)
    ack = s.send(TO, Ack(), 1, 15)
    assert response.request_in == status.number and status.response_in == response.number
    assert ack.request_in == event.number and event.response_in == ack.number
    assert ack.latency_ns == 10 * MS
    s.matcher.finish()
    assert all(codes(r) == [] for r in s.records)


def test_missing_reply_is_unanswered_after_the_timeout_only() -> None:
    s = Session()
    trigger = s.send(TO, Trigger(9), 4, 0)
    s.matcher.expire(T0 + 1_500 * MS)
    assert codes(trigger) == []
    s.matcher.expire(T0 + 2_001 * MS)
    assert codes(trigger) == ["smartlpr.unanswered"]
    assert trigger.problems[0].severity is Severity.WARNING
    s.matcher.finish()
    assert codes(trigger) == ["smartlpr.unanswered"]  # not flagged twice


def test_finish_flags_everything_still_pending() -> None:
    s = Session()
    event = s.send(FROM, plate(), 1, 0)
    s.send(TO, Status(), 2, 2500)
    s.matcher.finish()
    assert codes(event) == ["smartlpr.unanswered"]
    assert event.problems[0].severity is Severity.WARNING
    assert "ACK/NAK" in event.problems[0].text and "capture ended" in event.problems[0].text


def test_request_just_before_the_end_of_capture_gets_only_a_note() -> None:
    s = Session()
    s.send(TO, Status(), 2, 0)
    late = s.send(TO, Status(), 4, 1000)
    s.send(FROM, Ack(), 2, 1200)
    s.matcher.finish()
    assert codes(late) == ["smartlpr.unanswered"]
    assert late.problems[0].severity is Severity.NOTE
    assert "200.0 ms" in late.problems[0].text


def test_link_closed_flags_pending_on_that_link() -> None:
    s = Session()
    request = s.send(TO, Status(), 2, 0)
    other = s.send(TO, Status(), 4, 0, link=Link(3, "tcp", "10.0.0.9:1", "10.0.0.8:2"))
    s.matcher.link_closed(LINK, T0 + 100 * MS)
    assert codes(request) == ["smartlpr.unanswered"] and "link closed" in request.problems[0].text
    assert codes(other) == []


def test_duplicate_event_is_a_retransmission_and_the_ack_pairs_with_the_latest() -> None:
    s = Session()
    first = s.send(FROM, plate(), 1, 0)
    second = s.send(FROM, plate(), 1, 1000)
    ack = s.send(TO, Ack(), 1, 1010)
    assert codes(second) == ["smartlpr.retransmission"]
    assert "retry 1" in second.problems[0].text and f"#{first.number}" in second.problems[0].text
    assert ack.request_in == second.number and ack.latency_ns == 10 * MS
    assert s.matcher.retransmissions == 1
    s.matcher.finish()
    assert codes(first) == []


def test_event_sent_again_after_its_ack_is_a_retransmission() -> None:
    s = Session()
    s.send(FROM, plate(), 1, 0)
    s.send(TO, Ack(), 1, 5)
    again = s.send(FROM, plate(), 1, 300)
    assert codes(again) == ["smartlpr.retransmission"]


def test_nak_6_then_lower_version_is_a_downgrade() -> None:
    s = Session()
    v2 = s.send(FROM, plate(), 3, 0)
    nak = s.send(TO, Nak(6, 0), 3, 5)
    v1 = s.send(FROM, RawBody(2, bytes(150)), 3, 20, version=1)
    ack = s.send(TO, Ack(), 3, 25)
    assert nak.request_in == v2.number
    assert "smartlpr.nak_context" in codes(nak)
    assert "smartlpr.version_downgrade" in codes(v1)
    assert "version 1" in v1.problems[-1].text or any("version 1" in p.text for p in v1.problems)
    assert ack.request_in == v1.number


def test_downgrade_with_a_new_id_is_also_seen() -> None:
    s = Session()
    s.send(FROM, plate(), 3, 0)
    s.send(TO, Nak(6, 0), 3, 5)
    v1 = s.send(FROM, RawBody(2, bytes(150)), 5, 20, version=1)
    assert codes(v1) == ["smartlpr.version_downgrade"]


def test_nak_6_refusals_are_capped_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matching, "MAX_ENTRIES", 3)
    s = Session()
    for unit_id in range(1, 6):
        s.send(FROM, plate(), 3, unit_id * 10, unit_id=unit_id)
        s.send(TO, Nak(6, 0), 3, unit_id * 10 + 1, unit_id=unit_id)
    downgraded = {
        unit_id: "smartlpr.version_downgrade"
        in codes(s.send(FROM, RawBody(2, bytes(150)), 5, 100 + unit_id, version=1, unit_id=unit_id))
        for unit_id in range(1, 6)
    }
    assert downgraded == {1: False, 2: False, 3: True, 4: True, 5: True}


def test_wrong_response_type_is_unexpected() -> None:
    s = Session()
    s.send(TO, Status(), 2, 0)
    wrong = s.send(FROM, GetPictureResponse(0, 0, 0, 0, 0, b""), 2, 5)
    assert "smartlpr.unexpected_response" in codes(wrong)
    assert "expected 132 StatusResponse" in wrong.problems[0].text


def test_ack_is_an_acceptable_reply_to_any_request() -> None:
    s = Session()
    s.send(TO, Status(), 2, 0)
    ack = s.send(FROM, Ack(), 2, 5)
    assert codes(ack) == []


def test_id_parity_is_checked_for_openers() -> None:
    s = Session()
    odd_request = s.send(TO, Trigger(1), 7, 0)
    even_event = s.send(FROM, plate(), 8, 0)
    assert codes(odd_request) == ["smartlpr.id_parity"]
    assert codes(even_event) == ["smartlpr.id_parity"]
    reply = s.send(FROM, Ack(), 7, 1)
    assert codes(reply) == []  # replies reuse the opener's Id whatever its parity


def test_bad_bcc_followed_by_nak_1_is_linked() -> None:
    # spec B.8: corrupted Status (BCC a9) then NAK 1 with the same Id 2
    s = Session()
    corrupted = s.send(TO, Status(), 2, 0, bcc=0xA9)
    nak = s.send(FROM, Nak(1, 0), 2, 3)
    assert nak.request_in == corrupted.number
    (context,) = [p for p in nak.problems if p.code == "smartlpr.nak_context"]
    assert "bad Bcc here too" in context.text


def test_nak_1_to_a_clean_frame_points_elsewhere() -> None:
    s = Session()
    s.send(TO, Status(), 2, 0)
    nak = s.send(FROM, Nak(1, 0), 2, 3)
    assert "checks fine here" in nak.problems[0].text


def test_trigger_nak_3_gets_the_hardware_mode_hint() -> None:
    s = Session()
    s.send(TO, Trigger(5), 2, 0)
    nak = s.send(FROM, Nak(3, 0), 2, 3)
    assert "hardware-trigger mode" in nak.problems[0].text


def test_trigger_ack_plate_chain_reports_latency() -> None:
    s = Session()
    trigger = s.send(TO, Trigger(7), 4, 0)
    s.send(FROM, Ack(), 4, 2)
    read = s.send(FROM, plate(trigger_id=7), 1, 150)
    (latency,) = [p for p in read.problems if p.code == "smartlpr.trigger_latency"]
    assert "150.0 ms" in latency.text and f"#{trigger.number}" in latency.text


def test_unit_clock_drift_is_noted() -> None:
    s = Session()
    drifted = s.send(FROM, plate(timestamp=T0 // 10**9 + 30), 1, 0)
    assert codes(drifted) == ["smartlpr.clock_drift"]
    assert "ahead of" in drifted.problems[0].text


def test_unmatched_and_duplicate_replies() -> None:
    s = Session()
    stray = s.send(FROM, Ack(), 11, 0)
    assert codes(stray) == ["smartlpr.unmatched_reply"]
    s.send(TO, Status(), 2, 1)
    s.send(FROM, StatusResponse(1, 0, 1), 2, 2)
    again = s.send(FROM, StatusResponse(1, 0, 1), 2, 3)
    assert codes(again) == ["smartlpr.duplicate_reply"] and again.request_in == 2


def test_reply_from_another_port_of_the_same_hosts_pairs() -> None:
    s = Session()
    request = s.send(TO, Status(), 2, 0, link=OTHER_LINK)
    response = s.send(FROM, StatusResponse(1, 0, 1), 2, 4)
    assert response.request_in == request.number


def test_get_picture_response_becomes_an_object_and_a_transfer() -> None:
    s = Session()
    s.send(TO, GetPicture(1001), 2, 0)
    response = s.send(FROM, GetPictureResponse(1, 2, 3, 4, len(JPEG), JPEG), 2, 40)
    (picture,) = s.matcher.take_objects()
    assert picture.name == f"smartlpr-unit1-car1001-frame{response.number}.jpg"
    assert picture.data == JPEG and picture.complete and picture.content_type == "image/jpeg"
    assert picture.frames == (response.number,)
    assert picture.details["roi_top"] == 1 and picture.details["roi_right"] == 4
    assert picture.details["car_id"] == 1001 and picture.details["jpeg_ok"] is True
    assert s.matcher.take_objects() == []
    (transfer,) = s.matcher.transfers()
    assert transfer.outcome == "complete" and transfer.received == len(JPEG)
    assert transfer.first_record == 1 and transfer.duration_ns == 40 * MS
    assert transfer.progress == 1.0


def test_truncated_or_invalid_pictures_are_flagged_not_dropped() -> None:
    s = Session()
    s.send(TO, CurrentFrame(2000), 2, 0)
    s.send(FROM, CurrentFrameResponse(100, JPEG[:30]), 2, 5)
    s.send(TO, GetPicture(5), 4, 10)
    s.send(FROM, GetPictureResponse(0, 0, 0, 0, 5, b"abcde"), 4, 15)
    truncated, invalid = s.matcher.take_objects()
    assert "current" in truncated.name and not truncated.complete
    assert truncated.holes == ((30, 100),)
    assert truncated.details["exposure_time_us"] == 2000
    assert invalid.complete and invalid.details["jpeg_ok"] is False
    assert "SOI" in str(invalid.details["jpeg_problem"])
    assert [t.outcome for t in s.matcher.transfers()] == ["aborted", "complete"]


def test_busy_picture_is_a_transfer_without_an_object() -> None:
    s = Session()
    s.send(TO, GetPicture(5), 2, 0)
    s.send(FROM, GetPictureResponse(0, 0, 0, 0, 0, b""), 2, 5)
    assert s.matcher.take_objects() == []
    (transfer,) = s.matcher.transfers()
    assert transfer.outcome.startswith("device error")


def test_pending_table_stays_bounded() -> None:
    s = Session()
    for index in range(3000):
        s.send(FROM, plate(), 2 * index + 1, index * 10)
        if index % 100 == 0:
            s.matcher.expire(T0 + index * 10 * MS)
    s.matcher.expire(T0 + 40_000 * MS)
    assert len(s.matcher._pending) == 0
    assert sum("smartlpr.unanswered" in codes(r) for r in s.records) == 3000


def test_id_reuse_for_another_type_while_pending() -> None:
    s = Session()
    first = s.send(TO, Status(), 2, 0)
    second = s.send(TO, Trigger(1), 2, 5)
    assert codes(second) == ["smartlpr.id_reuse"]
    assert codes(first) == ["smartlpr.unanswered"]


def test_malformed_records_are_ignored() -> None:
    from dissectors.api import Dissection, Kind

    s = Session()
    frame = Frame(LINK, TO, 0, b"\x02", T0)
    record = Record(1, "smartlpr", frame, Dissection("malformed", "x", kind=Kind.MALFORMED))
    s.matcher.observe(record)
    s.matcher.finish()
    assert codes(record) == []


# ---------------------------------------------------------------- property: pairing by Id

OPENERS: list[tuple[Direction, Body, Body]] = [
    (TO, Status(), StatusResponse(1, 0, 1)),
    (TO, Trigger(3), Ack()),
    (TO, GetPicture(7), GetPictureResponse(1, 2, 3, 4, len(JPEG), JPEG)),
    (FROM, plate(trigger_id=-1), Ack()),
    (TO, CurrentFrame(100), Nak(4, 0)),
]


@st.composite
def interleavings(draw: st.DrawFn) -> list[tuple[int, bool]]:
    """Conversations 0..n-1, each an opener then (maybe) its reply, interleaved at random."""
    count = draw(st.integers(1, 12))
    answered = [draw(st.booleans()) for _ in range(count)]
    events = [(i, False) for i in range(count)] + [(i, True) for i in range(count) if answered[i]]
    order = draw(st.permutations(events))
    # a reply must follow its opener: move each reply after it if needed
    seen: set[int] = set()
    result: list[tuple[int, bool]] = []
    waiting: dict[int, tuple[int, bool]] = {}
    for conv, is_reply in order:
        if is_reply and conv not in seen:
            waiting[conv] = (conv, is_reply)
            continue
        result.append((conv, is_reply))
        if not is_reply:
            seen.add(conv)
            if conv in waiting:
                result.append(waiting.pop(conv))
    return result


@settings(max_examples=150, deadline=None)
@given(order=interleavings(), kinds=st.lists(st.integers(0, len(OPENERS) - 1), min_size=12))
def test_replies_pair_by_id_whatever_the_interleaving(
    order: list[tuple[int, bool]], kinds: list[int]
) -> None:
    s = Session()
    opened: dict[int, Record] = {}
    for step, (conv, is_reply) in enumerate(order):
        direction, opener, reply = OPENERS[kinds[conv]]
        unit_opened = direction is FROM
        conv_id = 2 * conv + (1 if unit_opened else 2)
        if not is_reply:
            opened[conv] = s.send(direction, opener, conv_id, step)
        else:
            record = s.send(direction.opposite, reply, conv_id, step)
            assert record.request_in == opened[conv].number
            assert opened[conv].response_in == record.number
            assert "smartlpr.unexpected_response" not in codes(record)
    s.matcher.finish()
    answered = {conv for conv, is_reply in order if is_reply}
    for conv, record in opened.items():
        assert ("smartlpr.unanswered" in codes(record)) == (conv not in answered)
        assert "smartlpr.id_parity" not in codes(record)


ANY_BODY = st.one_of(
    st.sampled_from([o for _d, o, _r in OPENERS] + [r for _d, _o, r in OPENERS]),
    st.builds(Nak, st.integers(0, 255), st.integers(0, 255)),
    st.builds(RawBody, st.integers(0, 255), st.binary(max_size=8)),
    st.builds(
        GetPictureResponse,
        st.integers(0, 9),
        st.integers(0, 9),
        st.integers(0, 9),
        st.integers(0, 9),
        st.integers(0, 70_000),
        st.binary(max_size=20),
    ),
    st.builds(
        LicenseInfo,
        *(st.just(0),) * 4,
        st.just(""),
        st.just(()),
        st.booleans(),
        st.just(""),
        st.just(""),
    ),
)


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from([TO, FROM]),
            ANY_BODY,
            st.integers(0, 7),
            st.integers(0, 3),
            st.integers(0, 3_000),
            st.booleans(),
        ),
        max_size=30,
    )
)
def test_matcher_survives_any_sequence(
    steps: list[tuple[Direction, Body, int, int, int, bool]],
) -> None:
    s = Session()
    at = 0
    for direction, body, conv_id, unit_id, delay_ms, bad_bcc in steps:
        at += delay_ms
        s.send(direction, body, conv_id, at, unit_id=unit_id, bcc=0x00 if bad_bcc else None)
        if delay_ms > 2_500:
            s.matcher.expire(T0 + at * MS)
    s.matcher.finish()
    assert not s.matcher._pending
    s.matcher.take_objects()
    for record in s.records:
        if record.request_in is not None:
            assert record.request_in < record.number
