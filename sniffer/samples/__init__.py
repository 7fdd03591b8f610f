"""The sample capture bundled with camshark: what ``camshark`` with no arguments opens.

``demo.pcapng`` is made by ``scripts/make_demo_capture.py`` from the simulator captures in
``captures/`` (a SmartLPR session and DualCam uploads on one timeline), and ships inside the
package so an installed wheel has it too.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DEMO_NAME = "demo.pcapng"


def default_capture() -> Path:
    """Path of the bundled demo capture."""
    return Path(str(resources.files(__name__).joinpath(DEMO_NAME)))
