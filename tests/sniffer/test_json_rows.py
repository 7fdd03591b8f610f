"""``read -T json/jsonl`` in bulk mode (``sniffer.output.rows``) equals the Record path.

The reference: every frame decoded into a ``Record`` and written by ``record_to_dict`` as it
settles. The bulk path: ``Pipeline(sink=JsonRows.take_all)``, where well-formed SmartLPR
frames become LeanRecords, rendered by the dissector's C renderer when built, else through
the Records they stand for. The output must be the same bytes: on every bundled capture and
on random SmartLPR sessions, as JSON Lines and as one array, with and without hex.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dissectors.api import Direction, Kind, Link, Record, Severity
from dissectors.bulk import LeanRecord, LinkSide
from dissectors.smartlpr import runs
from dissectors.smartlpr.codec import decode, encode
from dissectors.smartlpr.records import Ack, Status
from sniffer import cli
from sniffer import pipeline as pipeline_module
from sniffer.output.json import (
    Endpoints,
    JsonArrayWriter,
    JsonLinesWriter,
    JsonWriter,
    record_to_dict,
)
from sniffer.output.rows import JsonRows, TextRows, record_of
from sniffer.pipeline import Pipeline
from sniffer.sources.base import ChunkRuns, Event
from tests.helpers import chunk, closed, tcp_info
from tests.sniffer.test_stats_bulk import (
    _events,
    _python_kernels,
    _session_events,
    in_runs,
    scan_kernel,  # noqa: F401 - a fixture
    session,
)

CAPTURES = sorted(Path(__file__).resolve().parents[2].glob("captures/**/*.pcapng"))
WRITERS: dict[str, type[JsonWriter]] = {"jsonl": JsonLinesWriter, "json": JsonArrayWriter}


def run_reference(
    events: Iterable[Event | ChunkRuns],
    protocol: str | None,
    write: Callable[[Record, int, Endpoints], None],
) -> None:
    """The Record path: ``write(record, base_ns, endpoints)`` for every record as it settles."""
    pipeline = Pipeline(protocol, keep_objects=False)
    base: list[int] = []

    def take(record: Record) -> None:
        if not base:
            base.append(record.time_ns)
        write(record, base[0], pipeline.endpoints)

    for event in events:
        for record in pipeline.process(event):
            take(record)
    for record in pipeline.finish():
        take(record)


def run_bulk(
    events: Iterable[Event | ChunkRuns], rows: JsonRows | TextRows, protocol: str | None
) -> int:
    """The bulk path into ``rows`` (closed at the end); how many LeanRecords it rendered."""
    lean = 0

    def sink(items: list[Record | LeanRecord]) -> None:
        nonlocal lean
        lean += sum(type(item) is LeanRecord for item in items)
        rows.take_all(items)

    pipeline = Pipeline(protocol, keep_objects=False, sink=sink)
    rows.follow(pipeline.endpoints, pipeline.stats)
    for event in events:
        assert pipeline.process(event) == []
    assert pipeline.finish() == []
    rows.close()
    return lean


def reference_output(
    events: Iterable[Event | ChunkRuns], form: str, *, with_hex: bool, protocol: str | None
) -> bytes:
    out = io.BytesIO()
    writer = WRITERS[form](out)
    run_reference(
        events,
        protocol,
        lambda record, base_ns, ends: writer.write(
            record_to_dict(record, base_ns, ends, with_hex=with_hex)
        ),
    )
    writer.close()
    return out.getvalue()


def bulk_output(
    events: Iterable[Event | ChunkRuns], form: str, *, with_hex: bool, protocol: str | None
) -> tuple[bytes, int]:
    """The bulk path's output, and how many LeanRecords it rendered."""
    out = io.BytesIO()
    lean = run_bulk(events, JsonRows(WRITERS[form](out), with_hex=with_hex), protocol)
    return out.getvalue(), lean


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.usefixtures("scan_kernel")
def test_bulk_json_equals_the_record_path_on_every_capture(path: Path) -> None:
    events = _events(path)
    for form in WRITERS:
        for with_hex in (True, False):
            reference = reference_output(events, form, with_hex=with_hex, protocol=None)
            assert bulk_output(events, form, with_hex=with_hex, protocol=None)[0] == reference
    runs = _events(path, runs=True)
    reference = reference_output(events, "jsonl", with_hex=True, protocol=None)
    assert bulk_output(runs, "jsonl", with_hex=True, protocol=None)[0] == reference


