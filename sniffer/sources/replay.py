"""``replay:FILE?speed=1.0``: play a capture file back with its original timing.

A live source for demos and tests: it wraps the file source and sleeps between events so that
they arrive as they were recorded, ``speed`` times faster (``speed=0``: as fast as possible).
The clock is injectable, so tests replay instantly on a ``FixedClock`` and still check pacing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from sniffer.clock import Clock, SystemClock
from sniffer.sources.base import Event, Source, SourceError, split_source_url

SCHEME = "replay:"
MAX_SLEEP_S = 0.1
"""Longest single sleep, so ``close()`` interrupts a long pause promptly."""


def parse_replay_url(url: str) -> tuple[str, float]:
    """Split ``replay:FILE?speed=1.0`` into the file path and the speed.

    Raises:
        SourceError: not a replay URL, or a bad speed.
    """
    path, query = split_source_url(url, SCHEME, "replay:FILE?speed=1.0", "a file")
    try:
        speed = float(query.get("speed", "1.0"))
    except ValueError as error:
        raise SourceError(f"bad replay speed in {url!r}: {error}") from None
    if speed < 0:
        raise SourceError(f"replay speed must be >= 0, got {speed}")
    return path, speed


def _open_file(path: str) -> Source:
    from sniffer.sources import open_source

    return open_source(path)


class ReplaySource:
    """Yields the events of ``inner`` paced by their capture timestamps.

    Args:
        inner: the recorded source (usually a pcap/pcapng file source).
        speed: playback speed factor; 0 plays as fast as possible.
        clock: where time and sleeping come from (tests pass a ``FixedClock``).
    """

    def __init__(self, inner: Source, *, speed: float = 1.0, clock: Clock | None = None) -> None:
        self.inner = inner
        self.speed = speed
        self.clock: Clock = clock or SystemClock()
        self._closed = threading.Event()

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        clock: Clock | None = None,
        open_file: Callable[[str], Source] = _open_file,
    ) -> ReplaySource:
        """Open ``replay:FILE?speed=X``."""
        path, speed = parse_replay_url(url)
        return cls(open_file(path), speed=speed, clock=clock)

    def events(self) -> Iterator[Event]:
        """The inner events, each released when its (scaled) capture time has come."""
        clock = self.clock
        first_capture_ns: int | None = None
        start_wall_ns = clock.monotonic_ns()
        for event in self.inner.events():
            if self._closed.is_set():
                return
            if self.speed > 0:
                if first_capture_ns is None:
                    first_capture_ns = event.time_ns
                    start_wall_ns = clock.monotonic_ns()
                due_ns = start_wall_ns + int((event.time_ns - first_capture_ns) / self.speed)
                while not self._closed.is_set():
                    wait_ns = due_ns - clock.monotonic_ns()
                    if wait_ns <= 0:
                        break
                    clock.sleep(min(wait_ns / 1e9, MAX_SLEEP_S))
                if self._closed.is_set():
                    return
            yield event

    def close(self) -> None:
        """Stop the replay (from any thread) and close the file."""
        self._closed.set()
        self.inner.close()
