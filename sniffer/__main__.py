"""``python -m sniffer`` runs the camshark CLI."""

from __future__ import annotations

from sniffer.cli import run

run()
