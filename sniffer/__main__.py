"""``python -m sniffer`` runs the camshark CLI."""

from __future__ import annotations

import sys

from sniffer.cli import main

sys.exit(main())
