"""Snapshots of the main screens at a fixed size, on the session capture, with the fixed clock.

Run ``pytest tests/tui/test_snapshots.py --snapshot-update`` after reading the report when a
dissector's summaries or fields change on purpose.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from sniffer.capture import Capture
from sniffer.clock import FixedClock
from sniffer.tui.app import CamsharkApp
from sniffer.tui.config import TuiConfig
from sniffer.tui.launch import make_app
from sniffer.tui.widgets.field_tree import FieldTree
from sniffer.tui.widgets.message_list import MessageList

SIZE = (120, 36)
pytestmark = pytest.mark.timeout(60)
SnapCompare = Callable[..., bool]


def loaded_app(path: Path) -> CamsharkApp:
    return make_app(str(path), clock=FixedClock(), config=TuiConfig.test())


def wait_loaded(app: CamsharkApp) -> Callable[[Pilot[int]], Awaitable[None]]:
    async def run_before(pilot: Pilot[int]) -> None:
        for _ in range(500):
            if app.loaded:
                break
            await pilot.pause(0.01)
        await pilot.pause()

    return run_before


class TestMainScreen:
    def test_message_list_and_detail(
        self, snap_compare: SnapCompare, session_capture: Path
    ) -> None:
        app = loaded_app(session_capture)
        assert snap_compare(app, terminal_size=SIZE, run_before=wait_loaded(app))

    def test_hex_pane_highlights_the_selected_field(
        self, snap_compare: SnapCompare, session_capture: Path
    ) -> None:
        app = loaded_app(session_capture)

        async def run_before(pilot: Pilot[int]) -> None:
            await wait_loaded(app)(pilot)
            await pilot.press("down", "down", "down", "down")  # LicenseInfo
            app.query_one(FieldTree).focus()
            await pilot.press("down", "down", "down", "down", "down", "down", "down", "down")
            await pilot.pause()

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    def test_filter_applied(self, snap_compare: SnapCompare, session_capture: Path) -> None:
        app = loaded_app(session_capture)

        async def run_before(pilot: Pilot[int]) -> None:
            await wait_loaded(app)(pilot)
            app.apply_filter("type == Status or type == StatusResponse", problems_only=False)
            await pilot.pause()

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    def test_invalid_filter_while_typing(
        self, snap_compare: SnapCompare, session_capture: Path
    ) -> None:
        app = loaded_app(session_capture)

        async def run_before(pilot: Pilot[int]) -> None:
            await wait_loaded(app)(pilot)
            await pilot.press("f", *"type ==")

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    def test_problems_only(self, snap_compare: SnapCompare, session_capture: Path) -> None:
        app = loaded_app(session_capture)

        async def run_before(pilot: Pilot[int]) -> None:
            await wait_loaded(app)(pilot)
            await pilot.press("p")
            await pilot.pause()

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    def test_row_with_an_error_shows_its_problems(
        self, snap_compare: SnapCompare, session_capture: Path
    ) -> None:
        app = loaded_app(session_capture)

        async def run_before(pilot: Pilot[int]) -> None:
            await wait_loaded(app)(pilot)
            capture = app.capture
            bad = next(
                i
                for i in range(len(capture))
                if any(p.code == "smartlpr.bad_checksum" for p in capture.problems(i))
            )
            app.query_one(MessageList).select_index(bad)
            await pilot.pause()

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

    def test_empty_capture(self, snap_compare: SnapCompare) -> None:
        app = make_app(None, capture=Capture(), clock=FixedClock(), config=TuiConfig.test())
        assert snap_compare(app, terminal_size=SIZE)

    def test_source_error(self, snap_compare: SnapCompare, tmp_path: Path) -> None:
        bad = tmp_path / "not-a-capture.pcapng"
        bad.write_bytes(b"this is not a capture file")
        app = make_app(str(bad), clock=FixedClock(), config=TuiConfig.test())
        assert snap_compare(app, terminal_size=SIZE, run_before=wait_loaded(app))


class TestSecondaryScreens:
    @pytest.mark.parametrize("key", ["c", "t", "s", "l", "question_mark"])
    def test_screen(self, snap_compare: SnapCompare, session_capture: Path, key: str) -> None:
        app = loaded_app(session_capture)

        async def run_before(pilot: Pilot[int]) -> None:
            await wait_loaded(app)(pilot)
            await pilot.press(key)
            await pilot.pause()

        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
