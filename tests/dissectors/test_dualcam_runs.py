"""The DATA-run fast path (bulk mode without rows, ``Pipeline(rows=False)``, used by
``objects``) is exact.

Every capture is run twice, with one Record per frame and with runs of DATA frames taken in
bulk by the tracker; the written objects (every file's bytes and the index, frame lists
included), the transfers, the counters, what the tracker keeps of every file and every
Record both runs emit must be the same.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks import dualcam_capture
from dissectors.api import (
    Direction,
    Frame,
    Junk,
    Link,
    Record,
)
from dissectors.bulk import (
    FrameRun,
    PieceFramer,
)
from dissectors.checksums import crc16_kermit
from dissectors.dualcam import encode, spec, speedups
from dissectors.dualcam.framing import new_framer
from dissectors.dualcam.matching import DualCamMatcher
from sniffer import bulk as bulk_module
from sniffer.objects_writer import ObjectsWriter
from sniffer.pipeline import Pipeline
from sniffer.sources import open_source
from sniffer.sources.base import (
    Chunk,
    ChunkRuns,
    Event,
    Gap,
    LinkClosed,
    LinkInfo,
    Side,
    Transport,
)
from tests.dissectors.test_dualcam_real import REAL, chunks_of

CAPTURES = Path(__file__).resolve().parents[2] / "captures" / "dualcam"
IMEI = 356307042441013
T0 = 1_730_288_144_000_000_000


@dataclass
class Outcome:
    files: dict[str, bytes]
    records: dict[int, tuple[object, ...]]
    transfers: list[object]
    stats: object
    files_state: list[tuple[object, ...]]


def _record_key(record: Record) -> tuple[object, ...]:
    return (
        record.protocol,
        record.item.start,
        record.item.data,
        record.item.time_ns,
        record.dissection.type,
        record.dissection.summary,
        tuple(record.dissection.fields),
        record.all_problems,
        record.request_in,
        record.response_in,
        record.latency_ns,
    )


def drive_objects(
    pipeline: Pipeline, events: Iterable[Event | ChunkRuns], directory: Path
) -> list[Record]:
    """Feed ``events`` as ``camshark objects`` does (chunks may stay held), writing the
    objects into ``directory``; every record emitted."""
    writer = ObjectsWriter(directory)
    records: list[Record] = []
    for event in events:
        for record in pipeline.process(event):
            records.append(record)
            for obj in pipeline.take_objects():
                writer.write(obj)
    records += pipeline.finish()
    for obj in pipeline.take_objects():
        writer.write(obj)
    writer.close()
    return records


def _play(
    events: list[Event], directory: Path, *, bulk: bool, immediate: bool, settle_ns: int
) -> Outcome:
    pipeline = Pipeline(immediate=immediate, settle_ns=settle_ns, rows=not bulk)
    records = drive_objects(pipeline, events, directory)
    numbers = [record.number for record in records]
    assert numbers == sorted(numbers)
    return Outcome(
        {path.name: path.read_bytes() for path in sorted(directory.iterdir())},
        {record.number: _record_key(record) for record in records},
        [
            (t.name, t.received, t.verified, t.outcome, t.last_record, t.details)
            for t in pipeline.transfers()
        ],
        pipeline.stats,
        _tracker_state(pipeline),
    )


def _tracker_state(pipeline: Pipeline) -> list[tuple[object, ...]]:
    """What the tracker keeps of every file, beyond what the outputs show."""
    matcher = pipeline._matchers.get("dualcam")
    if matcher is None:
        return []
    assert isinstance(matcher, DualCamMatcher)
    return [
        (
            file.verified.as_tuples(),
            file.duplicates.as_tuples(),
            file.conflicts.as_tuples(),
            bytes(file.data),
            file.size,
            file.crc,
            file.chain_ok,
            file.position_known,
            file.next_packet,
            file.next_offset,
            file.received,
            file.in_flight,
            sorted(file.packets),
            file.frames,
            file.gaps_ms,
            file.first_data_ns,
            file.last_data_ns,
            file.last_record,
            file.last_time_ns,
            file.outcome,
            file.final_details,
        )
        for session in matcher._order
        for file in session.files
    ]


def assert_runs_change_nothing(
    events: list[Event], tmp_path: Path, *, immediate: bool = False, settle_ns: int = 0
) -> Outcome:
    """``objects`` runs with settle_ns 0 (and immediate on a live source)."""
    mode = {"immediate": immediate, "settle_ns": settle_ns}
    reference = _play(events, tmp_path / "frames", bulk=False, **mode)
    fast = _play(events, tmp_path / "runs", bulk=True, **mode)
    assert fast.files.keys() == reference.files.keys()
    for name, data in reference.files.items():
        assert fast.files[name] == data, name
    assert fast.transfers == reference.transfers
    assert fast.stats == reference.stats
    assert fast.files_state == reference.files_state
    for number, key in fast.records.items():
        assert key == reference.records[number]
    return fast


def capture_events(path: Path) -> list[Event]:
    source = open_source(str(path))
    try:
        return list(source.events())
    finally:
        source.close()


@pytest.fixture(params=["c", "python"])
def run_kernels(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with the C run kernels (when built) and with their pure-Python twins."""
    if request.param == "c" and not speedups.HAVE_C:
        pytest.skip("the C kernels were not built")
    if request.param == "python":
        for name in ("scan_data_frames", "take_data_frames"):
            monkeypatch.setattr(speedups, name, getattr(speedups, f"{name}_python"))
    return str(request.param)


