"""Source events in, numbered records out: protocol selection, framing, decoding, matching.

Sans-IO: the pipeline never reads a file or a socket; ``iter_records`` connects it to a source.

Records are emitted in number order. In the default *settled* mode a record is held until
capture time has moved ``settle_ns`` past it, so that the matcher has had the chance to link
its reply and flag it unanswered before anyone prints it (tshark's second pass, in bounded
memory). Records settle in steps: at each tick of capture time (``EXPIRE_EVERY_NS``, right
after the matchers' ``expire``) and whenever ``RELEASE_BATCH`` new records wait, so a record
leaves at most one tick after it settled, and the work per release is shared by many. In
*immediate* mode (the TUI) records come out at once and ``take_updates`` reports the ones a
matcher annotated afterwards.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import cast

from dissectors import registry
from dissectors.api import (
    Direction,
    Dissection,
    Dissector,
    ExtractedObject,
    Frame,
    Framer,
    Junk,
    Link,
    Matcher,
    Record,
    Transfer,
)
from dissectors.bulk import (
    FrameRun,
    LeanRecord,
    RunFramer,
    WholeLane,
)
from sniffer.bulk import HeldChunks, PieceFeed, ask_for_runs
from sniffer.dissections import decoded, gap_dissection, junk_dissection, raw_dissection
from sniffer.selection import choose_protocol
from sniffer.settle import new_held_items
from sniffer.sources.base import (
    Chunk,
    ChunkRuns,
    Event,
    Gap,
    LinkClosed,
    LinkInfo,
    Piece,
    PieceRun,
    Side,
    Source,
    Transport,
)

RAW_PROTOCOL = "data"
"""Protocol id of links no dissector claimed: their chunks are shown as raw data."""
SNIFF_BYTES = 64
"""How many bytes per side the selector may wait for before giving up on heuristics."""
SNIFF_EVENTS = 8
EXPIRE_EVERY_NS = 100_000_000
DEFAULT_SETTLE_NS = 3_000_000_000
"""How long records are held for late annotations: longer than the matchers' timeouts."""
MAX_HELD_RECORDS = 200_000
"""Bound on records held for settling: beyond it the oldest are released early."""
RELEASE_BATCH = 4096
"""Records made since the last release that trigger one before the next tick."""

Item = Record | LeanRecord
"""What the pipeline numbers: a Record, or in bulk mode (``sink``) also a LeanRecord."""


@dataclass(slots=True, eq=False)
class _LinkState:
    info: LinkInfo
    dissector: Dissector | None = None
    decided: bool = False
    held: list[Event] = field(default_factory=list)
    prefixes: tuple[bytearray, bytearray] = field(
        default_factory=lambda: (bytearray(), bytearray())
    )
    directions: tuple[Direction, Direction] = (Direction.TO_DEVICE, Direction.FROM_DEVICE)
    framers: dict[int, Framer] = field(default_factory=dict)
    piece_feeds: dict[int, PieceFeed] = field(default_factory=dict)
    """Sides whose consecutive chunks are held and framed together (bulk mode)."""
    lanes: dict[int, WholeLane] = field(default_factory=dict)
    """Sides whose dissector's ``WholeLane`` reads their chunks of whole frames (bulk mode)."""
    direct: list[bool] = field(default_factory=lambda: [False, False])
    """Sides whose chunks go straight to their framer: a stream side whose framer exists and
    whose chunks are not held (``Pipeline._process_runs``)."""
    full: Callable[[Frame, int], Record] | None = None
    """The usual decode, ``Record`` and ``observe`` of one frame (``_full_reader``)."""
    offsets: list[int] = field(default_factory=lambda: [0, 0])


@dataclass(slots=True)
class PipelineStats:
    """Counters for the status bar and ``stats``."""

    events: int = 0
    bytes: int = 0
    records: int = 0
    junk_bytes: int = 0
    gaps: int = 0
    gap_bytes: int = 0
    malformed: int = 0
    released_early: int = 0


