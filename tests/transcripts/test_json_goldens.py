"""JSON goldens: ``read -T jsonl`` and ``-T json`` stay byte-for-byte what they were.

The SmartLPR captures keep their whole ``-T jsonl`` output (diff-able) in
``__snapshots__/test_json_goldens/``; every capture in captures/ keeps the SHA-256 of both
outputs (hex included) in the amber snapshot. They were generated before the JSON fast
paths, so a fast path that changes one byte of ``camshark/1`` fails here.
``pytest --snapshot-update`` regenerates them, to be justified before committing.
"""

from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from sniffer.cli import EXIT_OK, main

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = sorted((ROOT / "captures").glob("*/*.pcap*"))
SMARTLPR = [path for path in CAPTURES if path.parent.name == "smartlpr"]


class JsonlExtension(SingleFileSnapshotExtension):
    """One diff-able JSON Lines file per capture."""

    _write_mode = WriteMode.TEXT
    _file_extension = "jsonl"


@pytest.fixture
def jsonl_snapshot(snapshot):
    return snapshot.use_extension(JsonlExtension)


def read_output(path: Path, *options: str) -> bytes:
    buffer = io.BytesIO()
    stdout = io.TextIOWrapper(buffer, encoding="utf-8", write_through=True)
    real = sys.stdout
    sys.stdout = stdout
    try:
        status = main(["read", *options, str(path)])
        stdout.flush()
    finally:
        sys.stdout = real
    assert status == EXIT_OK
    return buffer.getvalue()


def capture_id(path: Path) -> str:
    return f"{path.parent.name}-{path.stem}"


@pytest.mark.parametrize("capture", SMARTLPR, ids=capture_id)
def test_smartlpr_jsonl_golden(capture: Path, jsonl_snapshot) -> None:
    assert read_output(capture, "-T", "jsonl").decode() == jsonl_snapshot


def test_every_capture_keeps_its_json_digests(snapshot) -> None:
    digests = {
        capture_id(path): {
            fmt: hashlib.sha256(read_output(path, "-T", fmt)).hexdigest()
            for fmt in ("jsonl", "json")
        }
        for path in CAPTURES
    }
    assert digests == snapshot