@pytest.mark.parametrize("path", sorted(CAPTURES.glob("*.pcapng")), ids=lambda p: p.name)
def test_bundled_captures(path: Path, tmp_path: Path, run_kernels: str) -> None:
    assert_runs_change_nothing(capture_events(path), tmp_path)


def test_benchmark_capture_goes_through_the_runs(tmp_path: Path, run_kernels: str) -> None:
    info = dualcam_capture.generate(tmp_path / "cam.pcap", 1_500_000, connections=3)
    fast = assert_runs_change_nothing(capture_events(info.path), tmp_path)
    index = json.loads(fast.files["index.json"])
    assert len(index["objects"]) == info.files
    data_records = [key for key in fast.records.values() if key[4] == "DATA"]
    assert data_records == []  # every DATA frame was taken in bulk


def test_small_bound_on_held_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_module, "MAX_HELD_BYTES", 4_000)
    info = dualcam_capture.generate(tmp_path / "cam.pcap", 400_000, connections=2)
    assert_runs_change_nothing(capture_events(info.path), tmp_path)


REAL_LOGS = sorted(path.name for path in REAL.glob("*.json")) if REAL.exists() else []


@pytest.mark.parametrize("name", REAL_LOGS)
def test_real_logs(name: str, tmp_path: Path) -> None:
    link = Link(1, "tcp", "203.0.113.7:51234", "198.51.100.1:10014")
    info = LinkInfo(link, Transport.STREAM, 51234, 10014)
    events: list[Event] = [Chunk(info, Side.A, t, data) for t, data in chunks_of(name)]
    events.append(LinkClosed(info, events[-1].time_ns + 1))
    assert_runs_change_nothing(events, tmp_path)


@pytest.mark.parametrize("short", [0, 1, 500])
@pytest.mark.parametrize("announced", [-2, -1, 0])
def test_packets_past_the_announced_count(
    short: int, announced: int, tmp_path: Path, run_kernels: str
) -> None:
    """START announces fewer packets than come (or as many), those past the last one in a
    run of their own: the full ones are plain data, a short one sets the size (observe)."""
    file = bytes(i % 253 for i in range(4 * 1024 + short))
    frames = [frame for _, frame in encode.data_frames(file)]
    link = Link(1, "tcp", "10.0.0.1:4000", "10.0.0.9:5232")
    info = LinkInfo(link, Transport.STREAM, 4000, 5232)
    count = len(frames) + announced
    steps = [
        (Side.A, encode.init(IMEI, 0x44000400)),
        (Side.A, encode.start(count)),
        (Side.A, encode.sync(1)),
        (Side.A, b"".join(frames[: count - 1])),
        (Side.A, frames[count - 1]),
        (Side.B, encode.metadata_request()),  # the frames after it come in a run of their own
        (Side.A, b"".join(frames[count:])),
    ]
    events: list[Event] = [
        Chunk(info, side, T0 + index * 1_000_000, data)
        for index, (side, data) in enumerate(steps)
        if data
    ]
    events.append(LinkClosed(info, T0 + 10_000_000))
    assert_runs_change_nothing(events, tmp_path)


