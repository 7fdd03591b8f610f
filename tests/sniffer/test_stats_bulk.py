"""``camshark stats`` on the bulk path (FrameRuns, LeanRecords) equals the reference path.

The reference: every frame decoded into a ``Record`` and counted by ``Stats.add`` as it
settles. The bulk path: ``Pipeline(sink=Stats.take_all)``, where well-formed SmartLPR frames
are cut by the scan kernel and never become Frames or Dissections. Both reports, text and
JSON, must be identical: on every bundled capture, and on random SmartLPR sessions with
faults, odd Size readings, junk, gaps and random TCP splits; with the C scan kernel and with
its pure-Python twin.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable
from pathlib import Path
from typing import cast

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dissectors import speedups
from dissectors.api import Record
from dissectors.bulk import LeanRecord
from dissectors.smartlpr import DISSECTOR, framing, pairing
from dissectors.smartlpr.codec import encode
from dissectors.smartlpr.records import (
    Ack,
    Body,
    CurrentFrame,
    CurrentFrameResponse,
    GetPicture,
    GetPictureResponse,
    LicenseInfo,
    Nak,
    Ping,
    RawBody,
    Status,
    StatusResponse,
    Trigger,
)
from dissectors.smartlpr.tables import SizeReading
from sniffer import stats as stats_module
from sniffer.output.json import dumps
from sniffer.pipeline import Pipeline
from sniffer.sources import open_source, source_events
from sniffer.sources.base import Chunk, ChunkRuns, Event, Piece, PieceRun
from sniffer.stats import Stats, render, to_json
from tests.helpers import chunk, closed, gap, tcp_info

CAPTURES = sorted(Path(__file__).resolve().parents[2].glob("captures/**/*.pcapng"))
CAPTURES_SMARTLPR = Path(__file__).resolve().parents[2] / "captures" / "smartlpr"


def _report(stats: Stats, pipeline: Pipeline) -> tuple[str, bytes]:
    stats.transfers = pipeline.transfers()
    return "\n".join(render(stats, "x")), dumps(to_json(stats, "x"))


def reference_report(events: Iterable[Event], protocol: str | None = None) -> tuple[str, bytes]:
    stats = Stats()
    pipeline = Pipeline(protocol, keep_objects=False)
    for event in events:
        for record in pipeline.process(event):
            stats.add(record)
    for record in pipeline.finish():
        stats.add(record)
    return _report(stats, pipeline)


def bulk_report(
    events: Iterable[Event | ChunkRuns], protocol: str | None = None
) -> tuple[tuple[str, bytes], int]:
    """The bulk path's report, and how many LeanRecords it counted."""
    stats = Stats()
    lean = 0

    def sink(items: list[Record | LeanRecord]) -> None:
        nonlocal lean
        rows = [item for item in items if type(item) is LeanRecord]
        lean += len(rows)
        for row in rows:  # read_run fills the slots one by one: none may be left unset
            for slot in LeanRecord.__slots__:
                getattr(row, slot)
        stats.take_all(items)

    pipeline = Pipeline(protocol, keep_objects=False, sink=sink)
    for event in events:
        assert pipeline.process(event) == []
    assert pipeline.finish() == []
    return _report(stats, pipeline), lean


def _python_kernels(patch: pytest.MonkeyPatch) -> None:
    """The pure-Python scan, pairing and counting kernels from now on."""
    patch.setattr(framing, "smartlpr_scan", speedups.smartlpr_scan_python)
    patch.setattr(pairing, "Pairing", pairing.PairingPython)
    patch.setattr(stats_module, "use_c", False)


