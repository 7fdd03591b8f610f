"""Transfers: files carried over many frames, with progress, holes, retries, outcome and a preview.

The preview shows reassembled JPEGs in the terminal through textual-image: kitty graphics or
sixel where the terminal supports them, coloured half blocks otherwise.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import ClassVar

from PIL import Image as PILImage
from PIL import UnidentifiedImageError
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Static

# Imported before the app starts: textual-image asks the terminal its cell size at import.
from textual_image.widget import HalfcellImage
from textual_image.widget import Image as AutoImage

from dissectors.api import ExtractedObject, Transfer
from sniffer.tui.config import ImageMode

HEADERS = (
    "Protocol",
    "Name",
    "Link",
    "Frames",
    "Size",
    "Received",
    "Progress",
    "Holes",
    "Retries",
    "CRC fail",
    "Outcome",
)


def transfer_cells(transfer: Transfer) -> tuple[str, ...]:
    """The table cells for one transfer."""
    progress = transfer.progress
    holes = sum(end - start for start, end in transfer.missing)
    return (
        transfer.protocol,
        transfer.name,
        str(transfer.link.id),
        f"#{transfer.first_record}–#{transfer.last_record}",
        "?" if transfer.expected_size is None else str(transfer.expected_size),
        str(transfer.received),
        "?" if progress is None else f"{progress:.0%}",
        f"{len(transfer.missing)} ({holes} B)" if transfer.missing else "",
        str(transfer.retries),
        str(transfer.crc_failures),
        transfer.outcome,
    )


def find_object(transfer: Transfer, objects: list[ExtractedObject]) -> ExtractedObject | None:
    """The extracted object produced by ``transfer`` (same protocol and name), if any."""
    for obj in reversed(objects):
        if obj.protocol == transfer.protocol and obj.name == transfer.name:
            return obj
    for obj in reversed(objects):
        if transfer.first_record in obj.frames or transfer.last_record in obj.frames:
            return obj
    return None


def open_picture(obj: ExtractedObject) -> PILImage.Image | None:
    """Decode the object's bytes as a picture (a truncated JPEG shows what arrived)."""
    try:
        picture = PILImage.open(io.BytesIO(obj.data))
        picture.load()
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    return picture


class TransfersScreen(Screen[int | None]):
    """Table of transfers; the highlighted one's picture is previewed on the right.

    Enter closes the screen with the transfer's first record number, to jump to it.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,t", "dismiss_none", "Back"),
        Binding("enter", "jump", "Go to its first frame"),
    ]

    def __init__(
        self,
        transfers: list[Transfer],
        objects: list[ExtractedObject],
        *,
        image_mode: ImageMode = "auto",
        reload: Callable[[], tuple[list[Transfer], list[ExtractedObject]]] | None = None,
        reload_interval_s: float = 1.0,
    ) -> None:
        super().__init__()
        self.transfers = transfers
        self.objects = objects
        self.image_mode = image_mode
        self.reload = reload
        """Live mode: fetches the current transfers and objects for a periodic refresh."""
        self.reload_interval_s = reload_interval_s

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="transfers-title", classes="screen-title")
        with Horizontal():
            table: DataTable[str] = DataTable(id="transfers", cursor_type="row")
            table.add_columns(*HEADERS)
            self._fill(table)
            yield table
            with Vertical(id="preview-pane"):
                yield Static("no picture", id="preview-caption")
        yield Footer()

    def _title(self) -> str:
        return f"Transfers ({len(self.transfers)}) · objects extracted: {len(self.objects)}"

    def _fill(self, table: DataTable[str]) -> None:
        for number, transfer in enumerate(self.transfers):
            table.add_row(*transfer_cells(transfer), key=str(number))

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        if self.transfers:
            self.show_preview(0)
        if self.reload is not None:
            self.set_interval(self.reload_interval_s, self.refresh_transfers)

    def refresh_transfers(self) -> None:
        """Live mode: show the transfers' progress as it is now."""
        if self.reload is None:
            return
        transfers, objects = self.reload()
        cells = [transfer_cells(t) for t in transfers]
        if cells == [transfer_cells(t) for t in self.transfers] and len(objects) == len(
            self.objects
        ):
            return
        self.transfers, self.objects = transfers, objects
        table: DataTable[str] = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        self._fill(table)
        if self.transfers:
            table.move_cursor(row=min(row, len(self.transfers) - 1))
        self.query_one("#transfers-title", Static).update(self._title())

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    def action_jump(self) -> None:
        row = self.query_one(DataTable).cursor_row
        if 0 <= row < len(self.transfers):
            self.dismiss(self.transfers[row].first_record)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_jump()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.show_preview(event.cursor_row)

    def show_preview(self, row: int) -> None:
        """Preview the picture of transfer ``row``, if it has one."""
        caption = self.query_one("#preview-caption", Static)
        slot = self.query_one("#preview-pane", Vertical)
        for old in slot.query(".preview"):
            old.remove()
        if not 0 <= row < len(self.transfers):
            return
        transfer = self.transfers[row]
        obj = find_object(transfer, self.objects)
        if obj is None:
            caption.update(f"{transfer.name}: no extracted object")
            return
        picture = open_picture(obj) if self.image_mode != "none" else None
        state = "complete" if obj.complete else f"incomplete, {len(obj.holes)} holes"
        if picture is None:
            caption.update(f"{obj.name}: {len(obj.data)} bytes ({state}), not a picture")
            return
        caption.update(f"{obj.name}: {picture.width}×{picture.height} ({state})")
        widget: Widget = (
            HalfcellImage(picture, classes="preview")
            if self.image_mode == "halfcell"
            else AutoImage(picture, classes="preview")
        )
        slot.mount(widget)
