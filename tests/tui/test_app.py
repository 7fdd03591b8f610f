"""Behaviour of the TUI, driven through App.run_test() and the pilot."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from dissectors.api import Link, Transfer
from sniffer.capture import Capture
from sniffer.clock import FixedClock
from sniffer.sources import open_source
from sniffer.sources.base import Event, Source
from sniffer.tui.app import CamsharkApp
from sniffer.tui.config import TuiConfig
from sniffer.tui.launch import make_app
from sniffer.tui.loader import Loader
from sniffer.tui.screens.conversations import ConversationsScreen
from sniffer.tui.screens.follow import FollowScreen, StreamView
from sniffer.tui.screens.help import HelpScreen
from sniffer.tui.screens.ladder import LadderScreen, LadderView
from sniffer.tui.screens.transfers import TransfersScreen
from sniffer.tui.widgets.field_tree import FieldTree
from sniffer.tui.widgets.hex_pane import HexPane
from sniffer.tui.widgets.message_list import MessageList

SIZE = (120, 36)
pytestmark = pytest.mark.timeout(60)


async def until(pilot: Pilot[int], condition: Callable[[], bool], what: str) -> None:
    """Let the app run until ``condition`` holds (bounded; no sleeps in the test itself)."""
    for _ in range(500):
        if condition():
            await pilot.pause()  # let the messages already posted be handled
            return
        await pilot.pause(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def session_app(path: Path, export_dir: str = ".") -> CamsharkApp:
    config = replace(TuiConfig.test(), export_dir=export_dir)
    return make_app(str(path), clock=FixedClock(), config=config)


def numbers_of(app: CamsharkApp, type_name: str) -> list[int]:
    """Record numbers of one message type (the dissectors decide the exact order)."""
    capture = app.capture
    return [capture.number(i) for i in range(len(capture)) if capture.type_name(i) == type_name]


def selected_number(app: CamsharkApp) -> int | None:
    index = app.selected_index
    return None if index is None else app.capture.number(index)


async def test_opens_the_file_and_shows_the_first_message(session_capture: Path) -> None:
    app = session_app(session_capture)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded, "loading")
        assert len(app.capture) == 14
        assert app.capture.error is None
        assert selected_number(app) == 1
        tree = app.query_one(FieldTree)
        assert str(tree.root.label).startswith("#1 smartlpr Status")
        assert app.query_one(HexPane).data == app.capture.data(0)
        assert "14 messages" in app.status_text()


async def test_cursor_moves_update_the_detail_tree(session_capture: Path) -> None:
    app = session_app(session_capture)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded, "loading")
        await pilot.press("down", "down", "down", "down")
        assert selected_number(app) == 5
        await pilot.pause()
        tree = app.query_one(FieldTree)
        assert "LicenseInfo" in str(tree.root.label)
        assert app.query_one(HexPane).data[:1] == b"\x02"
        await pilot.press("end")
        assert selected_number(app) == 14
        await pilot.press("home")
        assert selected_number(app) == 1


async def test_selecting_a_field_highlights_its_bytes(session_capture: Path) -> None:
    app = session_app(session_capture)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded, "loading")
        tree = app.query_one(FieldTree)
        tree.focus()
        await pilot.press("down", "down", "down")  # root -> frame -> stx -> unit_id
        await pilot.pause()
        assert app.query_one(HexPane).span == (1, 5)


async def test_filter_is_validated_as_you_type_and_applied_on_enter(
    session_capture: Path,
) -> None:
    app = session_app(session_capture)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded, "loading")
        await pilot.press("f")
        await pilot.press(*"type ==")
        filter_input = app.query_one("#filter")
        assert filter_input.has_class("-invalid")
        assert "filter error" in app.status_text()
        await pilot.press("space", *"Status")
        assert not filter_input.has_class("-invalid")
        await pilot.press("enter")
        await until(pilot, lambda: app.view.complete, "filtering")
        shown = [app.capture.number(app.view[i]) for i in range(len(app.view))]
        assert shown == numbers_of(app, "Status")
        assert len(shown) == 3
        assert app.query_one(MessageList).has_focus
        await pilot.press("escape")
        assert len(app.view) == 14


async def test_jump_from_request_to_response_and_back(session_capture: Path) -> None:
    app = session_app(session_capture)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded, "loading")
        await pilot.press("down", "down")
        assert selected_number(app) == 3  # Trigger 7
        await pilot.press("r")
        assert selected_number(app) == 4  # its ACK
        await pilot.press("r")
        assert selected_number(app) == 3


async def test_problems_only_toggle(session_capture: Path) -> None:
    app = session_app(session_capture)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded, "loading")
        with_problems = [i for i in range(len(app.capture)) if app.capture.has_problems(i)]
        await pilot.press("p")
        await until(pilot, lambda: app.view.complete, "filtering")
        assert [app.view[i] for i in range(len(app.view))] == with_problems
        assert "problems only" in app.status_text()
        await pilot.press("p")
        assert len(app.view) == len(app.capture)


async def test_follow_link_shows_only_that_link(session_capture: Path) -> None:
    app = session_app(session_capture)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded, "loading")
        second = app.capture.links[1]
        on_second = [i for i in range(len(app.capture)) if app.capture.link(i) == second]
        app.query_one(MessageList).select_index(on_second[0])
        await pilot.press("s")
        assert isinstance(app.screen, FollowScreen)
        stream = app.screen.query_one(StreamView)
        assert list(stream.indices) == on_second
        assert stream.virtual_size.height == 2 + 2 * 2  # a boundary and 2 hex lines each
        await pilot.press("escape")
        assert not isinstance(app.screen, FollowScreen)


async def test_ladder_of_the_selected_link(session_capture: Path) -> None:
    app = session_app(session_capture)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded, "loading")
        await pilot.press("l")
        assert isinstance(app.screen, LadderScreen)
        ladder = app.screen.query_one(LadderView)
        assert len(ladder.indices) == 12
        line = ladder.render_line(1).text
        assert "◀" in line
        assert "StatusResponse 3.000 ms" in line
        heads = str(app.screen.query_one("#ladder-heads", Static).render())
        assert "Host 10.0.0.1:40000" in heads
        assert heads.rstrip().endswith("Device 10.0.0.2:9000")


async def test_conversations_then_filter_on_a_link(session_capture: Path) -> None:
    app = session_app(session_capture)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded, "loading")
        await pilot.press("c")
        assert isinstance(app.screen, ConversationsScreen)
        assert [s.messages for s in app.screen.stats] == [12, 2]
        await pilot.press("down", "enter")
        await until(pilot, lambda: app.view.complete, "filtering")
        assert app.view.filter_text == "link == 2"
        assert len(app.view) == 2


async def test_transfers_view_lists_the_picture(session_capture: Path) -> None:
    app = session_app(session_capture)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded, "loading")
        await pilot.press("t")
        assert isinstance(app.screen, TransfersScreen)
        assert len(app.screen.transfers) == 1
        await pilot.pause()
        assert len(app.screen.query(".preview")) == 1
        first = app.screen.transfers[0].first_record
        await pilot.press("enter")
        assert not isinstance(app.screen, TransfersScreen)
        assert selected_number(app) == first


async def test_export_json_of_the_shown_messages(session_capture: Path, tmp_path: Path) -> None:
    app = session_app(session_capture, export_dir=str(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded, "loading")
        await pilot.press("e")
        await pilot.press("enter")
        target = tmp_path / "camshark-export.json"
        await until(
            pilot, lambda: target.exists() and target.read_bytes().endswith(b"]\n"), "export"
        )
    items = json.loads(target.read_text())
    assert [item["frame"] for item in items] == list(range(1, 15))
    assert items[1]["request_in"] == 1
    assert items[0]["fields"]["type"] == 68


async def test_export_objects(session_capture: Path, tmp_path: Path) -> None:
    app = session_app(session_capture, export_dir=str(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded, "loading")
        await pilot.press("o", "enter")
        await until(pilot, lambda: any((tmp_path / "camshark-objects").glob("*.jpg")), "objects")


async def test_search_by_text_and_by_hex(session_capture: Path) -> None:
    app = session_app(session_capture)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded, "loading")
        await pilot.press("slash", *"plate", "enter")
        assert selected_number(app) == 5
        search = app.query_one("#search", Input)
        await pilot.press("slash")
        search.value = "c0 00 00 00 01"  # ACK with id 1
        await pilot.press("enter")
        assert selected_number(app) == 6
        await pilot.press("slash")
        search.value = "hex:c000000004"  # ACK with id 4
        await pilot.press("enter")
        assert selected_number(app) == 4  # wrapped around
        await pilot.press("N")
        assert selected_number(app) == 4  # the only hit


async def test_marks_and_export_of_the_marked(session_capture: Path, tmp_path: Path) -> None:
    app = session_app(session_capture, export_dir=str(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded, "loading")
        await pilot.press("down", "m", "down", "down", "down", "m", "home", "M")
        assert selected_number(app) == 2
        await pilot.press("M")
        assert selected_number(app) == 5
        assert app.query_one(MessageList).marks == {1, 4}
        await pilot.press("E", "enter")
        target = tmp_path / "camshark-export.json"
        await until(
            pilot, lambda: target.exists() and target.read_bytes().endswith(b"]\n"), "export"
        )
    assert [item["frame"] for item in json.loads(target.read_text())] == [2, 5]


async def test_enter_moves_to_the_detail_tree_and_escape_back(session_capture: Path) -> None:
    app = session_app(session_capture)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded, "loading")
        await pilot.press("enter")
        assert app.query_one(FieldTree).has_focus
        await pilot.press("escape")
        assert app.query_one(MessageList).has_focus


async def test_help_is_generated_from_the_bindings(session_capture: Path) -> None:
    app = session_app(session_capture)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        for binding in app.BINDINGS:
            assert binding.description in app.screen.text  # type: ignore[union-attr]


async def test_command_palette_has_an_entry_per_action(session_capture: Path) -> None:
    app = session_app(session_capture)
    async with app.run_test(size=SIZE):
        titles = {command.title for command in app.get_system_commands(app.screen)}
        for wanted in ("Conversations", "Transfers", "Follow link", "Ladder", "Export JSON"):
            assert wanted in titles


async def test_live_replay_streams_and_follows_the_tail(session_capture: Path) -> None:
    clock = FixedClock()
    app = make_app(
        f"replay:{session_capture}?speed=1", live=True, clock=clock, config=TuiConfig.test()
    )
    async with app.run_test(size=(120, 24)) as pilot:
        await until(pilot, lambda: app.loaded, "the replay")
        assert len(app.capture) == 14
        assert clock.slept_s > 10  # paced by capture time, on the fixed clock
        messages = app.query_one(MessageList)
        assert messages.max_scroll_y > 0
        assert messages.scroll_y == messages.max_scroll_y
        assert "dropped updates:" in app.status_text()
        assert app.dropped_updates >= 0
        # the matcher flagged the unanswered Trigger after it was emitted: an update
        unanswered = [
            i
            for i in range(len(app.capture))
            if any(p.code == "smartlpr.unanswered" for p in app.capture.problems(i))
        ]
        assert [app.capture.type_name(i) for i in unanswered] == ["Trigger"]


async def test_a_missing_file_is_reported_in_the_status_bar(tmp_path: Path) -> None:
    app = session_app(tmp_path / "missing.pcapng")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded, "the failure")
        assert "source error" in app.status_text()
        assert len(app.capture) == 0


async def test_page_down_on_a_large_capture(toy_capture: Callable[[int], Capture]) -> None:
    capture = toy_capture(50_000)
    app = make_app(None, capture=capture, clock=FixedClock(), config=TuiConfig.test())
    async with app.run_test(size=SIZE) as pilot:
        messages = app.query_one(MessageList)
        page = messages.scrollable_content_region.height - 1
        await pilot.press("pagedown", "pagedown", "pagedown")
        assert messages.cursor == 3 * page
        await pilot.press("end")
        assert app.selected_index == 49_999
        assert messages.scroll_y == messages.max_scroll_y


async def test_no_argument_opens_the_bundled_sample() -> None:
    app = make_app(None, clock=FixedClock(), config=TuiConfig.test())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.loaded, "the bundled sample")
        assert app.capture.error is None
        assert len(app.capture) > 0
        assert app.source_name.endswith(".pcapng")


class GatedSource:
    """Yields the first ``open_events`` events, then waits for ``gate`` (a live source)."""

    def __init__(self, path: Path, open_events: int) -> None:
        self.inner = open_source(str(path))
        self.open_events = open_events
        self.gate = threading.Event()

    def events(self) -> Iterator[Event]:
        for number, event in enumerate(self.inner.events()):
            if number == self.open_events:
                assert self.gate.wait(30), "the test never opened the gate"
            yield event

    def close(self) -> None:
        self.gate.set()
        self.inner.close()


def live_app(source: Source) -> CamsharkApp:
    """The TUI in live mode on ``source``, refreshing at every loader batch."""
    capture = Capture()
    loader = Loader(capture, lambda: source, live=True, clock=FixedClock(), interval_s=0)
    return CamsharkApp(
        capture, loader=loader, live=True, clock=FixedClock(), config=TuiConfig.test()
    )


async def test_live_messages_stream_in_while_the_ui_stays_responsive(
    session_capture: Path,
) -> None:
    source = GatedSource(session_capture, open_events=12)
    app = live_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.view) >= 3, "the first messages")
        partial = len(app.capture)
        assert not app.capture.finished
        assert "live" in app.status_text()
        await pilot.press("down")  # input is handled while the source is blocked
        assert selected_number(app) == 2
        source.gate.set()
        await until(pilot, lambda: app.loaded, "the rest")
        assert len(app.capture) > partial
        assert selected_number(app) == 2  # the user's selection survived the updates


async def test_detail_shows_a_response_that_arrives_later(session_capture: Path) -> None:
    source = GatedSource(session_capture, open_events=1)  # the first Status, not its reply
    app = live_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.view) == 1, "the request")
        tree = app.query_one(FieldTree)
        assert not any("Response in" in str(node.label) for node in tree.root.children)
        source.gate.set()
        await until(pilot, lambda: app.loaded, "the rest")
        assert selected_number(app) == 1
        transaction = [node for node in tree.root.children if str(node.label) == "Transaction"]
        assert [str(leaf.label) for leaf in transaction[0].children] == [
            "Response in #2  (press r)"
        ]


async def test_conversations_of_a_big_capture_are_counted_in_a_worker(
    toy_capture: Callable[[int], Capture],
) -> None:
    app = make_app(None, capture=toy_capture(60_000), clock=FixedClock(), config=TuiConfig.test())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConversationsScreen), "the counts")
        assert isinstance(app.screen, ConversationsScreen)
        assert [s.messages for s in app.screen.stats] == [60_000]


async def test_a_filter_keeps_applying_to_messages_that_arrive_later(
    session_capture: Path,
) -> None:
    source = GatedSource(session_capture, open_events=2)
    app = live_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.capture) >= 1, "the first message")
        assert app.apply_filter("type == Status", problems_only=False)
        source.gate.set()
        await until(pilot, lambda: app.loaded, "the rest")
        shown = [app.capture.number(app.view[i]) for i in range(len(app.view))]
        assert shown == numbers_of(app, "Status")
        assert len(shown) == 3


async def test_live_view_stops_following_when_the_user_scrolls_away(
    session_capture: Path,
) -> None:
    source = GatedSource(session_capture, open_events=9)
    app = live_app(source)
    async with app.run_test(size=(120, 22)) as pilot:
        messages = app.query_one(MessageList)
        await until(pilot, lambda: messages.max_scroll_y > 0, "more rows than fit")
        await until(pilot, lambda: messages.scroll_y == messages.max_scroll_y, "following")
        await pilot.press("home")
        assert messages.scroll_y == 0
        source.gate.set()
        await until(pilot, lambda: app.loaded, "the rest")
        assert messages.scroll_y == 0
        assert selected_number(app) == 1


async def test_transfers_view_refreshes_in_live_mode() -> None:
    link = Link(1, "tcp", "10.0.0.9:40000", "10.0.0.1:5232")
    started = Transfer("dualcam", link, "photo", 3, 9, 4096, 1024, 1024, "in progress")
    done = replace(started, last_record=20, received=4096, verified=4096, outcome="complete")
    current = [started]
    app = make_app(None, capture=Capture(), live=True, clock=FixedClock(), config=TuiConfig.test())
    async with app.run_test(size=SIZE) as pilot:
        screen = TransfersScreen([started], [], reload=lambda: (list(current), []))
        await app.push_screen(screen)
        await pilot.pause()
        table = screen.query_one(DataTable)
        assert table.get_row_at(0)[-1] == "in progress"
        current[0] = done
        screen.refresh_transfers()
        await pilot.pause()
        assert table.get_row_at(0)[-1] == "complete"
        assert table.get_row_at(0)[6] == "100%"
