"""Run every camshark benchmark and print one summary table (``make bench``).

    python benchmarks/run_all.py            # full: 1M SmartLPR messages, 2 GB of DualCam files
    python benchmarks/run_all.py --quick    # small: 100k messages, 200 MB of files

Captures are generated into ``benchmarks/out/`` (git-ignored) on first use and reused.
Benchmarks never run in the test suite.
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import bench_dualcam, bench_smartlpr
from benchmarks.common import table


def _f(value: object, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


RATIOS = (
    ("  ratio, tshark + smartlpr.lua (like for like)", "jsonl_vs_tshark_json_lua"),
    ("  one msg/segment: ratio to tshark -T json", "jsonl_vs_tshark_json_one_per_segment"),
    ("  one msg/segment: ratio, tshark + smartlpr.lua", "jsonl_vs_tshark_json_lua_one_per_segment"),
)
"""The other jsonl comparisons ``bench_smartlpr`` makes, every one printed (none is the
flattering pick)."""


def _ratio_rows(result: dict[str, object]) -> list[list[str]]:
    return [
        [label, _f(result.get(key), ".2f") + "x", "", ""] for label, key in RATIOS if key in result
    ]


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks; print the summary."""
    parser = argparse.ArgumentParser(description="camshark benchmarks")
    parser.add_argument("--quick", action="store_true", help="small captures (about a minute)")
    args = parser.parse_args(argv)
    quick = ["--quick"] if args.quick else []
    print(f"== SmartLPR ({'quick' if args.quick else 'full'}) ==")
    lpr = bench_smartlpr.main(quick)
    print(f"\n== DualCam ({'quick' if args.quick else 'full'}) ==")
    cam = bench_dualcam.main(quick)
    rss_stats = lpr["rss_stats_mib"]
    rss_jsonl = lpr["rss_jsonl_mib"]
    rss_objects = cam["rss_mib"]
    assert isinstance(rss_stats, tuple)
    assert isinstance(rss_jsonl, tuple)
    assert isinstance(rss_objects, tuple)
    rows = [
        [
            "SmartLPR stats (msg/s per CPU s)",
            _f(lpr["stats_msgs_per_cpu_s"], ",.0f"),
            f">= {bench_smartlpr.STATS_TARGET:,}",
            f"{rss_stats[0]:.0f} -> {rss_stats[1]:.0f} MiB",
        ],
        [
            "SmartLPR read -T jsonl (msg/s)",
            _f(lpr["jsonl_msgs_per_s"], ",.0f"),
            f">= {bench_smartlpr.JSON_RATIO_TARGET:g}x tshark -T json",
            f"{rss_jsonl[0]:.0f} -> {rss_jsonl[1]:.0f} MiB",
        ],
        [
            "  ratio to tshark -T json",
            _f(lpr.get("jsonl_vs_tshark_json"), ".2f") + "x",
            f"{bench_smartlpr.JSON_RATIO_TARGET:g}x",
            "",
        ],
        [
            "  tshark -T json (msg/s)",
            _f(lpr.get("tshark_json_msgs_per_s"), ",.0f"),
            "",
            "",
        ],
        *_ratio_rows(lpr),
        [
            "SmartLPR framing+decode (msg/CPU s)",
            _f(lpr["stage_msgs_per_cpu_s"], ",.0f"),
            "",
            "",
        ],
        [
            "DualCam objects (MB/s per CPU s)",
            _f(cam["objects_mb_per_cpu_s"], ".1f"),
            f">= {bench_dualcam.TARGET_MB_S:g}",
            f"{rss_objects[0]:.0f} -> {rss_objects[1]:.0f} MiB",
        ],
        [
            "  tshark -T fields tcp.payload (MB/s)",
            _f(cam.get("tshark_fields_mb_per_s"), ".1f"),
            "",
            "",
        ],
    ]
    print(f"\n== Summary ({platform.python_implementation()} {platform.python_version()}) ==")
    print("\n".join(table(["benchmark", "result", "target", "peak RSS small -> big"], rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
