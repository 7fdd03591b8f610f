"""SmartLPR's ``read_run``: runs of header tuples to ``LeanRecord``s (``dissectors.bulk.FrameRun``).

The matcher's ``Pairing`` (C when built) takes the frames of a run while each has a lean form
(``pairing.lean_form``: a frame ``codec.decode`` would report no problem for, whose matcher
rules need only header facts and a few body integers, or, for a picture response, the
matcher's ``lean_picture``) and the common case of every pairing rule; it stops at the first
frame it cannot take. That frame is taken here, alone: through the matcher's Python rules as
a ``LeanRecord`` when it has a lean form, else through ``full``, the pipeline's usual decode,
``Record`` and ``observe``, so unusual input has exactly one code path. Without ``rows``
(``objects``) the LeanRecords are annotated all the same, then dropped. The ``WholeLane``
reads whole chunks the same way and gives the others to the pipeline (``spill``), whose
framer makes them runs for ``read_run``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dissectors.api import (
    Frame,
    Framer,
    Matcher,
    Record,
)
from dissectors.bulk import FrameRun, LeanRecord, LinkSide, Piece, Spill, read_in_full
from dissectors.smartlpr.framing import SmartLprFramer
from dissectors.smartlpr.matching import SmartLprMatcher
from dissectors.smartlpr.pairing import (
    INT64_BOUND,
    PICTURE_OPENER,
    PICTURE_REPLY,
    PLATE_OPENER,
    REPLY,
    TRIGGER_OPENER,
    Hosts,
    PairingAPI,
    c_pairing,
    lean_form,
    new_shapes,
    time_at,
)
from dissectors.smartlpr.tables import MAX_FRAME, MAX_PLAUSIBLE_CODE
from dissectors.speedups import SmartLprHeader

_SHAPES = new_shapes()


def read_run(
    run: FrameRun,
    number: int,
    matcher: Matcher | None,
    full: Callable[[Frame, int], Record],
    out: list[Record | LeanRecord],
    rows: bool,
) -> int:
    """The dissector's ``read_run`` (see ``dissectors.bulk.RunReader``); the runs carry
    arrival times per chunk (``SmartLprFramer``)."""
    if not isinstance(matcher, SmartLprMatcher):
        # the lean records need this matcher's rules; anything else takes the usual path
        return read_in_full(run, 0, number, full, out)
    side = run.side
    hosts = matcher.hosts_of(side.link)
    index, number, latest = matcher.pairing.take_run(
        side,
        run.data,
        run.start,
        run.headers,
        run.arrival_offsets,
        run.arrival_times,
        hosts,
        number,
        out,
        rows,
        0,
    )
    matcher.saw(latest)
    if index < len(run.headers):
        number = _read_rest(run, index, number, matcher, hosts, full, out, rows)
    return number


Rest = Callable[
    [LinkSide, Hosts, bytes, int, int, list[SmartLprHeader], int, int, list[Record | LeanRecord]],
    int,
]
"""``rest(side, hosts, data, time_ns, start, headers, index, number, out)``: the frames of a
chunk from ``index`` on, the first of which ``take_run`` stopped at; the last number used."""


class WholeLanePython:
    """The reference lane (the C ``Lane`` has the identical API and behaviour): the chunks of
    the link sides added to it, run after run (``ChunkRuns``), each read as ``read_run`` would
    read the ``FrameRun`` its framer would yield when it is exactly a run of whole frames on
    an empty framer (what ``SmartLprFramer.cut_frames`` cuts whole), else given to ``spill``.
    ``max_frame`` and ``max_code`` are the C lane's bounds of ``smartlpr_scan``, which
    ``cut_frames`` knows."""

    def __init__(
        self,
        pairing: PairingAPI,
        rest: Rest,
        saw: Callable[[int], None],
        spill: Spill,
        rows: bool,
        max_frame: int,
        max_code: int,
    ) -> None:
        self._pairing = pairing
        self._rest = rest
        self._saw = saw
        self._spill = spill
        self._rows = rows
        self._sides: dict[
            tuple[int, int], tuple[object, LinkSide, Hosts, SmartLprFramer, list[int]]
        ]
        self._sides = {}

    def add(
        self,
        info: object,
        side: int,
        link_side: LinkSide,
        hosts: Hosts,
        framer: SmartLprFramer,
        offsets: list[int],
    ) -> None:
        """Read this link side's chunks (``info`` is its ``LinkInfo``, by identity)."""
        self._sides[id(info), side] = (info, link_side, hosts, framer, offsets)

    def forget(self, info: object) -> None:
        """No more chunks of this link's sides."""
        for side in (0, 1):
            self._sides.pop((id(info), side), None)

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
        """From ``runs[run]``'s ``piece`` on, the chunks of the sides added, numbered from
        ``number + 1`` on, into ``out`` (``spill`` takes those that are not runs of whole
        frames): it stops before a chunk of another side or one whose time is no int of 64
        bits, and after the chunk that brings the latest time (``now_ns`` on) to ``stop_ns``
        or ``out`` to ``limit`` items. Returns (run, piece) where it stopped, the last number
        used, the latest time, the chunks and bytes read.
        """
        take_run = self._pairing.take_run
        chunks = size = 0
        latest: int | None = None
        while run < len(runs):
            info, side, pieces = runs[run]
            entry = self._sides.get((id(info), side))
            if entry is None:
                break
            _info, link_side, hosts, framer, offsets = entry
            stop = False
            while piece < len(pieces):
                chunk = pieces[piece]
                data = chunk.data
                time_ns = chunk.time_ns
                if type(time_ns) is not int or not -INT64_BOUND <= time_ns < INT64_BOUND:
                    stop = True
                    break
                whole = framer.cut_frames(data, time_ns, True)
                if whole:
                    base, headers, _end = whole
                    taken, number_after, seen = take_run(
                        link_side, data, base, headers, (base,), (time_ns,), hosts, number, out,
                        self._rows, 0,
                    )  # fmt: skip
                    if number_after > number and (latest is None or seen > latest):
                        latest = seen
                    number = number_after
                    offsets[side] += len(data)
                    if taken < len(headers):
                        number = self._rest(
                            link_side, hosts, data, time_ns, base, headers, taken, number, out
                        )
                else:
                    number = self._spill(info, side, data, time_ns, number, out)
                size += len(data)
                chunks += 1
                now_ns = max(now_ns, time_ns)
                piece += 1
                if now_ns >= stop_ns or len(out) >= limit:
                    stop = True
                    break
            if piece >= len(pieces):
                run += 1
                piece = 0
            if stop:
                break
        if latest is not None:
            self._saw(latest)
        return run, piece, number, now_ns, chunks, size


