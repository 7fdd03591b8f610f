"""The pipeline's bulk mode: which framers hand over ``FrameRun``s, and chunks framed together.

In bulk mode (``Pipeline(sink=...)`` for ``stats``, ``Pipeline(rows=False)`` for
``objects``) every framer with the bulk hook (``RunFramer``) whose dissector has a
``read_run`` is asked for runs; the pipeline passes each run to ``read_run`` in place, with
the numbers the frames would have had (see ``dissectors.bulk``). Without rows, a stream side
whose framer can also take several chunks in one call (``PieceFramer``) has its consecutive
chunks held here and framed together, so that its runs span many chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from dissectors.api import (
    Dissector,
    Frame,
    Framer,
    Junk,
)
from dissectors.bulk import (
    FrameRun,
    PieceFramer,
    RunFramer,
)
from sniffer.sources.base import Chunk, Event, Transport

MAX_HELD_BYTES = 1 << 20
"""Bound on the bytes of consecutive chunks held to be framed together."""

PieceFeed = Callable[[Sequence[Chunk]], Iterator[Frame | Junk | FrameRun]]
"""A ``PieceFramer``'s ``feed_pieces``."""


def ask_for_runs(
    framer: Framer, dissector: Dissector, transport: Transport, *, rows: bool
) -> PieceFeed | None:
    """Switch ``framer`` to runs if it and its dissector can; return its multi-chunk feed when
    its consecutive chunks should be held and framed together: on a stream side whose framer
    has one, and only without ``rows``. Held chunks make their records later, so a record
    may settle before an ``expire`` that would have annotated it in time: fine for the
    matchers' results, not for rows that are counted as they settle (``stats``)."""
    if dissector.read_run is None or not isinstance(framer, RunFramer):
        return None
    framer.header_runs = True
    if not rows and transport is Transport.STREAM and isinstance(framer, PieceFramer):
        return framer.feed_pieces
    return None


class HeldChunks:
    """Consecutive chunks of one link side with a piece feed, not framed yet.

    A chunk joins the held ones only if it comes from the same side, and framing the held
    ones first would not have run the matchers' expire (``expire_due``) nor gone past
    ``MAX_HELD_BYTES``: the matchers then see the same sequence as chunk by chunk.
    """

    __slots__ = ("chunks", "size")

    def __init__(self) -> None:
        self.chunks: list[Chunk] = []
        self.size = 0
        """Bytes held."""

    def joins(self, event: Event, expire_due: bool) -> bool:
        """Hold ``event`` too if it may be framed with the held chunks."""
        last = self.chunks[-1]
        if (
            event.info is last.info
            and type(event) is Chunk
            and event.side == last.side
            and not expire_due
            and self.size < MAX_HELD_BYTES
        ):
            self.chunks.append(event)
            self.size += len(event.data)
            return True
        return False

    def hold(self, chunk: Chunk) -> None:
        """Start holding with ``chunk`` (nothing is held)."""
        self.chunks.append(chunk)
        self.size = len(chunk.data)

    def take(self) -> list[Chunk]:
        """The held chunks, now released."""
        chunks, self.chunks = self.chunks, []
        self.size = 0
        return chunks
