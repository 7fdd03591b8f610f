"""End to end: the real ``camshark`` script in tmux, driven by keys, read with capture-pane."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CAMSHARK = Path(sys.executable).with_name("camshark")
pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
]


class Tmux:
    """One private tmux server (own socket) running one command."""

    def __init__(self, name: str) -> None:
        self.socket = f"camshark-test-{os.getpid()}-{name}"
        self.name = name

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )

    def start(self, command: list[str], width: int = 120, height: int = 36) -> None:
        # COLUMNS/LINES: under pytest the app's size ioctl can fail and fall back to 80x24
        env_prefix = ["env", "TERM=xterm-256color", f"PYTHONPATH={ROOT}"]
        env_prefix += [f"COLUMNS={width}", f"LINES={height}"]
        result = self.run(
            "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height),
            "--", *env_prefix, *command,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        self.run("set-option", "-t", self.name, "remain-on-exit", "on")

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.name).stdout

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.name, *keys)

    def pane_dead(self) -> bool:
        out = self.run("display-message", "-p", "-t", self.name, "#{pane_dead}").stdout
        return out.strip() == "1"

    def wait_for(self, condition: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
        waiter = threading.Event()
        for _ in range(int(timeout_s / 0.05)):
            if condition():
                return
            waiter.wait(0.05)
        size = self.run("display-message", "-p", "-t", self.name, "#{pane_width}x#{pane_height}")
        raise AssertionError(
            f"timed out waiting for {what} ({size.stdout.strip()}):\n{self.screen()}"
        )

    def kill(self) -> None:
        self.run("kill-server")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    session = Tmux("e2e")
    yield session
    session.kill()


def test_camshark_tui_in_a_real_terminal(tmux: Tmux, session_capture: Path) -> None:
    command = [str(CAMSHARK), "tui", str(session_capture)]
    if not CAMSHARK.exists():
        command = [sys.executable, "-m", "sniffer", "tui", str(session_capture)]
    tmux.start(command)
    loaded = (
        "14 messages",
        "LicenseInfo",
        "#1 smartlpr Status",  # the detail tree of the first message
    )
    tmux.wait_for(lambda: all(text in tmux.screen() for text in loaded), "the capture to load")

    tmux.keys("Down", "Down", "r")  # Trigger 7, then jump to its ACK
    tmux.wait_for(lambda: "#4 smartlpr ACK" in tmux.screen(), "the jump to the response")

    tmux.keys("p")
    tmux.wait_for(lambda: "problems only" in tmux.screen(), "problems only")

    tmux.keys("c")
    tmux.wait_for(lambda: "Conversations (2 links)" in tmux.screen(), "conversations")
    tmux.keys("Escape")
    tmux.wait_for(lambda: "Conversations (2 links)" not in tmux.screen(), "the main screen")

    tmux.keys("q")
    tmux.wait_for(tmux.pane_dead, "camshark to exit")