def test_the_normal_session_is_mostly_lean_records() -> None:
    events = _events(
        Path(__file__).resolve().parents[2] / "captures/smartlpr/normal-session.pcapng"
    )
    output, lean = bulk_output(events, "jsonl", with_hex=True, protocol=None)
    assert output.count(b"\n") == 22
    # the first frame of each side confirms the Size reading; pings and CurrentFrame are Records
    assert lean == 18


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(session, st.sampled_from([pipeline_module.RELEASE_BATCH, 1, 2, 5]))
def test_bulk_json_equals_the_record_path_on_random_sessions(
    data: tuple[object, ...], release_batch: int
) -> None:
    events = _session_events(data)
    with pytest.MonkeyPatch.context() as patch:
        # small batches: the lanes stop after every few chunks, as on a busy capture
        patch.setattr(pipeline_module, "RELEASE_BATCH", release_batch)
        reference = reference_output(events, "jsonl", with_hex=True, protocol="smartlpr")
        assert bulk_output(events, "jsonl", with_hex=True, protocol="smartlpr")[0] == reference
        assert bulk_output(in_runs(events), "jsonl", with_hex=True, protocol="smartlpr")[0] == (
            reference
        )
        _python_kernels(patch)
        assert bulk_output(events, "jsonl", with_hex=True, protocol="smartlpr")[0] == reference
        assert bulk_output(in_runs(events), "jsonl", with_hex=True, protocol="smartlpr")[0] == (
            reference
        )


@pytest.mark.parametrize("form", ["jsonl", "json"])
def test_read_writes_every_message_through_the_bulk_path(
    form: str, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``camshark read -T json/jsonl FILE`` takes the bulk path; ``-c`` (selective) does not:
    the same bytes either way."""
    path = Path(__file__).resolve().parents[2] / "captures/smartlpr/faults.pcapng"
    taken: list[int] = []

    class CountedRows(JsonRows):
        def take_all(self, items: list[Record | LeanRecord]) -> None:
            taken.append(len(items))
            super().take_all(items)

    monkeypatch.setattr(cli, "JsonRows", CountedRows)
    outputs = []
    for extra in ([], ["-c", "1000"]):
        assert cli.main(["read", "-T", form, *extra, str(path)]) == 0
        outputs.append(capsysbinary.readouterr().out)
    assert sum(taken) == 32  # the first run only
    assert outputs[0] == outputs[1]
    assert outputs[0] == reference_output(_events(path), form, with_hex=True, protocol=None)
    assert outputs[0].count(b'"schema":"camshark/1"') == 32


def test_a_row_whose_problems_lack_texts_still_renders() -> None:
    """``Stats`` sets ``problems`` without texts; a text added later is kept, the missing
    ones are empty, and ``record_of`` never fails on the mismatch."""
    frame = encode(Ack(), 1, 4)
    side = LinkSide(
        "smartlpr", Link(1, "tcp", "10.0.0.1:4000", "10.0.0.2:8051"), Direction.TO_DEVICE
    )
    row = LeanRecord(7, side, 10**9, len(frame), ("smartlpr", "ACK", Kind.ACK), frame, 0, 100)
    row.problems = [("smartlpr.unanswered", Severity.NOTE)]
    assert [p.text for p in record_of(row, decode).problems] == [""]
    row.add_problem(Severity.WARNING, "smartlpr.id_reuse", "reused")
    assert row.texts == ["", "reused"]
    row.texts = ["only one"]
    record = record_of(row, decode)
    assert [(p.code, p.text) for p in record.problems] == [
        ("smartlpr.unanswered", "only one"),
        ("smartlpr.id_reuse", ""),
    ]
    assert record.item.start == 100 and record.item.data == frame


def _many_links_events(links: int, closes: set[int]) -> list[Event]:
    """``links`` SmartLPR links taking turns, a Status and its reply each turn, ``closes``
    of them closed after their second turn, each then replaced by a link of a new id."""
    events: list[Event] = []
    infos = {index: tcp_info(index + 1, 40000 + index, 5232) for index in range(links)}
    time_s = 1_700_000_000.0
    for turn in range(4):
        for index in range(links):
            info = infos[index]
            conv_id = 2 * turn + 2
            time_s += 0.05
            events.append(chunk(info, 0, encode(Status(), 1, conv_id), time_s))
            events.append(chunk(info, 1, encode(Ack(), 1, conv_id), time_s + 0.001))
            if turn == 1 and index in closes:
                events.append(closed(info, time_s + 0.002))
                infos[index] = tcp_info(1000 + index, 50000 + index, 5232)
    return events


@pytest.mark.usefixtures("scan_kernel")
def test_bulk_json_equals_the_record_path_over_many_links_some_closed() -> None:
    # the lane's sides of closed links are forgotten: the others move into their places
    events = _many_links_events(40, {0, 7, 8, 39})
    reference = reference_output(events, "jsonl", with_hex=True, protocol="smartlpr")
    assert reference.count(b"\n") == 40 * 4 * 2
    output, lean = bulk_output(in_runs(events), "jsonl", with_hex=True, protocol="smartlpr")
    assert output == reference
    assert lean > 40 * 4  # past each side's first frame, the lanes took them


def test_an_uninitialised_lane_refuses() -> None:
    if runs.c_lane is None:
        pytest.skip("the C kernels were not built")
    lane = runs.c_lane.__new__(runs.c_lane)
    with pytest.raises(RuntimeError, match="not initialised"):
        lane.read([], 0, 0, 0, 0, 0, 1, [])
    with pytest.raises(RuntimeError, match="not initialised"):
        lane.forget(object())
