"""``camshark stats``: conversations, message types, latency, problems and transfers.

Accumulates in one pass over settled records with memory bounded by the number of distinct
links, types and problem codes, plus the requests still waiting for their reply.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Protocol, cast

from dissectors.api import (
    Direction,
    Dissection,
    Field,
    Kind,
    Link,
    Record,
    Severity,
    Transfer,
)
from dissectors.bulk import (
    LeanRecord,
    LinkSide,
)

Endpoints = Callable[[Record], tuple[str, str]]

# plain names: attribute access on an enum class costs ~0.1 µs, too much on the hot path
_ERROR = Severity.ERROR
_WARNING = Severity.WARNING

LATENCY_SAMPLES = 20_000
"""Latencies kept per request type and per link for the percentiles: plenty for a p95, and
about 0.7 MB per list whatever the capture size."""


@dataclass(slots=True)
class LatencySample:
    """Every latency counted, at most ``LATENCY_SAMPLES`` kept, spread evenly over the capture.

    A systematic sample: the ``stride``-th values are kept. When the list overflows, every
    other kept value goes and the stride doubles, so what remains is always exactly every
    ``stride``-th value seen, from the first to the last (no bias towards either end, no
    random generator, the same result for the same capture).
    """

    values: list[int] = field(default_factory=list)
    count: int = 0
    """Latencies seen (the count the tables show, not ``len(values)``)."""
    low: int = 0
    high: int = 0
    """The smallest and largest latency seen (exact, unlike the percentiles)."""
    stride: int = 1

    def add(self, latency_ns: int) -> None:
        """Count one latency; keep it if it falls on the stride."""
        count = self.count
        self.count = count + 1
        if not count or latency_ns < self.low:
            self.low = latency_ns
        if latency_ns > self.high:
            self.high = latency_ns
        if count % self.stride:
            return
        values = self.values
        values.append(latency_ns)
        if len(values) > LATENCY_SAMPLES:
            del values[1::2]
            self.stride *= 2


class LeanCounting(Protocol):
    """What counts LeanRecords for ``Stats.take_all``: ``LeanCounterPython`` or the C
    ``sniffer._lean_count.LeanCounter`` (same API and results)."""

    def count(
        self, items: Sequence[Record | LeanRecord], index: int, last_ns: int
    ) -> tuple[int, int]:
        """Count ``items[index:]`` while they are LeanRecords this counter can take whole;
        (index of the first item not counted, latest time seen, ``last_ns`` included)."""
        ...

    def sync(self) -> None:
        """Write what ``count`` counted but has not written yet into the ``Stats``' tables."""
        ...


@dataclass(slots=True)
class LinkStats:
    """Counts for one link (a conversation between two endpoints)."""

    name: str
    protocol: str
    first_ns: int
    last_ns: int
    to_device: int = 0
    from_device: int = 0
    bytes_to_device: int = 0
    bytes_from_device: int = 0
    errors: int = 0
    warnings: int = 0
    latencies: LatencySample = field(default_factory=LatencySample)


