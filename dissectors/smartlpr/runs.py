"""SmartLPR's ``read_run``: runs of header tuples to ``LeanRecord``s (``dissectors.bulk.FrameRun``).

The matcher's ``Pairing`` (C when built) takes the frames of a run while each has a lean form
(``pairing.lean_form``: a frame ``codec.decode`` would report no problem for, whose matcher
rules need only header facts and a few body integers) and the common case of every pairing
rule; it stops at the first frame it cannot take. That frame is taken here, alone: through
the matcher's Python rules as a ``LeanRecord`` when it has a lean form, else through
``full``, the pipeline's usual decode, ``Record`` and ``observe``, so unusual input has
exactly one code path. Without ``rows`` (``objects``) the LeanRecords are annotated all the
same, then dropped.
"""

from __future__ import annotations

from collections.abc import Callable

from dissectors.api import (
    Frame,
    Framer,
    Matcher,
    Record,
)
from dissectors.bulk import FrameRun, LeanRecord, WholeReader, read_in_full
from dissectors.smartlpr.framing import SmartLprFramer
from dissectors.smartlpr.matching import SmartLprMatcher
from dissectors.smartlpr.pairing import (
    PLATE_OPENER,
    REPLY,
    TRIGGER_OPENER,
    lean_form,
    new_shapes,
    time_at,
)

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


def whole_reader(
    framer: Framer,
    matcher: Matcher | None,
    full: Callable[[Frame, int], Record],
    rows: bool,
) -> WholeReader | None:
    """The dissector's ``whole_reader`` (see ``dissectors.bulk.WholeReaderMaker``): a chunk
    ``SmartLprFramer.cut_frames`` cuts whole is read as ``read_run`` would read its run,
    without the run unless ``take_run`` stops in it."""
    if not isinstance(framer, SmartLprFramer) or not isinstance(matcher, SmartLprMatcher):
        return None
    side = framer.side
    hosts = matcher.hosts_of(side.link)
    cut_frames = framer.cut_frames
    take_run = matcher.pairing.take_run
    saw = matcher.saw

    def read_whole(data: bytes, time_ns: int, number: int, out: list[Record | LeanRecord]) -> int:
        cut = cut_frames(data, time_ns, True)
        if cut is None:
            return -1
        start, headers, _end = cut
        offsets = (start,)
        times = (time_ns,)
        index, number, latest = take_run(
            side, data, start, headers, offsets, times, hosts, number, out, rows, 0
        )
        saw(latest)
        if index < len(headers):
            run = FrameRun(side, start, data, headers, offsets, times)
            number = _read_rest(run, index, number, matcher, hosts, full, out, rows)
        return number

    return read_whole


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
            if lean.role == REPLY:
                matcher.replied(row, time_ns, kind, hosts, unit_id, conv_id, message_type)
            else:
                matcher.opened(
                    row, time_ns, kind, hosts, unit_id, conv_id, message_type, version, True
                )
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
