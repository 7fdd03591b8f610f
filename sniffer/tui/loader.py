"""Runs a source through the pipeline into a ``Capture``, in a worker thread.

The loader appends records as they come, applies the matcher's later annotations
(``take_updates``), collects extracted objects and transfers, and calls ``notify`` at most once
per ``interval_s`` of clock time (or every ``batch`` records), so the UI repaints a few times a
second however fast data arrives. Data is never dropped; only repaint requests are coalesced.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from dissectors.api import Direction
from sniffer.capture import Capture
from sniffer.clock import Clock, SystemClock
from sniffer.pipeline import Pipeline
from sniffer.sources.base import Source, SourceError
from sniffer.sources.replay import SCHEME as REPLAY_SCHEME
from sniffer.sources.replay import ReplaySource

FIRST_BATCH = 200
"""Notify as soon as this many records are in, so the first screen does not wait for a batch."""
FIRST_PAINT_WAIT_S = 1.0
"""Longest pause of the loader while the UI paints the first rows."""
CAPTURES_DIR = Path(__file__).resolve().parents[2] / "captures"


def default_capture() -> Path | None:
    """The bundled sample capture (``sniffer.samples``), else a SmartLPR capture from the repo."""
    try:
        from sniffer import samples

        bundled = Path(samples.default_capture())
    except (ImportError, AttributeError, FileNotFoundError):
        pass
    else:
        if bundled.is_file():
            return bundled
    for pattern in ("smartlpr/*.pcapng", "*/*.pcapng", "*/*.pcap"):
        found = sorted(CAPTURES_DIR.glob(pattern))
        if found:
            return found[0]
    return None


def open_target(
    target: str,
    *,
    clock: Clock | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Source:
    """Open a file or a source URL (``replay:FILE?speed=1.0`` is handled here).

    Raises:
        SourceError: the target cannot be opened.
    """
    if target.startswith(REPLAY_SCHEME):
        return ReplaySource.from_url(target, clock=clock)
    from sniffer.sources import open_source

    if progress is None:
        return open_source(target)
    return open_source(target, progress=progress)


class Loader:
    """Fills ``capture`` from a source; ``run`` blocks, so call it in a worker thread.

    Args:
        capture: where records go.
        open_source: opens the source (called in the worker thread).
        protocol: force one dissector on every link.
        live: the source is live (kept for the UI; records always come out at once, in the
            pipeline's immediate mode, and later annotations arrive as updates).
        clock: paces notifications.
        notify: called from the worker thread when the capture grew or changed.
        interval_s: minimum clock time between two notifications.
        batch: also notify after this many new records.
    """

    def __init__(
        self,
        capture: Capture,
        open_source: Callable[[], Source],
        *,
        protocol: str | None = None,
        live: bool = False,
        clock: Clock | None = None,
        notify: Callable[[], None] = lambda: None,
        interval_s: float = 0.25,
        batch: int = 20_000,
    ) -> None:
        self.capture = capture
        self.open_source = open_source
        self.protocol = protocol
        self.live = live
        self.clock: Clock = clock or SystemClock()
        self.notify = notify
        self.interval_ns = int(interval_s * 1e9)
        self.batch = batch
        self.notifications = 0
        """How many times ``notify`` was called (the UI counts how many it handled)."""
        self.pipeline: Pipeline | None = None
        self._source: Source | None = None
        self._stop = threading.Event()
        self.first_shown = threading.Event()
        """Set by the UI once the first rows are painted; loading pauses until then."""

    def stop(self) -> None:
        """Ask ``run`` to end soon and close the source."""
        self._stop.set()
        source = self._source
        if source is not None:
            source.close()

    def _notify(self) -> None:
        self.notifications += 1
        self.notify()

    def run(self) -> None:
        """Load until the source ends, fails, or ``stop`` is called."""
        capture = self.capture
        clock = self.clock
        try:
            pipeline = Pipeline(self.protocol, immediate=True)
        except ValueError as error:
            capture.error = str(error)
            capture.finished = True
            self._notify()
            return
        self.pipeline = pipeline
        try:
            source = self._source = self.open_source()
        except SourceError as error:
            capture.error = str(error)
            capture.finished = True
            self._notify()
            return
        last_ns = clock.monotonic_ns()
        pending = 0
        try:
            for event in source.events():
                if self._stop.is_set():
                    break
                records = pipeline.process(event)
                if records:
                    capture.extend(records)
                    pending += len(records)
                updates = pipeline.take_updates()
                if updates:
                    capture.apply_updates(updates)
                    pending += 1
                now_ns = clock.monotonic_ns()
                first = self.notifications == 0 and pending >= FIRST_BATCH
                if pending and (
                    first or pending >= self.batch or now_ns - last_ns >= self.interval_ns
                ):
                    self._collect(pipeline)
                    self._notify()
                    pending = 0
                    if first:
                        # leave the GIL to the UI thread for the first paint
                        self.first_shown.wait(FIRST_PAINT_WAIT_S)
                    last_ns = clock.monotonic_ns()
        except SourceError as error:
            capture.error = str(error)
        except Exception as error:
            capture.error = f"{type(error).__name__}: {error}"
        finally:
            try:
                capture.extend(pipeline.finish())
                capture.apply_updates(pipeline.take_updates())
                self._collect(pipeline)
            finally:
                source.close()
                capture.finished = True
                self._notify()

    def _collect(self, pipeline: Pipeline) -> None:
        capture = self.capture
        capture.objects.extend(pipeline.take_objects())
        capture.transfers = pipeline.transfers()
        for link_id, direction in pipeline.side_a_direction.items():
            link = pipeline.links.get(link_id)
            if link is not None and link_id not in capture.roles:
                a_is_host = direction is Direction.TO_DEVICE
                capture.roles[link_id] = (link.a, link.b) if a_is_host else (link.b, link.a)
