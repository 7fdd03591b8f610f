"""``camshark``: argument parsing and wiring. Every failure is one clear line and an exit code.

Exit codes: 0 success, 1 the input could not be fully read (bad or truncated file, source
failure: everything readable was still printed), 2 usage error (bad arguments, bad filter,
unknown protocol), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from dissectors import registry
from dissectors.api import Record
from dissectors.bulk import LeanRecord
from sniffer import __version__
from sniffer.display_filter import FilterError, compile_filter
from sniffer.gc_batch import batch_gc
from sniffer.output import text
from sniffer.output.json import (
    JsonArrayWriter,
    JsonLinesWriter,
    JsonWriter,
    dumps,
    record_to_dict,
)
from sniffer.output.rows import JsonRows, TextRows
from sniffer.pipeline import DEFAULT_SETTLE_NS, Pipeline
from sniffer.progress import ProgressBar
from sniffer.sources.base import Source, SourceError

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

SIMULATORS = ("dualcam", "smartlpr")
"""Protocols with a simulator module in ``sniffer.simulate``."""


class UsageError(Exception):
    """Bad arguments the parser could not catch (filter syntax, unknown protocol)."""


def _open(target: str, progress: Callable[[int, int], None] | None) -> Source:
    from sniffer.sources import open_source

    return open_source(target, progress=progress)


def _run_pipeline(
    args: argparse.Namespace,
    *,
    on_record: Callable[[Record, Pipeline], None],
    pipeline: Pipeline,
    progress_label: str,
) -> int:
    """Drive the pipeline over ``args.file``; returns an exit code."""
    with batch_gc():
        return _drive(args, on_record=on_record, pipeline=pipeline, progress_label=progress_label)


def _drive(
    args: argparse.Namespace,
    *,
    on_record: Callable[[Record, Pipeline], None],
    pipeline: Pipeline,
    progress_label: str,
) -> int:
    bar = ProgressBar(progress_label)
    try:
        source = _open(args.file, bar)
    except SourceError as error:
        _error(str(error))
        return EXIT_INPUT
    from sniffer.sources import source_events

    status = EXIT_OK
    try:
        for event in source_events(source, runs=pipeline.takes_runs):
            for record in pipeline.process(event):
                on_record(record, pipeline)
    except SourceError as error:
        bar.close()
        _error(str(error))
        status = EXIT_INPUT
    except KeyboardInterrupt:
        bar.close()
        _error("interrupted: printing what was captured")
        status = EXIT_INTERRUPTED
    finally:
        bar.close()
        source.close()
    for record in pipeline.finish():
        on_record(record, pipeline)
    return status


def is_live(target: str) -> bool:
    """Live sources print each message at once instead of waiting for late annotations."""
    return target.startswith(("live:", "replay:"))


def _error(message: str) -> None:
    sys.stderr.write(f"camshark: {message}\n")


def _pipeline(
    args: argparse.Namespace, sink: Callable[[list[Record | LeanRecord]], None] | None = None
) -> Pipeline:
    try:
        # only ``objects`` takes the extracted files; elsewhere they would pile up in memory.
        # ``objects`` prints no records, so it need not hold them back to settle either,
        # nor have one for every frame a matcher can take in bulk.
        objects = args.command == "objects"
        return Pipeline(
            args.protocol,
            immediate=is_live(args.file),
            settle_ns=0 if objects else DEFAULT_SETTLE_NS,
            keep_objects=objects,
            keep_transfers=args.command != "read",
            sink=sink,
            rows=not objects,
        )
    except registry.UnknownProtocolError as error:
        raise UsageError(str(error)) from None


class _Count:
    """Stops a read after ``-c N`` shown records."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.shown = 0

    def take(self) -> bool:
        if self.limit is not None and self.shown >= self.limit:
            return False
        self.shown += 1
        return True


def cmd_read(args: argparse.Namespace) -> int:
    """``camshark read FILE``: one line (or JSON object) per message."""
    base: list[int] = []
    try:
        keep = compile_filter(args.filter or "", base_time_ns=lambda: base[0] if base else None)
    except FilterError as error:
        raise UsageError(f"invalid filter: {error}") from None
    out = sys.stdout.buffer
    writer: JsonWriter | None = None
    if args.T == "json":
        writer = JsonArrayWriter(out)
    elif args.T == "jsonl":
        writer = JsonLinesWriter(out)
    count = _Count(args.count)
    # a file is written in blocks, as tshark does without -l; live sources line by line
    flush_each = is_live(args.file)
    with_hex = not args.no_hex
    selective = bool(args.problems or args.filter or args.count is not None)
    if not selective and not flush_each:
        if writer is not None:
            return _read_rows(args, JsonRows(writer, with_hex=with_hex))
        if not args.verbose and not args.hex:  # the tree and the hex dump need a Record
            return _read_rows(args, TextRows(out))
    pipeline = _pipeline(args)

    def selected(record: Record) -> bool:
        if args.problems and not record.all_problems:
            return False
        return keep(record) and count.take()

    def on_record(record: Record, pipe: Pipeline) -> None:
        if not base:
            base.append(record.time_ns)
        if selective and not selected(record):
            return
        if writer is not None:
            writer.write(record_to_dict(record, base[0], pipe.endpoints, with_hex=with_hex))
            if flush_each:
                out.flush()
            return
        lines = [text.format_line(record, base[0], pipe.endpoints)]
        if args.verbose:
            lines.extend(text.format_tree(record.dissection.fields))
            lines.extend(text.format_problems(record))
        if args.hex:
            lines.extend(text.format_hex(record))
        out.write(("\n".join(lines) + "\n").encode())
        if flush_each:
            out.flush()

    status = _run_pipeline(args, on_record=on_record, pipeline=pipeline, progress_label="reading")
    if writer is not None:
        writer.close()
    out.flush()
    return status


