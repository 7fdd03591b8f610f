"""The message list: one line per record, virtualised with the Line API.

Only the visible lines are ever built (``render_line``), from the capture's compact rows, so a
million-message capture scrolls as fast as a ten-message one. Colour says direction (to the
device / from the device), severity (error, warning, note), junk and malformed frames.
"""

from __future__ import annotations

from typing import ClassVar

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from dissectors.api import Direction, Kind, Severity
from sniffer.capture import Capture
from sniffer.tui.view import MessageView

COLUMNS: tuple[tuple[str, int], ...] = (
    ("No.", 8),
    ("Time", 12),
    ("Link", 22),
    ("Dir", 4),
    ("Protocol", 9),
    ("Type", 18),
)
"""Fixed columns (title, width); the summary takes the rest of the line."""

STYLE_TO_DEVICE = Style(color="#87afd7")
STYLE_FROM_DEVICE = Style(color="#afd787")
STYLE_JUNK = Style(color="#808080", italic=True)
STYLE_BY_SEVERITY = {
    Severity.ERROR: Style(color="#ffffff", bgcolor="#870000"),
    Severity.WARNING: Style(color="#000000", bgcolor="#d7af00"),
    Severity.NOTE: Style(color="#5fafff"),
}
STYLE_CURSOR = Style(color="#ffffff", bgcolor="#005faf", bold=True)
STYLE_CURSOR_UNFOCUSED = Style(color="#ffffff", bgcolor="#3a3a3a", bold=True)
STYLE_MARK = Style(color="#ff87ff", bold=True)
STYLE_HEADER = Style(bold=True, color="#ffffff", bgcolor="#303030")


def format_time(time_ns: int, first_ns: int) -> str:
    """Seconds since the first record, Wireshark style."""
    return f"{(time_ns - first_ns) / 1e9:.6f}"


def link_label(link_id: int, endpoint: str) -> str:
    """A short link label for the narrow column: its id and the device's endpoint."""
    return f"{link_id} {endpoint}"


def header_text(width: int) -> str:
    """The column titles, aligned with the rows."""
    text = " ".join(f"{title:<{size}}" for title, size in COLUMNS) + " Summary"
    return set_cell_size(text, max(width, 1))


class MessageListHeader(Static):
    """Column titles above the message list."""

    DEFAULT_CSS = """
    MessageListHeader { height: 1; background: #303030; color: #ffffff; text-style: bold; }
    """

    def on_resize(self, event: events.Resize) -> None:
        self.update(header_text(event.size.width))