@dataclass(slots=True)
class Stats:
    """Everything ``camshark stats`` prints, accumulated record by record."""

    records: int = 0
    first_ns: int | None = None
    last_ns: int = 0
    naks: Counter[tuple[str, str]] = field(default_factory=Counter)
    transfers: list[Transfer] = field(default_factory=list)
    _links: dict[int, LinkStats] = field(default_factory=dict)
    _types: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    _problems: Counter[tuple[str, str]] = field(default_factory=Counter)
    _unanswered: Counter[tuple[str, str]] = field(default_factory=Counter)
    _latencies: dict[tuple[str, str], LatencySample] = field(default_factory=dict)
    """The tables a ``LeanCounter`` may hold counts for: read through the properties of the
    same names, which sync it first."""
    _waiting: dict[int, str] = field(default_factory=dict)
    _sides: dict[LinkSide, tuple[LinkStats, bool]] = field(default_factory=dict)
    """Per side: its link's counts and whether it carries bytes to the device."""
    _record_sides: dict[tuple[str, Link, Direction], LinkSide] = field(default_factory=dict)
    _unanswered_codes: dict[str, bool] = field(default_factory=dict)
    """Per problem code seen: whether it is an ``unanswered`` one."""
    _counter: LeanCounting | None = None
    """Counts the LeanRecords of ``take_all`` (made at its first call)."""

    @property
    def links(self) -> dict[int, LinkStats]:
        """Counts per link id."""
        self.sync()
        return self._links

    @property
    def types(self) -> Counter[tuple[str, str, str]]:
        """Messages per (protocol, type, kind)."""
        self.sync()
        return self._types

    @property
    def problems(self) -> Counter[tuple[str, str]]:
        """Problems per (code, severity)."""
        self.sync()
        return self._problems

    @property
    def unanswered(self) -> Counter[tuple[str, str]]:
        """Unanswered requests per (protocol, type)."""
        self.sync()
        return self._unanswered

    @property
    def latencies(self) -> dict[tuple[str, str], LatencySample]:
        """Latencies per (protocol, request type)."""
        self.sync()
        return self._latencies

    def sync(self) -> None:
        """Write what the ``LeanCounter`` counted but has not written yet into the tables."""
        if self._counter is not None:
            self._counter.sync()

    def add(self, record: Record) -> None:
        """Account for one settled record."""
        self.take_all((record,))

    def take_all(self, items: Sequence[Record | LeanRecord]) -> None:
        """Account for settled items in number order: the bulk-mode sink and the hot path.

        The ``LeanCounter`` (C when built) counts the LeanRecords, stopping at any item that
        needs more: a Record is first seen as the ``LeanRecord`` it would be (its NAK reason
        counted on the way), so one rule counts both, and offered to the counter again; a
        row that needs something new (a side, latency sample or problem code) is counted
        here, on the tables synced first.
        """
        total = len(items)
        if self.first_ns is None and total:
            self.first_ns = items[0].time_ns
        self.records += total
        counter = self._counter or self._new_counter()
        index, last_ns = counter.count(items, 0, self.last_ns)
        while index < total:
            last_ns = self._count_one(counter, items[index], last_ns)
            index, last_ns = counter.count(items, index + 1, last_ns)
        self.last_ns = last_ns

    def _new_counter(self) -> LeanCounting:
        counter = self._counter = new_lean_counter(self)
        return counter

    def _count_one(self, counter: LeanCounting, item: Record | LeanRecord, last_ns: int) -> int:
        """Count an item the counter stopped at; the latest time seen, ``last_ns`` included."""
        row = item if type(item) is LeanRecord else self._as_lean(cast(Record, item))
        taken, last_ns = counter.count([row], 0, last_ns)
        if not taken:
            counter.sync()
            last_ns = self._count_row(row, last_ns)
        return last_ns

    def _count_row(self, row: LeanRecord, last_ns: int) -> int:
        """Count one settled row; the latest time seen, ``last_ns`` included."""
        time_ns = row.time_ns
        if time_ns > last_ns:
            last_ns = time_ns
        side = row.side
        stats, to_device = self._sides.get(side) or self._side_counts(side, time_ns)
        stats.last_ns = time_ns
        if to_device:
            stats.to_device += 1
            stats.bytes_to_device += row.length
        else:
            stats.from_device += 1
            stats.bytes_from_device += row.length
        key = row.key
        self._types[key] += 1
        problems = row.problems
        if problems:
            unanswered_codes = self._unanswered_codes
            for problem in problems:
                self._problems[problem] += 1
                code, severity = problem
                if severity is _ERROR:
                    stats.errors += 1
                elif severity is _WARNING:
                    stats.warnings += 1
                unanswered = unanswered_codes.get(code)
                if unanswered is None:
                    unanswered = unanswered_codes[code] = code.endswith(".unanswered")
                if unanswered:
                    self._unanswered[(key[0], key[1])] += 1
        waiting = self._waiting
        if row.response_in is not None:
            waiting[row.response_in] = key[1]
        latency_ns = row.latency_ns
        if latency_ns is None:
            return last_ns
        request_type = waiting.pop(row.number, None)
        if request_type is None:
            return last_ns
        latency_key = (key[0], request_type)
        sample = self._latencies.get(latency_key)
        if sample is None:
            sample = self._latencies[latency_key] = LatencySample()
        sample.add(latency_ns)
        stats.latencies.add(latency_ns)
        return last_ns

    def _side_counts(self, side: LinkSide, time_ns: int) -> tuple[LinkStats, bool]:
        link = side.link
        stats = self._links.get(link.id)
        if stats is None:
            stats = LinkStats(link.name, side.protocol, time_ns, time_ns)
            self._links[link.id] = stats
        counts = self._sides[side] = (stats, side.direction is Direction.TO_DEVICE)
        return counts

    def _as_lean(self, record: Record) -> LeanRecord:
        item = record.item
        dissection = record.dissection
        key = (record.protocol, item.link, item.direction)
        side = self._record_sides.get(key)
        if side is None:
            side = self._record_sides[key] = LinkSide(*key)
        row = LeanRecord(
            record.number,
            side,
            item.time_ns,
            len(item.data),
            (record.protocol, dissection.type, dissection.kind),
        )
        if dissection.problems or record.problems:
            row.problems = [(problem.code, problem.severity) for problem in record.all_problems]
        row.response_in = record.response_in
        row.latency_ns = record.latency_ns
        if dissection.kind is Kind.NAK:
            self.naks[(record.protocol, nak_reason(dissection) or dissection.summary)] += 1
        return row

    @property
    def checksum_errors(self) -> int:
        """Problems whose code names a checksum or CRC failure."""
        return sum(
            count
            for (code, _), count in self.problems.items()
            if "checksum" in code or "crc" in code
        )


