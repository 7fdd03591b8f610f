"""The Textual TUI. ``run_tui`` is what the CLI calls; ``make_app`` is in ``sniffer.tui.launch``."""

from __future__ import annotations


def run_tui(target: str | None, *, live: bool, protocol: str | None) -> int:
    """Run the TUI until the user quits; returns the exit code.

    Args:
        target: a capture file or a live source URL; None opens the bundled sample.
        live: ``target`` is a live source (``--live``).
        protocol: decode every link as this protocol.
    """
    from sniffer.tui.launch import make_app

    app = make_app(target, live=live, protocol=protocol)
    result = app.run()
    return int(result or 0)
