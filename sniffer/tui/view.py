"""Which capture rows the message list shows: all of them, or those passing a filter.

With no filter the view is the capture itself (no index array, O(1) length). With a display
filter or problems-only, the view holds an ``array`` of row indices and scans new rows in
bounded steps (``catch_up``), so a worker thread can filter a million rows while the UI keeps
painting, and a live capture only tests its new tail.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Callable

from dissectors.api import Record
from sniffer.capture import Capture

Predicate = Callable[[Record], bool]


class MessageView:
    """An ordered selection of capture rows.

    Args:
        capture: the rows to select from.
        predicate: a compiled display filter, or None for every row.
        problems_only: keep only rows with a problem.
    """

    def __init__(
        self,
        capture: Capture,
        predicate: Predicate | None = None,
        *,
        problems_only: bool = False,
        filter_text: str = "",
    ) -> None:
        self.capture = capture
        self.predicate = predicate
        self.problems_only = problems_only
        self.filter_text = filter_text
        self._indices: array[int] | None = (
            None if predicate is None and not problems_only else array("q")
        )
        self._scanned = 0
        self._lock = threading.Lock()
        self.errors = 0
        """How many rows the predicate raised on (they are left out)."""

    @property
    def is_filtered(self) -> bool:
        """Whether this view selects a subset."""
        return self._indices is not None

    @property
    def scanned(self) -> int:
        """How many capture rows have been tested so far."""
        return len(self.capture) if self._indices is None else self._scanned

    @property
    def complete(self) -> bool:
        """Whether every stored row has been tested."""
        return self.scanned >= len(self.capture)

    def __len__(self) -> int:
        indices = self._indices
        return len(self.capture) if indices is None else len(indices)

    def __getitem__(self, position: int) -> int:
        indices = self._indices
        return position if indices is None else indices[position]

    def position_of(self, index: int) -> int | None:
        """Where capture row ``index`` sits in this view, or None if it is not shown."""
        indices = self._indices
        if indices is None:
            return index if 0 <= index < len(self.capture) else None
        lo, hi = 0, len(indices)
        while lo < hi:
            mid = (lo + hi) // 2
            if indices[mid] < index:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < len(indices) and indices[lo] == index else None

    def nearest_position(self, index: int) -> int:
        """The position of the shown row closest at or before capture row ``index``."""
        indices = self._indices
        if indices is None:
            return max(0, min(index, len(self.capture) - 1))
        lo, hi = 0, len(indices)
        while lo < hi:
            mid = (lo + hi) // 2
            if indices[mid] <= index:
                lo = mid + 1
            else:
                hi = mid
        return max(0, lo - 1)

    def catch_up(self, budget: int = 50_000, cancelled: Callable[[], bool] | None = None) -> bool:
        """Test up to ``budget`` new rows. Returns True when the view is complete.

        Safe to call from a worker thread; a second caller returns at once.
        """
        indices = self._indices
        if indices is None:
            return True
        if not self._lock.acquire(blocking=False):
            return False
        try:
            capture = self.capture
            end = min(len(capture), self._scanned + budget)
            predicate = self.predicate
            problems_only = self.problems_only
            for index in range(self._scanned, end):
                if cancelled is not None and index % 4096 == 0 and cancelled():
                    self._scanned = index
                    return False
                if problems_only and not capture.has_problems(index):
                    continue
                if predicate is not None:
                    try:
                        keep = predicate(capture.record(index))
                    except Exception:
                        self.errors += 1
                        keep = False
                    if not keep:
                        continue
                indices.append(index)
            self._scanned = end
            return end >= len(capture)
        finally:
            self._lock.release()
