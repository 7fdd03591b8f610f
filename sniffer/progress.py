"""A progress bar on stderr for long files, drawn only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

REDRAW_EVERY_S = 0.2


class ProgressBar:
    """Call with (done, total) bytes; redraws at most five times a second."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._label = label
        self._enabled = self._stream.isatty()
        self._last = 0.0
        self._started = time.monotonic()
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self._enabled or total <= 0:
            return
        now = time.monotonic()
        if now - self._last < REDRAW_EVERY_S and done < total:
            return
        self._last = now
        fraction = min(1.0, done / total)
        width = 30
        filled = int(fraction * width)
        rate = done / max(now - self._started, 1e-9) / 1e6
        bar = "█" * filled + "·" * (width - filled)
        self._stream.write(f"\r{self._label} {bar} {fraction * 100:5.1f}% {rate:6.1f} MB/s")
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        """Erase the bar so the next output starts on a clean line."""
        if self._drawn:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._drawn = False
