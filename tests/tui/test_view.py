"""MessageView: filtering in bounded steps, problems-only, positions."""

from __future__ import annotations

from collections.abc import Callable

from dissectors.api import Direction
from sniffer.capture import Capture
from sniffer.display_filter import compile_filter
from sniffer.tui.view import MessageView
from tests.tui.conftest import make_record


def test_unfiltered_view_is_the_capture(toy_capture: Callable[[int], Capture]) -> None:
    capture = toy_capture(5)
    view = MessageView(capture)
    assert not view.is_filtered
    assert len(view) == 5
    assert [view[i] for i in range(5)] == [0, 1, 2, 3, 4]
    capture.append(make_record(6))
    assert len(view) == 6
    assert view.position_of(5) == 5
    assert view.complete


def test_problems_only_keeps_rows_with_problems(toy_capture: Callable[[int], Capture]) -> None:
    view = MessageView(toy_capture(35), problems_only=True)
    assert view.catch_up()
    assert [view[i] for i in range(len(view))] == [9, 19, 29]
    assert view.position_of(19) == 1
    assert view.position_of(18) is None
    assert view.nearest_position(25) == 1


def test_filter_scans_in_bounded_steps(toy_capture: Callable[[int], Capture]) -> None:
    capture = toy_capture(100)
    view = MessageView(capture, compile_filter("direction == from_device"))
    assert not view.catch_up(budget=30)
    assert view.scanned == 30
    assert len(view) == 15
    assert view.catch_up(budget=1000)
    assert len(view) == 50
    capture.append(make_record(101, direction=Direction.FROM_DEVICE))
    assert not view.complete
    assert view.catch_up()
    assert view[len(view) - 1] == 100


def test_filter_on_fields_decodes_through_the_dissector(
    toy_capture: Callable[[int], Capture],
) -> None:
    view = MessageView(toy_capture(20), compile_filter("toy.byte1 == 7"))
    view.catch_up()
    assert [view[i] for i in range(len(view))] == [6]


def test_cancelled_filter_stops_early(toy_capture: Callable[[int], Capture]) -> None:
    view = MessageView(toy_capture(10_000), compile_filter("type == Status"))
    assert not view.catch_up(budget=10_000, cancelled=lambda: True)
    assert view.scanned < 10_000


def test_a_predicate_that_raises_hides_the_row(toy_capture: Callable[[int], Capture]) -> None:
    def broken(record: object) -> bool:
        raise RuntimeError("bug")

    view = MessageView(toy_capture(3), broken)
    assert view.catch_up()
    assert len(view) == 0
    assert view.errors == 3
