"""Follow link: the raw bytes of one link, both directions, in order, with frame boundaries."""

from __future__ import annotations

import bisect
from array import array
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Footer, Static

from dissectors.api import Direction, Link
from sniffer.capture import Capture
from sniffer.tui.widgets.hex_pane import BYTES_PER_LINE, hex_line
from sniffer.tui.widgets.message_list import STYLE_FROM_DEVICE, STYLE_TO_DEVICE, format_time

STYLE_BOUNDARY_TO = Style(color="#000000", bgcolor="#87afd7")
STYLE_BOUNDARY_FROM = Style(color="#000000", bgcolor="#afd787")
STYLE_BOUNDARY_JUNK = Style(color="#ffffff", bgcolor="#585858")


class StreamView(ScrollView, can_focus=True):
    """Line-API view of a link's byte stream: a boundary line, then hex lines, per record."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Up", show=False),
        Binding("down,j", "scroll_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown,space", "page_down", "Page down", show=False),
        Binding("home", "scroll_home", "Top", show=False),
        Binding("end", "scroll_end", "Bottom", show=False),
    ]

    def __init__(self, capture: Capture, link: Link, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.capture = capture
        self.link = link
        self.indices = capture.indices_on_link(link)
        self.line_starts = array("q", [0])
        for index in self.indices:
            lines = 1 + (capture.length(index) + BYTES_PER_LINE - 1) // BYTES_PER_LINE
            self.line_starts.append(self.line_starts[-1] + lines)

    def on_mount(self) -> None:
        self.virtual_size = Size(0, self.line_starts[-1])

    def line_of(self, index: int) -> int | None:
        """The boundary line of capture row ``index``."""
        position = bisect.bisect_left(self.indices, index)
        if position < len(self.indices) and self.indices[position] == index:
            return self.line_starts[position]
        return None

    def render_line(self, y: int) -> Strip:
        width = max(1, self.scrollable_content_region.width)
        line = round(self.scroll_y) + y
        if line >= self.line_starts[-1]:
            return Strip.blank(width)
        position = bisect.bisect_right(self.line_starts, line) - 1
        index = self.indices[position]
        inner = line - self.line_starts[position]
        capture = self.capture
        to_device = capture.direction(index) is Direction.TO_DEVICE
        if inner == 0:
            who = "host → device" if to_device else "device → host"
            text = (
                f"── #{capture.number(index)}  "
                f"{format_time(capture.time_ns(index), capture.first_time_ns)}  {who}  "
                f"{capture.type_name(index)}  ({capture.length(index)} bytes) "
            )
            if capture.is_junk(index):
                style = STYLE_BOUNDARY_JUNK
            else:
                style = STYLE_BOUNDARY_TO if to_device else STYLE_BOUNDARY_FROM
            return Strip([Segment(text.ljust(width, "─"), style)]).crop(0, width)
        offset = (inner - 1) * BYTES_PER_LINE
        hex_part, ascii_part = hex_line(capture.data(index), offset)
        indent = "" if to_device else "    "
        style = STYLE_TO_DEVICE if to_device else STYLE_FROM_DEVICE
        text = f"{indent}{offset:06x}  {hex_part:<49} {ascii_part}"
        return Strip([Segment(text, style)]).adjust_cell_length(width)


class FollowScreen(Screen[None]):
    """The byte stream of one link."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,s", "app.pop_screen", "Back"),
    ]

    def __init__(self, capture: Capture, link: Link, index: int | None = None) -> None:
        super().__init__()
        self.capture = capture
        self.link = link
        self.start_index = index

    def compose(self) -> ComposeResult:
        yield Static(f"Follow link {self.link.name}", classes="screen-title")
        yield StreamView(self.capture, self.link, id="stream")
        yield Footer()

    def on_mount(self) -> None:
        stream = self.query_one(StreamView)
        stream.focus()
        if self.start_index is not None:
            line = stream.line_of(self.start_index)
            if line is not None:
                self.call_after_refresh(stream.scroll_to, y=line, animate=False)
