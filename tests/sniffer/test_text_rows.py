"""Plain ``read`` in bulk mode (``sniffer.output.rows.TextRows``) equals the Record path.

The reference: every frame decoded into a ``Record`` and written by ``format_line`` as it
settles (what ``read`` does with ``-c``, ``-Y``, ``-V`` or ``-x``). The bulk path:
``Pipeline(sink=TextRows.take_all)``, where well-formed SmartLPR frames become LeanRecords,
rendered by the dissector's C renderer when built, else through the Records they stand for.
The output must be the same bytes: on every bundled capture and on random SmartLPR sessions,
with the C kernels and the Python ones, with and without the C renderer.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, given, settings

from dissectors.api import Record
from dissectors.bulk import LeanRecord
from dissectors.smartlpr import lean_json
from sniffer import cli
from sniffer.output.rows import TextRows
from sniffer.output.text import format_line
from sniffer.sources.base import ChunkRuns, Event
from tests.sniffer.test_json_rows import run_bulk, run_reference
from tests.sniffer.test_stats_bulk import (
    _events,
    _python_kernels,
    _session_events,
    in_runs,
    scan_kernel,  # noqa: F401 - a fixture
    session,
)

CAPTURES = sorted(Path(__file__).resolve().parents[2].glob("captures/**/*.pcapng"))
FAULTS = Path(__file__).resolve().parents[2] / "captures/smartlpr/faults.pcapng"


def reference_text(events: Iterable[Event | ChunkRuns], protocol: str | None) -> bytes:
    out = io.BytesIO()
    run_reference(
        events,
        protocol,
        lambda record, base_ns, ends: out.write(
            (format_line(record, base_ns, ends) + "\n").encode()
        ),
    )
    return out.getvalue()


def bulk_text(events: Iterable[Event | ChunkRuns], protocol: str | None) -> tuple[bytes, int]:
    """The bulk path's output, and how many LeanRecords it rendered."""
    out = io.BytesIO()
    lean = run_bulk(events, TextRows(out), protocol)
    return out.getvalue(), lean


@pytest.fixture(params=["c", "python"])
def renderer_built(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """With the C renderer (when built) and without it (every item through its Record)."""
    if request.param == "c" and not lean_json.HAVE_C:
        pytest.skip("the C renderer was not built")
    if request.param == "python":
        monkeypatch.setattr(lean_json, "_kernel", None)
    return str(request.param)


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.usefixtures("scan_kernel", "renderer_built")
def test_bulk_text_equals_the_record_path_on_every_capture(path: Path) -> None:
    events = _events(path)
    reference = reference_text(events, protocol=None)
    assert bulk_text(events, protocol=None)[0] == reference
    assert bulk_text(_events(path, runs=True), protocol=None)[0] == reference


def test_the_normal_session_is_mostly_lean_records() -> None:
    events = _events(
        Path(__file__).resolve().parents[2] / "captures/smartlpr/normal-session.pcapng"
    )
    output, lean = bulk_text(events, protocol=None)
    assert output.count(b"\n") == 22
    assert lean == 18


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(session)
def test_bulk_text_equals_the_record_path_on_random_sessions(data: tuple[object, ...]) -> None:
    events = _session_events(data)
    reference = reference_text(events, protocol="smartlpr")
    assert bulk_text(events, protocol="smartlpr")[0] == reference
    assert bulk_text(in_runs(events), protocol="smartlpr")[0] == reference
    with pytest.MonkeyPatch.context() as patch:
        _python_kernels(patch)
        assert bulk_text(events, protocol="smartlpr")[0] == reference
        patch.setattr(lean_json, "_kernel", None)
        assert bulk_text(events, protocol="smartlpr")[0] == reference


class CountedRows(TextRows):
    taken: ClassVar[list[int]] = []

    def take_all(self, items: list[Record | LeanRecord]) -> None:
        self.taken.append(len(items))
        super().take_all(items)


def test_read_writes_every_line_through_the_bulk_path(
    capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain ``camshark read FILE`` takes the bulk path; ``-c`` (selective) does not: the same
    bytes either way."""
    monkeypatch.setattr(cli, "TextRows", CountedRows)
    monkeypatch.setattr(CountedRows, "taken", [])
    outputs = []
    for extra in ([], ["-c", "1000"]):
        assert cli.main(["read", *extra, str(FAULTS)]) == 0
        outputs.append(capsysbinary.readouterr().out)
    assert sum(CountedRows.taken) == 32  # the first run only
    assert outputs[0] == outputs[1] == reference_text(_events(FAULTS), protocol=None)
    assert outputs[0].count(b"\n") == 32


@pytest.mark.parametrize("flag", ["-V", "-x", "--problems"])
def test_the_tree_the_hex_dump_and_a_selection_keep_the_record_path(
    flag: str, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "TextRows", CountedRows)
    monkeypatch.setattr(CountedRows, "taken", [])
    assert cli.main(["read", flag, str(FAULTS)]) == 0
    lines = capsysbinary.readouterr().out.split(b"\n")
    assert CountedRows.taken == []
    first_lines = set(reference_text(_events(FAULTS), protocol=None).split(b"\n"))
    assert lines[0] in first_lines
