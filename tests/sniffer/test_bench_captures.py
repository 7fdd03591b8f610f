"""The benchmark captures are what they claim: clean SmartLPR and DualCam traffic.

Benchmarks never run in the test suite; these check, on tiny sizes, that the generators in
``benchmarks/`` produce captures camshark reads without junk or malformed frames, so the
figures the benchmarks print measure real dissection work.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from benchmarks import dualcam_capture, smartlpr_capture
from dissectors.api import Kind, Record
from sniffer.pipeline import Pipeline
from sniffer.sources import open_source


def _records(path: Path) -> tuple[list[Record], Pipeline]:
    pipeline = Pipeline()
    source = open_source(str(path))
    records = [r for event in source.events() for r in pipeline.process(event)]
    records.extend(pipeline.finish())
    source.close()
    return records, pipeline


@pytest.mark.parametrize("one_per_segment", [False, True], ids=["batched", "one-per-segment"])
def test_smartlpr_bench_capture_decodes_cleanly(tmp_path: Path, one_per_segment: bool) -> None:
    info = smartlpr_capture.generate(tmp_path / "lpr.pcap", 500, one_per_segment=one_per_segment)
    records, pipeline = _records(info.path)
    assert len(records) == info.messages
    assert set(pipeline.link_protocols.values()) == {"smartlpr"}
    kinds = Counter(r.dissection.kind for r in records)
    assert kinds[Kind.JUNK] == 0
    assert kinds[Kind.MALFORMED] == 0
    types = Counter(r.dissection.type for r in records)
    assert set(types) >= {"Status", "StatusResponse", "Trigger", "ACK", "LicenseInfo"}
    if one_per_segment:  # one per segment; the rest are the handshakes and closes
        assert 0.8 < info.messages / info.packets < 1
    else:  # several messages per TCP segment, as the benchmark output says
        assert info.messages / info.packets > 2
    codes = {p.code for r in records for p in r.all_problems}
    assert codes <= {"smartlpr.nak", "smartlpr.nak_context", "smartlpr.trigger_latency"}
    requests = [r for r in records if r.dissection.kind is Kind.REQUEST]
    assert all(r.response_in is not None for r in requests)


def test_dualcam_bench_capture_extracts_every_file(tmp_path: Path) -> None:
    info = dualcam_capture.generate(tmp_path / "cam.pcap", 1_000_000, connections=2)
    records, pipeline = _records(info.path)
    objects = pipeline.take_objects()
    assert set(pipeline.link_protocols.values()) == {"dualcam"}
    assert not [r for r in records if r.dissection.kind in (Kind.JUNK, Kind.MALFORMED)]
    assert len(objects) == info.files
    assert all(o.complete for o in objects)
    assert sum(len(o.data) for o in objects) == info.file_bytes
    errors = [p for r in records for p in r.all_problems if p.severity.value == "error"]
    assert errors == []