# -- random sessions, splits and faults --------------------------------------------------------


@dataclass
class Session:
    """One tracker connection: what each side sends, as (side, time, bytes or a gap)."""

    link_id: int
    steps: list[tuple[Side, int, bytes | int]]


def _session(draw: st.DrawFn, link_id: int) -> Session:
    rng = random.Random(draw(st.integers(0, 2**32)))
    size = draw(st.integers(1, 9000))
    file = b"\xff\xd8" + rng.randbytes(size)
    packets = list(encode.data_frames(file))
    count = len(packets) + draw(st.sampled_from([0, 0, 0, 1, -1, -2, 3]))
    now = T0 + link_id * 7_000_000
    steps: list[tuple[Side, int, bytes | int]] = []

    def send(side: Side, data: bytes | int, after_ms: float = 50) -> None:
        nonlocal now
        now += int(after_ms * 1_000_000)
        steps.append((side, now, data))

    send(Side.A, encode.init(IMEI + link_id * 10, 0x44000400))
    send(Side.B, encode.file_request("%photof"))
    send(Side.A, encode.start(max(count, 1)))
    send(Side.B, encode.resume(1))
    if draw(st.booleans()):
        send(Side.A, encode.sync(1))
    stream = b"".join(frame for _, frame in packets)
    if draw(st.booleans()):  # the device goes back: RESUME k / SYNC k / frames from k again
        again = draw(st.integers(1, len(packets)))
        cut = sum(len(frame) for _, frame in packets[: draw(st.integers(0, len(packets)))])
        stream = stream[:cut] + encode.sync(again)
        stream += b"".join(frame for _, frame in encode.data_frames(file, again))
    if draw(st.booleans()):  # DATA after the last packet, the CRC chain going on
        extra = rng.randbytes(draw(st.sampled_from([1, 500, 1024])))
        stream += encode.data(extra, crc16_kermit(extra, spec.U16.unpack(stream[-2:])[0]))
    faults = draw(
        st.lists(st.tuples(st.integers(0, len(stream) - 1), st.integers(0, 3)), max_size=3)
    )
    damaged = bytearray(stream)
    for position, kind in faults:
        if kind == 0:
            damaged[position] ^= 0x5A  # a CRC failure, or junk if it hits a header
    cuts = sorted(draw(st.lists(st.integers(1, max(1, len(damaged) - 1)), max_size=12)))
    pieces = [bytes(damaged[a:b]) for a, b in zip([0, *cuts], [*cuts, len(damaged)], strict=True)]
    gaps = {position % len(pieces) for position, kind in faults if kind == 1}
    stall = {position % len(pieces) for position, kind in faults if kind == 2}
    for index, piece in enumerate(pieces):
        if not piece:
            continue
        if index in gaps and index > 0:
            send(Side.A, len(piece), 10)  # this piece was never captured
        else:
            send(Side.A, piece, 2_500 if index in stall else rng.uniform(0, 30))
    if draw(st.booleans()):
        send(Side.B, encode.repeat_init())
        send(Side.A, encode.init(IMEI + link_id * 10, 0x44000000))
    return Session(link_id, steps)


