"""The status line: counts, loading progress, filter state, live state, source errors."""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual.widgets import Static

from sniffer.capture import Capture
from sniffer.clock import Clock
from sniffer.tui.view import MessageView


@dataclass(frozen=True, slots=True)
class StatusFacts:
    """What the status line says beyond the capture and the view."""

    live: bool = False
    dropped_updates: int | None = None
    """Repaint requests merged into later ones (live mode); None hides the counter."""
    filter_error: str | None = None
    clock: str | None = None


def status_text(capture: Capture, view: MessageView, facts: StatusFacts) -> str:
    """One line: ``12 of 14 messages · 1 errors · 3 warnings · loading 40% · ...``."""
    total = len(capture)
    parts = [f"{len(view):,} of {total:,} messages" if view.is_filtered else f"{total:,} messages"]
    errors, warnings, _notes = capture.counts()
    parts.append(f"{errors} errors · {warnings} warnings")
    if not capture.finished:
        progress = capture.progress
        loading = "live" if facts.live else "loading"
        parts.append(f"{loading} {progress:.0%}" if progress is not None else f"{loading}…")
    if view.is_filtered and not view.complete:
        parts.append(f"filtering {view.scanned:,}/{total:,}")
    if view.filter_text:
        parts.append(f"filter: {view.filter_text}")
    if view.problems_only:
        parts.append("problems only")
    if facts.filter_error:
        parts.append(f"filter error: {facts.filter_error}")
    if facts.dropped_updates is not None:
        parts.append(f"dropped updates: {facts.dropped_updates}")
    if capture.error:
        parts.append(f"source error: {capture.error}")
    if facts.clock:
        parts.append(facts.clock)
    return " · ".join(parts)


class StatusBar(Static):
    """A one-line status bar."""

    DEFAULT_CSS = """
    StatusBar { height: 1; }
    """


def clock_text(clock: Clock) -> str:
    """Wall-clock time for the status line, ``HH:MM:SS`` local."""
    return time.strftime("%H:%M:%S", time.localtime(clock.time_ns() / 1e9))
