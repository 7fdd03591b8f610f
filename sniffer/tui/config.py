"""UI settings. The ``test`` profile switches off everything that depends on the wall clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ImageMode = Literal["auto", "halfcell", "none"]


@dataclass(frozen=True, slots=True)
class TuiConfig:
    """How the TUI behaves; ``TuiConfig.test()`` is the deterministic profile for tests."""

    refresh_interval_s: float = 0.25
    """Live refresh period: bursts of new messages are coalesced into one repaint."""
    show_clock: bool = True
    """Show the wall clock in the status bar."""
    animations: bool = True
    cursor_blink: bool = True
    image_mode: ImageMode = "auto"
    """``auto`` picks kitty/sixel when the terminal supports them, else half blocks."""
    follow_tail: bool = True
    """In live mode, keep the newest message in view unless the user scrolled away."""
    filter_budget: int = 50_000
    """Rows a filter tests per step; keeps the UI responsive on big captures."""
    detail_delay_s: float = 0.04
    """Wait this long after the cursor stops before rebuilding the detail tree and hex pane,
    so that holding page-down repaints only the list (0: update at once)."""
    export_dir: str = "."
    """Where exports go by default."""

    @classmethod
    def test(cls) -> TuiConfig:
        """No wall clock, no blinking, no animations, half-block images."""
        return cls(
            refresh_interval_s=0.05,
            show_clock=False,
            animations=False,
            cursor_blink=False,
            image_mode="halfcell",
            detail_delay_s=0.0,
        )
