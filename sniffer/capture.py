"""The in-memory model behind the TUI: a compact, append-only store of records.

A million ``Record`` objects would cost gigabytes, so a ``Capture`` keeps one row per record in
parallel ``array``s (time, link, direction, protocol, type, kind, worst severity, request and
response numbers, latency), the frame bytes in one ``bytearray`` with offsets, and the summaries
in another. Problems and junk reasons are rare and kept in dicts. The detail tree is rebuilt on
demand by decoding the stored bytes again through the dissector (record raw, dissect on read),
with a small LRU cache.

One writer thread (the loader) appends; the UI thread reads. Rows are published by bumping
``len(capture)`` last, so a reader never sees a half-written row. Growing ``array``s and
``bytearray``s is safe under the GIL.
"""

from __future__ import annotations

import bisect
import re
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from dissectors.api import (
    DecodeError,
    Direction,
    Dissection,
    Dissector,
    ExtractedObject,
    Field,
    Frame,
    Junk,
    Kind,
    Link,
    Problem,
    Record,
    Severity,
    Transfer,
)
from sniffer.row_search import find_row

NO_SEVERITY = -1
SEVERITY_BY_RANK: tuple[Severity, ...] = (Severity.NOTE, Severity.WARNING, Severity.ERROR)
KINDS: tuple[Kind, ...] = tuple(Kind)
_KIND_INDEX = {kind: i for i, kind in enumerate(KINDS)}
_JUNK_FLAG = 2

DissectorLookup = Callable[[str], "Dissector | None"]


def registry_lookup(protocol: str) -> Dissector | None:
    """The registered dissector for ``protocol``, or None (unknown id, registry unavailable)."""
    try:
        from dissectors import registry
    except ImportError:
        return None
    try:
        return registry.by_id(protocol)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Row:
    """What the message list shows for one record: cheap, no decoding."""

    index: int
    number: int
    time_ns: int
    link: Link
    direction: Direction
    protocol: str
    type: str
    kind: Kind
    summary: str
    worst: Severity | None
    length: int
    is_junk: bool
    request_in: int | None
    response_in: int | None
    latency_ns: int | None


@dataclass(slots=True)
class ConversationStats:
    """Per-link totals for the conversations view."""

    link: Link
    protocols: set[str]
    messages: int = 0
    to_device: int = 0
    from_device: int = 0
    bytes: int = 0
    errors: int = 0
    warnings: int = 0
    junk: int = 0
    answered: int = 0
    latency_sum_ns: int = 0
    latency_max_ns: int = 0
    first_ns: int = 0
    last_ns: int = 0

    @property
    def latency_mean_ns(self) -> int | None:
        """Mean request-to-reply latency, or None when nothing was answered."""
        return self.latency_sum_ns // self.answered if self.answered else None


