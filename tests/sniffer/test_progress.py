"""The stderr progress bar: drawn on a terminal only, erased at the end."""

from __future__ import annotations

import io

from sniffer.progress import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_is_drawn_on_a_terminal_and_erased_at_the_end() -> None:
    stream = Terminal()
    bar = ProgressBar("reading", stream)
    bar(50, 100)
    bar(100, 100)
    text = stream.getvalue()
    assert "reading" in text
    assert " 50.0%" in text
    assert "100.0%" in text
    bar.close()
    assert stream.getvalue().endswith("\r\x1b[K")


def test_nothing_is_written_when_stderr_is_not_a_terminal() -> None:
    stream = io.StringIO()
    bar = ProgressBar("reading", stream)
    bar(50, 100)
    bar.close()
    assert stream.getvalue() == ""


def test_redraws_are_rate_limited_but_the_end_is_always_shown() -> None:
    stream = Terminal()
    bar = ProgressBar("reading", stream)
    for done in range(1, 1000):
        bar(done, 1000)
    bar(1000, 1000)
    assert stream.getvalue().count("\r") <= 3
    assert "100.0%" in stream.getvalue()
