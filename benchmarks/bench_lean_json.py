"""What one ``camshark/1`` JSON object of a SmartLPR LeanRecord costs: C renderer vs Record path.

In process, CPU time (user + system), best of ``--rounds``, on the messages of a SmartLPR
capture (read once through the Record pipeline, then turned into LeanRecords that hold their
frame's bytes, as the bulk path makes them):

* ``C render``: ``lean_json`` Renderer over all of them in one call (what it stops at is
  rendered by the Record path, as ``read -T jsonl`` does, and counted in);
* ``Record path``: for each, the Record it stands for (Frame, ``codec.decode``, problems),
  ``record_to_dict`` and orjson: the fallback, and the only path without C;
* ``record_to_dict + orjson``: the same on the Records the pipeline already made (today's
  output stage, decode excluded).

Usage::

    python benchmarks/bench_lean_json.py
    python benchmarks/bench_lean_json.py --capture benchmarks/out/smartlpr-250000.pcap
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import OUT, table
from dissectors import bulk
from dissectors.api import Frame, Problem, Record
from dissectors.bulk import LinkSide
from dissectors.smartlpr import codec, lean_json
from dissectors.smartlpr.records import Status
from sniffer.output.json import SCHEMA, dumps, record_to_dict
from sniffer.pipeline import Pipeline
from sniffer.sources import open_source, source_events

DEFAULT_CAPTURE = OUT / "smartlpr-100000.pcap"
BATCH = 1000
LEAN_SLOTS = (
    "data",
    "key",
    "latency_ns",
    "length",
    "number",
    "offset",
    "problems",
    "request_in",
    "response_in",
    "side",
    "stream_start",
    "texts",
    "time_ns",
)


class BenchLean:
    """A LeanRecord with its frame's bytes (until ``dissectors.bulk.LeanRecord`` has them)."""

    __slots__ = LEAN_SLOTS


LeanType: type = bulk.LeanRecord if set(LEAN_SLOTS) <= set(bulk.LeanRecord.__slots__) else BenchLean


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


def read_records(capture: Path) -> tuple[list[Record], Pipeline]:
    pipeline = Pipeline(None, keep_objects=False)
    source = open_source(str(capture))
    records: list[Record] = []
    try:
        for event in source_events(source, runs=False):
            records.extend(pipeline.process(event))
    finally:
        source.close()
    records.extend(pipeline.finish())
    return records, pipeline


def leans_of(records: list[Record]) -> tuple[list[object], dict[int, LinkSide]]:
    """A LeanRecord per SmartLPR frame record, its bytes in a shared run buffer."""
    sides: dict[tuple[int, int], LinkSide] = {}
    leans: list[object] = []
    for record in records:
        frame = record.item
        if not isinstance(frame, Frame):
            continue
        side = sides.setdefault(
            (frame.link.id, frame.direction),
            LinkSide(record.protocol, frame.link, frame.direction),
        )
        lean = LeanType.__new__(LeanType)
        values = {
            "data": frame.data,
            "key": None,
            "latency_ns": record.latency_ns,
            "length": len(frame.data),
            "number": record.number,
            "offset": 0,
            "problems": [(p.code, p.severity) for p in record.problems] or None,
            "request_in": record.request_in,
            "response_in": record.response_in,
            "side": side,
            "stream_start": frame.start,
            "texts": [p.text for p in record.problems] or None,
            "time_ns": frame.time_ns,
        }
        for name, value in values.items():
            setattr(lean, name, value)
        leans.append(lean)
    return leans, {id(side): side for side in sides.values()}