def _read_rows(args: argparse.Namespace, rows: JsonRows | TextRows) -> int:
    """``read`` of every message of a file, as JSON or one line each: in bulk mode, like
    ``stats``, where most messages are rendered without a Record (``sniffer.output.rows``)."""
    pipeline = _pipeline(args, sink=rows.take_all)
    rows.follow(pipeline.endpoints, pipeline.stats)
    status = _run_pipeline(
        args,
        on_record=lambda record, _pipe: rows.take_all([record]),
        pipeline=pipeline,
        progress_label="reading",
    )
    rows.close()
    sys.stdout.buffer.flush()
    return status


def cmd_stats(args: argparse.Namespace) -> int:
    """``camshark stats FILE``."""
    from sniffer.stats import Stats, render, to_json  # per command: start-up counts (README)

    stats = Stats()
    # bulk mode: well-formed messages reach ``stats`` as LeanRecords, through the sink
    pipeline = _pipeline(args, sink=None if is_live(args.file) else stats.take_all)

    def on_record(record: Record, _pipe: Pipeline) -> None:
        stats.add(record)

    status = _run_pipeline(args, on_record=on_record, pipeline=pipeline, progress_label="stats")
    stats.transfers = pipeline.transfers()
    if args.T == "json":
        sys.stdout.buffer.write(dumps(to_json(stats, args.file)) + b"\n")
    else:
        sys.stdout.write("\n".join(render(stats, args.file)) + "\n")
    return status


def cmd_objects(args: argparse.Namespace) -> int:
    """``camshark objects FILE --out DIR``: write every picture, photo and video."""
    from sniffer.objects_writer import ObjectsWriter  # per command: start-up counts (README)

    pipeline = _pipeline(args)
    try:
        writer = ObjectsWriter(Path(args.out))
    except OSError as error:
        raise UsageError(f"cannot create {args.out}: {error.strerror}") from None

    def on_record(_record: Record, pipe: Pipeline) -> None:
        for obj in pipe.take_objects():
            writer.write(obj)

    status = _run_pipeline(args, on_record=on_record, pipeline=pipeline, progress_label="objects")
    for obj in pipeline.take_objects():
        writer.write(obj)
    index = writer.close()
    complete = sum(1 for entry in writer.entries if entry["complete"])
    sys.stdout.write(
        f"{len(writer.entries)} objects ({complete} complete) in {args.out}; index {index}\n"
    )
    return status


def cmd_protocols(args: argparse.Namespace) -> int:
    """``camshark protocols [--show ID]``."""
    if args.show:
        try:
            dissector = registry.by_id(args.show)
        except registry.UnknownProtocolError as error:
            raise UsageError(str(error)) from None
        sys.stdout.write(f"{dissector.id}: {dissector.name}\n\n{dissector.doc.strip()}\n")
        return EXIT_OK
    for dissector in registry.BUILTIN:
        bindings = ", ".join(_binding_text(b) for b in dissector.bindings) or "heuristic only"
        sys.stdout.write(f"{dissector.id:<10} {dissector.name:<24} {bindings}\n")
        sys.stdout.write(f"{'':<10} {dissector.description}\n")
    return EXIT_OK


def _binding_text(binding: object) -> str:
    name = type(binding).__name__.lower()
    value = getattr(binding, "port", None) or getattr(binding, "baudrate", "")
    return f"{name}/{value}"


def cmd_tui(args: argparse.Namespace) -> int:
    """``camshark tui [FILE] [--live SOURCE]``."""
    from sniffer.tui import run_tui

    target = args.live or args.file
    return run_tui(target, live=bool(args.live), protocol=args.protocol)


def cmd_simulate(args: argparse.Namespace) -> int:
    """``camshark simulate PROTOCOL ...``: delegated to the simulator module."""
    module = importlib.import_module(f"sniffer.simulate.{args.simulator}")
    return int(module.run(args))