class Capture:
    """Compact storage for the records of one capture, with on-demand re-decoding.

    Args:
        lookup: finds the dissector to re-decode a protocol's frames (default: the registry).
        cache_size: how many decoded dissections to keep.
    """

    def __init__(self, *, lookup: DissectorLookup | None = None, cache_size: int = 512) -> None:
        self._lookup: DissectorLookup = lookup or registry_lookup
        self._cache: OrderedDict[int, Dissection] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._numbers = array("q")
        self._times = array("q")
        self._starts = array("q")
        self._link_ids = array("l")
        self._flags = array("B")
        self._protos = array("H")
        self._types = array("l")
        self._kinds = array("B")
        self._worst = array("b")
        self._request_in = array("q")
        self._response_in = array("q")
        self._latency = array("q")
        self._data = bytearray()
        self._data_off = array("q", [0])
        self._summary = bytearray()
        self._summary_off = array("q", [0])
        self._frame_problems: dict[int, tuple[Problem, ...]] = {}
        self._match_problems: dict[int, tuple[Problem, ...]] = {}
        self._junk_reasons: dict[int, str] = {}
        self._links: list[Link] = []
        self._link_index: dict[Link, int] = {}
        self._link_by_object: dict[int, int] = {}
        """Slot by ``id(link)``: the pipeline reuses one Link object per link."""
        self._names: list[str] = []
        self._name_index: dict[str, int] = {}
        self._contiguous = True
        self._rank_counts = [0, 0, 0]
        """Rows whose worst problem is a note, a warning, an error (kept up to date)."""
        self._count = 0
        self.generation = 0
        """Bumped whenever existing rows change (updates), so views know to repaint."""
        self.roles: dict[int, tuple[str, str]] = {}
        """(host, device) endpoints by link id, once the pipeline knows the direction."""
        self.objects: list[ExtractedObject] = []
        self.transfers: list[Transfer] = []
        self.finished = False
        """True once the source has ended and the pipeline has finished."""
        self.error: str | None = None
        """A source or pipeline failure, for the status bar."""
        self.progress: float | None = None
        """Loading progress 0..1 when the source can tell."""

    # -- writing -------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._count

    def _intern(self, name: str) -> int:
        found = self._name_index.get(name)
        if found is None:
            found = self._name_index[name] = len(self._names)
            self._names.append(name)
        return found

    def _link_id(self, link: Link) -> int:
        found = self._link_index.get(link)
        if found is None:
            found = self._link_index[link] = len(self._links)
            self._links.append(link)
        return found

    def append(self, record: Record) -> int:
        """Store ``record`` and return its row index. Only the loader thread calls this."""
        self.extend((record,))
        return self._count - 1

    def extend(self, records: Iterable[Record]) -> None:
        """Store several records (the loader's hot path: every lookup is hoisted)."""
        index = self._count
        numbers = self._numbers
        first_number = numbers[0] if index else None
        contiguous = self._contiguous
        times, starts, flags = self._times.append, self._starts.append, self._flags.append
        link_ids, protos, types = self._link_ids.append, self._protos.append, self._types.append
        kinds, worst = self._kinds.append, self._worst.append
        request_in, response_in = self._request_in.append, self._response_in.append
        latency, data_off, summary_off = (
            self._latency.append,
            self._data_off.append,
            self._summary_off.append,
        )
        data, summary = self._data, self._summary
        by_object = self._link_by_object
        names = self._name_index
        kind_index = _KIND_INDEX
        rank_counts = self._rank_counts
        for record in records:
            item = record.item
            dissection = record.dissection
            number = record.number
            if first_number is None:
                first_number = number
            elif contiguous and number != first_number + index:
                contiguous = False
            numbers.append(number)
            times(item.time_ns)
            starts(item.start)
            link = item.link
            slot = by_object.get(id(link))
            if slot is None:
                slot = by_object[id(link)] = self._link_id(link)
            link_ids(slot)
            is_junk = type(item) is Junk
            flags((_JUNK_FLAG if is_junk else 0) | (1 if item.direction else 0))
            name = record.protocol
            found = names.get(name)
            protos(found if found is not None else self._intern(name))
            name = dissection.type
            found = names.get(name)
            types(found if found is not None else self._intern(name))
            kinds(kind_index.get(dissection.kind, 0))
            request_in(record.request_in or 0)
            response_in(record.response_in or 0)
            value = record.latency_ns
            latency(-1 if value is None else value)
            data += item.data
            data_off(len(data))
            summary += dissection.summary.encode("utf-8", "replace")
            summary_off(len(summary))
            frame_problems = dissection.problems
            match_problems = record.problems
            if frame_problems or match_problems:
                if frame_problems:
                    self._frame_problems[index] = frame_problems
                if match_problems:
                    self._match_problems[index] = tuple(match_problems)
                rank = _worst_rank((*frame_problems, *match_problems))
                worst(rank)
                if rank >= 0:
                    rank_counts[rank] += 1
            else:
                worst(NO_SEVERITY)
            if is_junk:
                self._junk_reasons[index] = item.reason  # type: ignore[union-attr]
            index += 1
            self._contiguous = contiguous
            self._count = index

    def apply_update(self, record: Record) -> bool:
        """Take the matcher's later annotations of an already stored record.

        Returns:
            False when the record is not (yet) stored.
        """
        index = self.index_of(record.number)
        if index is None:
            return False
        self._request_in[index] = record.request_in or 0
        self._response_in[index] = record.response_in or 0
        self._latency[index] = -1 if record.latency_ns is None else record.latency_ns
        if record.problems:
            self._match_problems[index] = tuple(record.problems)
        else:
            self._match_problems.pop(index, None)
        old = self._worst[index]
        new = _worst_rank(
            (*self._frame_problems.get(index, ()), *self._match_problems.get(index, ()))
        )
        if new != old:
            if old >= 0:
                self._rank_counts[old] -= 1
            if new >= 0:
                self._rank_counts[new] += 1
            self._worst[index] = new
        self.generation += 1
        return True

    def apply_updates(self, records: Iterable[Record]) -> int:
        """Apply several updates; returns how many were applied."""
        return sum(self.apply_update(record) for record in records)

    # -- reading: rows -------------------------------------------------------------------

    def index_of(self, number: int) -> int | None:
        """The row index of record ``number``, or None."""
        count = self._count
        if not count:
            return None
        if self._contiguous:
            index = number - self._numbers[0]
            return index if 0 <= index < count else None
        index = bisect.bisect_left(self._numbers, number, 0, count)
        return index if index < count and self._numbers[index] == number else None

    def number(self, index: int) -> int:
        """The record number of row ``index``."""
        return self._numbers[index]

    def time_ns(self, index: int) -> int:
        """Arrival time of row ``index``."""
        return self._times[index]

    @property
    def first_time_ns(self) -> int:
        """Time of the first record (0 when empty)."""
        return self._times[0] if self._count else 0

    def link(self, index: int) -> Link:
        """The link of row ``index``."""
        return self._links[self._link_ids[index]]

    def link_slot(self, index: int) -> int:
        """A small integer naming the link of row ``index`` (its position in ``links``)."""
        return self._link_ids[index]

    @property
    def links(self) -> Sequence[Link]:
        """Every link seen so far, in order of first appearance."""
        return tuple(self._links)

    def direction(self, index: int) -> Direction:
        """Direction of row ``index``."""
        return Direction(self._flags[index] & 1)

    def is_junk(self, index: int) -> bool:
        """Whether row ``index`` is junk rather than a frame."""
        return bool(self._flags[index] & _JUNK_FLAG)

    def protocol(self, index: int) -> str:
        """Protocol id of row ``index``."""
        return self._names[self._protos[index]]

    def type_name(self, index: int) -> str:
        """Message type of row ``index``."""
        return self._names[self._types[index]]

    def kind(self, index: int) -> Kind:
        """Message kind of row ``index``."""
        return KINDS[self._kinds[index]]

    def summary(self, index: int) -> str:
        """The one-line summary of row ``index``."""
        return self._summary[self._summary_off[index] : self._summary_off[index + 1]].decode(
            "utf-8", "replace"
        )

    def data(self, index: int) -> bytes:
        """The raw bytes of row ``index``."""
        return bytes(self._data[self._data_off[index] : self._data_off[index + 1]])

    def length(self, index: int) -> int:
        """Byte length of row ``index``."""
        return self._data_off[index + 1] - self._data_off[index]

    def worst(self, index: int) -> Severity | None:
        """The most severe problem of row ``index``."""
        rank = self._worst[index]
        return None if rank < 0 else SEVERITY_BY_RANK[rank]

    def has_problems(self, index: int) -> bool:
        """Whether row ``index`` has any problem."""
        return self._worst[index] >= 0

    def request_in(self, index: int) -> int | None:
        """For a reply, the number of its request."""
        return self._request_in[index] or None

    def response_in(self, index: int) -> int | None:
        """For a request, the number of its first reply."""
        return self._response_in[index] or None

    def latency_ns(self, index: int) -> int | None:
        """For a reply, the time since its request."""
        value = self._latency[index]
        return None if value < 0 else value

    def problems(self, index: int) -> tuple[Problem, ...]:
        """Frame-level, then matcher-level problems of row ``index``."""
        return (*self._frame_problems.get(index, ()), *self._match_problems.get(index, ()))

    def junk_reason(self, index: int) -> str | None:
        """Why the framer skipped these bytes, for junk rows."""
        return self._junk_reasons.get(index)

    def row(self, index: int) -> Row:
        """Everything the message list needs for row ``index``, without decoding."""
        return Row(
            index=index,
            number=self._numbers[index],
            time_ns=self._times[index],
            link=self._links[self._link_ids[index]],
            direction=Direction(self._flags[index] & 1),
            protocol=self._names[self._protos[index]],
            type=self._names[self._types[index]],
            kind=KINDS[self._kinds[index]],
            summary=self.summary(index),
            worst=self.worst(index),
            length=self.length(index),
            is_junk=bool(self._flags[index] & _JUNK_FLAG),
            request_in=self._request_in[index] or None,
            response_in=self._response_in[index] or None,
            latency_ns=self.latency_ns(index),
        )

    def problem_indices(self, start: int = 0) -> list[int]:
        """Row indices from ``start`` on that carry a problem."""
        worst = self._worst
        return [i for i in range(start, self._count) if worst[i] >= 0]

    def indices_on_link(self, link: Link) -> array[int]:
        """Row indices of every record on ``link``, in order."""
        slot = self._link_index.get(link)
        result = array("q")
        if slot is None:
            return result
        count = self._count
        if len(self._links) == 1:
            result.extend(range(count))
            return result
        ids = self._link_ids
        result.extend(i for i in range(count) if ids[i] == slot)
        return result

    # -- reading: decoded ----------------------------------------------------------------

    def item(self, index: int) -> Frame | Junk:
        """Rebuild the frame (or junk) of row ``index``."""
        link = self._links[self._link_ids[index]]
        direction = Direction(self._flags[index] & 1)
        if self._flags[index] & _JUNK_FLAG:
            return Junk(
                link,
                direction,
                self._starts[index],
                self.data(index),
                self._times[index],
                self._junk_reasons.get(index, "no frame start found"),
            )
        return Frame(link, direction, self._starts[index], self.data(index), self._times[index])

    def dissection(self, index: int) -> Dissection:
        """The full dissection of row ``index``, decoded again from its bytes (LRU cached)."""
        with self._cache_lock:
            cached = self._cache.get(index)
            if cached is not None:
                self._cache.move_to_end(index)
                return cached
        dissection = self._decode(index)
        with self._cache_lock:
            self._cache[index] = dissection
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return dissection

    def _decode(self, index: int) -> Dissection:
        item = self.item(index)
        stored = (self.type_name(index), self.summary(index), self.kind(index))
        problems = self._frame_problems.get(index, ())
        if isinstance(item, Junk):
            return _raw_dissection(item, stored, problems, item.reason)
        dissector = self._lookup(self.protocol(index))
        if dissector is None:
            return _raw_dissection(item, stored, problems, "no dissector for this protocol")
        try:
            return dissector.decode(item)
        except DecodeError as error:
            return _raw_dissection(item, stored, problems, f"decode failed: {error}")
        except Exception as error:
            return _raw_dissection(item, stored, problems, f"dissector crashed: {error!r}")

    def record(self, index: int) -> Record:
        """A ``Record`` for row ``index`` whose field tree is decoded only when asked for.

        Type, summary, kind and problems come from storage, so filters that do not look at
        fields never decode.
        """
        stored_type = self.type_name(index)
        dissection = Dissection(
            stored_type,
            self.summary(index),
            kind=self.kind(index),
            problems=self._frame_problems.get(index, ()),
            fields=lambda: self.dissection(index).fields,
        )
        return Record(
            number=self._numbers[index],
            protocol=self.protocol(index),
            item=self.item(index),
            dissection=dissection,
            problems=list(self._match_problems.get(index, ())),
            request_in=self.request_in(index),
            response_in=self.response_in(index),
            latency_ns=self.latency_ns(index),
        )

    def records(self, indices: Iterable[int] | None = None) -> Iterator[Record]:
        """Records for ``indices`` (default: all rows), built lazily."""
        for index in range(self._count) if indices is None else indices:
            yield self.record(index)

    # -- search and statistics -----------------------------------------------------------

    def find_text(self, text: str, start: int, *, backwards: bool = False) -> int | None:
        """The first row from ``start`` (wrapping) whose summary contains ``text``, any case."""
        if not text or not self._count:
            return None
        needle = text.encode("utf-8")
        pattern = re.compile(re.escape(needle), re.IGNORECASE)
        return find_row(
            self._summary,
            self._summary_off,
            self._count,
            pattern.search,
            start,
            backwards=backwards,
            needle_len=len(needle),
        )

    def find_bytes(self, needle: bytes, start: int, *, backwards: bool = False) -> int | None:
        """The first row from ``start`` (wrapping) whose bytes contain ``needle``."""
        if not needle or not self._count:
            return None
        pattern = re.compile(re.escape(needle))
        return find_row(
            self._data,
            self._data_off,
            self._count,
            pattern.search,
            start,
            backwards=backwards,
            needle_len=len(needle),
        )

    def conversations(self) -> list[ConversationStats]:
        """Per-link counts, errors and latency, in order of first appearance."""
        stats = [ConversationStats(link, set()) for link in self._links]
        count = self._count
        for i in range(count):
            s = stats[self._link_ids[i]]
            if not s.messages:
                s.first_ns = self._times[i]
            s.messages += 1
            s.last_ns = self._times[i]
            flags = self._flags[i]
            if flags & 1:
                s.from_device += 1
            else:
                s.to_device += 1
            if flags & _JUNK_FLAG:
                s.junk += 1
            s.bytes += self._data_off[i + 1] - self._data_off[i]
            s.protocols.add(self._names[self._protos[i]])
            worst = self._worst[i]
            if worst == 2:
                s.errors += 1
            elif worst == 1:
                s.warnings += 1
            latency = self._latency[i]
            if latency >= 0:
                s.answered += 1
                s.latency_sum_ns += latency
                s.latency_max_ns = max(s.latency_max_ns, latency)
        return [s for s in stats if s.messages]

    def counts(self) -> tuple[int, int, int]:
        """How many rows carry an error, a warning and a note as their worst problem."""
        notes, warnings, errors = self._rank_counts
        return errors, warnings, notes

    def memory_bytes(self) -> int:
        """An estimate of the bytes held by the row store (arrays and blobs)."""
        arrays = (
            self._numbers,
            self._times,
            self._starts,
            self._link_ids,
            self._flags,
            self._protos,
            self._types,
            self._kinds,
            self._worst,
            self._request_in,
            self._response_in,
            self._latency,
            self._data_off,
            self._summary_off,
        )
        return (
            sum(a.buffer_info()[1] * a.itemsize for a in arrays)
            + len(self._data)
            + len(self._summary)
        )


def _worst_rank(problems: Iterable[Problem]) -> int:
    return max((p.severity.rank for p in problems), default=NO_SEVERITY)


def _raw_dissection(
    item: Frame | Junk,
    stored: tuple[str, str, Kind],
    problems: tuple[Problem, ...],
    note: str,
) -> Dissection:
    type_name, summary, kind = stored
    length = len(item.data)
    fields = (
        Field("note", note, (0, 0)),
        Field("length", length, (0, length), f"{length} bytes"),
        Field("data", item.data.hex(" "), (0, length)),
    )
    return Dissection(type_name, summary, kind=kind, problems=problems, fields=fields)
