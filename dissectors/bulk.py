"""The optional bulk hook of the dissector contract: frames handed over in runs.

For commands that need less than one ``Record`` per frame (``stats``: a ``LeanRecord`` per
message; ``objects``: only what the matchers extract), a framer may cut runs of plainly
well-formed frames (``FrameRun``) and the dissector's ``read_run`` takes them in bulk. Any
frame the bulk path cannot vouch for goes through the ordinary decode, ``Record`` and
``observe`` of ``dissectors.api``, so unusual input has exactly one code path.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from dissectors.api import (
    Direction,
    Frame,
    Framer,
    Junk,
    Kind,
    Link,
    Matcher,
    Record,
    Severity,
)


@runtime_checkable
class RunFramer(Framer, Protocol):
    """A framer with the bulk hook: once ``header_runs`` is True it may yield ``FrameRun``s."""

    header_runs: bool


class Piece(Protocol):
    """Bytes and the time they arrived: what a source's chunk carries."""

    @property
    def data(self) -> bytes: ...

    @property
    def time_ns(self) -> int: ...


@runtime_checkable
class PieceFramer(RunFramer, Protocol):
    """A run framer that can also be fed several consecutive chunks in one call.

    Only for a direction whose framing does not depend on how the bytes were chunked. In
    bulk mode the pipeline holds consecutive chunks of such a side and feeds them together,
    so runs span many chunks (a DualCam DATA frame comes about one per TCP segment: chunk by
    chunk, its runs would hold one frame each) and the per-chunk cost is paid once.
    """

    def feed_pieces(self, pieces: Sequence[Piece]) -> Iterator[Frame | Junk | FrameRun]:
        """``feed`` of each piece in turn, in one call."""
        ...


class Annotatable(Protocol):
    """What a matcher annotates: a ``Record``, or a ``LeanRecord`` on the ``stats`` path."""

    number: int
    request_in: int | None
    response_in: int | None
    latency_ns: int | None

    @property
    def link(self) -> Link: ...

    def add_problem(self, severity: Severity, code: str, text: str) -> None: ...


@dataclass(frozen=True, slots=True, eq=False)
class LinkSide:
    """One direction of one link as a protocol sees it: shared by that side's lean records.

    Compared by identity: one per framer, and a cheap dictionary key per message.
    """

    protocol: str
    link: Link
    direction: Direction


class _LeanFields(Protocol):
    """The attributes ``LeanRecordMethods`` works on."""

    data: bytes
    offset: int
    length: int
    side: LinkSide
    problems: list[tuple[str, Severity]] | None
    texts: list[str] | None


class LeanRecordMethods:
    """What a ``LeanRecord`` does, whichever class holds its attributes."""

    __slots__ = ()

    # the types add_problem assigns (the attributes are the subclasses')
    problems: list[tuple[str, Severity]] | None
    texts: list[str] | None

    @property
    def frame_data(self: _LeanFields) -> bytes:
        """The frame's bytes."""
        return self.data[self.offset : self.offset + self.length]

    @property
    def link(self: _LeanFields) -> Link:
        """The link this message was seen on."""
        return self.side.link

    def add_problem(self: _LeanFields, severity: Severity, code: str, text: str) -> None:
        """Attach a matcher-level problem."""
        if self.problems is None:
            self.problems = [(code, severity)]
            self.texts = [text]
        else:
            if self.texts is None:  # problems set without their texts
                self.texts = [""] * len(self.problems)
            self.problems.append((code, severity))
            self.texts.append(text)


class LeanRecordPython(LeanRecordMethods):
    """A numbered message without Frame or Dissection: what ``stats`` needs of it, and the
    frame's place in the bytes it came in, from which ``read`` renders it.

    Made by a dissector's ``read_run`` for a well-formed message whose decode would report
    no problem (anything unusual is decoded into a full ``Record`` instead), and by ``stats``
    from each Record, so that one loop counts both. ``key`` holds the type and kind its
    Dissection would have; matchers annotate it like a ``Record``.

    ``LeanRecord`` is this class without a compiler; with one, the same attributes are held
    by ``dissectors._lean_record`` (C, outside the cycle collector: one is made per message,
    and holds nothing that could lead back to it), and this class is its reference.
    """

    __slots__ = (
        "data",
        "key",
        "latency_ns",
        "length",
        "number",
        "offset",
        "problems",
        "request_in",
        "response_in",
        "side",
        "stream_start",
        "texts",
        "time_ns",
    )

    def __init__(
        self,
        number: int,
        side: LinkSide,
        time_ns: int,
        length: int,
        key: tuple[str, str, Kind],
        data: bytes = b"",
        offset: int = 0,
        stream_start: int = 0,
    ) -> None:
        self.number = number
        self.side = side
        self.time_ns = time_ns
        self.length = length
        self.key = key
        """(protocol, type name, kind): what ``stats`` counts it under; shared per type."""
        self.data = data
        """Bytes holding the frame, at ``offset`` (empty when the message is only counted)."""
        self.offset = offset
        self.stream_start = stream_start
        """Stream offset of ``data[0]``: the frame starts at ``stream_start + offset``."""
        self.problems: list[tuple[str, Severity]] | None = None
        """Matcher-level problems as ``stats`` counts them, (code, severity); None until the
        first."""
        self.texts: list[str] | None = None
        """The text of each of ``problems``, in the same order (None with them)."""
        self.request_in: int | None = None
        self.response_in: int | None = None
        self.latency_ns: int | None = None


