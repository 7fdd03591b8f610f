"""Search: hex query parsing, and finding the next shown match."""

from __future__ import annotations

from collections.abc import Callable

from sniffer.capture import Capture
from sniffer.tui.search import find_next, parse_hex_query


def test_parse_hex_query() -> None:
    assert parse_hex_query("02 01 00") == b"\x02\x01\x00"
    assert parse_hex_query("02:01") == b"\x02\x01"
    assert parse_hex_query("hex:0201") == b"\x02\x01"
    assert parse_hex_query("0xC0") == b"\xc0"
    assert parse_hex_query("ACK") is None
    assert parse_hex_query("ab") is None  # one pair reads as text
    assert parse_hex_query("hex:zz") is None


def test_find_next_skips_rows_that_are_not_shown(toy_capture: Callable[[int], Capture]) -> None:
    capture = toy_capture(30)
    odd_rows = lambda index: index % 2 == 1  # noqa: E731
    # "Status #1" matches rows 0, 9..18; row 0 is hidden
    assert find_next(capture, "status #1", 0, forward=True, shown=odd_rows) == 9
    assert find_next(capture, "status #1", 10, forward=True, shown=odd_rows) == 11
    assert find_next(capture, "status #1", 8, forward=False, shown=odd_rows) == 17  # wraps
    assert find_next(capture, "03", 0, forward=True, shown=odd_rows) is None  # text, no hit
    assert find_next(capture, "02 05 03", 0, forward=True, shown=odd_rows) is None  # row 4
    assert find_next(capture, "02 06 03", 0, forward=True, shown=odd_rows) == 5


def test_find_next_stops_when_no_match_is_shown(toy_capture: Callable[[int], Capture]) -> None:
    capture = toy_capture(50)
    assert find_next(capture, "status", 7, forward=True, shown=lambda _index: False) is None
    assert find_next(capture, "status", 7, forward=False, shown=lambda _index: False) is None
    assert find_next(capture, "  ", 0, forward=True, shown=lambda _index: True) is None
