"""The compact capture model: storage round trip, updates, re-decoding, search, statistics."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dissectors.api import Direction, Kind, Problem, Record, Severity
from sniffer import row_search
from sniffer.capture import Capture
from sniffer.pipeline import Pipeline, iter_records
from sniffer.sources import open_source
from tests.tui.conftest import LINK, T0, make_record, toy_lookup


def test_rows_round_trip_the_record_facts() -> None:
    capture = Capture(lookup=toy_lookup)  # type: ignore[arg-type]
    problem = Problem(Severity.WARNING, "toy.odd", "odd")
    capture.append(make_record(1, data=b"\x02\x10\x03", summary="hello"))
    capture.append(
        make_record(2, direction=Direction.FROM_DEVICE, problems=(problem,), kind=Kind.RESPONSE)
    )
    capture.append(make_record(3, data=b"\xff\xfe", junk=True, type_name="junk"))
    assert len(capture) == 3
    row = capture.row(0)
    assert (row.number, row.time_ns, row.summary, row.length) == (1, T0 + 1_000_000, "hello", 3)
    assert row.direction is Direction.TO_DEVICE
    assert row.link == LINK
    assert capture.data(0) == b"\x02\x10\x03"
    assert capture.row(1).worst is Severity.WARNING
    assert capture.problems(1) == (problem,)
    assert capture.kind(1) is Kind.RESPONSE
    assert capture.row(2).is_junk
    assert capture.junk_reason(2) == "bad sync"
    assert capture.worst(0) is None


def test_index_of_handles_gaps_in_numbering() -> None:
    capture = Capture()
    for number in (5, 6, 9, 12):
        capture.append(make_record(number))
    assert [capture.index_of(n) for n in (5, 6, 9, 12)] == [0, 1, 2, 3]
    assert capture.index_of(7) is None
    assert capture.index_of(13) is None


def test_update_applies_matcher_annotations_after_emission() -> None:
    capture = Capture()
    request = make_record(1)
    reply = make_record(2, direction=Direction.FROM_DEVICE)
    capture.extend([request, reply])
    generation = capture.generation
    request.response_in = 2
    request.add_problem(Severity.NOTE, "toy.slow", "slow reply")
    reply.request_in = 1
    reply.latency_ns = 1_500_000
    assert capture.apply_updates([request, reply]) == 2
    assert capture.response_in(0) == 2
    assert capture.request_in(1) == 1
    assert capture.latency_ns(1) == 1_500_000
    assert capture.worst(0) is Severity.NOTE
    assert capture.counts() == (0, 0, 1)
    assert capture.generation > generation
    assert not capture.apply_update(make_record(99))


def test_dissection_is_decoded_again_and_cached() -> None:
    calls: list[int] = []

    class Counting:
        @staticmethod
        def decode(frame):  # type: ignore[no-untyped-def]
            calls.append(frame.start)
            from tests.tui.conftest import toy_decode

            return toy_decode(frame)

    capture = Capture(lookup=lambda p: Counting() if p == "toy" else None, cache_size=2)  # type: ignore[arg-type,return-value]
    for number in range(1, 5):
        capture.append(make_record(number, data=bytes([2, number, 3])))
    fields = capture.dissection(1).fields
    assert [f.value for f in fields] == [2, 2, 3]
    assert fields[1].span == (1, 2)
    capture.dissection(1)
    assert len(calls) == 1
    capture.dissection(2)
    capture.dissection(3)
    capture.dissection(1)  # evicted by the two above (cache_size=2)
    assert len(calls) == 4


def test_unknown_protocol_and_junk_fall_back_to_raw_fields() -> None:
    capture = Capture(lookup=lambda _p: None)
    capture.append(make_record(1, data=b"\x01\x02"))
    capture.append(make_record(2, data=b"\xaa", junk=True, type_name="junk"))
    raw = capture.dissection(0)
    assert raw.summary == "Status #1"
    assert [f.name for f in raw.fields] == ["note", "length", "data"]
    assert capture.dissection(1).fields[2].value == "aa"


def test_record_does_not_decode_until_fields_are_read(
    toy_capture: Callable[[int], Capture],
) -> None:
    capture = toy_capture(3)
    record = capture.record(1)
    assert isinstance(record, Record)
    assert record.dissection.type == "Status"
    assert capture._cache == {}
    assert record.dissection.fields[1].value == 2
    assert 1 in capture._cache


def test_find_text_wraps_and_ignores_case(toy_capture: Callable[[int], Capture]) -> None:
    capture = toy_capture(30)
    assert capture.find_text("status #12", 0) == 11
    assert capture.find_text("STATUS #3", 5) == 29  # #30 is the first after row 5
    assert capture.find_text("status #3", 25) == 29
    assert capture.find_text("status #1", 29) == 0  # wraps around
    assert capture.find_text("nothing", 0) is None
    assert capture.find_text("status #2", 15, backwards=True) == 1


def test_find_bytes_never_matches_across_two_frames() -> None:
    capture = Capture()
    capture.append(make_record(1, data=b"\x02\x01\x03"))
    capture.append(make_record(2, data=b"\x03\x02\x01"))
    assert capture.find_bytes(b"\x03\x03", 0) is None  # spans the boundary
    assert capture.find_bytes(b"\x02\x01", 1) == 1
    assert capture.find_bytes(b"\x02\x01", 0) == 0


def test_conversations_count_per_link(toy_capture: Callable[[int], Capture]) -> None:
    capture = toy_capture(20)
    capture._latency[1] = 2_000_000
    [stats] = capture.conversations()
    assert stats.messages == 20
    assert (stats.to_device, stats.from_device) == (10, 10)
    assert stats.errors == 2
    assert stats.bytes == 60
    assert stats.latency_mean_ns == 2_000_000
    assert capture.counts() == (2, 0, 0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.binary(max_size=40),
            st.sampled_from(Direction),
            st.text(max_size=30),
            st.sampled_from([None, *Severity]),
            st.booleans(),
        ),
        max_size=30,
    )
)
def test_storage_round_trips_arbitrary_records(
    items: list[tuple[bytes, Direction, str, Severity | None, bool]],
) -> None:
    capture = Capture()
    for number, (data, direction, summary, severity, junk) in enumerate(items, start=1):
        problems = () if severity is None else (Problem(severity, "x.y", "z"),)
        capture.append(
            make_record(
                number,
                data=data,
                direction=direction,
                summary=summary,
                problems=problems,
                junk=junk,
            )
        )
    for index, (data, direction, summary, severity, junk) in enumerate(items):
        row = capture.row(index)
        assert capture.data(index) == data
        assert row.summary == summary.encode("utf-8", "replace").decode("utf-8", "replace")
        assert row.direction is direction
        assert row.worst is severity
        assert row.is_junk is junk
        assert capture.index_of(row.number) == index
    worst = [severity for _d, _dir, _s, severity, _j in items]
    assert capture.counts() == (
        worst.count(Severity.ERROR),
        worst.count(Severity.WARNING),
        worst.count(Severity.NOTE),
    )


def test_row_storage_is_compact() -> None:
    capture = Capture()
    for number in range(1, 20_001):
        capture.append(make_record(number, data=bytes(20)))
    per_row = capture.memory_bytes() / len(capture)
    # 20 data bytes + a ~10-byte summary + about 90 bytes of arrays (with growth slack)
    assert per_row < 160


def test_redecoding_matches_the_pipeline(session_capture: Path) -> None:
    records = list(iter_records(open_source(str(session_capture)), Pipeline()))
    capture = Capture()
    capture.extend(records)
    assert len(capture) == len(records) > 10
    for index, record in enumerate(records):
        again = capture.dissection(index)
        assert capture.summary(index) == record.dissection.summary
        assert capture.problems(index) == record.all_problems
        if record.dissection.kind not in (Kind.JUNK, Kind.MALFORMED):
            assert again.fields == record.dissection.fields


def SMALL_BYTES(low: int, high: int) -> st.SearchStrategy[bytes]:  # noqa: N802 - a strategy
    """Bytes over a 3-letter alphabet, so needles actually occur."""
    return st.lists(st.sampled_from([0x61, 0x62, 0x02]), min_size=low, max_size=high).map(bytes)


def _reference_find(rows: list[bytes], needle: bytes, start: int, backwards: bool) -> int | None:
    count = len(rows)
    order = (
        [*range(start, -1, -1), *range(count - 1, start, -1)]
        if backwards
        else [*range(start, count), *range(start)]
    )
    return next((i for i in order if needle in rows[i]), None)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(SMALL_BYTES(0, 12), min_size=1, max_size=25),
    needle=SMALL_BYTES(1, 3),
    start_fraction=st.floats(0, 1),
    backwards=st.booleans(),
)
def test_find_bytes_agrees_with_a_row_by_row_search(
    monkeypatch: pytest.MonkeyPatch,
    rows: list[bytes],
    needle: bytes,
    start_fraction: float,
    backwards: bool,
) -> None:
    monkeypatch.setattr(row_search, "SEARCH_WINDOW", 4)  # exercise the windows
    capture = Capture()
    for number, data in enumerate(rows, start=1):
        capture.append(make_record(number, data=data))
    start = min(len(rows) - 1, int(start_fraction * len(rows)))
    expected = _reference_find(rows, needle, start, backwards)
    assert capture.find_bytes(needle, start, backwards=backwards) == expected
