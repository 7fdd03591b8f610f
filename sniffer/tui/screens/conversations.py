"""Conversations: one row per link with counts, errors and latency."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from dissectors.api import Link
from sniffer.capture import Capture, ConversationStats


def _ms(value_ns: int | None) -> str:
    return "" if value_ns is None else f"{value_ns / 1e6:.3f}"


def conversation_cells(stats: ConversationStats) -> tuple[str, ...]:
    """The table cells for one link."""
    duration = (stats.last_ns - stats.first_ns) / 1e9
    return (
        str(stats.link.id),
        stats.link.name,
        ",".join(sorted(stats.protocols)),
        str(stats.messages),
        str(stats.to_device),
        str(stats.from_device),
        str(stats.bytes),
        str(stats.errors),
        str(stats.warnings),
        str(stats.junk),
        str(stats.answered),
        _ms(stats.latency_mean_ns),
        _ms(stats.latency_max_ns if stats.answered else None),
        f"{duration:.3f}",
    )


HEADERS = (
    "Link",
    "Endpoints",
    "Protocol",
    "Msgs",
    "→Dev",
    "←Dev",
    "Bytes",
    "Errors",
    "Warn",
    "Junk",
    "Answered",
    "Lat avg ms",
    "Lat max ms",
    "Duration s",
)


class ConversationsScreen(Screen[tuple[str, Link] | None]):
    """Per-link statistics. Enter filters on the link; ``l`` ladder, ``s`` follow."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,c", "dismiss_none", "Back"),
        Binding("enter", "choose('filter')", "Filter on link"),
        Binding("l", "choose('ladder')", "Ladder"),
        Binding("s", "choose('follow')", "Follow link"),
    ]

    def __init__(self, capture: Capture, stats: list[ConversationStats] | None = None) -> None:
        super().__init__()
        self.capture = capture
        self.stats = capture.conversations() if stats is None else stats

    def compose(self) -> ComposeResult:
        yield Static(f"Conversations ({len(self.stats)} links)", classes="screen-title")
        table: DataTable[str] = DataTable(id="conversations", cursor_type="row", zebra_stripes=True)
        table.add_columns(*HEADERS)
        for stats in self.stats:
            table.add_row(*conversation_cells(stats), key=str(stats.link.id))
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    def action_choose(self, what: str) -> None:
        table: DataTable[str] = self.query_one(DataTable)
        if not self.stats:
            return
        self.dismiss((what, self.stats[table.cursor_row].link))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_choose("filter")
