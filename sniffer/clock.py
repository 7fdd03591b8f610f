"""Time for the application edges: a ``Clock`` protocol, the real one, and a fixed one for tests.

Capture time (``Record.time_ns``) comes from the data; this clock is only for wall-clock things:
pacing a replay, the status-bar clock, refresh throttling. Tests inject ``FixedClock`` so that
nothing depends on the machine's time and ``sleep`` returns at once.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Wall-clock time and waiting, injectable."""

    def time_ns(self) -> int:
        """Nanoseconds since the epoch."""
        ...

    def monotonic_ns(self) -> int:
        """A monotonic counter in nanoseconds, for measuring intervals."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a fixed clock just advances)."""
        ...


class SystemClock:
    """The machine's clock."""

    def time_ns(self) -> int:
        return time.time_ns()

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FixedClock:
    """A clock that only moves when told to: ``sleep`` and ``advance`` add to it.

    Thread-safe, so a replay worker thread can sleep on it while a test reads it.
    """

    def __init__(self, start_ns: int = 1_700_000_000_000_000_000) -> None:
        self._now_ns = start_ns
        self._lock = threading.Lock()
        self.slept_s: float = 0.0
        """Total seconds requested through ``sleep`` (tests check pacing with it)."""

    def time_ns(self) -> int:
        with self._lock:
            return self._now_ns

    def monotonic_ns(self) -> int:
        return self.time_ns()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)
            with self._lock:
                self.slept_s += seconds

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        with self._lock:
            self._now_ns += round(seconds * 1e9)
