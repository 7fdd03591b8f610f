"""The pipeline's bulk mode: which framers hand over ``FrameRun``s, and chunks framed together.

In bulk mode (``Pipeline(sink=...)`` for ``stats``, ``Pipeline(rows=False)`` for
``objects``) every framer with the bulk hook (``RunFramer``) whose dissector has a
``read_run`` is asked for runs; the pipeline passes each run to ``read_run`` in place, with
the numbers the frames would have had (see ``dissectors.bulk``). Without rows, a stream side
whose framer can also take several chunks in one call (``PieceFramer``) has its consecutive
chunks held here and framed together, so that its runs span many chunks (a source may
deliver them already grouped: ``ChunkRuns``).
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
    Piece,
    PieceFramer,
    RunFramer,
)
from sniffer.sources.base import LinkInfo, Side, Transport

MAX_HELD_BYTES = 1 << 20
"""Bound on the bytes of consecutive chunks held to be framed together."""

PieceFeed = Callable[[Sequence[Piece]], Iterator[Frame | Junk | FrameRun]]
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
    """Consecutive chunks (their bytes and times) of one link side with a piece feed, not
    framed yet.

    A chunk joins the held ones only if it comes from the same side, and framing the held
    ones first would not have run the matchers' expire (``expire_due``) nor gone past
    ``MAX_HELD_BYTES``: the matchers then see the same sequence as chunk by chunk.
    """

    __slots__ = ("info", "pieces", "side", "size")

    def __init__(self) -> None:
        self.pieces: list[Piece] = []
        self.info: LinkInfo | None = None
        self.side = Side.A
        self.size = 0
        """Bytes held."""

    def joins(self, info: LinkInfo, side: Side, piece: Piece, expire_due: bool) -> bool:
        """Hold ``piece``, a chunk of ``info``'s ``side``, too if it may be framed with the
        held ones (some are held)."""
        if (
            info is self.info
            and side == self.side
            and not expire_due
            and self.size < MAX_HELD_BYTES
        ):
            self.pieces.append(piece)
            self.size += len(piece.data)
            return True
        return False

    def join_run(
        self,
        info: LinkInfo,
        side: Side,
        pieces: Sequence[Piece],
        start: int,
        now_ns: int,
        expire_ns: int,
    ) -> tuple[int, int]:
        """``joins`` for ``pieces[start:]`` in turn, as long as they join, where ``now_ns``
        moves on to each joined piece's time and an expire is due from ``expire_ns`` on.
        Returns the index of the first piece that did not join and ``now_ns`` then."""
        if info is not self.info or side != self.side:
            return start, now_ns
        held = self.pieces
        size = self.size
        count = len(pieces)
        i = start
        while i < count and now_ns < expire_ns and size < MAX_HELD_BYTES:
            piece = pieces[i]
            held.append(piece)
            size += len(piece.data)
            time_ns = piece.time_ns
            if time_ns > now_ns:
                now_ns = time_ns
            i += 1
        self.size = size
        return i, now_ns

    def hold(self, info: LinkInfo, side: Side, piece: Piece) -> None:
        """Start holding with ``piece`` (nothing is held)."""
        self.info = info
        self.side = side
        self.pieces.append(piece)
        self.size = len(piece.data)

    def take(self) -> tuple[LinkInfo, Side, list[Piece]]:
        """The held chunks' link, side and pieces, now released."""
        assert self.info is not None
        info, pieces = self.info, self.pieces
        self.info, self.pieces = None, []
        self.size = 0
        return info, self.side, pieces