class MessageList(ScrollView, can_focus=True):
    """The virtualised list of records in a ``MessageView``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown,space", "page_down", "Page down", show=False),
        Binding("home,g", "first", "First message", show=False),
        Binding("end,G", "last", "Last message", show=False),
    ]

    DEFAULT_CSS = """
    MessageList { height: 1fr; scrollbar-size-vertical: 1; }
    """

    class Selected(Message):
        """The cursor moved to capture row ``index`` (None: the view is empty)."""

        def __init__(self, index: int | None) -> None:
            super().__init__()
            self.index = index

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, MessageList.Selected)

    def __init__(self, view: MessageView, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view = view
        self.cursor = 0
        """Position of the selected line in the view."""
        self.marks: set[int] = set()
        """Capture rows the user marked."""
        self.follow = True
        """Keep the tail in view as rows arrive (live mode), until the user scrolls away."""
        self._selected_index: int | None = None

    @property
    def capture(self) -> Capture:
        """The capture behind the view."""
        return self.view.capture

    @property
    def selected_index(self) -> int | None:
        """The capture row under the cursor."""
        if not len(self.view):
            return None
        return self.view[min(self.cursor, len(self.view) - 1)]

    # -- data changes -------------------------------------------------------------------

    def set_view(self, view: MessageView, *, keep_index: int | None = None) -> None:
        """Show another view, keeping the cursor on ``keep_index`` (or the nearest row)."""
        self.view = view
        self.cursor = 0 if keep_index is None else view.nearest_position(keep_index)
        self.sync_size()
        self.refresh()
        self.scroll_to_cursor(center=True)
        self._post_selection()

    def sync_size(self, *, follow: bool = False) -> None:
        """Adopt the view's current length; in follow mode keep the tail visible."""
        at_end = self.scroll_y >= self.max_scroll_y
        rows = len(self.view)
        if self.virtual_size.height != rows:
            self.virtual_size = Size(0, rows)
        self.refresh()
        if follow and self.follow and at_end:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True)
        if self._selected_index is None and rows:
            self._post_selection()

    # -- cursor -------------------------------------------------------------------------

    def move_cursor(self, position: int) -> None:
        """Select the line at ``position`` of the view."""
        rows = len(self.view)
        if not rows:
            return
        position = max(0, min(position, rows - 1))
        old = self.cursor
        self.cursor = position
        self.refresh_line(old - round(self.scroll_y))
        self.refresh_line(position - round(self.scroll_y))
        self.scroll_to_cursor()
        self.follow = position >= rows - 1
        self._post_selection()

    def select_index(self, index: int) -> bool:
        """Put the cursor on capture row ``index``; False when the view does not show it."""
        position = self.view.position_of(index)
        if position is None:
            return False
        self.move_cursor(position)
        self.scroll_to_cursor(center=True)
        return True

    def scroll_to_cursor(self, *, center: bool = False) -> None:
        """Scroll just enough (or to the middle) to show the cursor."""
        height = max(1, self.scrollable_content_region.height)
        top = round(self.scroll_y)
        if center and not top <= self.cursor < top + height:
            self.scroll_to(
                y=max(0, self.cursor - height // 2), animate=False, immediate=True, force=True
            )
        elif self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True, force=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True, force=True)

    def _post_selection(self) -> None:
        index = self.selected_index
        self._selected_index = index
        self.post_message(self.Selected(index))

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        page = max(1, self.scrollable_content_region.height - 1)
        self.scroll_to(y=max(0, self.scroll_y - page), animate=False, immediate=True, force=True)
        self.move_cursor(self.cursor - page)

    def action_page_down(self) -> None:
        page = max(1, self.scrollable_content_region.height - 1)
        self.scroll_to(y=self.scroll_y + page, animate=False, immediate=True, force=True)
        self.move_cursor(self.cursor + page)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self.view) - 1)
        self.follow = True

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None:
            self.move_cursor(round(self.scroll_y) + offset.y)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value < old_value:
            self.follow = False
        elif new_value >= self.max_scroll_y:
            self.follow = True

    def toggle_mark(self) -> None:
        """Mark or unmark the selected row."""
        index = self.selected_index
        if index is None:
            return
        self.marks.symmetric_difference_update({index})
        self.refresh_line(self.cursor - round(self.scroll_y))

    # -- painting -----------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        position = round(self.scroll_y) + y
        view = self.view
        if position >= len(view):
            return Strip.blank(width, self.rich_style)
        index = view[position]
        return self.render_row(index, width, selected=position == self.cursor)

    def render_row(self, index: int, width: int, *, selected: bool) -> Strip:
        """One line for capture row ``index``."""
        capture = self.capture
        row = capture.row(index)
        link = row.link
        cells = (
            f"{'●' if index in self.marks else ' '}{row.number:<7}",
            f"{format_time(row.time_ns, capture.first_time_ns):<12}",
            set_cell_size(link_label(link.id, capture.roles.get(link.id, ("", link.b))[1]), 22),
            f"{row.direction.arrow} {'D' if row.direction is Direction.TO_DEVICE else 'H'} ",
            f"{row.protocol[:9]:<9}",
            f"{row.type[:18]:<18}",
        )
        text = " ".join(cells) + " " + row.summary
        if row.is_junk:
            style = STYLE_JUNK
        elif row.worst is not None:
            style = STYLE_BY_SEVERITY[row.worst]
        elif row.kind is Kind.MALFORMED:
            style = STYLE_BY_SEVERITY[Severity.ERROR]
        elif row.direction is Direction.TO_DEVICE:
            style = STYLE_TO_DEVICE
        else:
            style = STYLE_FROM_DEVICE
        if selected:
            style = STYLE_CURSOR if self.has_focus else STYLE_CURSOR_UNFOCUSED
        text = set_cell_size(text, max(width, 1))
        segments = [Segment(text, style)]
        if index in self.marks and not selected:
            segments = [Segment(text[0], STYLE_MARK), Segment(text[1:], style)]
        return Strip(segments, max(width, 1))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
