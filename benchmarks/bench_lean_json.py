"""What a ``camshark/1`` JSON object or a text line of the bulk path costs: the C renderer vs
the Record path.

In process, CPU time (user + system), best of ``--rounds``, on the items the bulk pipeline
hands ``read``'s sink for a SmartLPR capture (kept once, then rendered again and again; most
are LeanRecords made by the C pairing kernel), for each form (JSON with and without hex, text
lines):

* ``C, rendered``: the SmartLPR renderer (``lean_json``) over the items it renders, in
  batches of the sink's size, into a buffer emptied after each batch;
* ``C + Record path``: every item through the sink itself (``sniffer.output.rows``
  ``JsonRows``, ``TextRows``, writing to ``/dev/null``): C while it can, the Record path for
  each item it stops at (and for Records);
* ``Record path``: every item through the Record it stands for (``rows.record_of``: Frame,
  ``codec.decode``, problems), then ``record_to_dict`` and orjson, or ``format_line``: what
  is left without C.

The picture exchange (GetPicture, GetPictureResponse) has rows of its own, per picture: C
over the pictures alone (the LeanRecords SmartLPR's pairing kernel makes of them), and their
Record path.

Each form's output is checked to be the Record path's, byte for byte. Usage::

    python benchmarks/bench_lean_json.py
    python benchmarks/bench_lean_json.py --capture benchmarks/out/smartlpr-250000.pcap
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

if __package__ in (None, ""):  # run as a script: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import OUT, table
from dissectors.api import Frame, Record
from dissectors.bulk import LeanRecord, LinkSide
from dissectors.smartlpr import codec, lean_json
from dissectors.smartlpr.records import Status
from sniffer.output.json import SCHEMA, JsonLinesWriter, dumps, record_to_dict
from sniffer.output.rows import SIDE_MEMBERS, TEXT_MARKS, JsonRows, TextRows, record_of
from sniffer.output.text import format_line, side_part
from sniffer.pipeline import Pipeline
from sniffer.sources import open_source, source_events

DEFAULT_CAPTURE = OUT / "smartlpr-100000.pcap"
PICTURE_TYPES = ("GetPicture", "GetPictureResponse")

Items = list[Record | LeanRecord]
Form = tuple[
    Callable[[Items, int, list[bytes]], int],
    Callable[[Record | LeanRecord], bytes],
    Callable[[BinaryIO], JsonRows | TextRows],
]
"""How a form renders: C from an index on into a buffer, one item by the Record path, and
the sink that renders it for ``read`` into a stream."""


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


def is_picture(item: Record | LeanRecord) -> bool:
    """A picture request or response the pairing kernel took lean."""
    return type(item) is LeanRecord and item.key[1] in PICTURE_TYPES


def fragment(side: LinkSide, pipeline: Pipeline) -> bytes:
    """A side's ``"link":..`` to ``"protocol":..`` members, as the sink computes them."""
    frame = Frame(side.link, side.direction, 0, codec.encode(Status()), 0)
    values = record_to_dict(
        Record(1, side.protocol, frame, codec.decode(frame)), 0, pipeline.endpoints
    )
    return dumps({name: values[name] for name in SIDE_MEMBERS})[1:-1]


