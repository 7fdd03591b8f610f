"""Building blocks shared by the protocol framers."""

from __future__ import annotations

from bisect import bisect_right


class ArrivalTimes:
    """When each buffered byte of one direction's stream arrived: the time of the chunk that
    carried it.

    A frame is stamped with the arrival time of its first byte, even when it was cut from
    several chunks. One entry per chunk still (partly) buffered, looked up by bisection (and
    maybe older ones: a byte's entry is the last one at or before it).
    """

    __slots__ = ("_offsets", "_times")

    def __init__(self) -> None:
        self._offsets: list[int] = []
        self._times: list[int] = []

    def add(self, offset: int, time_ns: int) -> None:
        """The bytes from stream ``offset`` on arrived at ``time_ns``."""
        self._offsets.append(offset)
        self._times.append(time_ns)

    def at(self, offset: int) -> int:
        """Arrival time of the byte at stream ``offset`` (0 before any chunk)."""
        times = self._times
        if not times:
            return 0
        index = bisect_right(self._offsets, offset) - 1
        return times[index if index > 0 else 0]

    def snapshot(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(stream offsets, times) of the chunks still buffered, for a ``FrameRun``."""
        return tuple(self._offsets), tuple(self._times)

    def forget_before(self, offset: int) -> None:
        """Drop the chunks wholly before ``offset``: the framer has consumed them."""
        index = bisect_right(self._offsets, offset) - 1
        if index > 0:
            del self._offsets[:index]
            del self._times[:index]

    def reset(self, offset: int, time_ns: int) -> None:
        """Nothing before ``offset`` is buffered: the bytes from there on arrive at
        ``time_ns``."""
        self._offsets = [offset]
        self._times = [time_ns]

    def restart(self, offset: int) -> None:
        """After a gap: the stream resumes at ``offset``; keep only the latest time."""
        last = self._times[-1] if self._times else 0
        self._offsets = [offset]
        self._times = [last]
