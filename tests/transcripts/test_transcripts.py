"""Transcript goldens: every capture in captures/ read through the real CLI path.

Each capture has a reviewed transcript (``camshark read -V``: one line per message, the detail
tree with byte spans, the problems) in ``__snapshots__/test_transcripts/``. A capture without
a transcript fails, so adding a capture forces a review; ``pytest --snapshot-update``
regenerates them, to be read before committing.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from sniffer.cli import EXIT_OK, main

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = sorted((ROOT / "captures").glob("*/*.pcap*"))


class TranscriptExtension(SingleFileSnapshotExtension):
    """One diff-able text file per capture."""

    _write_mode = WriteMode.TEXT
    _file_extension = "txt"


@pytest.fixture
def transcript_snapshot(snapshot):
    return snapshot.use_extension(TranscriptExtension)


def read_transcript(path: Path) -> str:
    buffer = io.BytesIO()
    stdout = io.TextIOWrapper(buffer, encoding="utf-8", write_through=True)
    real = sys.stdout
    sys.stdout = stdout
    try:
        status = main(["read", "-V", str(path)])
        stdout.flush()
    finally:
        sys.stdout = real
    assert status == EXIT_OK
    return buffer.getvalue().decode()


def test_every_protocol_has_captures() -> None:
    protocols = {path.parent.name for path in CAPTURES}
    assert {"smartlpr", "dualcam"} <= protocols
    for protocol in protocols:
        assert (ROOT / "captures" / protocol / "README.md").exists()


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_transcript(capture: Path, transcript_snapshot) -> None:
    assert read_transcript(capture) == transcript_snapshot
