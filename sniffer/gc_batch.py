"""Cheaper garbage collection for long batch runs."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def batch_gc() -> Iterator[None]:
    """Make Python's cycle collector cheaper during a long batch run (``read``, ``stats``...).

    A capture allocates millions of short-lived records; with the default thresholds the
    collector runs every 700 allocations and regularly walks every live object (the held
    records, the matchers' tables). Freezing what exists at start (modules, tables) and
    collecting less often saves that walking (benchmarks/README has the figures); records
    hold no reference cycles, so nothing piles up in between. The previous thresholds are
    restored on exit.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
