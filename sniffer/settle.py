"""The pipeline's settle buffer: numbered items held until capture time has moved past them.

``HeldItems`` (C when built: ``sniffer._settle``, else ``HeldItemsPython`` here, the same API
and results, and the test oracle) holds the items in number order as the batches they were
made in (one per pipeline event), each with a bound on its items' capture times. ``settle``
releases, oldest first, every item no newer than the horizon up to the first one that is
newer, and beyond ``max_held`` items held the oldest ones anyway ("released early"). A batch
whose bound is no later than the horizon is released whole without looking at its items:
nearly every batch, so the per-item rule costs nothing per item in the common case.
"""

from __future__ import annotations

from types import ModuleType
from typing import Protocol, TypeVar

KEEP_RELEASED = 1024
"""``HeldItems``' ``keep_released``: the places of released batches (let go of at once) are
dropped from the list in bulk, once there are more than this and more than the batches still
held."""
_GONE: list[Timed] = []
"""In place of a released batch."""


class Timed(Protocol):
    """What is held: anything with a capture time."""

    @property
    def time_ns(self) -> int: ...


T = TypeVar("T", bound=Timed)


class HeldItemsPython:
    """Items held until they settle (the reference ``HeldItems``)."""

    __slots__ = (
        "_batches",
        "_bounds",
        "_first",
        "_keep_released",
        "_start",
        "count",
        "max_held",
        "released_early",
    )

    def __init__(self, max_held: int, keep_released: int) -> None:
        self._batches: list[list[Timed]] = []
        self._bounds: list[int] = []
        self._first = 0
        """Index of the first batch still held."""
        self._start = 0
        """Index in that batch of its first item still held."""
        self.count = 0
        """Items held."""
        self.max_held = max_held
        self._keep_released = keep_released
        self.released_early = 0
        """Items released before they settled, because more than ``max_held`` were held."""

    def settle(self, batch: list[T], bound: int, horizon: int) -> list[T]:
        """Hold ``batch``'s items (none: nothing), whose capture times are at most
        ``bound``, after the ones held; then release the items that settled by ``horizon``,
        in order: every item before the first one newer than ``horizon`` and, while more
        than ``max_held`` are held, the oldest ones anyway."""
        batches = self._batches
        bounds = self._bounds
        if batch:
            batches.append(batch)  # type: ignore[arg-type]
            bounds.append(bound)
            self.count += len(batch)
        first = self._first
        start = self._start
        total = len(batches)
        released: list[Timed] = []
        while first < total and bounds[first] <= horizon:
            released += batches[first][start:]
            first += 1
            start = 0
        count = self.count - len(released)
        early = 0
        while first < total:
            items = batches[first]
            end = len(items)
            while start < end:
                item = items[start]
                if item.time_ns > horizon:
                    if count <= self.max_held:
                        break
                    early += 1
                released.append(item)
                start += 1
                count -= 1
            if start < end:
                break
            first += 1
            start = 0
        self.count = count
        self.released_early += early
        for index in range(self._first, first):
            batches[index] = _GONE  # released: let go of the batch now
        if first > self._keep_released and 2 * first > total:
            del batches[:first]
            del bounds[:first]
            first = 0
        self._first = first
        self._start = start
        return released  # type: ignore[return-value]

    def release_all(self) -> list[Timed]:
        """Every item held, in order, now released."""
        released: list[Timed] = []
        start = self._start
        for items in self._batches[self._first :]:
            released += items[start:]
            start = 0
        self._batches.clear()
        self._bounds.clear()
        self._first = self._start = self.count = 0
        return released


class HeldItems(Protocol):
    """The settle buffer's API (``HeldItemsPython``; ``sniffer._settle.HeldItems``)."""

    count: int
    released_early: int

    def settle(self, batch: list[T], bound: int, horizon: int) -> list[T]: ...

    def release_all(self) -> list[Timed]: ...


_kernel: ModuleType | None
try:
    from sniffer import _settle as _kernel
except ImportError:  # pragma: no cover - exercised where no compiler was available
    _kernel = None

HAVE_C = _kernel is not None
"""Whether the C settle buffer was built (``setup.py``, optional)."""
use_c = HAVE_C
"""Whether ``new_held_items`` makes the C one (tests switch it off to run the twin)."""


def new_held_items(max_held: int) -> HeldItems:
    """A settle buffer: the C one when built (and ``use_c``), else the Python twin."""
    if _kernel is None or not use_c:
        return HeldItemsPython(max_held, KEEP_RELEASED)
    held: HeldItems = _kernel.HeldItems(max_held, KEEP_RELEASED)
    return held