@pytest.fixture(params=["c", "python"])
def scan_kernel(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with the C kernels (when built) and with the pure-Python ones."""
    if request.param == "c" and not (speedups.HAVE_C and pairing.HAVE_C and stats_module.HAVE_C):
        pytest.skip("the C kernels were not built")
    if request.param == "python":
        _python_kernels(monkeypatch)
    return str(request.param)


def _events(path: Path, *, runs: bool = False) -> list[Event | ChunkRuns]:
    source = open_source(str(path))
    try:
        return list(source_events(source, runs=runs))
    finally:
        source.close()


def in_runs(events: Iterable[Event]) -> list[Event | ChunkRuns]:
    """``events`` with every stretch of consecutive chunks given as one ``ChunkRuns``."""
    grouped: list[Event | ChunkRuns] = []
    for event in events:
        last = grouped[-1] if grouped else None
        if not isinstance(event, Chunk):
            grouped.append(event)
        elif not isinstance(last, ChunkRuns):
            grouped.append(ChunkRuns([(event.info, event.side, [event])]))
        else:
            runs = cast(list[PieceRun], last.runs)
            info, side, pieces = runs[-1]
            if info is event.info and side == event.side:
                cast(list[Piece], pieces).append(event)
            else:
                runs.append((event.info, event.side, [event]))
    return grouped


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_bulk_stats_equal_the_reference_on_every_capture(path: Path, scan_kernel: str) -> None:
    events = cast(list[Event], _events(path))
    reference = reference_report(events)
    report, lean = bulk_report(events)
    assert report == reference
    if path.parent.name == "smartlpr":
        assert lean > 0  # the lean path was really taken
    assert bulk_report(_events(path, runs=True))[0] == reference
    assert bulk_report(in_runs(events))[0] == reference


# -- random sessions ------------------------------------------------------------------------

_PLATE = LicenseInfo(1, 5, 1_700_000_000, 0, "AB12", (90, 91, 92, 93), True, "AB 12", "E")
_JPEG = b"\xff\xd8" + b"x" * 20 + b"\xff\xd9"

BODIES: list[Body] = [
    Status(),
    Ack(),
    Trigger(5),
    Trigger(6),
    StatusResponse(1, 0, 1),
    StatusResponse(0, 0, 1),
    StatusResponse(1, 0, 2),
    _PLATE,
    LicenseInfo(1, -1, 1_700_000_100, 10, "X1", (50, 60), False, "", ""),
    LicenseInfo(1, 6, 0, 0, "X1", (50, 60), False, "", ""),
    LicenseInfo(1, 5, 1_700_000_000, 1_000_000, "X1", (50,), False, "", ""),
    LicenseInfo(1, 5, 1_700_000_000, 1, "X1", (50, 101), False, "", ""),
    LicenseInfo(1, 5, 100, 1, "X1", (50,), False, "", ""),  # clock drift
    GetPicture(4),
    GetPictureResponse(1, 2, 3, 4, len(_JPEG), _JPEG),
    GetPictureResponse(1, 2, 3, 4, 0, b""),
    CurrentFrame(100),
    CurrentFrameResponse(len(_JPEG) + 5, _JPEG),
    Ping(8050),
    Ping(0),
    Nak(1, 0),
    Nak(4, 0),
    Nak(6, 0),
    Nak(3, 2),
    Nak(9, 0),
    RawBody(67, b"\x01"),  # a Trigger of the wrong length
    RawBody(5, b"abc"),  # an unknown event
    RawBody(150, b""),  # an unknown response
]

message = st.tuples(
    st.integers(0, 1),  # link
    st.sampled_from(BODIES),
    st.integers(1, 2),  # unit
    st.integers(0, 5),  # Id
    st.sampled_from([None, None, None, 0, 1, 3]),  # Version (None: the record's)
    st.sampled_from([None] * 8 + [0x00, 0x5A]),  # a forced (usually bad) Bcc
    st.sampled_from([0, 0, 0, 1_000_000, 500_000_000, 2_500_000_000]),  # ns after the previous
    st.sampled_from([b""] * 10 + [b"\x02\x01junk", b"zz"]),  # junk before the frame
)
session = st.tuples(
    st.lists(message, min_size=1, max_size=40),
    st.tuples(st.sampled_from(SizeReading), st.sampled_from(SizeReading)),  # per link
    st.lists(st.integers(0, 2000), max_size=12),  # cut points within each side's stream
    st.booleans(),  # a gap in link 0's unit side
    st.booleans(),  # close link 1 before the end
)


def _session_events(data: tuple[object, ...]) -> list[Event]:
    messages, readings, cuts, with_gap, close = data  # type: ignore[misc]
    infos = [tcp_info(1, 40000, 5232), tcp_info(2, 40001, 5232)]
    streams: dict[tuple[int, int], list[tuple[int, bytes]]] = {}
    time_ns = 1_700_000_000_000_000_000
    for link, body, unit, conv_id, version, bcc, delay, junk in messages:
        time_ns += delay
        side = 0 if isinstance(body, Trigger | Status | GetPicture | CurrentFrame | Ping) else 1
        frame = encode(body, unit, conv_id, version, size_reading=readings[link], bcc=bcc)
        streams.setdefault((link, side), []).append((time_ns, junk + frame))
    events: list[Event] = []
    for (link, side), parts in streams.items():
        stream = b"".join(data for _t, data in parts)
        starts = [0]
        for _t, data in parts:
            starts.append(starts[-1] + len(data))
        points = sorted({0, *(c % (len(stream) + 1) for c in cuts), *starts[:-1], len(stream)})
        for begin, end in itertools.pairwise(points):
            owner = max(i for i, s in enumerate(starts[:-1]) if s <= begin)
            when = parts[owner][0]
            if with_gap and link == 0 and side == 1 and begin == points[len(points) // 2]:
                events.append(gap(infos[link], side, 7, when / 1e9))
            events.append(chunk(infos[link], side, stream[begin:end], when / 1e9))
    events.sort(key=lambda e: e.time_ns)
    if close:
        events.append(closed(infos[1], events[-1].time_ns / 1e9))
    return events


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(session)
def test_bulk_stats_equal_the_reference_on_random_sessions(data: tuple[object, ...]) -> None:
    events = _session_events(data)
    reference = reference_report(events, "smartlpr")
    assert bulk_report(events, "smartlpr")[0] == reference
    assert bulk_report(in_runs(events), "smartlpr")[0] == reference
    with pytest.MonkeyPatch.context() as patch:
        _python_kernels(patch)
        assert reference_report(events, "smartlpr") == reference
        assert bulk_report(events, "smartlpr")[0] == reference
        assert bulk_report(in_runs(events), "smartlpr")[0] == reference


def test_a_clean_link_takes_the_lean_path_after_its_first_frame_per_side() -> None:
    info = tcp_info(1, 40000, 5232)
    central, unit = b"", b""
    for n in range(1, 51):
        central += encode(Status(), 1, 4 * n) + encode(Trigger(n), 1, 4 * n + 2)
        unit += encode(StatusResponse(1, 0, 1), 1, 4 * n) + encode(Ack(), 1, 4 * n + 2)
        unit += encode(_PLATE, 1, 2 * n + 1)  # a unit-opened event, left unanswered
    events: list[Event] = [
        chunk(info, 0, central[:1000], 1.0),
        chunk(info, 1, unit[:3000], 1.1),
        chunk(info, 0, central[1000:], 1.2),
        chunk(info, 1, unit[3000:], 1.3),
    ]
    report, lean = bulk_report(events, "smartlpr")
    assert report == reference_report(events, "smartlpr")
    assert lean == 250 - 2  # the first frame of each side confirms the Size reading
    summary = orjson.loads(report[1])
    assert {t["type"]: t["count"] for t in summary["types"]}["LicenseInfo"] == 50
    problems = {(p["code"], p["severity"]): p["count"] for p in summary["problems"]}
    assert problems[("smartlpr.trigger_latency", "note")] == 50
    # the events' ACKs were never sent, and the capture ended within the timeout
    assert problems[("smartlpr.unanswered", "note")] == 50


def test_without_the_smartlpr_matcher_every_frame_of_a_run_is_decoded_in_full() -> None:
    no_matcher = dataclasses.replace(DISSECTOR, new_matcher=None)
    events = _events(CAPTURES_SMARTLPR / "normal-session.pcapng")
    reports = []
    for sink in (None, "bulk"):
        stats = Stats()
        pipeline = Pipeline(
            keep_objects=False,
            dissectors=(no_matcher,),
            sink=stats.take_all if sink else None,
        )
        for event in events:
            for record in pipeline.process(event):
                stats.add(record)
        for record in pipeline.finish():
            stats.add(record)
        reports.append(_report(stats, pipeline))
    assert reports[0] == reports[1]


def test_bulk_mode_cannot_be_immediate() -> None:
    with pytest.raises(ValueError, match="immediate"):
        Pipeline(immediate=True, sink=Stats().take_all)