_kernel: ModuleType | None
try:
    from dissectors import _lean_record as _kernel
except ImportError:  # pragma: no cover - exercised where no compiler was available
    _kernel = None

HAVE_C = _kernel is not None
"""Whether the C storage was built (``setup.py``, optional)."""

LeanRecord = LeanRecordPython
"""The lean record class: ``LeanRecordPython``'s API, with its storage in C when built."""
if not TYPE_CHECKING and _kernel is not None:  # for mypy, the C class is its twin
    LeanRecord = _kernel.lean_record_class("dissectors.bulk.LeanRecord", LeanRecordMethods)
    LeanRecord.__doc__ = LeanRecordPython.__doc__
    LeanRecord.__slots__ = LeanRecordPython.__slots__  # the names of its members, as a slot class


@dataclass(slots=True, eq=False)
class FrameRun:
    """Consecutive frames of one link side handed over as one item: the bulk mechanism.

    For commands that need less than one ``Record`` per frame (``stats``: a ``LeanRecord``
    per message; ``objects``: only what the matchers extract). In bulk mode the pipeline sets
    ``header_runs`` on framers that have it (``RunFramer``, optionally fed many chunks at once:
    ``PieceFramer``), which then cut runs of plainly well-formed frames without a ``Frame``
    each; the dissector's ``read_run`` (``RunReader``) numbers every frame of a run, lets the
    matcher take the common ones in bulk and hands any other to the pipeline's usual decode,
    ``Record`` and ``observe`` (``frame``/``frames`` give the Frames the framer would have
    emitted), so unusual input has exactly one code path.

    ``headers`` holds one tuple per frame; its layout belongs to the protocol, but the first
    two items are the frame's offset in ``data`` and its length. Arrival times come in one of
    two forms: per frame (``arrival_offsets`` None, ``arrival_times[i]`` for ``headers[i]``)
    or per chunk (``arrival_times[i]`` applies from stream offset ``arrival_offsets[i]`` on,
    as ``framing.ArrivalTimes``), whichever is cheaper for the framer.
    """

    side: LinkSide
    start: int
    """Stream offset of ``data[0]``."""
    data: bytes
    headers: Sequence[tuple[int, ...]]
    arrival_offsets: tuple[int, ...] | None
    arrival_times: Sequence[int]

    @property
    def count(self) -> int:
        """How many frames the run holds."""
        return len(self.headers)

    @property
    def end(self) -> int:
        """Stream offset just after the last frame."""
        offset, length = self.headers[-1][:2]
        return self.start + offset + length

    def times(self) -> Sequence[int]:
        """The arrival time of each frame, in order."""
        offsets = self.arrival_offsets
        if offsets is None:
            return self.arrival_times
        times = self.arrival_times
        if not times:
            return [0] * len(self.headers)
        start = self.start
        return [
            times[max(bisect_right(offsets, start + header[0]) - 1, 0)] for header in self.headers
        ]

    def frame(self, header: tuple[int, ...], time_ns: int) -> Frame:
        """The ``Frame`` of one header, arrived at ``time_ns``."""
        offset, length = header[0], header[1]
        return Frame(
            self.side.link,
            self.side.direction,
            self.start + offset,
            self.data[offset : offset + length],
            time_ns,
        )

    def frames(self, first: int = 0) -> list[Frame]:
        """Frames ``first`` onwards, as the framer would have emitted them one by one."""
        frame = self.frame
        return [
            frame(header, time_ns)
            for header, time_ns in zip(self.headers[first:], self.times()[first:], strict=True)
        ]


def read_in_full(
    run: FrameRun,
    first: int,
    number: int,
    full: Callable[[Frame, int], Record],
    out: list[Record | LeanRecord],
) -> int:
    """Frames ``first`` onwards of ``run`` the ordinary way: ``full(frame, number)`` each,
    numbered on from ``number``; returns the last number used. What a ``read_run`` does with
    the frames it cannot take in bulk."""
    for frame in run.frames(first):
        number += 1
        out.append(full(frame, number))
    return number