class Pipeline:
    """Chunk → framer → decode → matcher → numbered records.

    Args:
        protocol: force this dissector on every link (``--protocol``); None selects per link.
        immediate: emit records at once (TUI) instead of after settling (CLI, exports).
        settle_ns: how long to hold a record for late annotations (defaults to 3 s of capture
            time: longer than the matchers' reply timeouts).
        dissectors: the protocols to choose from (tests pass a subset).
        keep_objects: collect the files the matchers extract for ``take_objects``. Commands
            that never take them (``read``, ``stats``) pass False, so the pictures of a long
            capture are dropped as they complete instead of piling up in memory.
        keep_transfers: False for commands that never ask for ``transfers`` (``read``): the
            matchers forget the transfers that ended as capture time goes on.
        sink: bulk mode for ``stats`` (see ``sniffer.bulk`` and ``dissectors.bulk``): frames
            the dissectors' ``read_run`` take in bulk become ``LeanRecord``s, and the settled
            items (Records and LeanRecords) go to ``sink`` in number order; ``process`` and
            ``finish`` then return nothing. Not with ``immediate``.
        rows: False is bulk mode for commands that need the matchers' results and not a
            row per frame (``objects``): frames taken in bulk are numbered but yield nothing.
    Without rows, bulk mode also holds consecutive chunks of a link side whose framer takes
    several at once (until another event comes, at most until the matchers' next
    ``expire``): records come out one event later, the matchers see the same sequence in
    bigger steps.
    """

    def __init__(
        self,
        protocol: str | None = None,
        *,
        immediate: bool = False,
        settle_ns: int = DEFAULT_SETTLE_NS,
        dissectors: tuple[Dissector, ...] = registry.BUILTIN,
        keep_objects: bool = True,
        keep_transfers: bool = True,
        sink: Callable[[list[Item]], None] | None = None,
        rows: bool = True,
    ) -> None:
        if sink is not None and immediate:
            raise ValueError("bulk mode (sink) settles records; it cannot be immediate")
        self._sink = sink
        self._dissectors = dissectors
        self._forced = registry.by_id(protocol, dissectors) if protocol else None
        self._immediate = immediate
        self._settle_ns = settle_ns
        self._keep_objects = keep_objects
        self._keep_transfers = keep_transfers
        self._bulk = sink is not None or not rows
        self._rows = rows
        self._late: list[Item] = []
        """Records made between ``process`` calls (``take_objects``, ``transfers``)."""
        self._held_chunks = HeldChunks()
        self._lanes: dict[str, WholeLane | None] = {}
        """Each dissector's ``WholeLane`` (bulk mode), made at its first use."""
        self._links: dict[int, _LinkState] = {}
        self._matchers: dict[str, Matcher] = {}
        self._number = 0
        self._now_ns = 0
        self._last_expire_ns = 0
        self._held = new_held_items(MAX_HELD_RECORDS)
        """Items not settled yet, as the batches each release took (bound: the capture time)."""
        self._pending: list[Item] = []
        """Items made since the last release (at most ``RELEASE_BATCH``)."""
        self._release_due = False
        """A tick passed (``_expire``) since the last release."""
        self._watch: deque[tuple[Record, tuple[int, int | None, int | None]]] = deque()
        self._updates: list[Record] = []
        self._objects: list[ExtractedObject] = []
        self.stats = PipelineStats()
        self.links: dict[int, Link] = {}
        """Every link seen, by id."""
        self.link_protocols: dict[int, str] = {}
        """The protocol chosen for each link."""
        self.side_a_direction: dict[int, Direction] = {}
        """For each link, the direction of what endpoint ``link.a`` sends."""

    # -- public API ---------------------------------------------------------------------------

    def process(self, event: Event | ChunkRuns) -> list[Record]:
        """Feed one source event; return the records that are ready, in number order.

        ``ChunkRuns`` give what their chunks one by one would give."""
        if type(event) is Chunk:
            return self._process_runs(((event.info, event.side, (event,)),))
        if isinstance(event, ChunkRuns):
            return self._process_runs(event.runs)
        return self._process_event(event)

    def _process_event(self, event: Event) -> list[Record]:
        """``process`` of an event, the general way (see ``_process_runs`` for chunks)."""
        self.stats.events += 1
        held_chunks = self._held_chunks
        if held_chunks.pieces:
            expire_due = self._now_ns - self._last_expire_ns >= EXPIRE_EVERY_NS
            if type(event) is Chunk and held_chunks.joins(
                event.info, event.side, event, expire_due
            ):
                if event.time_ns > self._now_ns:
                    self._now_ns = event.time_ns
                return self._release(self._take_late()) if self._late else []
            out: list[Item] = self._take_late()
            self._dispatch_held_chunks(out)
        else:
            out = self._take_late() if self._late else []
        if event.time_ns > self._now_ns:
            self._now_ns = event.time_ns
        state = self._state(event.info)
        if not state.decided:
            state.held.append(event)
            if isinstance(event, Chunk):
                prefix = state.prefixes[event.side]
                if len(prefix) < SNIFF_BYTES:
                    prefix += event.data[: SNIFF_BYTES - len(prefix)]
            if not self._try_decide(state, final=isinstance(event, LinkClosed)):
                self._expire()
                return self._release(out)
            held, state.held = state.held, []
            for held_event in held:
                self._dispatch(state, held_event, out)
        elif isinstance(event, Chunk) and event.side in state.piece_feeds:
            held_chunks.hold(event.info, event.side, event)  # framed with the chunks after it
            return self._release(out)
        else:
            self._dispatch(state, event, out)
        self._expire()
        return self._release(out)

    def _process_runs(self, runs: Sequence[PieceRun]) -> list[Record]:
        """``process`` of each chunk of ``runs`` in turn: the hot path.

        The most common event, the next chunk of a stream side whose framer exists (its link
        decided for a dissector) and whose chunks are not held (``direct``), with no chunks
        held and nothing late, goes to the side's ``WholeLane``, which reads it and the
        chunks after it while it can, else straight to the side's framer, no ``Chunk`` made;
        nothing either does changes that for the next chunks. Any other run of chunks takes
        the general way (``_process_run``)."""
        records: list[Record] = []
        stats = self.stats
        links = self._links
        count = len(runs)
        run = piece = 0
        while run < count:
            info, side, pieces = runs[run]
            state = None if self._late or self._held_chunks.pieces else links.get(info.link.id)
            if state is None or not state.direct[side]:
                records += self._process_run(info, side, pieces[piece:] if piece else pieces)
                run += 1
                piece = 0
                continue
            out: list[Item] = []
            lane = state.lanes.get(side)
            if lane is not None:
                first = self._number
                at = (run, piece)
                run, piece, number, self._now_ns, chunks, size = lane.read(
                    runs,
                    run,
                    piece,
                    first,
                    self._now_ns,
                    self._last_expire_ns + EXPIRE_EVERY_NS,
                    RELEASE_BATCH - len(self._pending),
                    out,
                )
                if (run, piece) != at:
                    stats.events += chunks
                    stats.bytes += size
                    stats.records += number - first
                    self._number = number
                    self._expire()
                    records += self._release(out)
                    continue
            chunk = pieces[piece]
            data = chunk.data
            time_ns = chunk.time_ns
            if time_ns > self._now_ns:
                self._now_ns = time_ns
            stats.events += 1
            stats.bytes += len(data)
            self._emit_items(state, side, state.framers[side].feed(data, time_ns), out)
            self._expire()
            records += self._release(out)
            piece += 1
            if piece == len(pieces):
                run += 1
                piece = 0
        return records

    def _process_run(self, info: LinkInfo, side: Side, pieces: Sequence[Piece]) -> list[Record]:
        """``process`` of each chunk of a run the general way: once its side's chunks are
        held, without a ``Chunk`` or a call per chunk."""
        records: list[Record] = []
        count = len(pieces)
        i = 0
        while i < count and (self._late or not self._holds(info, side)):
            piece = pieces[i]
            chunk = piece if type(piece) is Chunk else Chunk(info, side, piece.time_ns, piece.data)
            records += self._process_event(chunk)
            i += 1
        if i == count:
            return records
        self.stats.events += count - i
        held_chunks = self._held_chunks
        while i < count:
            if held_chunks.pieces:
                expire_ns = self._last_expire_ns + EXPIRE_EVERY_NS
                i, self._now_ns = held_chunks.join_run(
                    info, side, pieces, i, self._now_ns, expire_ns
                )
                if i == count:
                    break
                out: list[Item] = self._take_late()
                self._dispatch_held_chunks(out)
            else:
                out = self._take_late() if self._late else []
            piece = pieces[i]
            if piece.time_ns > self._now_ns:
                self._now_ns = piece.time_ns
            held_chunks.hold(info, side, piece)
            records += self._release(out)
            i += 1
        return records

    def _holds(self, info: LinkInfo, side: Side) -> bool:
        """Whether ``process`` holds the chunks of this link side (to frame them together)."""
        state = self._links.get(info.link.id)
        return state is not None and state.decided and side in state.piece_feeds

    @property
    def takes_runs(self) -> bool:
        """Whether ``ChunkRuns`` save work here: in bulk mode, where chunks are held and framed
        together (without rows) or most are read whole (``WholeLane``), without a ``Chunk``
        each."""
        return self._bulk

    def _expire(self) -> None:
        """Every ``EXPIRE_EVERY_NS`` of capture time (a tick): the matchers' ``expire``, and a
        release due."""
        if self._now_ns - self._last_expire_ns >= EXPIRE_EVERY_NS:
            self._last_expire_ns = self._now_ns
            self._release_due = True
            keep_objects = self._keep_objects
            keep_transfers = self._keep_transfers
            for matcher in self._matchers.values():
                matcher.expire(self._now_ns)
                if not keep_objects:
                    matcher.take_objects()
                if not keep_transfers:
                    matcher.forget_transfers()

    def finish(self) -> list[Record]:
        """End of input: flush every framer, finish matchers, release every held record."""
        out: list[Item] = self._take_late()
        if self._held_chunks.pieces:
            self._dispatch_held_chunks(out)
        for state in list(self._links.values()):
            if not state.decided:
                self._try_decide(state, final=True)
                held, state.held = state.held, []
                for held_event in held:
                    self._dispatch(state, held_event, out)
            self._flush_link(state, out)
        for matcher in self._matchers.values():
            matcher.finish()
        self._collect_objects()
        if self._immediate:
            self._settle_watch(final=True)
            return cast(list[Record], out)  # LeanRecords exist only in bulk mode
        released = cast(list[Item], self._held.release_all())
        released += self._pending
        released += out
        self._pending = []
        return self._deliver(released)

    def take_updates(self) -> list[Record]:
        """Records (already emitted in immediate mode) whose annotations changed since."""
        updates, self._updates = self._updates, []
        return updates

    def take_objects(self) -> list[ExtractedObject]:
        """Files the matchers completed (or gave up on) since the last call."""
        self._catch_up()
        self._collect_objects()
        objects, self._objects = self._objects, []
        return objects

    def endpoints(self, record: Record) -> tuple[str, str]:
        """(source, destination) endpoint names of a record."""
        link = record.link
        if self.side_a_direction.get(link.id, Direction.TO_DEVICE) is record.direction:
            return link.a, link.b
        return link.b, link.a

    def transfers(self) -> list[Transfer]:
        """Every transfer the matchers know of, in their order."""
        self._catch_up()
        result: list[Transfer] = []
        for matcher in self._matchers.values():
            result.extend(matcher.transfers())
        return result

    # -- selection ------------------------------------------------------------------------------

    def _state(self, info: LinkInfo) -> _LinkState:
        state = self._links.get(info.link.id)
        if state is None:
            state = _LinkState(info)
            self._links[info.link.id] = state
            self.links[info.link.id] = info.link
        return state

    def _try_decide(self, state: _LinkState, *, final: bool) -> bool:
        prefixes = (bytes(state.prefixes[0]), bytes(state.prefixes[1]))
        enough = (
            final
            or len(state.held) >= SNIFF_EVENTS
            or max(len(prefixes[0]), len(prefixes[1])) >= SNIFF_BYTES
        )
        choice = choose_protocol(state.info, prefixes, enough, self._forced, self._dissectors)
        if choice is None:
            return False
        dissector, directions = choice
        link_id = state.info.link.id
        state.dissector = dissector
        state.decided = True
        state.directions = directions
        self.link_protocols[link_id] = dissector.id if dissector else RAW_PROTOCOL
        matchers = self._matchers
        if dissector and dissector.new_matcher is not None and dissector.id not in matchers:
            matchers[dissector.id] = dissector.new_matcher()
        self.side_a_direction[link_id] = directions[0]
        return True

    # -- dispatch -------------------------------------------------------------------------------

    def _dispatch(self, state: _LinkState, event: Event, out: list[Item]) -> None:
        if isinstance(event, Chunk):
            self.stats.bytes += len(event.data)
            if state.dissector is None:
                self._raw_chunk(state, event, out)
                return
            side = event.side
            framer = state.framers.get(side) or self._framer(state, side)
            self._emit_items(state, side, framer.feed(event.data, event.time_ns), out)
            if state.info.transport is Transport.DATAGRAM:
                self._emit_items(state, side, framer.flush(), out)
        elif isinstance(event, Gap):
            self.stats.gaps += 1
            self.stats.gap_bytes += event.length
            direction = state.directions[event.side]
            protocol = state.dissector.id if state.dissector else RAW_PROTOCOL
            if state.dissector is not None:
                framer = self._framer(state, event.side)
                self._emit_items(state, event.side, framer.gap(event.length, event.time_ns), out)
            start = state.offsets[event.side]
            state.offsets[event.side] += event.length
            gap = Junk(state.info.link, direction, start, b"", event.time_ns, "gap")
            self._append(state, protocol, gap, gap_dissection(event.length), out)
        else:
            self._flush_link(state, out)
            for matcher in self._matchers.values():
                matcher.link_closed(state.info.link, event.time_ns)
            del self._links[state.info.link.id]

    def _framer(self, state: _LinkState, side: int) -> Framer:
        framer = state.framers.get(side)
        if framer is None:
            assert state.dissector is not None
            framer = state.dissector.new_framer(state.info.link, state.directions[side])
            state.framers[side] = framer
            if self._bulk:
                transport = state.info.transport
                feed = ask_for_runs(framer, state.dissector, transport, rows=self._rows)
                if feed is not None:
                    state.piece_feeds[side] = feed
                elif (
                    transport is Transport.STREAM
                    and isinstance(framer, RunFramer)
                    and framer.header_runs
                ):
                    lane = self._lane(state)
                    if lane is not None and lane.add(state.info, side, framer, state.offsets):
                        state.lanes[side] = lane
            state.direct[side] = (
                state.info.transport is Transport.STREAM and side not in state.piece_feeds
            )
        return framer

    def _flush_link(self, state: _LinkState, out: list[Item]) -> None:
        for side in sorted(state.framers):
            self._emit_items(state, side, state.framers[side].flush(), out)
        state.framers.clear()
        state.piece_feeds.clear()
        for lane in state.lanes.values():
            lane.forget(state.info)
        state.lanes.clear()
        state.direct = [False, False]

    def _raw_chunk(self, state: _LinkState, chunk: Chunk, out: list[Item]) -> None:
        side = chunk.side
        frame = Frame(
            state.info.link, state.directions[side], state.offsets[side], chunk.data, chunk.time_ns
        )
        state.offsets[side] += len(chunk.data)
        self._append(state, RAW_PROTOCOL, frame, raw_dissection(chunk.data), out)

    def _emit_items(
        self,
        state: _LinkState,
        side: int,
        items: Iterator[Frame | Junk | FrameRun],
        out: list[Item],
        count: bool = True,
    ) -> None:
        """Decode, number and match what one framer (one side of a link) produced; with
        ``count`` False the caller counts the records (``_spill``).

        This is the per-message hot path: locals only, no per-item attribute chains. A
        ``FrameRun`` goes to the dissector's ``read_run`` (see ``dissectors.bulk.RunReader``).
        """
        dissector = state.dissector
        assert dissector is not None
        protocol = dissector.id
        decode = dissector.decode
        observe = None
        matcher = self._matchers.get(protocol)
        if matcher is not None:
            observe = matcher.observe
        stats = self.stats
        append = out.append
        rows = self._rows
        first = self._number
        number = first
        end = -1
        full = state.full or self._full_reader(state)
        try:
            for item in items:
                if isinstance(item, FrameRun):
                    assert dissector.read_run is not None
                    number = dissector.read_run(item, number, matcher, full, out, rows)
                    self._number = number
                    end = item.end
                    continue
                if isinstance(item, Junk):
                    stats.junk_bytes += len(item.data)
                    dissection = junk_dissection(protocol, item)
                else:
                    dissection = decoded(protocol, decode, item, stats)
                number += 1
                record = Record(number, protocol, item, dissection)
                self._number = number
                if observe is not None:
                    observe(record)
                append(record)
                end = item.start + len(item.data)
        finally:
            self._counted(state, side, number - first if count else 0, end)

    def _counted(self, state: _LinkState, side: int, count: int, end: int) -> None:
        """Account for ``count`` new records of a link side whose bytes were read up to stream
        offset ``end`` (-1: none)."""
        self.stats.records += count
        if end > state.offsets[side]:
            state.offsets[side] = end

    def _full_reader(self, state: _LinkState) -> Callable[[Frame, int], Record]:
        """``state.full``, made at its first use (the link's matcher exists by then)."""
        dissector = state.dissector
        assert dissector is not None
        protocol = dissector.id
        decode = dissector.decode
        stats = self.stats
        matcher = self._matchers.get(protocol)
        observe = None if matcher is None else matcher.observe

        def full(frame: Frame, number: int) -> Record:
            record = Record(number, protocol, frame, decoded(protocol, decode, frame, stats))
            if observe is not None:
                observe(record)
            return record

        state.full = full
        return full

    def _lane(self, state: _LinkState) -> WholeLane | None:
        """The ``WholeLane`` of the link's dissector, made at its first use."""
        dissector = state.dissector
        assert dissector is not None
        if dissector.id not in self._lanes:
            maker = dissector.whole_lane
            self._lanes[dissector.id] = (
                None
                if maker is None
                else maker(
                    self._matchers.get(dissector.id),
                    state.full or self._full_reader(state),
                    self._rows,
                    self._spill,
                )
            )
        return self._lanes[dissector.id]

    def _spill(
        self, info: object, side: int, data: bytes, time_ns: int, number: int, out: list[Item]
    ) -> int:
        """A ``WholeLane``'s ``spill`` (``dissectors.bulk.Spill``): the chunk through its
        framer's ``feed``, as ``_process_runs`` would take it."""
        assert isinstance(info, LinkInfo)
        state = self._links[info.link.id]
        self._number = number
        self._emit_items(state, side, state.framers[side].feed(data, time_ns), out, count=False)
        return self._number

    def _take_late(self) -> list[Item]:
        late, self._late = self._late, []
        return late

    def _dispatch_held_chunks(self, out: list[Item]) -> None:
        """Frame the held chunks in one go, as if each had been dispatched on arrival."""
        self.stats.bytes += self._held_chunks.size
        info, side, pieces = self._held_chunks.take()
        state = self._links[info.link.id]
        self._emit_items(state, side, state.piece_feeds[side](pieces), out)
        self._expire()

    def _catch_up(self) -> None:
        """Before the matchers are asked anything: frame the held chunks."""
        if self._held_chunks.pieces:
            self._dispatch_held_chunks(self._late)

    def _append(
        self,
        state: _LinkState,
        protocol: str,
        item: Frame | Junk,
        dissection: Dissection,
        out: list[Item],
    ) -> None:
        self._number += 1
        record = Record(self._number, protocol, item, dissection)
        self.stats.records += 1
        matcher = self._matchers.get(protocol)
        if matcher is not None:
            matcher.observe(record)
        out.append(record)

    # -- release --------------------------------------------------------------------------------

    def _release(self, out: list[Item]) -> list[Record]:
        if self._immediate:
            records = cast(list[Record], out)  # LeanRecords exist only in bulk mode
            for record in records:
                self._watch.append((record, _annotations(record)))
            self._settle_watch(final=False)
            return records
        pending = self._pending
        if out:
            if pending:
                pending += out
            else:
                self._pending = pending = out
        if not self._release_due and len(pending) < RELEASE_BATCH:
            return []
        self._release_due = False
        self._pending = []
        held = self._held
        now_ns = self._now_ns
        released = held.settle(pending, now_ns, now_ns - self._settle_ns)
        if not released:
            return []
        self.stats.released_early = held.released_early
        sink = self._sink
        if sink is None:
            return cast(list[Record], released)
        sink(released)
        return []

    def _deliver(self, released: list[Item]) -> list[Record]:
        """Settled items: to the sink in bulk mode, else returned (all Records then)."""
        sink = self._sink
        if sink is None:
            return cast(list[Record], released)
        if released:
            sink(released)
        return []

    def _settle_watch(self, *, final: bool) -> None:
        horizon = self._now_ns - self._settle_ns
        watch = self._watch
        while watch and (final or watch[0][0].time_ns <= horizon or len(watch) > MAX_HELD_RECORDS):
            record, before = watch.popleft()
            if _annotations(record) != before:
                self._updates.append(record)

    def _collect_objects(self) -> None:
        for matcher in self._matchers.values():
            objects = matcher.take_objects()
            if self._keep_objects:
                self._objects.extend(objects)


def _annotations(record: Record) -> tuple[int, int | None, int | None]:
    return (len(record.problems), record.request_in, record.response_in)


def iter_records(source: Source, pipeline: Pipeline) -> Iterator[Record]:
    """Run ``source`` through ``pipeline``, yielding records as they settle.

    If the source raises ``SourceError`` (a truncated file), every record decodable from what
    was read is yielded first, then the error propagates.
    """
    try:
        for event in source.events():
            yield from pipeline.process(event)
    finally:
        yield from pipeline.finish()
