"""The pipeline with a toy line protocol: selection, orientation, settling, gaps, bugs."""

from __future__ import annotations

import itertools
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sniffer.pipeline as pipeline_module
from dissectors.api import Direction, Kind, Record
from sniffer import settle as settle_module
from sniffer.pipeline import RAW_PROTOCOL, Pipeline
from sniffer.sources.base import Chunk, Side
from tests.helpers import LINE, chunk, closed, gap, tcp_info, udp_info


def run(pipeline: Pipeline, events: list[object]) -> list:
    records = []
    for event in events:
        records.extend(pipeline.process(event))  # type: ignore[arg-type]
    records.extend(pipeline.finish())
    return records


def test_sniffed_link_pairs_request_and_response_across_chunks():
    info = tcp_info()
    pipeline = Pipeline(dissectors=(LINE,))
    records = run(
        pipeline,
        [
            chunk(info, 0, b"#REQ 1\n#RE", 0.0),
            chunk(info, 0, b"Q 2\n", 0.1),
            chunk(info, 1, b"#RSP 2\n#RSP 1\n", 0.25),
        ],
    )
    assert [r.dissection.summary for r in records] == ["REQ 1", "REQ 2", "RSP 2", "RSP 1"]
    assert [r.number for r in records] == [1, 2, 3, 4]
    assert records[0].response_in == 4
    assert records[3].request_in == 1
    assert records[3].latency_ns == 250_000_000
    assert records[1].time_ns == 0  # the frame started in the first chunk
    assert records[0].direction is Direction.TO_DEVICE
    assert records[2].direction is Direction.FROM_DEVICE
    assert pipeline.endpoints(records[2]) == ("10.0.0.2:9999", "10.0.0.1:40000")


def test_orientation_from_the_other_side_when_first_side_is_ambiguous():
    info = tcp_info()
    pipeline = Pipeline("line", dissectors=(LINE,))
    records = run(pipeline, [chunk(info, 0, b"#PIC a\n", 0.0), chunk(info, 1, b"#REQ 1\n", 0.1)])
    # side B sent a request, so side B is the host and side A the device
    assert records[0].direction is Direction.FROM_DEVICE
    assert records[1].direction is Direction.TO_DEVICE


def test_records_are_held_until_settled_then_released_in_order():
    info = tcp_info()
    pipeline = Pipeline(dissectors=(LINE,), settle_ns=1_000_000_000)
    assert pipeline.process(chunk(info, 0, b"#REQ 1\n", 0.0)) == []
    released = pipeline.process(chunk(info, 1, b"#RSP 1\n", 1.5))
    assert [r.number for r in released] == [1]
    assert released[0].response_in == 2  # annotated before it left the pipeline


def test_unanswered_request_is_flagged_before_release():
    info = tcp_info()
    pipeline = Pipeline(dissectors=(LINE,))
    records = run(pipeline, [chunk(info, 0, b"#REQ 1\n", 0.0), chunk(info, 0, b"#REQ 2\n", 5.0)])
    assert [p.code for p in records[0].problems] == ["line.unanswered"]


def test_immediate_mode_emits_at_once_and_reports_later_annotations():
    info = tcp_info()
    pipeline = Pipeline(dissectors=(LINE,), immediate=True, settle_ns=1_000_000_000)
    first = pipeline.process(chunk(info, 0, b"#REQ 1\n", 0.0))
    assert [r.number for r in first] == [1]
    assert pipeline.process(chunk(info, 1, b"#RSP 1\n", 0.5))[0].request_in == 1
    pipeline.process(chunk(info, 0, b"#REQ 9\n", 3.0))
    updates = pipeline.take_updates()
    assert [r.number for r in updates] == [1]
    assert updates[0].response_in == 2


def test_junk_and_malformed_and_dissector_bug_are_kept_as_records():
    info = tcp_info()
    pipeline = Pipeline("line", dissectors=(LINE,))
    records = run(pipeline, [chunk(info, 0, b"xx#NOPE\n#BUG\n#REQ 1\n", 0.0)])
    kinds = [r.dissection.kind for r in records]
    assert kinds == [Kind.JUNK, Kind.MALFORMED, Kind.MALFORMED, Kind.REQUEST]
    assert records[0].data == b"xx"
    assert [p.code for p in records[1].all_problems] == ["line.malformed"]
    assert [p.code for p in records[2].all_problems] == ["line.dissector_bug"]
    assert b"".join(r.data for r in records) == b"xx#NOPE\n#BUG\n#REQ 1\n"


def test_gap_becomes_a_record_and_offsets_skip_the_hole():
    info = tcp_info()
    pipeline = Pipeline("line", dissectors=(LINE,))
    records = run(
        pipeline,
        [
            chunk(info, 0, b"#REQ 1\n#RE", 0.0),
            gap(info, 0, 100, 0.1),
            chunk(info, 0, b"#REQ 3\n", 0.2),
        ],
    )
    assert [r.dissection.type for r in records] == ["REQ", "junk", "gap", "REQ"]
    assert records[2].all_problems[0].code == "tcp.gap"
    assert records[3].item.start == 7 + 3 + 100


