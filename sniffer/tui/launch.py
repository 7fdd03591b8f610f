"""Building the TUI for the CLI and the tests: a file, a live source, or the bundled sample."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sniffer.capture import Capture
from sniffer.clock import Clock, SystemClock
from sniffer.sources.base import Source
from sniffer.tui.app import CamsharkApp
from sniffer.tui.config import TuiConfig
from sniffer.tui.loader import Loader, default_capture, open_target


def make_app(
    target: str | None,
    *,
    live: bool = False,
    protocol: str | None = None,
    clock: Clock | None = None,
    config: TuiConfig | None = None,
    capture: Capture | None = None,
) -> CamsharkApp:
    """Build the TUI for a file, a live source, or the bundled sample.

    Args:
        target: a pcap/pcapng path or a source URL (``replay:FILE?speed=1.0``); None opens the
            bundled sample capture (or shows ``capture`` when one is given).
        live: treat ``target`` as a live source (immediate records, follow the tail).
        protocol: decode every link as this protocol.
        clock: wall-clock source (tests pass ``FixedClock``).
        config: UI settings (tests pass ``TuiConfig.test()``).
        capture: an already filled capture to show instead of loading ``target``.

    Returns:
        The app, not yet running.
    """
    config = config or TuiConfig()
    clock = clock or SystemClock()
    if capture is not None and target is None:
        return CamsharkApp(capture, live=live, clock=clock, config=config)
    capture = capture or Capture()
    if target is None:
        sample = default_capture()
        if sample is None:
            capture.error = "no bundled sample capture found"
            return CamsharkApp(capture, clock=clock, config=config)
        target = str(sample)
    if target.startswith("replay:"):
        live = True
    opener: Callable[[], Source] = partial(_open, target, clock, capture)
    loader = Loader(
        capture,
        opener,
        protocol=protocol,
        live=live,
        clock=clock,
        interval_s=config.refresh_interval_s,
    )
    return CamsharkApp(
        capture, loader=loader, live=live, clock=clock, config=config, source_name=target
    )


def _open(target: str, clock: Clock, capture: Capture) -> Source:
    def progress(done: int, total: int) -> None:
        capture.progress = done / total if total else None

    return open_target(target, clock=clock, progress=progress)
