"""The C counting kernel (``sniffer._lean_count``) counts LeanRecords exactly like its Python
twin (``Stats._count_row`` through ``LeanCounterPython``): random rows with sides, problems,
replies and latencies, in random batches, give the same ``Stats`` and the same report."""

from __future__ import annotations

from collections import UserList
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dissectors.api import Direction, Kind, Link, Severity
from dissectors.bulk import LeanRecord, LinkSide
from sniffer import stats as stats_module
from sniffer.stats import Stats, render

needs_c = pytest.mark.skipif(not stats_module.HAVE_C, reason="the C kernel was not built")

LINKS = [Link(n, "tcp", f"10.0.0.{n}:4000", "10.0.0.9:5232") for n in (1, 2)]
SIDES = [LinkSide("smartlpr", link, d) for link in LINKS for d in Direction][:4]
KEYS = [
    ("smartlpr", "Status", Kind.REQUEST),
    ("smartlpr", "ACK", Kind.ACK),
    ("smartlpr", "LicenseInfo", Kind.EVENT),
]
PROBLEMS = [
    ("smartlpr.trigger_latency", Severity.NOTE),
    ("smartlpr.unanswered", Severity.WARNING),
    ("smartlpr.bad_checksum", Severity.ERROR),
]


row = st.tuples(
    st.integers(0, len(SIDES) - 1),
    st.integers(0, 2),  # time step
    st.integers(0, len(KEYS) - 1),
    st.lists(st.integers(0, len(PROBLEMS) - 1), max_size=6),
    st.sampled_from([None, 1, 2, 3]),  # response_in: this many rows later
    st.sampled_from([None, 0, 5, 10**6, -3]),  # latency
)


def _fresh(text: str) -> str:
    """An equal string that is another object."""
    return "".join(list(text))


def _rows(spec: list[tuple[Any, ...]], fresh: bool = False) -> list[LeanRecord]:
    """Rows as ``spec`` says; with ``fresh``, every key and problem its own (equal) objects."""
    rows = []
    time_ns = 10**18
    for number, (side, step, key, problems, later, latency) in enumerate(spec, 1):
        time_ns += step
        protocol, type_, kind = KEYS[key]
        row_key = (_fresh(protocol), _fresh(type_), kind) if fresh else KEYS[key]
        row = LeanRecord(number, SIDES[side], time_ns, 19 + key, row_key)
        if problems:
            row.problems = [
                (_fresh(PROBLEMS[p][0]), PROBLEMS[p][1]) if fresh else PROBLEMS[p] for p in problems
            ]
        row.response_in = None if later is None else number + later
        row.latency_ns = latency
        rows.append(row)
    return rows


def _state(stats: Stats) -> object:
    links = {
        n: (s.last_ns, s.to_device, s.from_device, s.bytes_to_device, s.bytes_from_device,
            s.errors, s.warnings, s.latencies)
        for n, s in stats.links.items()
    }  # fmt: skip
    return (
        stats.records, stats.first_ns, stats.last_ns, links, dict(stats.types),
        dict(stats.problems), dict(stats.unanswered), stats.latencies, dict(stats._waiting),
        list(render(stats, "x")),
    )  # fmt: skip


def _states(rows: list[LeanRecord], batch: int, read_every: int, use_c: bool) -> list[object]:
    """The Stats state after every ``read_every``-th batch and at the end (reads sync)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stats_module, "use_c", use_c)
        stats = Stats()
        states = []
        for at, start in enumerate(range(0, len(rows), batch), 1):
            stats.take_all(rows[start : start + batch])
            if at % read_every == 0:
                states.append(_state(stats))
        states.append(_state(stats))
        return states


@needs_c
@settings(max_examples=200, deadline=None)
@given(
    st.lists(row, max_size=60),
    st.integers(1, 7),
    st.integers(1, 4),
    st.booleans(),
    st.integers(1, 5),
)
def test_the_c_counter_equals_its_twin(
    spec: list[tuple[Any, ...]], batch: int, samples: int, fresh: bool, read_every: int
) -> None:
    """Same tables, samples, waiting requests and report, read at any point in between."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stats_module, "LATENCY_SAMPLES", samples)
        c_states = _states(_rows(spec, fresh), batch, read_every, use_c=True)
        python_states = _states(_rows(spec, fresh), batch, read_every, use_c=False)
    assert c_states == python_states


@needs_c
@pytest.mark.parametrize(
    ("read_every", "fresh", "wait"), [(3, True, 3301), (100, True, 3301), (100, False, 3301),
                                      (100, False, 1801)]
)  # fmt: skip
def test_full_tables_are_synced_on_the_way(read_every: int, fresh: bool, wait: int) -> None:
    """More keys and problems (fresh objects) or waiting requests (a third of ``wait``, each
    answered) than the C tables hold (1,024), or many answered in a table half full."""
    spec = []
    for n in range(6000):
        later = wait if n % 3 == 0 else None
        latency = 7 + n if n % 3 == 1 else None
        spec.append((n % len(SIDES), 1, n % len(KEYS), [n % len(PROBLEMS)], later, latency))
    states = [_states(_rows(spec, fresh), 500, read_every, c) for c in (True, False)]
    assert states[0] == states[1]
    links = states[0][-1][3]  # type: ignore[index]
    assert sum(counts[1] + counts[2] for counts in links.values()) == 6000


@needs_c
@pytest.mark.parametrize("sequence", [list, tuple, UserList])
def test_any_sequence_is_counted(
    sequence: Callable[[list[LeanRecord]], Sequence[LeanRecord]],
) -> None:
    """The C counter takes lists and tuples itself, and leaves other sequences to Python."""
    spec = [(n % 4, 1, n % 3, [n % 3] if n % 5 == 0 else [], 2, 9) for n in range(40)]
    states = []
    for use_c in (True, False):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(stats_module, "use_c", use_c)
            stats = Stats()
            rows = _rows(spec)
            for start in range(0, len(rows), 6):
                stats.take_all(sequence(rows[start : start + 6]))
            states.append(_state(stats))
    assert states[0] == states[1]


@needs_c
def test_numbers_beyond_64_bits_are_counted_by_python() -> None:
    spec = [(n % 2, 1, n % 3, [], 1 if n % 2 == 0 else None, 5) for n in range(12)]
    states = []
    for use_c in (True, False):
        rows = _rows(spec)
        rows[3].time_ns = 2**70
        rows[5].length = 2**65
        rows[7].latency_ns = -(2**64)
        states.append(_states(rows, 4, 1, use_c))
    assert states[0] == states[1]


@needs_c
def test_a_misused_counter_raises() -> None:
    assert stats_module._kernel is not None
    with pytest.raises(TypeError):
        stats_module._kernel.LeanCounter({}, {}, {})
    with pytest.raises(RuntimeError):
        stats_module._kernel.LeanCounter.__new__(stats_module._kernel.LeanCounter).count([], 0, 0)