def _add_input(parser: argparse.ArgumentParser, *, live: bool = False) -> None:
    help_text = "pcap or pcapng file (or pcap:PATH, - for stdin)"
    if live:
        help_text += "; live:IFACE?filter=BPF or replay:FILE?speed=1 for live sources"
    parser.add_argument("file", metavar="SOURCE" if live else "FILE", help=help_text)
    parser.add_argument(
        "--protocol",
        "-P",
        metavar="ID",
        help="decode every link as this protocol (like Wireshark's Decode As)",
    )


def build_parser(*, simulator_arguments: bool = True) -> argparse.ArgumentParser:
    """The whole command line. Without ``simulator_arguments`` the simulators' own options
    are left out: they import each simulator, which no other command needs."""
    parser = argparse.ArgumentParser(
        prog="camshark",
        description="Analyzer for license-plate cameras, dashcams, serial cameras and radars. "
        "With no command, opens the TUI on a bundled sample capture.",
    )
    parser.add_argument("--version", action="version", version=f"camshark {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    read = commands.add_parser("read", help="print one line per message (like tshark -r)")
    _add_input(read, live=True)
    read.add_argument("-T", choices=("text", "json", "jsonl"), default="text", help="output format")
    read.add_argument("-Y", "--filter", metavar="EXPR", help='e.g. smartlpr.plate contains "KLM"')
    read.add_argument("--problems", action="store_true", help="only messages with problems")
    read.add_argument("-V", "--verbose", action="store_true", help="show the detail tree")
    read.add_argument("-x", "--hex", action="store_true", help="show a hex dump of each frame")
    read.add_argument("-c", "--count", type=int, metavar="N", help="stop after N messages")
    read.add_argument("--no-hex", action="store_true", help="JSON: leave out the raw bytes")
    read.set_defaults(handler=cmd_read)

    stats = commands.add_parser("stats", help="conversations, types, latency, problems")
    _add_input(stats)
    stats.add_argument("-T", choices=("text", "json"), default="text", help="output format")
    stats.set_defaults(handler=cmd_stats)

    objects = commands.add_parser("objects", help="write carried pictures, photos and videos")
    _add_input(objects)
    objects.add_argument("--out", "-o", required=True, metavar="DIR", help="output directory")
    objects.set_defaults(handler=cmd_objects)

    protocols = commands.add_parser("protocols", help="list the protocols camshark knows")
    protocols.add_argument("--show", metavar="ID", help="print one protocol's documentation")
    protocols.set_defaults(handler=cmd_protocols)

    tui = commands.add_parser("tui", help="open the terminal UI on a file or a live source")
    tui.add_argument("file", nargs="?", help="pcap or pcapng file (default: a bundled sample)")
    tui.add_argument("--live", metavar="SOURCE", help="live source, e.g. replay:FILE?speed=1")
    tui.add_argument("--protocol", "-P", metavar="ID", help="decode every link as this protocol")
    tui.set_defaults(handler=cmd_tui)

    simulate = commands.add_parser("simulate", help="simulated devices and peers")
    simulators = simulate.add_subparsers(dest="simulator", metavar="PROTOCOL", required=True)
    for name in SIMULATORS:
        sub = simulators.add_parser(name, help=f"{name} simulator")
        if simulator_arguments:
            _add_simulator_arguments(name, sub)
        sub.set_defaults(handler=cmd_simulate)
    return parser


def _add_simulator_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    try:
        module = importlib.import_module(f"sniffer.simulate.{name}")
    except ImportError:
        parser.description = f"the {name} simulator is not installed"
        return
    module.add_arguments(parser)


QUICK_EXIT_COMMANDS = frozenset({"read", "stats", "objects", "protocols"})
"""Commands that have written and closed everything when their handler returns."""


def run() -> NoReturn:
    """The ``camshark`` console script and ``python -m sniffer``: ``main``, then the exit.

    After a command of ``QUICK_EXIT_COMMANDS`` the process ends at once, standard streams
    flushed, without tearing the interpreter down: freeing a long run's objects one by one
    and a last full collection cost ~70 ms after a 1M-message capture, 2 % of a ``read``."""
    status, command = _main(None)
    if command in QUICK_EXIT_COMMANDS:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:
            _quiet_broken_pipe()
        os._exit(status)
    sys.exit(status)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command ``argv`` (default: the process's arguments); its exit status."""
    return _main(argv)[0]


def _main(argv: Sequence[str] | None) -> tuple[int, str]:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(simulator_arguments="simulate" in words)
    args = parser.parse_args(words)
    if args.command is None:
        args = parser.parse_args(["tui"])
    return _handle(args), str(args.command)


def _handle(args: argparse.Namespace) -> int:
    try:
        return int(args.handler(args))
    except UsageError as error:
        _error(str(error))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _quiet_broken_pipe()
        return EXIT_OK


def _quiet_broken_pipe() -> None:
    """``camshark read big.pcap | head``: exit quietly, as tshark does."""

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
