"""The help screen, generated from the key bindings so it never goes stale."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Markdown


def binding_rows(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    """(keys, description) for every described binding."""
    rows: list[tuple[str, str]] = []
    for binding in bindings:
        if isinstance(binding, Binding):
            if binding.description:
                rows.append((binding.key.replace(",", " / "), binding.description))
        elif len(binding) >= 3 and binding[2]:
            rows.append((binding[0].replace(",", " / "), binding[2]))
    return rows


def help_markdown(sections: dict[str, Iterable[BindingType]]) -> str:
    """A Markdown page with one key table per section."""
    parts = ["# camshark keys", ""]
    for title, bindings in sections.items():
        rows = binding_rows(bindings)
        if not rows:
            continue
        parts += [f"## {title}", "", "| Key | Action |", "|---|---|"]
        parts += [f"| `{keys}` | {description} |" for keys, description in rows]
        parts.append("")
    parts.append("Every action is also in the command palette (ctrl+p).")
    return "\n".join(parts)


class HelpScreen(ModalScreen[None]):
    """Key bindings of the app and the message list."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "app.pop_screen", "Close help"),
    ]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        yield Markdown(self.text, id="help")
