"""Find the row whose bytes match, in rows stored back to back in one blob.

The capture keeps every row's summary (and every frame's bytes) in one ``bytearray`` with an
``array`` of offsets (``offsets[i]`` to ``offsets[i + 1]`` is row ``i``). Searching the blob
with one regular expression is far faster than row by row; a match that crosses two rows does
not count.
"""

from __future__ import annotations

import bisect
import re
from array import array
from collections.abc import Callable

SEARCH_WINDOW = 1 << 16
"""Bytes scanned per step when searching backwards."""


def find_row(
    blob: bytearray,
    offsets: array[int],
    count: int,
    search: Callable[[bytearray, int, int], re.Match[bytes] | None],
    start: int,
    *,
    backwards: bool,
    needle_len: int,
) -> int | None:
    """The row nearest ``start`` with a match of ``search`` inside it, or None.

    Forwards: the first at or after ``start``, wrapping to the top. Backwards: the last
    before ``start``, wrapping to the bottom. ``count`` rows are searched.
    """
    start = max(0, min(start, count - 1))
    end_off = offsets[count]

    def scan(lo: int, hi: int, *, last: bool) -> int | None:
        """First (or last) row with a match inside ``blob[lo:hi]`` not crossing rows."""
        found = None
        pos = lo
        while pos < hi:
            match = search(blob, pos, hi)
            if match is None:
                break
            index = bisect.bisect_right(offsets, match.start(), 0, count + 1) - 1
            if match.end() <= offsets[index + 1]:
                if not last:
                    return index
                found = index
            # the needle has a fixed length: a later match in this row crosses too
            pos = offsets[index + 1]
        return found

    if backwards:
        # windows from the cursor towards the start, then from the end (wrap); they
        # overlap by the needle's length so that no match is cut in two
        split = offsets[start + 1]
        window = max(SEARCH_WINDOW, 2 * needle_len)
        for range_lo, range_hi in ((0, split), (split, end_off)):
            hi = range_hi
            while hi > range_lo:
                lo = max(range_lo, hi - window)
                found = scan(lo, hi, last=True)
                if found is not None:
                    return found
                hi = lo + needle_len - 1 if lo > range_lo else lo
        return None
    for lo, hi in ((offsets[start], end_off), (0, offsets[start])):
        found = scan(lo, hi, last=False)
        if found is not None:
            return found
    return None
