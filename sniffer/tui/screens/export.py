"""A small dialog asking where to export."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class ExportScreen(ModalScreen[str | None]):
    """Asks for a path; returns it, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, title: str, default: str, *, cursor_blink: bool = True) -> None:
        super().__init__()
        self.title_text = title
        self.default = default
        self.cursor_blink = cursor_blink

    def compose(self) -> ComposeResult:
        with Vertical(id="export-dialog"):
            yield Label(self.title_text)
            yield Input(self.default, id="export-path")
            yield Label("enter: export · escape: cancel", classes="hint")

    def on_mount(self) -> None:
        path_input = self.query_one(Input)
        path_input.cursor_blink = self.cursor_blink
        path_input.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
