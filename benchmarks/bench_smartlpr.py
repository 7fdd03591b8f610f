"""SmartLPR throughput and memory: camshark read/stats and the framing+decode stage vs tshark.

Generates (once, cached in ``benchmarks/out/``) SmartLPR-over-TCP captures of two sizes with
``benchmarks/smartlpr_capture.py`` (a realistic mix, several messages per TCP segment as on a
busy stream), then measures side by side, each as its own child process with peak RSS from
``wait4`` (the ``/usr/bin/time -v`` figure):

* ``camshark read -T jsonl FILE > /dev/null`` and ``camshark stats FILE``, on both sizes: the
  peak RSS must not grow with the file;
* the framing + decode stage alone, in process (chunks pre-read into memory);
* ``tshark -r FILE -T fields -e tcp.payload`` on the big file, and ``tshark -r FILE -T json``
  on a prefix slice (``editcap -r``: JSON is slow), compared by rate. Both run with
  ``-o tcp.analyze_sequence_numbers:FALSE``.

Rates are messages (or MB of capture file) per second of wall time; CPU seconds are shown too
because the machine is shared. Usage::

    python benchmarks/bench_smartlpr.py            # 1,000,000 and 250,000 messages
    python benchmarks/bench_smartlpr.py --quick    # 100,000 and 25,000
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    CAMSHARK,
    OUT,
    TSHARK_NO_SEQ,
    Run,
    have_tshark,
    run_child,
    slice_capture,
    table,
)
from benchmarks.smartlpr_capture import CaptureInfo, generate
from dissectors.smartlpr.matching import MEMORY_NS

STATS_TARGET = 250_000
"""messages/s for ``camshark stats`` on one core (issue requirement A)."""
JSON_RATIO_TARGET = 10.0
"""``read -T jsonl`` must be this many times tshark -T json's message rate."""
JSON_SLICE_PACKETS = 20_000
MATCHER_MEMORY_S = MEMORY_NS // 1_000_000_000
"""How long the SmartLPR matcher remembers answered requests (capture time)."""


def capture(messages: int) -> CaptureInfo:
    """The cached capture of ``messages`` messages (generated on first use)."""
    path = OUT / f"smartlpr-{messages}.pcap"
    info_path = path.with_suffix(".info")
    if path.exists() and info_path.exists():
        fields = info_path.read_text().split()
        return CaptureInfo(path, int(fields[0]), int(fields[1]), int(fields[2]),
                           path.stat().st_size, float(fields[3]))  # fmt: skip
    started = time.perf_counter()
    info = generate(path, messages)
    seconds = time.perf_counter() - started
    info_path.write_text(f"{info.messages} {info.packets} {info.stream_bytes} {info.duration_s}\n")
    print(
        f"generated {path.name}: {info.messages:,} messages in {info.packets:,} packets "
        f"({info.messages / info.packets:.1f} messages per TCP segment on average), "
        f"{info.file_bytes / 1e6:.1f} MB in {seconds:.1f} s"
    )
    return info


def stage_framing_decode(path: Path) -> tuple[float, int, int]:
    """(CPU seconds, messages, stream bytes) for framing + decode alone, chunks in memory."""
    from dissectors.api import Direction, Frame, Framer
    from dissectors.smartlpr import DISSECTOR
    from sniffer.sources import open_source
    from sniffer.sources.base import Chunk

    source = open_source(str(path))
    chunks = [e for e in source.events() if isinstance(e, Chunk)]
    source.close()
    new_framer, decode = DISSECTOR.new_framer, DISSECTOR.decode
    framers: dict[tuple[int, int], Framer] = {}
    count = 0
    size = 0
    gc.collect()
    started = time.process_time()
    for chunk in chunks:
        key = (chunk.info.link.id, chunk.side)
        framer = framers.get(key)
        if framer is None:
            # side A is the central system (the TCP client): bytes to the device
            framer = framers[key] = new_framer(chunk.info.link, Direction(chunk.side))
        size += len(chunk.data)
        for item in framer.feed(chunk.data, chunk.time_ns):
            if isinstance(item, Frame):
                decode(item)
            count += 1
    seconds = time.process_time() - started
    return seconds, count, size