@st.composite
def captures(draw: st.DrawFn) -> list[Event]:
    sessions = [_session(draw, link_id) for link_id in range(1, draw(st.integers(1, 3)) + 1)]
    timeline: list[tuple[int, int, Event]] = []
    for session in sessions:
        link = Link(session.link_id, "tcp", f"10.0.0.{session.link_id}:4000", "10.0.0.9:5232")
        info = LinkInfo(link, Transport.STREAM, 4000, 5232)
        last = T0
        for order, (side, time_ns, data) in enumerate(session.steps):
            event: Event
            if isinstance(data, int):
                event = Gap(info, side, time_ns, data)
            else:
                event = Chunk(info, side, time_ns, data)
            timeline.append((time_ns, session.link_id * 10_000 + order, event))
            last = time_ns
        if draw(st.booleans()):
            timeline.append(
                (last + 1, session.link_id * 10_000 + 9_999, LinkClosed(info, last + 1))
            )
    timeline.sort(key=lambda entry: (entry[0], entry[1]))
    return [event for _, _, event in timeline]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=captures(),
    immediate=st.booleans(),
    settle_ns=st.sampled_from([0, 0, 50_000_000, 3_000_000_000]),
)
def test_random_sessions_splits_and_faults(
    events: list[Event],
    immediate: bool,
    settle_ns: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    tmp_path = tmp_path_factory.mktemp("runs")
    assert_runs_change_nothing(events, tmp_path, immediate=immediate, settle_ns=settle_ns)


# -- the framer alone --------------------------------------------------------------------------


def _device_stream(garbage: bytes) -> bytes:
    file = bytes(i % 251 for i in range(4000))
    frames = [frame for _, frame in encode.data_frames(file)]
    return b"".join(
        [
            encode.init(IMEI, 0x44000400),
            encode.start(len(frames)),
            encode.sync(1),
            frames[0],
            garbage,
            *frames[1:3],
            encode.sync(2),
            *frames[1:],
            encode.status(0),
        ]
    )


@settings(max_examples=200, deadline=None)
@given(
    garbage=st.binary(max_size=40),
    cuts=st.lists(st.integers(0, 8000), max_size=14),
    groups=st.lists(st.integers(1, 4), max_size=14),
)
def test_device_framer_runs_are_the_frames_it_cuts_chunk_by_chunk(
    garbage: bytes, cuts: list[int], groups: list[int]
) -> None:
    stream = _device_stream(garbage)
    link = Link(1, "tcp", "10.0.0.1:4000", "10.0.0.9:5232")
    info = LinkInfo(link, Transport.STREAM, 4000, 5232)
    points = sorted({c % (len(stream) + 1) for c in cuts})
    chunks = [
        Chunk(info, Side.A, T0 + index * 1_000, stream[a:b])
        for index, (a, b) in enumerate(zip([0, *points], [*points, len(stream)], strict=True))
    ]
    one_by_one = new_framer(link, Direction.FROM_DEVICE)
    expected = [item for chunk in chunks for item in one_by_one.feed(chunk.data, chunk.time_ns)]
    expected += one_by_one.flush()
    framer = new_framer(link, Direction.FROM_DEVICE)
    assert isinstance(framer, PieceFramer)
    framer.header_runs = True
    items: list[Frame | Junk] = []
    start = 0
    for size in [*groups, len(chunks)]:
        for item in framer.feed_pieces(chunks[start : start + size]):
            items += item.frames() if isinstance(item, FrameRun) else [item]
        start += size
    items += framer.flush()
    assert items == expected
    assert not isinstance(new_framer(link, Direction.TO_DEVICE), PieceFramer)


def test_records_made_between_calls_keep_their_place_when_settling() -> None:
    """``take_objects`` frames the held chunks; their records must still settle in order."""
    link = Link(1, "tcp", "10.0.0.1:4000", "10.0.0.9:5232")
    info = LinkInfo(link, Transport.STREAM, 4000, 5232)
    pipeline = Pipeline(rows=False)  # settles records for 3 s
    records = pipeline.process(Chunk(info, Side.A, T0, encode.init(IMEI, 0x44000400)))
    records += pipeline.process(Chunk(info, Side.A, T0 + 1_000_000, encode.start(1)))
    assert pipeline.take_objects() == []  # frames the held START
    records += pipeline.process(Chunk(info, Side.A, T0 + 2_000_000, encode.sync(1)))
    records += pipeline.finish()
    assert [r.dissection.type for r in records] == ["INIT", "START", "SYNC"]
    assert [r.number for r in records] == [1, 2, 3]
