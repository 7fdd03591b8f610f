"""The C counting kernel (``sniffer._lean_count``) counts LeanRecords exactly like its Python
twin (``Stats._count_row`` through ``LeanCounterPython``): random rows with sides, problems,
replies and latencies, in random batches, give the same ``Stats`` and the same report."""

from __future__ import annotations

import os
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


def test_the_c_kernel_is_built_when_required() -> None:
    """``make test`` sets CAMSHARK_REQUIRE_C: a silent fallback to Python must fail CI."""
    if os.environ.get("CAMSHARK_REQUIRE_C"):
        assert stats_module.HAVE_C


row = st.tuples(
    st.integers(0, len(SIDES) - 1),
    st.integers(0, 2),  # time step
    st.integers(0, len(KEYS) - 1),
    st.lists(st.integers(0, len(PROBLEMS) - 1), max_size=2),
    st.sampled_from([None, 1, 2, 3]),  # response_in: this many rows later
    st.sampled_from([None, 0, 5, 10**6, -3]),  # latency
)


def _rows(spec: list[tuple[Any, ...]]) -> list[LeanRecord]:
    rows = []
    time_ns = 10**18
    for number, (side, step, key, problems, later, latency) in enumerate(spec, 1):
        time_ns += step
        row = LeanRecord(number, SIDES[side], time_ns, 19 + key, KEYS[key])
        if problems:
            row.problems = [PROBLEMS[p] for p in problems]
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
        dict(stats.problems), dict(stats.unanswered), stats.latencies, list(render(stats, "x")),
    )  # fmt: skip


@needs_c
@settings(max_examples=200, deadline=None)
@given(st.lists(row, max_size=60), st.integers(1, 7), st.integers(1, 4))
def test_the_c_counter_equals_its_twin(
    spec: list[tuple[Any, ...]], batch: int, samples: int
) -> None:
    states = []
    for use_c in (True, False):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(stats_module, "use_c", use_c)
            patch.setattr(stats_module, "LATENCY_SAMPLES", samples)
            stats = Stats()
            rows = _rows(spec)
            for start in range(0, len(rows), batch):
                stats.take_all(rows[start : start + batch])
            states.append(_state(stats))
    assert states[0] == states[1]


@needs_c
def test_a_misused_counter_raises() -> None:
    assert stats_module._kernel is not None
    with pytest.raises(TypeError):
        stats_module._kernel.LeanCounter({}, {}, {})
    with pytest.raises(RuntimeError):
        stats_module._kernel.LeanCounter.__new__(stats_module._kernel.LeanCounter).count([], 0, 0)
