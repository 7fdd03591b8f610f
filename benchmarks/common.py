"""Shared benchmark helpers: timing a child process with its peak RSS, tables, tshark.

Peak memory is the child's ``ru_maxrss`` from ``os.wait4`` (what ``/usr/bin/time -v`` reports
as "Maximum resident set size"), so every figure is one process measured the same way.
"""

from __future__ import annotations

import compileall
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
PYTHON = sys.executable
CAMSHARK = [PYTHON, "-m", "sniffer"]
TSHARK_NO_SEQ = ("-o", "tcp.analyze_sequence_numbers:FALSE")
"""tshark's TCP sequence analysis is very slow on long streams; we turn it off (and say so)."""

for _package in ("sniffer", "dissectors"):
    # as an installed copy has them: without current .pyc files (PYTHONDONTWRITEBYTECODE, a
    # fresh checkout) every measured child would compile the changed modules again
    compileall.compile_dir(ROOT / _package, quiet=1)


@dataclass(slots=True)
class Run:
    """One measured child process."""

    label: str
    seconds: float
    max_rss_kib: int
    returncode: int
    stderr: str = ""
    cpu_seconds: float = 0.0
    """User + system CPU time of the child."""

    @property
    def max_rss_mb(self) -> float:
        """Peak RSS in MiB."""
        return self.max_rss_kib / 1024


def run_child(label: str, argv: Sequence[str], *, stdout_path: Path | None = None) -> Run:
    """Run ``argv`` with stdout to ``/dev/null`` (or a file); wall time and peak RSS.

    Dirty pages left by earlier runs are written back first (``os.sync``, not timed): on this
    VM a run that starts while gigabytes of an earlier run's output are being flushed pays up
    to twice the system time for its own writes.
    """
    os.sync()
    stdout = open(stdout_path, "wb") if stdout_path else open(os.devnull, "wb")  # noqa: SIM115
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), stdout=stdout, stderr=subprocess.PIPE, cwd=ROOT, env=env
        )
        assert proc.stderr is not None
        err = proc.stderr.read()
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        stdout.close()
    run = Run(
        label,
        seconds,
        int(usage.ru_maxrss),
        proc.returncode,
        err.decode(errors="replace"),
        usage.ru_utime + usage.ru_stime,
    )
    if run.returncode != 0:
        sys.stderr.write(f"[{label}] exit {run.returncode}: {run.stderr[-2000:]}\n")
    return run


def best_of(times: int, label: str, argv: Sequence[str]) -> Run:
    """``run_child`` ``times`` times: the fastest run by wall time, with the highest peak RSS
    of them all. On this shared VM one run can be a third slower than the next for no reason
    of its own, tshark's as much as ours; the fastest of a few is the figure that repeats."""
    runs = [run_child(label, argv) for _ in range(times)]
    best = min(runs, key=lambda run: run.seconds)
    best.max_rss_kib = max(run.max_rss_kib for run in runs)
    return best


def have_tshark() -> bool:
    """Whether tshark is on PATH."""
    return shutil.which("tshark") is not None


def slice_capture(source: Path, target: Path, packets: int) -> Path:
    """The first ``packets`` packets of ``source`` (``editcap -r``), for slow comparisons."""
    subprocess.run(
        ["editcap", "-r", str(source), str(target), f"1-{packets}"],
        check=True,
        capture_output=True,
    )
    return target


def table(headers: list[str], rows: list[list[str]]) -> Iterator[str]:
    """A plain left-aligned text table."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    yield "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    yield "  ".join("-" * w for w in widths)
    for row in rows:
        yield "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))


def timed(function: Callable[[], int]) -> tuple[float, int]:
    """(seconds, result) of one in-process call."""
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def human_rate(value: float) -> str:
    """``1,234,567``-style integer."""
    return f"{value:,.0f}"
