"""The ladder (sequence) view of one link: host and device columns, arrows with type, latency."""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Footer, Static

from dissectors.api import Direction, Link
from sniffer.capture import Capture
from sniffer.tui.widgets.message_list import (
    STYLE_BY_SEVERITY,
    STYLE_FROM_DEVICE,
    STYLE_TO_DEVICE,
    format_time,
)

TIME_WIDTH = 13
NUMBER_WIDTH = 8


def arrow(label: str, width: int, *, to_device: bool) -> str:
    """``│ ── label ───▶ │`` (or pointing left) over ``width`` cells, columns included."""
    inner = max(4, width - 2)
    body = f" {label} "[: inner - 4]
    if to_device:
        text = "──" + body + "─" * (inner - 3 - len(body)) + "▶"
    else:
        text = "◀" + "─" * (inner - 3 - len(body)) + body + "──"
    return "│" + text + "│"


class LadderView(ScrollView, can_focus=True):
    """Line-API ladder: one record per line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Up", show=False),
        Binding("down,j", "scroll_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown,space", "page_down", "Page down", show=False),
    ]

    def __init__(self, capture: Capture, link: Link, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.capture = capture
        self.link = link
        self.indices = capture.indices_on_link(link)

    def on_mount(self) -> None:
        self.virtual_size = Size(0, len(self.indices))

    def render_line(self, y: int) -> Strip:
        width = max(1, self.scrollable_content_region.width)
        line = round(self.scroll_y) + y
        if line >= len(self.indices):
            return Strip.blank(width)
        capture = self.capture
        index = self.indices[line]
        to_device = capture.direction(index) is Direction.TO_DEVICE
        label = capture.type_name(index)
        latency = capture.latency_ns(index)
        if latency is not None:
            label += f" {latency / 1e6:.3f} ms"
        worst = capture.worst(index)
        if worst is not None:
            label += f" [{worst.value}]"
        lead = (
            f"{format_time(capture.time_ns(index), capture.first_time_ns):<{TIME_WIDTH}}"
            f"#{capture.number(index):<{NUMBER_WIDTH - 1}}"
        )
        style = STYLE_TO_DEVICE if to_device else STYLE_FROM_DEVICE
        if worst is not None:
            style = STYLE_BY_SEVERITY[worst]
        body = arrow(label, max(10, width - len(lead)), to_device=to_device)
        return Strip([Segment(lead), Segment(body, style)]).adjust_cell_length(width)


class LadderScreen(Screen[None]):
    """The sequence view of one link."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,l", "app.pop_screen", "Back"),
    ]

    def __init__(self, capture: Capture, link: Link) -> None:
        super().__init__()
        self.capture = capture
        self.link = link

    def compose(self) -> ComposeResult:
        yield Static(f"Ladder {self.link.name}", classes="screen-title")
        yield Static(id="ladder-heads", classes="ladder-heads")
        yield LadderView(self.capture, self.link, id="ladder")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(LadderView).focus()

    def on_resize(self) -> None:
        width = self.size.width
        lead = TIME_WIDTH + NUMBER_WIDTH
        room = max(10, width - lead - 1)
        host, device = self.capture.roles.get(self.link.id, ("", ""))
        left = f"Host {host}".strip()
        right = f"Device {device}".strip()
        text = " " * lead + left.ljust(max(len(left) + 1, room - len(right))) + right
        self.query_one("#ladder-heads", Static).update(text)