def record_of(lean: object) -> Record:
    """The Record a LeanRecord stands for (the Python fallback's first half)."""
    side: LinkSide = lean.side  # type: ignore[attr-defined]
    offset: int = lean.offset  # type: ignore[attr-defined]
    frame = Frame(
        side.link,
        side.direction,
        lean.stream_start + offset,  # type: ignore[attr-defined]
        lean.data[offset : offset + lean.length],  # type: ignore[attr-defined]
        lean.time_ns,  # type: ignore[attr-defined]
    )
    problems = [
        Problem(severity, code, text)
        for (code, severity), text in zip(
            lean.problems or [],  # type: ignore[attr-defined]
            lean.texts or [],  # type: ignore[attr-defined]
            strict=False,
        )
    ]
    return Record(
        lean.number,  # type: ignore[attr-defined]
        side.protocol,
        frame,
        codec.decode(frame),
        problems,
        lean.request_in,  # type: ignore[attr-defined]
        lean.response_in,  # type: ignore[attr-defined]
        lean.latency_ns,  # type: ignore[attr-defined]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--capture", type=Path, default=DEFAULT_CAPTURE)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--limit", type=int, default=0, help="first N messages only")
    args = parser.parse_args()
    records, pipeline = read_records(args.capture)
    if args.limit:
        records = records[: args.limit]
    base_ns = records[0].time_ns
    endpoints = pipeline.endpoints
    leans, sides = leans_of(records)
    fragments: dict[object, bytes] = {}
    for side in sides.values():
        frame = Frame(side.link, side.direction, 0, codec.encode(Status()), 0)
        values = record_to_dict(Record(1, side.protocol, frame, codec.decode(frame)), 0, endpoints)
        keys = ("link", "link_name", "src", "dst", "direction", "protocol")
        fragments[side] = dumps({key: values[key] for key in keys})[1:-1]
    renderer = lean_json.new_renderer(LeanType, SCHEMA)
    if renderer is None:
        print("the C renderer was not built", file=sys.stderr)
        return 1
    count = len(leans)

    def python_line(lean: object, with_hex: bool) -> bytes:
        return dumps(record_to_dict(record_of(lean), base_ns, endpoints, with_hex=with_hex))

    def c_render(with_hex: bool) -> tuple[bytes, int]:
        out = bytearray()
        index = rendered = 0
        while index < count:
            stop = renderer.render(leans, index, base_ns, fragments, with_hex, b"", b"\n", out)
            rendered += stop - index
            if stop < count:
                out += python_line(leans[stop], with_hex) + b"\n"
            index = stop + 1
        return bytes(out), rendered

    def c_only(batches: list[list[object]], with_hex: bool) -> None:
        """The messages C renders, BATCH at a time into one buffer emptied after each (as
        a sink writing to stdout would)."""
        out = bytearray()
        for batch in batches:
            renderer.render(batch, 0, base_ns, fragments, with_hex, b"", b"\n", out)
            del out[: len(out)]

    rows = []
    for with_hex in (True, False):
        output, rendered = c_render(with_hex)
        expected = b"".join(python_line(lean, with_hex) + b"\n" for lean in leans)
        assert output == expected, "C and the Record path disagree"
        common = [
            lean
            for lean in leans
            if renderer.render([lean], 0, base_ns, fragments, with_hex, b"", b"", bytearray())
        ]
        batches = [common[start : start + BATCH] for start in range(0, len(common), BATCH)]
        c_seconds = _cpu(lambda b=batches, with_hex=with_hex: c_only(b, with_hex), args.rounds)
        mixed_seconds = _cpu(lambda with_hex=with_hex: c_render(with_hex), args.rounds)
        py_seconds = _cpu(
            lambda with_hex=with_hex: [python_line(lean, with_hex) for lean in leans],
            max(1, args.rounds // 2),
        )
        dict_seconds = _cpu(
            lambda with_hex=with_hex: [
                dumps(record_to_dict(record, base_ns, endpoints, with_hex=with_hex))
                for record in records
            ],
            max(1, args.rounds // 2),
        )
        hex_label = "with hex" if with_hex else "no hex"
        c_us = c_seconds / len(common) * 1e6
        mixed_us = mixed_seconds / count * 1e6
        py_us = py_seconds / count * 1e6
        rows.append([f"C, rendered messages ({hex_label})", f"{c_us:.3f}", f"{py_us / c_us:.0f}x"])
        rows.append(
            [f"C + Record path for the {count - rendered} others", f"{mixed_us:.3f}",
             f"{py_us / mixed_us:.0f}x"]
        )  # fmt: skip
        rows.append([f"Record path ({hex_label})", f"{py_us:.2f}", ""])
        rows.append(
            [f"record_to_dict + orjson ({hex_label})", f"{dict_seconds / count * 1e6:.2f}", ""]
        )
    print(f"{args.capture.name}: {count} messages, CPU µs per message (best of {args.rounds})")
    print("\n".join(table(["stage", "µs/msg", "vs Record path"], rows)))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