c_lane: type[WholeLanePython] | None
try:
    from dissectors import _smartlpr_pairing

    c_lane = _smartlpr_pairing.Lane
except ImportError:  # pragma: no cover - exercised where no compiler was available
    c_lane = None


class WholeLane:
    """SmartLPR's ``dissectors.bulk.WholeLane``: the C ``Lane`` when built and the matcher's
    ``Pairing`` is the C one, else ``WholeLanePython``."""

    def __init__(
        self,
        matcher: SmartLprMatcher,
        full: Callable[[Frame, int], Record],
        rows: bool,
        spill: Spill,
    ) -> None:
        def rest(
            side: LinkSide,
            hosts: Hosts,
            data: bytes,
            time_ns: int,
            start: int,
            headers: list[SmartLprHeader],
            index: int,
            number: int,
            out: list[Record | LeanRecord],
        ) -> int:
            run = FrameRun(side, start, data, headers, (start,), (time_ns,))
            return _read_rest(run, index, number, matcher, hosts, full, out, rows)

        pairing = matcher.pairing
        lane_type: type[WholeLanePython] = WholeLanePython
        if c_lane is not None and c_pairing is not None and isinstance(pairing, c_pairing):
            lane_type = c_lane
        self._kernel = lane_type(
            pairing, rest, matcher.saw, spill, rows, MAX_FRAME, MAX_PLAUSIBLE_CODE
        )
        self._matcher = matcher
        self.read = self._kernel.read
        self.forget = self._kernel.forget

    def add(self, info: object, side: int, framer: Framer, offsets: list[int]) -> bool:
        """Read this link side's chunks, if its framer is SmartLPR's in bulk mode."""
        if not isinstance(framer, SmartLprFramer) or not framer.header_runs:
            return False
        hosts = self._matcher.hosts_of(framer.link)
        self._kernel.add(info, side, framer.side, hosts, framer, offsets)
        return True


def whole_lane(
    matcher: Matcher | None, full: Callable[[Frame, int], Record], rows: bool, spill: Spill
) -> WholeLane | None:
    """The dissector's ``whole_lane`` (see ``dissectors.bulk.WholeLaneMaker``)."""
    if not isinstance(matcher, SmartLprMatcher):
        return None
    return WholeLane(matcher, full, rows, spill)


def _read_rest(
    run: FrameRun,
    index: int,
    number: int,
    matcher: SmartLprMatcher,
    hosts: tuple[str, str],
    full: Callable[[Frame, int], Record],
    out: list[Record | LeanRecord],
    rows: bool,
) -> int:
    """Frames ``index`` onwards of ``run``, the first of which ``take_run`` stopped at: that
    one through the matcher's Python rules (or ``full``), the next ones by ``take_run`` again
    as far as it goes, and so on. Returns the last number used."""
    side = run.side
    data = run.data
    start = run.start
    offsets = run.arrival_offsets
    times = run.arrival_times
    headers = run.headers
    take_run = matcher.pairing.take_run
    count = len(headers)
    while True:
        header = headers[index]
        time_ns = time_at(start, header[0], offsets, times, index)
        number += 1
        lean = lean_form(_SHAPES, data, header)
        if lean is None:
            out.append(full(run.frame(header, time_ns), number))
        else:
            _offset, length, unit_id, _size, message_type, version, conv_id, _bcc = header
            row = LeanRecord(number, side, time_ns, length, lean.key, data, header[0], start)
            kind = lean.key[2]
            role = lean.role
            if role in (REPLY, PICTURE_REPLY):
                entry = matcher.replied(row, time_ns, kind, hosts, unit_id, conv_id, message_type)
                if role == PICTURE_REPLY:
                    matcher.lean_picture(row, unit_id, entry)
            else:
                request_body = _SHAPES.get_picture(lean.car_id) if role == PICTURE_OPENER else None
                matcher.opened(
                    row, time_ns, kind, hosts, unit_id, conv_id, message_type, version, True,
                    request_body,
                )  # fmt: skip
                if lean.role == TRIGGER_OPENER:
                    matcher.trigger_seen(hosts, unit_id, lean.trigger_id, number, time_ns)
                elif lean.role == PLATE_OPENER:
                    matcher.plate_seen(
                        row, time_ns, hosts, unit_id, lean.trigger_id, lean.timestamp, lean.usec
                    )
            if rows:
                out.append(row)
        index += 1
        index, number, latest = take_run(
            side, data, start, headers, offsets, times, hosts, number, out, rows, index
        )
        matcher.saw(latest)
        if index >= count:
            return number
