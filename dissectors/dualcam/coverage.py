"""Byte coverage of a file transfer: merged ranges, packet-number text, differing spans."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from dissectors.dualcam.tables import PACKET_SIZE


class Ranges:
    """A set of byte ranges ``[start, end)``, kept sorted and merged."""

    __slots__ = ("_ends", "_starts")

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []

    def add(self, start: int, end: int) -> None:
        """Add ``[start, end)``, merging with touching ranges."""
        if end <= start:
            return
        low = bisect_left(self._ends, start)
        high = bisect_right(self._starts, end)
        if low < high:
            start = min(start, self._starts[low])
            end = max(end, self._ends[high - 1])
        self._starts[low:high] = [start]
        self._ends[low:high] = [end]

    def overlap(self, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of ``[start, end)`` already in the set."""
        out: list[tuple[int, int]] = []
        index = bisect_right(self._ends, start)
        while index < len(self._starts) and self._starts[index] < end:
            out.append((max(start, self._starts[index]), min(end, self._ends[index])))
            index += 1
        return out

    def gaps(self, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of ``[start, end)`` not in the set."""
        out: list[tuple[int, int]] = []
        cursor = start
        for low, high in self.overlap(start, end):
            if low > cursor:
                out.append((cursor, low))
            cursor = high
        if cursor < end:
            out.append((cursor, end))
        return out

    @property
    def total(self) -> int:
        """Bytes covered."""
        return sum(e - s for s, e in zip(self._starts, self._ends, strict=True))

    def as_tuples(self) -> tuple[tuple[int, int], ...]:
        """The ranges, in order."""
        return tuple(zip(self._starts, self._ends, strict=True))

    def __bool__(self) -> bool:
        return bool(self._starts)


def packets_text(ranges: tuple[tuple[int, int], ...] | list[tuple[int, int]]) -> str:
    """Byte ranges as 1-based packet numbers: ``2..56``."""
    parts = []
    for start, end in ranges:
        first = start // PACKET_SIZE + 1
        last = (end - 1) // PACKET_SIZE + 1
        parts.append(str(first) if first == last else f"{first}..{last}")
    return ", ".join(parts)


def diff_span(a: bytes, b: bytes) -> tuple[int, int]:
    """``[first, last + 1)`` of the bytes where two equal-length strings differ."""
    low, high = 0, len(a)
    while low < high:  # longest equal prefix, by bisection on slice comparisons
        mid = (low + high + 1) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid - 1
    first = low
    low, high = 0, len(a) - first
    while low < high:  # longest equal suffix
        mid = (low + high + 1) // 2
        if a[len(a) - mid :] == b[len(b) - mid :]:
            low = mid
        else:
            high = mid - 1
    return first, len(a) - low