RunReader = Callable[
    [
        FrameRun,
        int,
        Matcher | None,
        Callable[[Frame, int], Record],
        list[Record | LeanRecord],
        bool,
    ],
    int,
]
"""A dissector's bulk hook: ``read_run(run, number, matcher, full, out, rows)`` numbers the
frames of ``run`` from ``number + 1`` on and returns the last number used. A frame the
matcher can take without a Record (through the protocol's own bulk entry point) is taken;
with ``rows`` it then appends a ``LeanRecord`` to ``out`` (``stats`` counts every message),
without (``objects`` wants the matchers' results, not rows) nothing. Any other frame goes
through ``full(frame, number)``, the pipeline's usual decode, ``Record`` and ``observe``, and
its Record is appended to ``out``. A dissector with no lean form for a frame takes it through
``full`` when ``rows`` is asked for."""


Spill = Callable[[object, int, bytes, int, int, list[Record | LeanRecord]], int]
"""The pipeline's ``spill(info, side, data, time_ns, number, out)`` for a ``WholeLane``: a
chunk of a side added to the lane that is not such a chunk, through its framer's ``feed`` and
the pipeline's usual way, numbered from ``number + 1``; the last number used (the lane's
caller counts the chunk and its records)."""


class WholeLane(Protocol):
    """One dissector's shortcut, in one pipeline, for the most common chunks of the stream
    sides added to it: chunks that hold plainly well-formed frames and nothing else, with
    nothing buffered before them (most chunks of a busy link). It reads their frames as
    ``read_run`` would read the ``FrameRun``s their framers' ``feed`` would have yielded, run
    after run of a ``ChunkRuns``, moving each side's framer and stream offset past them, and
    saves the pipeline its per-chunk and per-item loops. The other chunks of those sides go
    to ``spill`` (a picture spread over several TCP segments, say) without stopping."""

    def add(self, info: object, side: int, framer: Framer, offsets: list[int]) -> bool:
        """Read the chunks of this link side (``info`` its ``LinkInfo``, by identity) from
        now on, if ``framer`` (switched to runs) is one it can; ``offsets[side]`` is the
        pipeline's stream offset of the side, moved past what is read."""
        ...

    def forget(self, info: object) -> None:
        """No more chunks of this link's sides (the link is flushed)."""
        ...

    def read(
        self,
        runs: Sequence[tuple[object, int, Sequence[Piece]]],
        run: int,
        piece: int,
        number: int,
        now_ns: int,
        stop_ns: int,
        limit: int,
        out: list[Record | LeanRecord],
    ) -> tuple[int, int, int, int, int, int]:
        """From chunk ``piece`` of ``runs[run]`` on, each chunk of the sides added, numbered
        from ``number + 1`` on, into ``out`` (through ``spill`` when it is not such a chunk).
        It stops before a chunk of another side or one whose time is no int of 64 bits (it
        then goes to ``feed``), and after the chunk that brings the latest capture time
        (``now_ns`` on) to ``stop_ns`` or ``out`` to ``limit`` items: the pipeline's next tick
        or release. Returns (run, piece) where it stopped, the last number used, the latest
        time, the chunks and the bytes read."""
        ...


WholeLaneMaker = Callable[
    [Matcher | None, Callable[[Frame, int], Record], bool, Spill], WholeLane | None
]
"""A dissector's optional ``whole_lane(matcher, full, rows, spill)``: its ``WholeLane`` in a
pipeline in bulk mode (``read_run`` and ``full`` as for ``RunReader``), or None when it has
none."""


class LeanRenderer(Protocol):
    """A dissector's renderer of its LeanRecords as camshark/1 JSON objects or as ``read``'s
    text lines (C, optional)."""

    def render(
        self,
        items: list[Record | LeanRecord],
        index: int,
        base_ns: int,
        fragments: dict[LinkSide, bytes],
        with_hex: bool,
        separator: bytes,
        terminator: bytes,
        out: bytearray | list[bytes],
    ) -> int:
        """Append ``separator + object + terminator`` to ``out`` (a bytearray, or a list that
        gets the bytes as bytes objects) for ``items[index]`` on,
        while each is a LeanRecord of this renderer's type whose side has its fragment in
        ``fragments`` (the object's ``"link":..`` to ``"protocol":..`` members) and whose
        message is the common case; the index of the first item not rendered. Times are
        relative to ``base_ns``. Odd content is never an error: it stops there, and the
        caller renders that item through its Record."""
        ...

    def render_text(
        self,
        items: list[Record | LeanRecord],
        index: int,
        base_ns: int,
        fragments: dict[LinkSide, bytes],
        marks: tuple[tuple[Severity, bytes], ...],
        out: bytearray | list[bytes],
    ) -> int:
        """As ``render``, with ``read``'s text line and its newline for each item
        (``sniffer.output.text.format_line``): ``fragments`` then holds each side's
        ``src → dst arrow protocol`` part, ``marks`` the mark of each severity (a problem of
        another stops it)."""
        ...


LeanRendererMaker = Callable[[type[LeanRecord], str], LeanRenderer | None]
"""A dissector's optional ``lean_renderer(lean_type, schema)``: its ``LeanRenderer`` for
rows of ``lean_type`` and the schema name ``schema``, or None (not built here)."""
