"""DualCam's ``read_run``: runs of DATA frames taken by the tracker in bulk (``FrameRun``).

Only the device side makes runs (``DualCamDeviceFramer``), of complete DATA frames. Without
``rows`` (``objects``) the tracker takes the leading frames that are the common case
(``DualCamMatcher.take_run``) with no Record each; the rest, and every frame when rows are
asked for (DualCam has no lean form of a DATA frame yet), go through ``full``.
"""

from __future__ import annotations

from collections.abc import Callable

from dissectors.api import (
    Frame,
    Matcher,
    Record,
)
from dissectors.bulk import FrameRun, LeanRecord, read_in_full
from dissectors.dualcam.matching import DualCamMatcher


def read_run(
    run: FrameRun,
    number: int,
    matcher: Matcher | None,
    full: Callable[[Frame, int], Record],
    out: list[Record | LeanRecord],
    rows: bool,
) -> int:
    """The dissector's ``read_run`` (see ``dissectors.bulk.RunReader``)."""
    taken = 0
    if not rows and isinstance(matcher, DualCamMatcher):
        taken = matcher.take_run(run, number + 1)
        number += taken
        if taken == run.count:
            return number
    return read_in_full(run, taken, number, full, out)
