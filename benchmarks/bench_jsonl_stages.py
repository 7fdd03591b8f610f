"""Where ``camshark read -T jsonl`` spends its time, per message, beside a baseline revision.

In process, CPU time (user + system of this process), on a SmartLPR benchmark capture:

* ``pipeline``: pcap -> Records (reassembly, framing, decode, matcher, settling), no output;
* ``decode``: a fresh Dissection per frame (the lazy detail not built);
* ``JSON fields``: the ``fields`` object of each fresh (never looked at) Dissection, as
  ``record_to_dict`` gets it (the Field tree nested by ``fields_to_json``, or the
  dissector's ``json_fields``);
* ``record_to_dict``: the whole ``camshark/1`` dict (fields included), fresh Dissections;
* ``JsonLinesWriter.write``: orjson and the newline into a buffered ``/dev/null``;
* ``read -T jsonl``: the whole command (``sniffer.cli.main``) with stdout on ``/dev/null``.

With ``--baseline REV`` the same stages also run on ``git archive REV`` (a temporary copy),
alternating with the working tree, and each column is the best of ``--rounds`` runs, so the
two columns share the machine's state. Usage::

    python benchmarks/bench_jsonl_stages.py --baseline main
    python benchmarks/bench_jsonl_stages.py --capture benchmarks/out/smartlpr-250000.pcap
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo (or CAMSHARK_TREE) importable
    sys.path.insert(0, os.environ.get("CAMSHARK_TREE") or str(Path(__file__).resolve().parents[1]))

from benchmarks.common import OUT, PYTHON, ROOT, table

TREE_VARIABLE = "CAMSHARK_TREE"
"""The source tree a ``--measure`` child imports camshark from (default: this checkout)."""
DEFAULT_CAPTURE = OUT / "smartlpr-100000.pcap"
STAGES = (
    "pipeline",
    "decode",
    "JSON fields",
    "record_to_dict",
    "JsonLinesWriter.write",
    "read -T jsonl",
)


def _cpu(function: Callable[[], object]) -> float:
    gc.collect()
    gc.disable()
    try:
        started = time.process_time()
        function()
        return time.process_time() - started
    finally:
        gc.enable()


@contextmanager
def _stdout_to_devnull() -> Iterator[None]:
    real = sys.stdout
    sys.stdout = io.TextIOWrapper(open(os.devnull, "wb"))  # noqa: SIM115 - closed below
    try:
        yield
    finally:
        sys.stdout.close()
        sys.stdout = real


def measure(capture: Path) -> dict[str, float]:
    """CPU µs per message of every stage, with whatever ``sniffer``/``dissectors`` import."""
    from dissectors.api import Frame
    from dissectors.smartlpr import DISSECTOR
    from sniffer.cli import main
    from sniffer.output.json import JsonLinesWriter, fields_to_json, record_to_dict
    from sniffer.pipeline import Pipeline, iter_records
    from sniffer.sources import open_source

    pipeline = Pipeline()
    records = list(iter_records(open_source(str(capture)), pipeline))
    count = len(records)
    frames = [(r, r.item) for r in records if isinstance(r.item, Frame)]
    decode = DISSECTOR.decode

    def fresh() -> None:
        for record, frame in frames:
            record.dissection = decode(frame)

    def json_fields() -> None:
        for record, _frame in frames:
            dissection = record.dissection
            build = getattr(dissection, "json_fields", None)
            build() if build is not None else fields_to_json(dissection.fields)

    base = records[0].time_ns
    endpoints = pipeline.endpoints

    def to_dicts() -> None:
        for record in records:
            record_to_dict(record, base, endpoints)

    fresh()
    dicts = [record_to_dict(r, base, endpoints) for r in records]
    with open(os.devnull, "wb") as devnull:
        writer = JsonLinesWriter(devnull)

        def write() -> None:
            for item in dicts:
                writer.write(item)

        write_s = _cpu(write)

    def pipeline_only() -> None:
        for _record in iter_records(open_source(str(capture)), Pipeline()):
            pass

    def whole() -> None:
        with _stdout_to_devnull():
            main(["read", "-T", "jsonl", str(capture)])

    decode_s = _cpu(fresh)
    fields_s = _cpu(json_fields)
    fresh()
    dict_s = _cpu(to_dicts)
    seconds = {
        "pipeline": _cpu(pipeline_only),
        "decode": decode_s,
        "JSON fields": fields_s,
        "record_to_dict": dict_s,
        "JsonLinesWriter.write": write_s,
        "read -T jsonl": _cpu(whole),
    }
    return {stage: value / count * 1e6 for stage, value in seconds.items()}


def _child(tree: Path, capture: Path) -> dict[str, float]:
    env = dict(os.environ, PYTHONHASHSEED="0", **{TREE_VARIABLE: str(tree)})
    script = str(Path(__file__).resolve())
    result = subprocess.run(
        [PYTHON, script, "--measure", str(capture)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    values: dict[str, float] = json.loads(result.stdout)
    return values


def _export(revision: str, target: Path) -> None:
    archive = subprocess.run(
        ["git", "archive", revision], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)


def main(argv: list[str] | None = None) -> None:
    """Measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--capture", type=Path, default=DEFAULT_CAPTURE)
    parser.add_argument("--baseline", metavar="REV", help="git revision for the baseline column")
    parser.add_argument("--rounds", type=int, default=3, help="runs per tree (best is kept)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    if not args.capture.exists():
        sys.exit(f"{args.capture} not found: run benchmarks/bench_smartlpr.py --quick first")
    with tempfile.TemporaryDirectory(prefix="camshark-baseline-") as temp:
        trees = {"now": ROOT}
        if args.baseline:
            _export(args.baseline, Path(temp))
            trees = {args.baseline: Path(temp), "now": ROOT}
        best: dict[str, dict[str, float]] = {name: {} for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                for stage, value in _child(tree, args.capture.resolve()).items():
                    best[name][stage] = min(value, best[name].get(stage, value))
    print(f"{args.capture.name}: CPU µs per message, best of {args.rounds} runs per column")
    headers = ["stage", *(f"{name} µs" for name in trees)]
    rows = [[stage, *(f"{best[name][stage]:.2f}" for name in trees)] for stage in STAGES]
    for name in trees:
        rate = 1e6 / best[name]["read -T jsonl"]
        json_part = best[name]["read -T jsonl"] - best[name]["pipeline"]
        print(f"{name}: read -T jsonl {rate:,.0f} msg per CPU s; output part {json_part:.1f} µs")
    print("\n".join(table(headers, rows)))


if __name__ == "__main__":
    main()