class LeanCounterPython:
    """The reference ``LeanCounting``: every LeanRecord through ``Stats._count_row``."""

    def __init__(self, count_row: Callable[[LeanRecord, int], int]) -> None:
        self._count_row = count_row

    def count(
        self, items: Sequence[Record | LeanRecord], index: int, last_ns: int
    ) -> tuple[int, int]:
        """See ``LeanCounting.count``."""
        count_row = self._count_row
        total = len(items)
        while index < total:
            item = items[index]
            if type(item) is not LeanRecord:
                break
            last_ns = count_row(item, last_ns)
            index += 1
        return index, last_ns

    def sync(self) -> None:
        """Nothing to write: every row was counted on the tables themselves."""


_kernel: ModuleType | None
try:
    from sniffer import _lean_count as _kernel
except ImportError:  # pragma: no cover - exercised where no compiler was available
    _kernel = None

HAVE_C = _kernel is not None
"""Whether the C counting kernel was built (``setup.py``, optional)."""
use_c = HAVE_C
"""Whether new ``Stats`` count with the C kernel (tests switch it off to compare)."""


def new_lean_counter(stats: Stats) -> LeanCounting:
    """The counter of ``stats``' LeanRecords: C when built."""
    if _kernel is None or not use_c:
        return LeanCounterPython(stats._count_row)
    counter: LeanCounting = _kernel.LeanCounter(
        stats._sides,
        stats._types,
        stats._problems,
        stats._unanswered,
        stats._unanswered_codes,
        stats._waiting,
        stats._latencies,
        LeanRecord,
        LinkStats,
        LatencySample,
        LATENCY_SAMPLES,
        _ERROR,
        _WARNING,
    )
    return counter


def nak_reason(dissection: Dissection) -> str | None:
    """The text of a NAK's ``reason`` field: a top-level string of the dissector's JSON fields
    where it gives them (a display-less field's text is its value; no detail tree built, which
    costs ~100k instructions a frame), else the first ``reason`` in the detail tree."""
    json_fields = dissection.json_fields
    if json_fields is not None:
        reason = json_fields().get("reason")
        if type(reason) is str:
            return reason
    return _reason(dissection.fields)


def _reason(fields: tuple[Field, ...]) -> str | None:
    for node in fields:
        if node.name == "reason":
            return node.text
        if node.children:
            found = _reason(node.children)
            if found:
                return found
    return None


def _ms(value_ns: float) -> str:
    return f"{value_ns / 1e6:.3f}"


def _percentile(sorted_values: list[int], fraction: float) -> int:
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def _table(headers: list[str], rows: list[list[str]]) -> Iterator[str]:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    yield "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()
    yield "  ".join("-" * w for w in widths)
    for row in rows:
        yield "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()


LATENCY_COLUMNS = ("protocol", "request", "count", "min", "median", "p95", "max")


def latency_summary(
    latencies: dict[tuple[str, str], LatencySample],
) -> list[tuple[str, str, int, float, float, float, float]]:
    """(protocol, request type, count, min, median, p95, max in ms), sorted.

    Count, min and max are exact; median and p95 come from the kept sample.
    """
    rows = []
    for (protocol, request_type), sample in sorted(latencies.items()):
        ordered = sorted(sample.values)
        rows.append(
            (
                protocol,
                request_type,
                sample.count,
                sample.low / 1e6,
                statistics.median(ordered) / 1e6,
                _percentile(ordered, 0.95) / 1e6,
                sample.high / 1e6,
            )
        )
    return rows


def latency_rows(latencies: dict[tuple[str, str], LatencySample]) -> list[list[str]]:
    """The latency summary as table cells (milliseconds with three decimals)."""
    return [
        [protocol, request_type, str(count), *(f"{value:.3f}" for value in values)]
        for protocol, request_type, count, *values in latency_summary(latencies)
    ]


