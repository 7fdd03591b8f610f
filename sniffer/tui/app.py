"""The camshark TUI app: composes the widgets and routes messages between them.

``sniffer.tui.launch.make_app`` builds it for the CLI and the tests. The work lives in
``sniffer.capture`` (storage, decoding), ``sniffer.row_search`` (search),
``sniffer.tui.view`` (filtering), ``sniffer.tui.loader`` (source → pipeline → capture) and
the widgets themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static
from textual.worker import get_current_worker

from dissectors.api import ExtractedObject, Link, Transfer
from sniffer.capture import Capture
from sniffer.clock import Clock, SystemClock
from sniffer.display_filter import FilterError, compile_filter
from sniffer.tui.config import TuiConfig
from sniffer.tui.export import export_json, export_objects
from sniffer.tui.loader import Loader
from sniffer.tui.messages import CaptureGrew, FilterProgress
from sniffer.tui.screens.conversations import ConversationsScreen
from sniffer.tui.screens.export import ExportScreen
from sniffer.tui.screens.follow import FollowScreen
from sniffer.tui.screens.ladder import LadderScreen
from sniffer.tui.search import find_next
from sniffer.tui.view import MessageView
from sniffer.tui.widgets.field_tree import FieldTree, problem_text
from sniffer.tui.widgets.hex_pane import HexPane
from sniffer.tui.widgets.message_list import MessageList, MessageListHeader
from sniffer.tui.widgets.status_bar import StatusBar, StatusFacts, clock_text, status_text

UI_FILTER_BUDGET = 2_000
"""Rows the UI thread filters per refresh; a worker takes over beyond that."""


class CamsharkApp(App[int]):
    """Message list, detail tree and hex pane over one capture, loaded in the background."""

    CSS_PATH = "styles.tcss"
    TITLE = "camshark"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f,ctrl+f", "focus_filter", "Filter"),
        Binding("slash", "search", "Search"),
        Binding("n", "search_next", "Next hit", show=False),
        Binding("N", "search_previous", "Previous hit", show=False),
        Binding("p", "toggle_problems", "Problems only"),
        Binding("r", "jump_partner", "Request/response"),
        Binding("m", "toggle_mark", "Mark", show=False),
        Binding("M", "next_mark", "Next mark", show=False),
        Binding("c", "conversations", "Conversations"),
        Binding("t", "transfers", "Transfers"),
        Binding("s", "follow_link", "Follow link"),
        Binding("l", "ladder", "Ladder"),
        Binding("e", "export_json", "Export JSON"),
        Binding("E", "export_marked", "Export marked", show=False),
        Binding("o", "export_objects", "Export objects", show=False),
        Binding("enter", "focus_detail", "Detail tree", show=False),
        Binding("question_mark,f1", "help", "Help"),
        Binding("escape", "clear", "Clear filter", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        capture: Capture,
        *,
        loader: Loader | None = None,
        live: bool = False,
        clock: Clock | None = None,
        config: TuiConfig | None = None,
        source_name: str = "",
    ) -> None:
        super().__init__()
        self.capture = capture
        self.loader = loader
        self.live = live
        self.clock: Clock = clock or SystemClock()
        self.config = config or TuiConfig()
        self.source_name = source_name
        self.view = MessageView(capture)
        self.handled_updates = 0
        """How many ``CaptureGrew`` messages were handled (the rest were coalesced)."""
        self.filter_error: str | None = None
        self.search_text = ""
        self._dirty = False
        self._loaded = False
        self._detail_index: int | None = None
        self._detail_timer: Timer | None = None
        self._detail_signature: tuple[object, ...] | None = None
        self._filtering = False
        if not self.config.animations:
            self.animation_level = "none"
        if loader is not None:
            loader.notify = self._from_loader

    # -- composition ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="bars"):
            yield Input(
                placeholder="display filter, e.g. smartlpr.type == Status  (enter to apply)",
                id="filter",
            )
            yield Input(placeholder="search text, or hex: 02 01 00", id="search", classes="hidden")
        yield MessageListHeader(id="list-header")
        yield MessageList(self.view, id="messages")
        with Vertical(id="detail"):
            yield Static(id="problem-line", classes="hidden")
            with Horizontal(id="detail-panes"):
                yield FieldTree(id="fields")
                yield HexPane(id="hex")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        for input_widget in self.query(Input):
            input_widget.cursor_blink = self.config.cursor_blink
        messages = self.query_one(MessageList)
        messages.focus()
        messages.sync_size()
        self.update_status()
        self.set_interval(self.config.refresh_interval_s, self._tick)
        if self.loader is not None:
            # start after the first paint: the loader competes for the GIL
            self.call_after_refresh(self._run_loader)
        else:
            self._loaded = True
            self.capture.finished = True

    @work(thread=True, group="loader", exit_on_error=False)
    def _run_loader(self) -> None:
        assert self.loader is not None
        self.loader.run()

    def on_unmount(self) -> None:
        if self.loader is not None:
            self.loader.stop()

    # -- data arriving ----------------------------------------------------------------------

    def _from_loader(self) -> None:
        """Called in the loader thread: ask for a repaint (coalesced)."""
        self.post_message(CaptureGrew(len(self.capture)))

    @property
    def dropped_updates(self) -> int:
        """Repaint requests merged into later ones (data is never dropped)."""
        if self.loader is None:
            return 0
        return max(0, self.loader.notifications - self.handled_updates)

    @property
    def loaded(self) -> bool:
        """True when the source has ended and the last rows are on screen."""
        return self._loaded

    def on_capture_grew(self, message: CaptureGrew) -> None:
        self.handled_updates += 1
        self._dirty = True
        first = self.handled_updates == 1
        if self.capture.finished or first:
            self._tick()  # the first rows go on screen at once, not at the next tick
        if first and self.loader is not None:
            self.call_after_refresh(self.loader.first_shown.set)

    def _tick(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        view = self.view
        if view.is_filtered and not view.complete and not self._filtering:
            view.catch_up(UI_FILTER_BUDGET)  # a live tail is usually small
            if not view.complete:
                self._filter_worker(view)
        self.query_one(MessageList).sync_size(follow=self.live and self.config.follow_tail)
        if self._detail_index is not None and self._detail_timer is None:
            signature = self._annotations(self._detail_index)
            if signature != self._detail_signature:
                self._show_detail()  # the matcher annotated the shown message since
        if self.capture.finished and self.view.complete and not self._loaded:
            self.call_after_refresh(self._set_loaded)
        self.update_status()

    def _set_loaded(self) -> None:
        self._loaded = True

    def status_text(self) -> str:
        """The status line: counts, loading, filter, live state."""
        facts = StatusFacts(
            live=self.live,
            dropped_updates=self.dropped_updates if self.loader is not None and self.live else None,
            filter_error=self.filter_error,
            clock=clock_text(self.clock) if self.config.show_clock else None,
        )
        return status_text(self.capture, self.view, facts)

    def update_status(self) -> None:
        """Repaint the status bar."""
        self.query_one(StatusBar).update(self.status_text())

    # -- selection and detail ---------------------------------------------------------------

    def on_message_list_selected(self, message: MessageList.Selected) -> None:
        self._detail_index = message.index
        if self._detail_timer is not None:
            self._detail_timer.stop()
            self._detail_timer = None
        if self.config.detail_delay_s <= 0:
            self._show_detail()
        else:
            self._detail_timer = self.set_timer(self.config.detail_delay_s, self._show_detail)

    def _annotations(self, index: int) -> tuple[object, ...]:
        capture = self.capture
        return (
            capture.request_in(index),
            capture.response_in(index),
            capture.latency_ns(index),
            capture.problems(index),
        )

    def _show_detail(self) -> None:
        self._detail_timer = None
        index = self._detail_index
        self._detail_signature = None if index is None else self._annotations(index)
        self.query_one(FieldTree).show(self.capture, index)
        hex_pane = self.query_one(HexPane)
        hex_pane.show(b"" if index is None else self.capture.data(index))
        problems = () if index is None else self.capture.problems(index)
        line = self.query_one("#problem-line", Static)
        line.set_class(not problems, "hidden")
        line.update(problem_text(problems))

    def on_field_tree_span_highlighted(self, message: FieldTree.SpanHighlighted) -> None:
        self.query_one(HexPane).highlight(message.span)

    def on_field_tree_jump_requested(self, message: FieldTree.JumpRequested) -> None:
        self.jump_to_number(message.number)

    def jump_to_number(self, number: int) -> bool:
        """Select record ``number``; says why in a notification when it is not shown."""
        index = self.capture.index_of(number)
        messages = self.query_one(MessageList)
        if index is None:
            self.notify(f"#{number} is not loaded", severity="warning")
            return False
        if not messages.select_index(index):
            self.notify(f"#{number} is hidden by the filter", severity="warning")
            return False
        return True

    @property
    def selected_index(self) -> int | None:
        """The capture row under the cursor."""
        return self.query_one(MessageList).selected_index

    # -- filter and search ------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "filter":
            return
        try:
            compile_filter(event.value)
        except FilterError as error:
            self.filter_error = str(error)
            event.input.add_class("-invalid")
        else:
            self.filter_error = None
            event.input.remove_class("-invalid")
        self.update_status()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.apply_filter(event.value, problems_only=self.view.problems_only)
            self.query_one(MessageList).focus()
        elif event.input.id == "search":
            self.search_text = event.value
            self.search(forward=True)
            self.query_one(MessageList).focus()

    def apply_filter(self, text: str, *, problems_only: bool) -> bool:
        """Show only rows matching ``text`` (and with problems); False if the text is invalid."""
        text = text.strip()
        try:
            predicate = (
                compile_filter(text, base_time_ns=lambda: self.capture.first_time_ns)
                if text
                else None
            )
        except FilterError as error:
            self.filter_error = str(error)
            self.update_status()
            return False
        self.filter_error = None
        keep = self.selected_index
        view = MessageView(self.capture, predicate, problems_only=problems_only, filter_text=text)
        self.view = view
        if view.is_filtered:
            view.catch_up(UI_FILTER_BUDGET)
            if not view.complete:
                self._filter_worker(view)
        self.query_one(MessageList).set_view(view, keep_index=keep)
        self.update_status()
        return True

    @work(thread=True, group="filter", exclusive=True, exit_on_error=False)
    def _filter_worker(self, view: MessageView) -> None:
        worker = get_current_worker()
        self._filtering = True
        try:
            while not worker.is_cancelled and view is self.view:
                done = view.catch_up(self.config.filter_budget, lambda: worker.is_cancelled)
                self.post_message(FilterProgress(done))
                if done:
                    return
        finally:
            self._filtering = False

    def on_filter_progress(self, message: FilterProgress) -> None:
        self._dirty = True
        self._tick()

    def search(self, *, forward: bool) -> bool:
        """Move to the next (or previous) shown row whose summary or bytes match."""
        messages = self.query_one(MessageList)
        current = messages.selected_index
        start = 0 if current is None else current + (1 if forward else -1)
        if len(self.capture):
            start %= len(self.capture)
        found = find_next(
            self.capture,
            self.search_text,
            start,
            forward=forward,
            shown=lambda index: self.view.position_of(index) is not None,
        )
        if found is None:
            if self.search_text.strip():
                self.notify(f"not found: {self.search_text.strip()}", severity="warning")
            return False
        return messages.select_index(found)

    # -- actions ----------------------------------------------------------------------------

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_focus_detail(self) -> None:
        self.query_one(FieldTree).focus()

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.remove_class("hidden")
        search.focus()

    def action_search_next(self) -> None:
        self.search(forward=True)

    def action_search_previous(self) -> None:
        self.search(forward=False)

    def action_clear(self) -> None:
        search = self.query_one("#search", Input)
        if search.has_focus or not search.has_class("hidden"):
            search.add_class("hidden")
            self.query_one(MessageList).focus()
            return
        if self.view.is_filtered:
            self.query_one("#filter", Input).value = ""
            self.apply_filter("", problems_only=False)
        self.query_one(MessageList).focus()

    def action_toggle_problems(self) -> None:
        self.apply_filter(self.view.filter_text, problems_only=not self.view.problems_only)

    def action_jump_partner(self) -> None:
        index = self.selected_index
        if index is None:
            return
        partner = self.capture.response_in(index) or self.capture.request_in(index)
        if partner is None:
            self.notify("no request or response linked to this message", severity="information")
            return
        self.jump_to_number(partner)

    def action_toggle_mark(self) -> None:
        self.query_one(MessageList).toggle_mark()

    def action_next_mark(self) -> None:
        messages = self.query_one(MessageList)
        if not messages.marks:
            self.notify("no marks (press m on a message)", severity="information")
            return
        current = messages.selected_index or 0
        ordered = sorted(messages.marks)
        after = [i for i in ordered if i > current]
        messages.select_index((after or ordered)[0])

    def action_conversations(self) -> None:
        if len(self.capture) < 50_000:
            self.push_screen(ConversationsScreen(self.capture), self._conversation_chosen)
        else:
            self.notify("counting conversations…")
            self._conversations_worker()

    @work(thread=True, group="conversations", exclusive=True, exit_on_error=False)
    def _conversations_worker(self) -> None:
        stats = self.capture.conversations()
        self.call_from_thread(
            self.push_screen, ConversationsScreen(self.capture, stats), self._conversation_chosen
        )

    def _conversation_chosen(self, choice: tuple[str, Link] | None) -> None:
        if choice is None:
            return
        what, link = choice
        if what == "filter":
            text = f"link == {link.id}"
            self.query_one("#filter", Input).value = text
            self.apply_filter(text, problems_only=self.view.problems_only)
        elif what == "ladder":
            self.push_screen(LadderScreen(self.capture, link))
        elif what == "follow":
            self.push_screen(FollowScreen(self.capture, link))

    def action_transfers(self) -> None:
        # imported on first use: the image preview pulls in Pillow (about 40 ms at start-up)
        from sniffer.tui.screens.transfers import TransfersScreen

        self.push_screen(
            TransfersScreen(
                list(self.capture.transfers),
                list(self.capture.objects),
                image_mode=self.config.image_mode,
                reload=self._current_transfers if self.live else None,
            ),
            self._transfer_chosen,
        )

    def _current_transfers(self) -> tuple[list[Transfer], list[ExtractedObject]]:
        return list(self.capture.transfers), list(self.capture.objects)

    def _transfer_chosen(self, number: int | None) -> None:
        if number is not None:
            self.jump_to_number(number)

    def action_follow_link(self) -> None:
        index = self.selected_index
        if index is None:
            return
        self.push_screen(FollowScreen(self.capture, self.capture.link(index), index))

    def action_ladder(self) -> None:
        index = self.selected_index
        if index is None:
            return
        self.push_screen(LadderScreen(self.capture, self.capture.link(index)))

    def action_export_json(self) -> None:
        view = self.view
        self._ask_json_export("shown", [view[i] for i in range(len(view))])

    def action_export_marked(self) -> None:
        marks = sorted(self.query_one(MessageList).marks)
        if not marks:
            self.notify("no marks (press m on a message)", severity="information")
            return
        self._ask_json_export("marked", marks)

    def _ask_json_export(self, what: str, indices: list[int]) -> None:
        default = str(Path(self.config.export_dir) / "camshark-export.json")
        self.push_screen(
            ExportScreen(
                f"Export {len(indices):,} {what} messages as JSON to:",
                default,
                cursor_blink=self.config.cursor_blink,
            ),
            partial(self._export_json_to, indices),
        )

    def _export_json_to(self, indices: list[int], path: str | None) -> None:
        if path:
            self._export_json_worker(indices, Path(path))

    @work(thread=True, group="export", exit_on_error=False)
    def _export_json_worker(self, indices: list[int], path: Path) -> None:
        pipeline = self.loader.pipeline if self.loader is not None else None
        try:
            count = export_json(
                self.capture,
                indices,
                path,
                endpoints=pipeline.endpoints if pipeline is not None else None,
            )
        except OSError as error:
            self.call_from_thread(self.notify, f"export failed: {error}", severity="error")
            return
        self.call_from_thread(self.notify, f"exported {count} messages to {path}")

    def action_export_objects(self) -> None:
        default = str(Path(self.config.export_dir) / "camshark-objects")
        self.push_screen(
            ExportScreen(
                f"Export {len(self.capture.objects)} extracted objects to the directory:",
                default,
                cursor_blink=self.config.cursor_blink,
            ),
            self._export_objects_to,
        )

    def _export_objects_to(self, path: str | None) -> None:
        if not path:
            return
        try:
            index = export_objects(self.capture, Path(path))
        except OSError as error:
            self.notify(f"export failed: {error}", severity="error")
            return
        self.notify(f"wrote {len(self.capture.objects)} objects, index {index}")

    def help_text(self) -> str:
        """The help page, generated from the bindings."""
        # imported on first use: Markdown costs about 80 ms at start-up
        from sniffer.tui.screens.help import help_markdown
        from sniffer.tui.screens.transfers import TransfersScreen

        return help_markdown(
            {
                "Main": self.BINDINGS,
                "Message list": MessageList.BINDINGS,
                "Conversations": ConversationsScreen.BINDINGS,
                "Transfers": TransfersScreen.BINDINGS,
                "Follow link": FollowScreen.BINDINGS,
                "Ladder": LadderScreen.BINDINGS,
            }
        )

    def action_help(self) -> None:
        from sniffer.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.help_text()))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.description:
                yield SystemCommand(
                    binding.description,
                    f"{binding.description} ({binding.key.replace(',', ' / ')})",
                    partial(self.run_action, binding.action),
                )
