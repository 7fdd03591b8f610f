"""The C settle buffer (``sniffer._settle``) holds and releases exactly like its Python twin
(``HeldItemsPython``), and both follow the settle rule item by item: random batches with
capture times that go back, bounds, horizons and ``max_held``; bad items raise, never crash."""

from __future__ import annotations

import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sniffer import settle as settle_module
from sniffer.settle import HeldItems, HeldItemsPython

needs_c = pytest.mark.skipif(not settle_module.HAVE_C, reason="the C kernel was not built")


@dataclass(slots=True)
class Item:
    number: int
    time_ns: int


def kinds(max_held: int, keep_released: int) -> list[HeldItems]:
    """A Python buffer, and a C one when built."""
    held: list[HeldItems] = [HeldItemsPython(max_held, keep_released)]
    if settle_module._kernel is not None:
        held.append(settle_module._kernel.HeldItems(max_held, keep_released))
    return held


def by_rule(
    calls: list[tuple[list[Item], int, int]], max_held: int
) -> tuple[list[list[int]], int, list[int]]:
    """The settle rule item by item: the numbers released per call, how many early, and the
    numbers still held."""
    held: deque[Item] = deque()
    released: list[list[int]] = []
    early = 0
    for batch, _bound, horizon in calls:
        held.extend(batch)
        out = []
        while held:
            if held[0].time_ns > horizon:
                if len(held) <= max_held:
                    break
                early += 1
            out.append(held.popleft().number)
        released.append(out)
    return released, early, [item.number for item in held]


call = st.tuples(
    st.lists(st.integers(-3, 0), max_size=5),  # item times: at most the batch's bound
    st.integers(0, 3),  # the bound moves on by this much
    st.integers(-2, 4),  # horizon, behind or ahead of the bound
)


@settings(max_examples=300, deadline=None)
@given(calls=st.lists(call, max_size=40), max_held=st.integers(0, 12), keep=st.integers(0, 3))
def test_settle_follows_the_rule_in_c_and_python(
    calls: list[tuple[list[int], int, int]], max_held: int, keep: int
) -> None:
    bound = 0
    number = 0
    made: list[tuple[list[Item], int, int]] = []
    for offsets, step, behind in calls:
        bound += step
        batch = []
        for offset in offsets:
            number += 1
            batch.append(Item(number, bound + offset))  # older than later batches' too
        made.append((batch, bound, bound - behind))
    expected = by_rule(made, max_held)
    for held in kinds(max_held, keep):
        released = [
            [item.number for item in held.settle(list(batch), b, h)] for batch, b, h in made
        ]
        rest = [item.number for item in held.release_all()]  # type: ignore[attr-defined]
        assert (released, held.released_early, rest) == expected
        assert held.count == 0
        assert held.settle([], 0, 10) == []


@needs_c
def test_a_bad_time_raises_and_keeps_the_items() -> None:
    bad_items: list[Any] = [[object()], [Item(3, "x")]]
    for bad, error in zip(bad_items, [AttributeError, TypeError], strict=True):
        for held in kinds(5, 0):
            assert held.settle([Item(1, 5)], 5, 0) == []
            with pytest.raises(error):
                held.settle(bad, 20, 10)  # read item by item: its bound is past the horizon
            assert held.count == 2
            rest = held.release_all()  # type: ignore[attr-defined]
            assert rest == [Item(1, 5), *bad]
            assert held.count == 0


@needs_c
def test_the_c_buffer_refuses_what_is_not_a_list() -> None:
    held: Any = settle_module._kernel.HeldItems(5, 0)  # type: ignore[union-attr]
    with pytest.raises(TypeError):
        held.settle((Item(1, 1),), 1, 1)
    with pytest.raises(TypeError):
        held.settle([Item(1, 1)], 1)
    with pytest.raises(OverflowError):
        held.settle([Item(1, 1)], 1 << 70, 1)
    assert held.count == 0


class Weak:
    """An item that can be watched with a weak reference."""

    def __init__(self, time_ns: int) -> None:
        self.time_ns = time_ns


def test_a_released_batch_is_let_go_of_at_once() -> None:
    for held in kinds(100, 1024):
        batch = [Weak(1), Weak(2)]
        watch = weakref.ref(batch[0])
        held.settle(batch, 2, 0)
        del batch
        assert len(held.settle([Weak(5)], 5, 3)) == 2  # the first batch, whole
        assert watch() is None  # no one holds it any more: not even the buffer
        assert held.count == 1
