"""``ChunkRuns`` events (``PcapSource.run_events``) give the pipeline exactly what their chunks
one by one give: the same records, objects, transfers, counters and tracker state, in bulk mode
without rows (``objects``, where the run saves work) and with rows (where it is unpacked)."""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path

import pytest

from benchmarks import dualcam_capture
from sniffer import bulk as bulk_module
from sniffer.packet_writer import CaptureWriter
from sniffer.pipeline import Pipeline
from sniffer.sources import PcapSource
from sniffer.sources.base import Chunk, ChunkRuns, Event, PieceRun
from sniffer.sources.pcap_file import CaptureReader
from tests.dissectors.test_dualcam_runs import _record_key, _tracker_state, drive_objects

CAPTURES = sorted(Path(__file__).resolve().parents[2].glob("captures/**/*.pcapng"))

Outcome = tuple[object, ...]


def play(events: Iterable[Event | ChunkRuns], directory: Path, *, rows: bool) -> Outcome:
    """What ``objects`` (without ``rows``) or ``read`` (with) gets from these events."""
    pipeline = Pipeline(settle_ns=0 if not rows else 3_000_000_000, rows=rows)
    records = drive_objects(pipeline, events, directory)
    return (
        {path.name: path.read_bytes() for path in sorted(directory.iterdir())},
        [(*_record_key(record), record.number) for record in records],
        [
            (t.name, t.received, t.verified, t.outcome, t.last_record, t.details)
            for t in pipeline.transfers()
        ],
        pipeline.stats,
        _tracker_state(pipeline),
    )


def as_pcap(path: Path, directory: Path, *, stretch: int = 1) -> Path | None:
    """A classic pcap copy (the fast path's runs need one), times ``stretch``ed apart."""
    packets = list(CaptureReader(path).packets())
    linktypes = {linktype for _t, linktype, _data in packets}
    if len(linktypes) != 1:
        return None
    first = packets[0][0] if packets else 0
    copy = directory / (path.stem + ".pcap")
    with CaptureWriter(copy, linktype=linktypes.pop()) as writer:
        writer.write_all((first + (t - first) * stretch, data) for t, _lt, data in packets)
    return copy


def events_of(path: Path, *, runs: bool) -> list[Event | ChunkRuns]:
    source = PcapSource(path)
    return list(source.run_events() if runs else source.events())


def assert_runs_change_nothing(path: Path, tmp_path: Path) -> None:
    chunks = events_of(path, runs=False)
    runs = events_of(path, runs=True)
    for rows in (False, True):
        reference = play(chunks, tmp_path / f"chunks-{rows}", rows=rows)
        assert play(runs, tmp_path / f"runs-{rows}", rows=rows) == reference


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
@pytest.mark.parametrize("stretch", [1, 40])
def test_bundled_captures(path: Path, tmp_path: Path, stretch: int) -> None:
    """Stretched, chunks of one run cross the matchers' expire ticks."""
    copy = as_pcap(path, tmp_path, stretch=stretch)
    if copy is None:
        pytest.skip("several link types: no classic pcap copy")
    assert_runs_change_nothing(copy, tmp_path)


def test_benchmark_capture_comes_in_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = dualcam_capture.generate(tmp_path / "cam.pcap", 1_500_000, connections=3)
    runs = events_of(info.path, runs=True)
    pieces = [len(p) for e in runs if isinstance(e, ChunkRuns) for _i, _s, p in e.runs]
    assert sum(pieces) > 2 * len(runs) // 3
    assert_runs_change_nothing(info.path, tmp_path)
    monkeypatch.setattr(bulk_module, "MAX_HELD_BYTES", 4_000)
    assert_runs_change_nothing(info.path, tmp_path / "small")


@pytest.mark.parametrize("seed", range(3))
def test_random_groupings_of_chunks(tmp_path: Path, seed: int) -> None:
    """Any grouping of consecutive chunks of a link side into runs, times spread over many
    expire ticks."""
    info = dualcam_capture.generate(tmp_path / "cam.pcap", 400_000, connections=2)
    rng = random.Random(seed)
    events: list[Event | ChunkRuns] = []
    for event in events_of(info.path, runs=False):
        if isinstance(event, Chunk):
            event = Chunk(event.info, event.side, event.time_ns + rng.randrange(10**8), event.data)
        events.append(event)
    grouped: list[Event | ChunkRuns] = []
    for event in events:
        last = grouped[-1] if grouped else None
        if not isinstance(event, Chunk) or rng.random() < 0.3:
            grouped.append(event)
            continue
        run: PieceRun = (event.info, event.side, [event])
        if not isinstance(last, ChunkRuns) or rng.random() < 0.2:
            grouped.append(ChunkRuns([run]))
            continue
        runs = last.runs
        assert isinstance(runs, list)
        info, side, pieces = runs[-1]
        if info is event.info and side == event.side and rng.random() < 0.8:
            assert isinstance(pieces, list)
            pieces.append(event)
        else:
            runs.append(run)
    for rows in (False, True):
        reference = play(events, tmp_path / f"chunks-{rows}", rows=rows)
        assert play(grouped, tmp_path / f"runs-{rows}", rows=rows) == reference
