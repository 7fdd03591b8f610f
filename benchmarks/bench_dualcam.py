"""DualCam file extraction throughput: ``camshark objects`` on a capture of big uploads.

Generates (cached in ``benchmarks/out/``) a capture with ``--size`` bytes of uploaded files
(photos of 0.5-1 MB and PTMF videos of 2-8 MB over several TCP connections, MSS-sized
segments, see ``benchmarks/dualcam_capture.py``), then measures, each as a child process with
peak RSS from ``wait4``:

* ``camshark objects FILE --out DIR``: MB/s of file data written (CRC-16/KERMIT chain
  verification included) and peak RSS, which must be bounded by the largest single file and
  not by the capture (shown for two sizes);
* ``tshark -r FILE -T fields -e tcp.payload > /dev/null`` on the same file
  (``-o tcp.analyze_sequence_numbers:FALSE``);
* the DualCam stages alone, in process on a 50 MB capture read into memory first: the
  pipeline from Chunk to written objects (framing, tracker, CRC chain, extraction, hashing,
  writing), CPU µs per DATA frame, with one Record per DATA frame and with the DATA runs
  ``objects`` uses (``Pipeline(rows=False)``), alternated in the same run.

Usage::

    python benchmarks/bench_dualcam.py             # 2 GB of files (and 0.5 GB for memory)
    python benchmarks/bench_dualcam.py --quick     # 200 MB (and 50 MB)
    python benchmarks/bench_dualcam.py --repeat 5  # runs on the big capture (median shown; 3)
    python benchmarks/bench_dualcam.py --size 500000000
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import CAMSHARK, OUT, TSHARK_NO_SEQ, Run, have_tshark, run_child, table
from benchmarks.dualcam_capture import CaptureInfo, generate

TARGET_MB_S = 100.0
STAGE_SIZE = 50_000_000
"""Bytes of files in the capture the in-process stage measurement reads into memory."""
STAGE_REPEATS = 3


def capture(size: int) -> CaptureInfo:
    """The cached capture with ``size`` bytes of files (generated on first use)."""
    path = OUT / f"dualcam-{size}.pcap"
    info_path = path.with_suffix(".info")
    if path.exists() and info_path.exists():
        files, file_bytes, largest, packets = (int(x) for x in info_path.read_text().split())
        return CaptureInfo(path, files, file_bytes, largest, packets, path.stat().st_size)
    started = time.perf_counter()
    info = generate(path, size)
    seconds = time.perf_counter() - started
    info_path.write_text(f"{info.files} {info.file_bytes} {info.largest_file} {info.packets}\n")
    print(
        f"generated {path.name}: {info.files} files, {info.file_bytes / 1e6:.0f} MB of file data, "
        f"{info.packets:,} packets, {info.capture_bytes / 1e6:.0f} MB in {seconds:.1f} s "
        f"({info.capture_bytes / 1e6 / seconds:.0f} MB/s)"
    )
    return info


def _objects(info: CaptureInfo) -> tuple[Run, int]:
    out_dir = OUT / f"objects-{info.file_bytes}"
    shutil.rmtree(out_dir, ignore_errors=True)
    run = run_child("objects", [*CAMSHARK, "objects", str(info.path), "--out", str(out_dir)])
    index = json.loads((out_dir / "index.json").read_text()) if run.returncode == 0 else {}
    objects = index.get("objects", [])
    complete = sum(1 for entry in objects if entry.get("complete"))
    written = sum(int(entry.get("size", 0)) for entry in objects)
    if complete != info.files or written != info.file_bytes:
        print(
            f"WARNING: {complete}/{info.files} complete objects, {written:,} of "
            f"{info.file_bytes:,} bytes"
        )
    shutil.rmtree(out_dir, ignore_errors=True)
    return run, complete


def stage_objects(path: Path) -> dict[bool, float]:
    """CPU µs per DATA frame from Chunk to written objects, in process (events in memory),
    without and with bulk mode (``rows=False``): median of ``STAGE_REPEATS`` alternated runs
    of each."""
    from sniffer.gc_batch import batch_gc
    from sniffer.objects_writer import ObjectsWriter
    from sniffer.pipeline import Pipeline
    from sniffer.sources import open_source

    source = open_source(str(path))
    events = list(source.events())
    source.close()

    def run(bulk: bool) -> tuple[float, int]:
        directory = Path(tempfile.mkdtemp(dir=OUT))
        writer = ObjectsWriter(directory)
        pipeline = Pipeline(settle_ns=0, rows=not bulk)
        data_frames = 0
        gc.collect()
        started = time.process_time()
        with batch_gc():  # as the CLI runs it
            for event in events:
                for record in pipeline.process(event):
                    data_frames += record.dissection.type == "DATA"
                    for obj in pipeline.take_objects():
                        writer.write(obj)
            for record in pipeline.finish():
                data_frames += record.dissection.type == "DATA"
            for obj in pipeline.take_objects():
                writer.write(obj)
            writer.close()
        seconds = time.process_time() - started
        shutil.rmtree(directory)
        return seconds, data_frames

    seconds: dict[bool, list[float]] = {False: [], True: []}
    frames = 0
    for _ in range(STAGE_REPEATS):
        for bulk in (False, True):
            cpu, counted = run(bulk)
            seconds[bulk].append(cpu)
            frames = max(frames, counted)  # with runs, DATA frames have no Record
    return {mode: statistics.median(runs) * 1e6 / frames for mode, runs in seconds.items()}


def _wall(run: Run) -> float:
    return run.seconds


def _row(label: str, info: CaptureInfo, run: Run) -> list[str]:
    mb = info.file_bytes / 1e6
    return [
        label,
        info.path.name,
        f"{mb:,.0f}",
        f"{run.seconds:.1f}",
        f"{run.cpu_seconds:.1f}",
        f"{mb / run.seconds:.1f}",
        f"{mb / run.cpu_seconds:.1f}" if run.cpu_seconds else "-",
        f"{run.max_rss_mb:.0f}",
    ]


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark, print the table, return the headline figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 MB of files instead of 2 GB")
    parser.add_argument("--size", type=int, help="bytes of uploaded files in the big capture")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of objects on the big capture; the median (by wall time) is reported",
    )
    args = parser.parse_args(argv)
    big_size = args.size or (200_000_000 if args.quick else 2_000_000_000)
    big, small = capture(big_size), capture(big_size // 4)
    print(
        f"captures: {big.files} and {small.files} uploads over 4 TCP connections "
        f"(largest file {big.largest_file / 1e6:.1f} MB), 1460-byte segments, server ACKs"
    )
    runs: dict[str, Run] = {}
    big_runs = sorted((_objects(big)[0] for _ in range(max(1, args.repeat))), key=_wall)
    runs[f"objects {big.file_bytes}"] = big_runs[len(big_runs) // 2]
    runs[f"objects {small.file_bytes}"] = _objects(small)[0]
    rows = [
        _row("camshark objects", info, runs[f"objects {info.file_bytes}"]) for info in (big, small)
    ]
    if have_tshark():
        tshark = run_child(
            "tshark fields",
            ["tshark", *TSHARK_NO_SEQ, "-r", str(big.path), "-T", "fields", "-e", "tcp.payload"],
        )
        rows.append(_row("tshark -T fields -e tcp.payload", big, tshark))
        runs["tshark"] = tshark
    stage = stage_objects(capture(STAGE_SIZE).path)
    print()
    headers = ["what", "file", "file MB", "wall s", "cpu s", "MB/s", "MB/cpu s", "peak RSS MiB"]
    print("\n".join(table(headers, rows)))
    print()
    print(
        f"DualCam stages in process (Chunk -> written objects, {STAGE_SIZE / 1e6:.0f} MB capture, "
        f"median of {STAGE_REPEATS}): one Record per DATA frame {stage[False]:.1f} µs, "
        f"DATA runs (objects) {stage[True]:.1f} µs per DATA frame (CPU)"
    )
    main_run = runs[f"objects {big.file_bytes}"]
    small_run = runs[f"objects {small.file_bytes}"]
    rate = big.file_bytes / 1e6 / main_run.seconds
    cpu_rate = big.file_bytes / 1e6 / main_run.cpu_seconds
    print()
    print(
        f"objects on {big.file_bytes / 1e6:.0f} MB, {len(big_runs)} runs (wall / CPU s): "
        + ", ".join(f"{run.seconds:.1f} / {run.cpu_seconds:.1f}" for run in big_runs)
        + " (the median is in the table)"
    )
    print(
        f"objects: {rate:.1f} MB/s of file data wall, {cpu_rate:.1f} MB/s per CPU second "
        f"(target {TARGET_MB_S:g}: {'met' if cpu_rate >= TARGET_MB_S else 'NOT met'})"
    )
    print(
        f"peak RSS: {small_run.max_rss_mb:.0f} MiB for {small.file_bytes / 1e6:.0f} MB of files, "
        f"{main_run.max_rss_mb:.0f} MiB for {big.file_bytes / 1e6:.0f} MB "
        f"(largest single file {big.largest_file / 1e6:.1f} MB)"
    )
    print("tshark ran with -o tcp.analyze_sequence_numbers:FALSE")
    result: dict[str, object] = {
        "objects_mb_per_s": rate,
        "objects_mb_per_cpu_s": cpu_rate,
        "rss_mib": (small_run.max_rss_mb, main_run.max_rss_mb),
        "largest_file_mb": big.largest_file / 1e6,
        "file_mb": big.file_bytes / 1e6,
        "stage_us_per_data_frame": {"records": stage[False], "runs": stage[True]},
    }
    if "tshark" in runs:
        result["tshark_fields_mb_per_s"] = big.file_bytes / 1e6 / runs["tshark"].seconds
    return result


if __name__ == "__main__":
    main()
