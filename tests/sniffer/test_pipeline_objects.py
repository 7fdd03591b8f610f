"""``keep_objects`` and ``keep_transfers``: commands that never take extracted files or
transfers do not accumulate them."""

from __future__ import annotations

from pathlib import Path

from benchmarks import smartlpr_capture
from sniffer.pipeline import Pipeline
from sniffer.sources import open_source


def _run(path: Path, *, keep_objects: bool, keep_transfers: bool = True) -> Pipeline:
    pipeline = Pipeline(keep_objects=keep_objects, keep_transfers=keep_transfers)
    source = open_source(str(path))
    for event in source.events():
        pipeline.process(event)
    pipeline.finish()
    source.close()
    return pipeline


def test_pictures_are_kept_by_default_and_dropped_when_not_wanted(tmp_path: Path) -> None:
    # one link, so that the 300 messages reach the picture every 40th cycle
    info = smartlpr_capture.generate(tmp_path / "lpr.pcap", 300, units=1)
    kept = _run(info.path, keep_objects=True).take_objects()
    pictures = len(kept)
    assert pictures >= 1
    assert all(o.content_type == "image/jpeg" and o.complete for o in kept)
    dropped = _run(info.path, keep_objects=False)
    assert dropped.take_objects() == []
    assert len(dropped.transfers()) == pictures  # transfers are still reported
    forgotten = _run(info.path, keep_objects=False, keep_transfers=False)
    assert forgotten.transfers() == []  # every picture ended before the capture's last tick
