"""Bulk mode as a whole: ``FrameRun`` gives the framer's Frames in both arrival-time forms,
and bulk mode without rows (``objects``) changes nothing on SmartLPR captures either."""

from __future__ import annotations

from pathlib import Path

import pytest

from dissectors.api import (
    Direction,
    Frame,
    Link,
)
from dissectors.bulk import (
    FrameRun,
    LinkSide,
)
from tests.dissectors.test_dualcam_runs import assert_runs_change_nothing, capture_events

CAPTURES_SMARTLPR = Path(__file__).resolve().parents[2] / "captures" / "smartlpr"
LINK = Link(1, "tcp", "10.0.0.1:4000", "10.0.0.9:5232")
SIDE = LinkSide("x", LINK, Direction.FROM_DEVICE)
DATA = b"aaabbbbcc"
HEADERS = [(0, 3, 7), (3, 4, 8), (7, 2, 9)]


def test_frames_of_a_run_with_per_frame_times() -> None:
    run = FrameRun(SIDE, 100, DATA, HEADERS, None, [5, 6, 7])
    assert run.count == 3
    assert run.end == 109
    assert run.frames(1) == [
        Frame(LINK, Direction.FROM_DEVICE, 103, b"bbbb", 6),
        Frame(LINK, Direction.FROM_DEVICE, 107, b"cc", 7),
    ]


def test_frames_of_a_run_with_per_chunk_times() -> None:
    # chunks arrived at stream offsets 90 (time 1) and 104 (time 2)
    run = FrameRun(SIDE, 100, DATA, HEADERS, (90, 104), (1, 2))
    assert list(run.times()) == [1, 1, 2]
    assert [frame.time_ns for frame in run.frames()] == [1, 1, 2]
    assert run.frames()[0] == Frame(LINK, Direction.FROM_DEVICE, 100, b"aaa", 1)
    assert list(FrameRun(SIDE, 100, DATA, HEADERS, (), ()).times()) == [0, 0, 0]


@pytest.mark.parametrize(
    "path", sorted(CAPTURES_SMARTLPR.glob("*.pcapng")), ids=lambda path: path.name
)
def test_no_rows_changes_nothing_on_smartlpr(path: Path, tmp_path: Path) -> None:
    assert_runs_change_nothing(capture_events(path), tmp_path)
