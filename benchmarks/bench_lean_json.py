"""What a ``camshark/1`` JSON object of the bulk path costs: the C renderer vs the Record path.

In process, CPU time (user + system), best of ``--rounds``, on the items the bulk pipeline
hands ``read -T json/jsonl``'s sink for a SmartLPR capture (kept once, then rendered again
and again; most are LeanRecords made by the C pairing kernel):

* ``C, rendered``: the SmartLPR renderer (``lean_json``) over the items it renders, in
  batches of the sink's size, into a buffer emptied after each batch;
* ``C + Record path``: every item as ``sniffer.output.rows.JsonRows`` renders it: C while it
  can, the Record path for each item it stops at (and for Records), the output dropped
  every ``FLUSH_BYTES`` as the sink writes it;
* ``Record path``: every item through the Record it stands for (``rows.record_of``: Frame,
  ``codec.decode``, problems), ``record_to_dict`` and orjson: what is left without C.

Each form's output is checked to be the Record path's, byte for byte. Usage::

    python benchmarks/bench_lean_json.py
    python benchmarks/bench_lean_json.py --capture benchmarks/out/smartlpr-250000.pcap
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import OUT, table
from dissectors.api import Frame, Record
from dissectors.bulk import LeanRecord, LinkSide
from dissectors.smartlpr import codec, lean_json
from dissectors.smartlpr.records import Status
from sniffer.output.json import SCHEMA, dumps, record_to_dict
from sniffer.output.rows import FLUSH_BYTES, record_of
from sniffer.pipeline import Pipeline
from sniffer.sources import open_source, source_events

DEFAULT_CAPTURE = OUT / "smartlpr-100000.pcap"
SIDE_MEMBERS = ("link", "link_name", "src", "dst", "direction", "protocol")

Items = list[Record | LeanRecord]


def _cpu(function: Callable[[], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        gc.disable()
        try:
            started = time.process_time()
            function()
            best = min(best, time.process_time() - started)
        finally:
            gc.enable()
    return best


def sink_batches(capture: Path) -> tuple[list[Items], Pipeline]:
    """The items the bulk pipeline hands its sink, batch by batch."""
    batches: list[Items] = []
    pipeline = Pipeline(None, keep_objects=False, sink=lambda items: batches.append(list(items)))
    source = open_source(str(capture))
    try:
        for event in source_events(source, runs=pipeline.takes_runs):
            assert pipeline.process(event) == []  # bulk mode: everything goes to the sink
    finally:
        source.close()
    assert pipeline.finish() == []
    return batches, pipeline


def fragment(side: LinkSide, pipeline: Pipeline) -> bytes:
    """A side's ``"link":..`` to ``"protocol":..`` members, as the sink computes them."""
    frame = Frame(side.link, side.direction, 0, codec.encode(Status()), 0)
    values = record_to_dict(
        Record(1, side.protocol, frame, codec.decode(frame)), 0, pipeline.endpoints
    )
    return dumps({name: values[name] for name in SIDE_MEMBERS})[1:-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--capture", type=Path, default=DEFAULT_CAPTURE)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    renderer = lean_json.new_renderer(LeanRecord, SCHEMA)
    if renderer is None:
        print("the C renderer was not built", file=sys.stderr)
        return 1
    batches, pipeline = sink_batches(args.capture)
    items = [item for batch in batches for item in batch]
    count = len(items)
    base_ns = items[0].time_ns
    fragments = {
        item.side: fragment(item.side, pipeline) for item in items if type(item) is LeanRecord
    }

    def record_path(item: Record | LeanRecord, with_hex: bool) -> bytes:
        record = record_of(item, codec.decode) if type(item) is LeanRecord else item
        assert isinstance(record, Record)
        return dumps(record_to_dict(record, base_ns, pipeline.endpoints, with_hex=with_hex))

    def all_by_record_path(with_hex: bool) -> bytes:
        return b"".join(record_path(item, with_hex) + b"\n" for item in items)

    def with_c(with_hex: bool, keep: bool = False) -> bytes:
        """As the sink renders (dropping the output every FLUSH_BYTES unless ``keep``)."""
        out = bytearray()
        for batch in batches:
            if not keep and len(out) >= FLUSH_BYTES:
                del out[: len(out)]
            index = 0
            while index < len(batch):
                index = renderer.render(batch, index, base_ns, fragments, with_hex, b"", b"\n", out)
                if index < len(batch):
                    out += record_path(batch[index], with_hex) + b"\n"
                    index += 1
        return bytes(out)

    rendered_batches: list[Items] = []
    for batch in batches:
        kept: Items = [
            item
            for item in batch
            if renderer.render([item], 0, base_ns, fragments, False, b"", b"", bytearray())
        ]
        if kept:
            rendered_batches.append(kept)
    rendered = sum(len(batch) for batch in rendered_batches)

    def c_only(with_hex: bool) -> None:
        out = bytearray()
        for batch in rendered_batches:
            renderer.render(batch, 0, base_ns, fragments, with_hex, b"", b"\n", out)
            del out[: len(out)]

    rows = []
    for with_hex in (True, False):
        label = "with hex" if with_hex else "no hex"
        assert with_c(with_hex, keep=True) == all_by_record_path(with_hex), "C != Record path"
        c_us = _cpu(lambda with_hex=with_hex: c_only(with_hex), args.rounds) / rendered * 1e6
        mixed_us = _cpu(lambda with_hex=with_hex: with_c(with_hex), args.rounds) / count * 1e6
        slow_us = (
            _cpu(lambda with_hex=with_hex: all_by_record_path(with_hex), max(1, args.rounds // 2))
            / count
            * 1e6
        )
        rows.append([f"C, rendered ({label})", f"{c_us:.3f}", f"{slow_us / c_us:.0f}x"])
        rows.append([f"C + Record path ({label})", f"{mixed_us:.3f}", f"{slow_us / mixed_us:.0f}x"])
        rows.append([f"Record path ({label})", f"{slow_us:.2f}", ""])
    print(
        f"{args.capture.name}: {count} messages in {len(batches)} sink batches, "
        f"{rendered / count:.1%} rendered in C; CPU µs per message (best of {args.rounds})"
    )
    print("\n".join(table(["stage", "µs/msg", "vs Record path"], rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