def render(stats: Stats, title: str) -> Iterator[str]:
    """The human-readable report."""
    duration = 0.0 if stats.first_ns is None else (stats.last_ns - stats.first_ns) / 1e9
    yield f"Capture: {title}"
    yield f"Records: {stats.records}   Links: {len(stats.links)}   Duration: {duration:.3f} s"
    yield f"Checksum errors: {stats.checksum_errors}"
    yield ""
    yield "Conversations"
    rows = [
        [
            str(link_id),
            s.protocol,
            s.name,
            str(s.to_device),
            str(s.from_device),
            str(s.bytes_to_device + s.bytes_from_device),
            str(s.errors),
            str(s.warnings),
            _ms(statistics.median(s.latencies.values)) if s.latencies.values else "-",
            f"{(s.last_ns - s.first_ns) / 1e9:.3f}",
        ]
        for link_id, s in sorted(stats.links.items())
    ]
    yield from _table(
        [
            "link",
            "proto",
            "endpoints",
            "→dev",
            "dev→",
            "bytes",
            "errors",
            "warn",
            "median ms",
            "secs",
        ],
        rows,
    )
    yield ""
    yield "Message types"
    rows = [
        [protocol, type_, kind, str(count)]
        for (protocol, type_, kind), count in sorted(stats.types.items())
    ]
    yield from _table(["proto", "type", "kind", "count"], rows)
    yield ""
    yield "Request/response latency (ms)"
    if stats.latencies:
        yield from _table(
            ["proto", "request", "count", "min", "median", "p95", "max"],
            latency_rows(stats.latencies),
        )
    else:
        yield "  (no answered requests)"
    yield ""
    yield "Unanswered requests"
    if stats.unanswered:
        rows = [[p, t, str(c)] for (p, t), c in sorted(stats.unanswered.items())]
        yield from _table(["proto", "type", "count"], rows)
    else:
        yield "  (none)"
    yield ""
    yield "NAKs by reason"
    if stats.naks:
        rows = [[p, reason, str(c)] for (p, reason), c in sorted(stats.naks.items())]
        yield from _table(["proto", "reason", "count"], rows)
    else:
        yield "  (none)"
    yield ""
    yield "Problems"
    if stats.problems:
        rows = [
            [severity, code, str(count)]
            for (code, severity), count in sorted(stats.problems.items(), key=lambda kv: kv[0])
        ]
        yield from _table(["severity", "code", "count"], rows)
    else:
        yield "  (none)"
    if stats.transfers:
        yield ""
        yield "Transfers"
        yield from _table(
            [
                "proto",
                "link",
                "file",
                "progress",
                "bytes",
                "expected",
                "retries",
                "crc fail",
                "kB/s",
                "outcome",
            ],
            [transfer_row(t) for t in stats.transfers],
        )


def transfer_row(transfer: Transfer) -> list[str]:
    """One line of the transfers table."""
    progress = transfer.progress
    throughput = transfer.throughput_bps
    return [
        transfer.protocol,
        str(transfer.link.id),
        transfer.name,
        "-" if progress is None else f"{progress * 100:.1f}%",
        str(transfer.received),
        "-" if transfer.expected_size is None else str(transfer.expected_size),
        str(transfer.retries),
        str(transfer.crc_failures),
        "-" if throughput is None else f"{throughput / 1000:.1f}",
        transfer.outcome,
    ]


def to_json(stats: Stats, title: str) -> dict[str, object]:
    """The same report as a JSON-ready dict."""
    return {
        "schema": "camshark.stats/1",
        "capture": title,
        "records": stats.records,
        "checksum_errors": stats.checksum_errors,
        "links": [
            {
                "link": link_id,
                "protocol": s.protocol,
                "name": s.name,
                "to_device": s.to_device,
                "from_device": s.from_device,
                "bytes": s.bytes_to_device + s.bytes_from_device,
                "errors": s.errors,
                "warnings": s.warnings,
            }
            for link_id, s in sorted(stats.links.items())
        ],
        "types": [
            {"protocol": p, "type": t, "kind": k, "count": c}
            for (p, t, k), c in sorted(stats.types.items())
        ],
        "latency_ms": [
            dict(zip(LATENCY_COLUMNS, row, strict=True)) for row in latency_summary(stats.latencies)
        ],
        "unanswered": [
            {"protocol": p, "type": t, "count": c} for (p, t), c in sorted(stats.unanswered.items())
        ],
        "naks": [
            {"protocol": p, "reason": r, "count": c} for (p, r), c in sorted(stats.naks.items())
        ],
        "problems": [
            {"code": code, "severity": sev, "count": c}
            for (code, sev), c in sorted(stats.problems.items())
        ],
        "transfers": [
            {
                "protocol": t.protocol,
                "link": t.link.id,
                "file": t.name,
                "progress": t.progress,
                "bytes": t.received,
                "expected": t.expected_size,
                "retries": t.retries,
                "crc_failures": t.crc_failures,
                "bytes_per_s": t.throughput_bps,
                "outcome": t.outcome,
            }
            for t in stats.transfers
        ],
    }