def text_fragment(side: LinkSide, pipeline: Pipeline) -> bytes:
    """A side's part of a text line, as the sink computes it."""
    frame = Frame(side.link, side.direction, 0, codec.encode(Status()), 0)
    record = Record(1, side.protocol, frame, codec.decode(frame))
    return side_part(record, pipeline.endpoints).encode()


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
    pictures = [item for item in items if is_picture(item)]
    picture_batches = [pictures[at : at + 512] for at in range(0, len(pictures), 512)]
    count = len(items)
    base_ns = items[0].time_ns
    fragments = {
        item.side: fragment(item.side, pipeline) for item in items if type(item) is LeanRecord
    }

    text_fragments = {
        item.side: text_fragment(item.side, pipeline) for item in items if type(item) is LeanRecord
    }

    def record_of_item(item: Record | LeanRecord) -> Record:
        record = record_of(item, codec.decode) if type(item) is LeanRecord else item
        assert isinstance(record, Record)
        return record

    def json_form(with_hex: bool) -> Form:
        def render(batch: Items, index: int, out: list[bytes]) -> int:
            return renderer.render(batch, index, base_ns, fragments, with_hex, b"", b"\n", out)

        def by_record(item: Record | LeanRecord) -> bytes:
            record = record_of_item(item)
            return dumps(record_to_dict(record, base_ns, pipeline.endpoints, with_hex=with_hex))

        def sink(stream: BinaryIO) -> JsonRows:
            return JsonRows(JsonLinesWriter(stream), with_hex=with_hex)

        return render, lambda item: by_record(item) + b"\n", sink

    def render_text(batch: Items, index: int, out: list[bytes]) -> int:
        return renderer.render_text(batch, index, base_ns, text_fragments, TEXT_MARKS, out)

    def text_by_record(item: Record | LeanRecord) -> bytes:
        return (format_line(record_of_item(item), base_ns, pipeline.endpoints) + "\n").encode()

    forms: dict[str, Form] = {
        "JSON with hex": json_form(True),
        "JSON no hex": json_form(False),
        "text": (render_text, text_by_record, TextRows),
    }

    def all_by_record_path(by_record: Callable[[Record | LeanRecord], bytes]) -> bytes:
        return b"".join(by_record(item) for item in items)

    def with_c(form: Form, stream: BinaryIO) -> None:
        """Every batch through the sink ``read`` uses, into ``stream``."""
        rows = form[2](stream)
        rows.follow(pipeline.endpoints, pipeline.stats)
        for batch in batches:
            rows.take_all(batch)
        rows.close()

    def sink_output(form: Form) -> bytes:
        stream = io.BytesIO()
        with_c(form, stream)
        return stream.getvalue()

    def c_only(form: Form, rendered_batches: list[Items]) -> None:
        render = form[0]
        for batch in rendered_batches:
            out: list[bytes] = []
            render(batch, 0, out)

    rows = []
    rendered = 0
    null = open(os.devnull, "wb")  # noqa: SIM115 - open for the whole run
    for label, form in forms.items():
        rendered_batches: list[Items] = []
        for batch in batches:
            kept: Items = [item for item in batch if form[0]([item], 0, [])]
            if kept:
                rendered_batches.append(kept)
        rendered = sum(len(batch) for batch in rendered_batches)
        assert sink_output(form) == all_by_record_path(form[1]), "C != Record path"
        c_us = (
            _cpu(lambda form=form, kept=rendered_batches: c_only(form, kept), args.rounds)
            / rendered
            * 1e6
        )
        mixed_us = _cpu(lambda form=form: with_c(form, null), args.rounds) / count * 1e6
        slow_us = (
            _cpu(lambda form=form: all_by_record_path(form[1]), max(1, args.rounds // 2))
            / count
            * 1e6
        )
        rows.append([f"C, rendered ({label})", f"{c_us:.3f}", f"{slow_us / c_us:.0f}x"])
        rows.append([f"C + Record path ({label})", f"{mixed_us:.3f}", f"{slow_us / mixed_us:.0f}x"])
        rows.append([f"Record path ({label})", f"{slow_us:.2f}", ""])
        if pictures and all(form[0](batch, 0, []) == len(batch) for batch in picture_batches):
            c_picture_us = (
                _cpu(lambda form=form: c_only(form, picture_batches), args.rounds)
                / len(pictures)
                * 1e6
            )
            slow_picture_us = (
                _cpu(
                    lambda form=form: [form[1](item) for item in pictures], max(1, args.rounds // 2)
                )
                / len(pictures)
                * 1e6
            )
            ratio = f"{slow_picture_us / c_picture_us:.0f}x"
            rows.append([f"C, pictures ({label})", f"{c_picture_us:.3f}", ratio])
            rows.append([f"Record path, pictures ({label})", f"{slow_picture_us:.2f}", ""])
    print(
        f"{args.capture.name}: {count} messages in {len(batches)} sink batches, "
        f"{rendered / count:.1%} rendered in C (text); CPU µs per message (best of {args.rounds})"
    )
    print(f"{len(pictures)} pictures as LeanRecords")
    print("\n".join(table(["stage", "µs/msg", "vs Record path"], rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
