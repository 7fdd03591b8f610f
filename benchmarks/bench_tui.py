"""TUI benchmark: time to first screen, time per page-down, memory, on a 1,000,000-message capture.

Records are synthesised directly into ``Capture`` from real SmartLPR frames (encoded with the
smartlpr encoder, decoded once), with distinct numbers, times and stream offsets, while the app
is already open: a loader thread appends them in batches as the real loader does, so the first
screen is measured while loading continues in the background.

    .venv/bin/python benchmarks/bench_tui.py [--messages 1000000] [--pages 40]
    .venv/bin/python benchmarks/bench_tui.py --file benchmarks/out/smartlpr-1000000.pcap

Targets: first screen < 1 s, page-down < 50 ms, memory < 500 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import threading
import time
from dataclasses import replace
from pathlib import Path

from textual.strip import Strip

from dissectors.api import Direction, Dissection, Frame, Link, Record
from dissectors.smartlpr.codec import decode, encode
from dissectors.smartlpr.records import (
    Ack,
    GetPicture,
    LicenseInfo,
    Status,
    StatusResponse,
    Trigger,
)
from sniffer.capture import Capture
from sniffer.clock import FixedClock
from sniffer.tui.app import CamsharkApp
from sniffer.tui.config import TuiConfig
from sniffer.tui.launch import make_app
from sniffer.tui.loader import Loader
from sniffer.tui.widgets.message_list import MessageList

T0 = 1_700_000_000_000_000_000
LINK = Link(1, "tcp", "10.0.0.1:40000", "10.0.0.2:9000")
SIZE = (160, 50)


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def templates() -> list[tuple[int, bytes, Dissection]]:
    """(direction, frame bytes, dissection) for a realistic mix of SmartLPR messages."""
    plate = LicenseInfo(
        1001, 7, 1_700_000_000, 250_000, "1234ABC", (95, 97, 96), True, "1234 ABC", "E"
    )
    messages = [
        (0, encode(Status(), id=2)),
        (1, encode(StatusResponse(1, 0, 1), id=2)),
        (0, encode(Trigger(7), id=4)),
        (1, encode(Ack(), id=4)),
        (1, encode(plate, id=1)),
        (0, encode(Ack(), id=1)),
        (0, encode(GetPicture(1001), id=6)),
        (1, encode(Status(), id=8, bcc=0)),  # a bad checksum: a problem row
    ]
    out = []
    for direction, data in messages:
        dissection = decode(Frame(LINK, Direction(direction), 0, data, T0))
        out.append((direction, data, dissection))
    return out


def synthesise(
    capture: Capture, count: int, batch: int, on_batch: object = None, first_batch: int = 200
) -> None:
    """Append ``count`` records to ``capture`` in batches (the loader's pattern)."""
    mix = templates()
    directions = (Direction.TO_DEVICE, Direction.FROM_DEVICE)
    offsets = [0, 0]
    number = 0
    while number < count:
        records = []
        size = first_batch if number == 0 else batch
        for _ in range(min(size, count - number)):
            direction, data, dissection = mix[number % len(mix)]
            number += 1
            frame = Frame(LINK, directions[direction], offsets[direction], data, T0 + number * 1000)
            offsets[direction] += len(data)
            records.append(Record(number, "smartlpr", frame, dissection))
        capture.extend(records)
        if callable(on_batch):
            on_batch()


class SyntheticLoader(Loader):
    """The app's loader, fed synthetic records instead of a source and a pipeline."""

    def __init__(self, capture: Capture, count: int) -> None:
        super().__init__(capture, lambda: None)  # type: ignore[arg-type,return-value]
        self.count = count
        self.done = threading.Event()

    def run(self) -> None:
        synthesise(self.capture, self.count, 20_000, self._notify)
        self.capture.finished = True
        self._notify()
        self.done.set()


async def measure(count: int, pages: int, path: Path | None = None) -> dict[str, float]:
    """Open the app on ``count`` synthetic messages (or on the capture file ``path``)."""
    default = TuiConfig()
    config = replace(
        TuiConfig.test(),
        detail_delay_s=default.detail_delay_s,
        refresh_interval_s=default.refresh_interval_s,
    )
    results: dict[str, float] = {}
    rss_before = rss_mb()
    start = time.perf_counter()
    painted: list[float] = []
    render_row = MessageList.render_row

    def timed_render_row(self: MessageList, index: int, width: int, *, selected: bool) -> Strip:
        if not painted:
            painted.append(time.perf_counter())
            results["rows_at_first_screen"] = len(capture)
        return render_row(self, index, width, selected=selected)

    MessageList.render_row = timed_render_row  # type: ignore[method-assign]
    if path is None:
        capture = Capture()
        app = CamsharkApp(
            capture, loader=SyntheticLoader(capture, count), clock=FixedClock(), config=config
        )
    else:
        app = make_app(str(path), clock=FixedClock(), config=config)
        capture = app.capture
    async with app.run_test(size=SIZE) as pilot:
        messages = app.query_one(MessageList)
        height = messages.scrollable_content_region.height
        while not painted:
            await pilot.pause(0.005)
        results["first_screen_s"] = painted[0] - start
        while not app.loaded:
            await pilot.pause(0.01)
        results["load_s"] = time.perf_counter() - start
        count = len(capture)
        gc.collect()
        results["rss_mb"] = rss_mb() - rss_before
        results["store_mb"] = capture.memory_bytes() / 1e6
        baseline = []
        for _ in range(pages):
            tick = time.perf_counter()
            await pilot.press("x")  # an unbound key: the pilot's own round trip
            baseline.append(time.perf_counter() - tick)
        held = app.config
        app.config = replace(held, detail_delay_s=60.0)  # key held down: detail waits
        durations = []
        for _ in range(pages):
            tick = time.perf_counter()
            await pilot.press("pagedown")
            durations.append(time.perf_counter() - tick)
        overhead = statistics.median(baseline)
        results["pilot_overhead_ms"] = overhead * 1e3
        results["pagedown_raw_ms"] = statistics.median(durations) * 1e3
        results["pagedown_median_ms"] = (statistics.median(durations) - overhead) * 1e3
        results["pagedown_max_ms"] = (max(durations) - overhead) * 1e3
        app.config = held
        bare = []
        for _ in range(5):
            tick = time.perf_counter()
            await pilot.pause()
            bare.append(time.perf_counter() - tick)
        tick = time.perf_counter()
        app._show_detail()
        await pilot.pause()
        results["detail_ms"] = (time.perf_counter() - tick - statistics.median(bare)) * 1e3
        messages.move_cursor(count // 2)
        tick = time.perf_counter()
        for y in range(height):
            messages.render_line(y)
        results["render_page_ms"] = (time.perf_counter() - tick) * 1e3
        tick = time.perf_counter()
        await pilot.press("end")
        results["end_ms"] = (time.perf_counter() - tick) * 1e3
        results["final_rows"] = len(capture)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument(
        "--file", type=Path, help="open this capture through the real loader and pipeline"
    )
    args = parser.parse_args()
    results = asyncio.run(measure(args.messages, args.pages, args.file))
    print(f"messages                 {results['final_rows']:>12,.0f}")
    print(
        f"first screen             {results['first_screen_s']:>12.3f} s   (target < 1 s; "
        f"{results['rows_at_first_screen']:,.0f} rows loaded then)"
    )
    how = "synthetic" if args.file is None else "pipeline"
    print(f"full load ({how})     {results['load_s']:>12.3f} s")
    print(
        f"page-down median / max   {results['pagedown_median_ms']:>8.1f} / "
        f"{results['pagedown_max_ms']:.1f} ms   (target < 50 ms)"
    )
    print(
        f"  (raw {results['pagedown_raw_ms']:.1f} ms per key through the test pilot, minus "
        f"its {results['pilot_overhead_ms']:.1f} ms round trip for an unbound key)"
    )
    print(f"detail tree + hex update {results['detail_ms']:>12.1f} ms   (once the cursor rests)")
    print(f"render one page          {results['render_page_ms']:>12.2f} ms")
    print(f"jump to end              {results['end_ms']:>12.1f} ms")
    print(f"memory: RSS growth       {results['rss_mb']:>12.1f} MB  (target < 500 MB)")
    print(f"memory: row store        {results['store_mb']:>12.1f} MB")


if __name__ == "__main__":
    main()