def _row(label: str, info: CaptureInfo, run: Run, messages: int | None = None) -> list[str]:
    messages = info.messages if messages is None else messages
    mb = info.file_bytes / 1e6
    return [
        label,
        info.path.name,
        f"{messages:,}",
        f"{run.seconds:.2f}",
        f"{run.cpu_seconds:.2f}",
        f"{messages / run.seconds:,.0f}",
        f"{mb / run.seconds:.1f}",
        f"{run.max_rss_mb:.0f}",
    ]


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark, print the table, return the headline figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k and 25k messages")
    parser.add_argument("--messages", type=int, help="messages in the big capture")
    args = parser.parse_args(argv)
    big_n = args.messages or (100_000 if args.quick else 1_000_000)
    small_n = big_n // 4
    big, small = capture(big_n), capture(small_n)
    print(
        f"captures: {big.messages:,} and {small.messages:,} SmartLPR messages over 8 TCP links, "
        f"{big.messages / big.packets:.1f} messages per TCP segment on average "
        "(batched sends of a busy central system; big batches span several segments)"
    )
    rows: list[list[str]] = []
    runs: dict[str, Run] = {}
    for info in (big, small):
        for name, extra in (("read -T jsonl", ["read", "-T", "jsonl"]), ("stats", ["stats"])):
            run = run_child(name, [*CAMSHARK, *extra, str(info.path)])
            runs[f"{name} {info.messages}"] = run
            rows.append(_row(f"camshark {name}", info, run))
    cpu, frames, _size = stage_framing_decode(big.path)
    stage = Run("framing+decode", cpu, 0, 0, cpu_seconds=cpu)
    rows.append([*_row("framing+decode (in process, CPU)", big, stage, frames)[:-1], "-"])
    result: dict[str, object] = {}
    if have_tshark():
        fields_run = run_child(
            "tshark fields",
            ["tshark", *TSHARK_NO_SEQ, "-r", str(big.path), "-T", "fields", "-e", "tcp.payload"],
        )
        rows.append(_row("tshark -T fields -e tcp.payload", big, fields_run))
        sliced = slice_capture(big.path, OUT / f"smartlpr-{big_n}-first{JSON_SLICE_PACKETS}.pcap",
                               JSON_SLICE_PACKETS)  # fmt: skip
        slice_messages = _count_messages(sliced)
        slice_info = CaptureInfo(sliced, slice_messages, JSON_SLICE_PACKETS, 0,
                                 sliced.stat().st_size, 0.0)  # fmt: skip
        json_run = run_child(
            "tshark json", ["tshark", *TSHARK_NO_SEQ, "-r", str(sliced), "-T", "json"]
        )
        rows.append(
            _row(f"tshark -T json (first {JSON_SLICE_PACKETS:,} packets)", slice_info, json_run)
        )
        tshark_json_rate = slice_messages / json_run.seconds
        result["tshark_json_msgs_per_s"] = tshark_json_rate
        result["tshark_fields_msgs_per_s"] = big.messages / fields_run.seconds
    print()
    headers = ["what", "file", "messages", "wall s", "cpu s", "msg/s", "MB/s", "peak RSS MiB"]
    print("\n".join(table(headers, rows)))
    stats_run = runs[f"stats {big.messages}"]
    jsonl_run = runs[f"read -T jsonl {big.messages}"]
    stats_rate = big.messages / stats_run.seconds
    stats_cpu_rate = big.messages / stats_run.cpu_seconds
    jsonl_rate = big.messages / jsonl_run.seconds
    result.update(
        stats_msgs_per_s=stats_rate,
        stats_msgs_per_cpu_s=stats_cpu_rate,
        jsonl_msgs_per_s=jsonl_rate,
        stage_msgs_per_cpu_s=frames / cpu,
        rss_stats_mib=(runs[f"stats {small.messages}"].max_rss_mb, stats_run.max_rss_mb),
        rss_jsonl_mib=(runs[f"read -T jsonl {small.messages}"].max_rss_mb, jsonl_run.max_rss_mb),
    )
    print()
    print(
        f"stats: {stats_rate:,.0f} msg/s wall, {stats_cpu_rate:,.0f} msg/s per CPU second "
        f"(target {STATS_TARGET:,}: {'met' if stats_cpu_rate >= STATS_TARGET else 'NOT met'})"
    )
    if "tshark_json_msgs_per_s" in result:
        ratio = jsonl_rate / float(result["tshark_json_msgs_per_s"])  # type: ignore[arg-type]
        result["jsonl_vs_tshark_json"] = ratio
        print(
            f"read -T jsonl vs tshark -T json: {ratio:.2f}x by message rate "
            f"(target {JSON_RATIO_TARGET:g}x: {'met' if ratio >= JSON_RATIO_TARGET else 'NOT met'})"
            "; tshark ran on a prefix slice, rates compared"
        )
    print(
        "peak RSS, small -> big capture: stats "
        f"{runs[f'stats {small.messages}'].max_rss_mb:.0f} -> {stats_run.max_rss_mb:.0f} MiB, "
        f"read -T jsonl {runs[f'read -T jsonl {small.messages}'].max_rss_mb:.0f} -> "
        f"{jsonl_run.max_rss_mb:.0f} MiB ({big.messages / small.messages:.0f}x the messages)"
    )
    if small.duration_s < MATCHER_MEMORY_S:
        print(
            f"note: the small capture spans {small.duration_s:.0f} s of capture time; the "
            f"SmartLPR matcher remembers answered requests for {MATCHER_MEMORY_S} s, so memory "
            "reaches its plateau only on captures longer than that (the full run's are)"
        )
    print("tshark ran with -o tcp.analyze_sequence_numbers:FALSE")
    return result


def _count_messages(path: Path) -> int:
    _cpu, count, _size = stage_framing_decode(path)
    return count


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