def test_unclaimed_link_is_shown_as_raw_data():
    info = tcp_info(port_b=1234)
    pipeline = Pipeline(dissectors=(LINE,))
    records = run(pipeline, [chunk(info, 0, b"\x00" * 80, 0.0), chunk(info, 1, b"hi", 0.1)])
    assert [r.protocol for r in records] == [RAW_PROTOCOL, RAW_PROTOCOL]
    assert pipeline.link_protocols == {1: RAW_PROTOCOL}
    assert len(records[0].data) == 80


def test_port_binding_selects_without_sniffing():
    info = tcp_info(port_b=7777)
    pipeline = Pipeline(dissectors=(LINE,))
    records = run(pipeline, [chunk(info, 0, b"#PIC x\n", 0.0)])
    assert records[0].protocol == "line"


def test_udp_datagram_is_one_message_and_leftovers_are_junk():
    info = udp_info()
    pipeline = Pipeline("line", dissectors=(LINE,))
    records = run(pipeline, [chunk(info, 0, b"#REQ 1\n#RE", 0.0), chunk(info, 1, b"#RSP 1\n", 0.1)])
    assert [r.dissection.type for r in records] == ["REQ", "junk", "RSP"]
    assert records[2].request_in == 1


def test_link_closed_flushes_and_tells_the_matcher():
    info = tcp_info()
    pipeline = Pipeline("line", dissectors=(LINE,))
    records = run(pipeline, [chunk(info, 0, b"#REQ 1\n#PART", 0.0), closed(info, 0.5)])
    assert [r.dissection.type for r in records] == ["REQ", "junk"]
    assert pipeline._matchers["line"].closed == [1]  # type: ignore[attr-defined]


def test_objects_are_handed_over_once():
    info = tcp_info()
    pipeline = Pipeline("line", dissectors=(LINE,))
    run(pipeline, [chunk(info, 0, b"#PIC one\n#PIC two\n", 0.0)])
    assert [o.name for o in pipeline.take_objects()] == ["one.bin", "two.bin"]
    assert pipeline.take_objects() == []


def settled_by_rule(
    made: list[list[Record]], now: list[int], settle_ns: int, max_held: int, batch: int
) -> tuple[list[list[int]], int]:
    """The settle rule, item by item: a call releases only at a tick (capture time moved
    ``EXPIRE_EVERY_NS`` since the last one) or when ``batch`` records wait; it then releases
    from the oldest held record while it is no newer than the horizon, or while more than
    ``max_held`` are held (released early). The numbers released per call and how many early."""
    held: deque[Record] = deque()
    waiting: list[Record] = []
    released: list[list[int]] = []
    early = 0
    last_tick = 0
    for records, now_ns in zip(made, now, strict=True):
        waiting += records
        out = []
        tick = now_ns - last_tick >= pipeline_module.EXPIRE_EVERY_NS
        if tick:
            last_tick = now_ns
        if tick or len(waiting) >= batch:
            held.extend(waiting)
            waiting = []
            while held:
                if held[0].time_ns > now_ns - settle_ns:
                    if len(held) <= max_held:
                        break
                    early += 1
                out.append(held.popleft().number)
        released.append(out)
    return released, early


@settings(max_examples=150, deadline=None)
@given(
    chunks=st.lists(
        st.tuples(st.integers(0, 1), st.integers(1, 4), st.integers(-8, 12)),
        min_size=1,
        max_size=40,
    ),
    max_held=st.integers(1, 8),
    batch=st.integers(1, 12),
    use_c=st.booleans(),
)
def test_records_settle_by_the_rule_even_when_time_goes_back(
    chunks: list[tuple[int, int, int]], max_held: int, batch: int, use_c: bool
) -> None:
    info = tcp_info()
    settle_ns = 1_000_000_000
    released: list[list[int]] = []
    records: list[Record] = []
    made_up_to: list[int] = []
    now: list[int] = []
    time_ns = now_ns = 0
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline_module, "MAX_HELD_RECORDS", max_held)
        patch.setattr(pipeline_module, "RELEASE_BATCH", batch)
        patch.setattr(settle_module, "KEEP_RELEASED", 2)
        patch.setattr(settle_module, "use_c", use_c)
        pipeline = Pipeline("line", dissectors=(LINE,), settle_ns=settle_ns)
        for side, lines, steps in chunks:
            time_ns += steps * 250_000_000  # back too: capture times out of order
            now_ns = max(now_ns, time_ns)
            data = b"".join(b"#PIC %d\n" % i for i in range(lines))
            out = pipeline.process(Chunk(info, Side(side), time_ns, data))
            released.append([r.number for r in out])
            records += out
            made_up_to.append(pipeline.stats.records)
            now.append(now_ns)
        early = pipeline.stats.released_early
        records += pipeline.finish()
    by_number = sorted(records, key=lambda r: r.number)
    assert [r.number for r in by_number] == list(range(1, len(by_number) + 1))
    made = [by_number[a:b] for a, b in itertools.pairwise([0, *made_up_to])]
    assert (released, early) == settled_by_rule(made, now, settle_ns, max_held, batch)
