"""Build sniffer/samples/demo.pcapng: simulator captures of every protocol, one after another.

Each input is shifted to start one second after the previous one ended (inputs may reuse the
same addresses and ports, so they must not overlap in time). Run after regenerating the
captures: ``.venv/bin/python scripts/make_demo_capture.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from sniffer.packet_writer import CaptureWriter
from sniffer.samples import DEMO_NAME
from sniffer.sources.pcap_file import CaptureReader

ROOT = Path(__file__).resolve().parent.parent
INPUTS = (
    "captures/smartlpr/normal-session.pcapng",
    "captures/smartlpr/faults.pcapng",
    "captures/dualcam/photo-upload.pcapng",
    "captures/dualcam/crc-error-resume.pcapng",
)
START_NS = 1_764_000_000_000_000_000
PAUSE_NS = 1_000_000_000


def _packets(path: Path) -> Iterator[tuple[int, int, bytes]]:
    reader = CaptureReader(path)
    try:
        yield from reader.packets()
    finally:
        reader.close()


def main() -> int:
    """Merge the inputs into the bundled demo capture."""
    missing = [name for name in INPUTS if not (ROOT / name).exists()]
    if missing:
        sys.stderr.write(f"missing {', '.join(missing)}: generate the captures first\n")
        return 1
    out = ROOT / "sniffer" / "samples" / DEMO_NAME
    start_ns = START_NS
    with CaptureWriter(out, comment="camshark demo: SmartLPR and DualCam sessions") as writer:
        for name in INPUTS:
            first: int | None = None
            last_ns = start_ns
            for time_ns, linktype, data in _packets(ROOT / name):
                if first is None:
                    first = time_ns
                if linktype != 1:
                    sys.stderr.write(f"{name}: skipping a packet with link type {linktype}\n")
                    continue
                last_ns = start_ns + time_ns - first
                writer.write(last_ns, data)
            start_ns = last_ns + PAUSE_NS
    sys.stdout.write(f"wrote {out} ({out.stat().st_size} bytes)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
