"""Hex and ASCII dump of the selected record, with the selected field's bytes highlighted."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

BYTES_PER_LINE = 16
STYLE_OFFSET = Style(color="#808080")
STYLE_BYTE = Style(color="#d0d0d0")
STYLE_HIGHLIGHT = Style(color="#000000", bgcolor="#ffaf00", bold=True)
_PRINTABLE = bytes(range(32, 127))
_ASCII_TABLE = bytes(b if b in _PRINTABLE else ord(".") for b in range(256))


def hex_line(data: bytes, offset: int) -> tuple[str, str]:
    """The hex and ASCII columns for the 16 bytes at ``offset``."""
    chunk = data[offset : offset + BYTES_PER_LINE]
    hex_part = chunk.hex(" ")
    if len(chunk) > 8:
        hex_part = hex_part[:23] + " " + hex_part[23:]
    return hex_part, chunk.translate(_ASCII_TABLE).decode("ascii")


class HexPane(ScrollView):
    """Line-API hex dump; a frame of any size costs only its visible lines."""

    DEFAULT_CSS = """
    HexPane { width: 76; scrollbar-size-vertical: 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.data = b""
        self.span: tuple[int, int] | None = None

    def show(self, data: bytes, span: tuple[int, int] | None = None) -> None:
        """Dump ``data``; highlight ``span`` if given."""
        self.data = data
        self.span = None
        lines = (len(data) + BYTES_PER_LINE - 1) // BYTES_PER_LINE
        self.virtual_size = Size(74, lines)
        self.scroll_to(y=0, animate=False, immediate=True)
        self.highlight(span)

    def highlight(self, span: tuple[int, int] | None) -> None:
        """Highlight bytes ``[start, end)`` and scroll them into view."""
        if span is not None and span[1] <= span[0]:
            span = None
        self.span = span
        self.refresh()
        if span is not None:
            line = span[0] // BYTES_PER_LINE
            height = max(1, self.scrollable_content_region.height)
            if not self.scroll_y <= line < self.scroll_y + height:
                self.scroll_to(y=line, animate=False, immediate=True)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = round(self.scroll_y) + y
        offset = line * BYTES_PER_LINE
        if offset >= len(self.data):
            return Strip.blank(width, self.rich_style)
        hex_part, ascii_part = hex_line(self.data, offset)
        segments = [Segment(f"{offset:06x}  ", STYLE_OFFSET)]
        span = self.span
        if span is None or span[1] <= offset or span[0] >= offset + BYTES_PER_LINE:
            segments += [
                Segment(f"{hex_part:<49}", STYLE_BYTE),
                Segment(f" {ascii_part}", STYLE_BYTE),
            ]
        else:
            lo = max(span[0], offset) - offset
            hi = min(span[1], offset + BYTES_PER_LINE) - offset
            hex_lo = lo * 3 + (1 if lo >= 8 else 0)
            hex_hi = hi * 3 - 1 + (1 if hi > 8 else 0)
            segments += [
                Segment(hex_part[:hex_lo], STYLE_BYTE),
                Segment(hex_part[hex_lo:hex_hi], STYLE_HIGHLIGHT),
                Segment(f"{hex_part[hex_hi:]:<{49 - hex_hi}}", STYLE_BYTE),
                Segment(" " + ascii_part[:lo], STYLE_BYTE),
                Segment(ascii_part[lo:hi], STYLE_HIGHLIGHT),
                Segment(ascii_part[hi:], STYLE_BYTE),
            ]
        return Strip(segments).adjust_cell_length(max(width, 1), self.rich_style)
