"""Micro-benchmark: raw capture reading (ours vs scapy), decoding + reassembly, and writing.

Run: ``.venv/bin/python benchmarks/bench_pcap.py [--packets N]``. It builds one TCP capture
(188-byte messages, one per segment, both directions, some pure ACKs) as pcap and pcapng in a
temporary directory and prints packets/s for each reader on the same file in one run, the
median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from scapy.utils import RawPcapNgReader, RawPcapReader

from sniffer.packet_writer import CaptureWriter, TcpConversation
from sniffer.sources import PcapSource
from sniffer.sources.base import Side
from sniffer.sources.pcap_file import CaptureReader

T0 = 1_700_000_000_000_000_000


def build_packets(count: int) -> list[tuple[int, bytes]]:
    """``count`` packets of a few interleaved TCP connections."""
    convs = [TcpConversation((f"10.0.0.{i + 1}", 40000 + i), ("10.0.1.1", 5232)) for i in range(4)]
    packets: list[tuple[int, bytes]] = []
    for i, conv in enumerate(convs):
        packets += conv.open(T0 + i)
    message = bytes(range(188))
    t = T0 + 1000
    while len(packets) < count:
        for conv in convs:
            packets += conv.send(Side.A, message, t)
            packets += conv.send(Side.B, message, t + 500, ack=True)
            t += 1000
    return packets[:count]


def measure(fn: Callable[[], int], repeat: int) -> tuple[float, int]:
    """Median packets per second of ``fn`` (which returns how many it handled)."""
    rates = []
    n = 0
    for _ in range(repeat):
        start = time.perf_counter()
        n = fn()
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates), n


def _count(iterable: object) -> int:
    n = 0
    for _ in iterable:  # type: ignore[attr-defined]
        n += 1
    return n


def main() -> None:
    """Build the capture, time each reader and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packets", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    packets = build_packets(args.packets)
    rows: list[tuple[str, float, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"pcap": Path(tmp) / "bench.pcap", "pcapng": Path(tmp) / "bench.pcapng"}

        for fmt, path in paths.items():

            def write(path: Path = path) -> int:
                with CaptureWriter(path) as writer:
                    for time_ns, data in packets:
                        writer.write(time_ns, data)
                return len(packets)

            rows.append((f"write {fmt} (CaptureWriter)", *measure(write, args.repeat)))

        for fmt, path in paths.items():
            scapy_reader = RawPcapReader if fmt == "pcap" else RawPcapNgReader

            def ours(path: Path = path) -> int:
                return _count(CaptureReader(path).packets())

            def scapy(path: Path = path, reader: type = scapy_reader) -> int:
                with reader(str(path)) as r:
                    return _count(r)

            def full(path: Path = path) -> int:
                source = PcapSource(path)
                for _ in source.events():
                    pass
                return source.packets_read

            rows.append((f"read {fmt}: camshark CaptureReader", *measure(ours, args.repeat)))
            rows.append(
                (f"read {fmt}: scapy {scapy_reader.__name__}", *measure(scapy, args.repeat))
            )
            rows.append((f"read {fmt} + decode + reassembly", *measure(full, args.repeat)))

    width = max(len(label) for label, _, _ in rows)
    print(f"{'what':<{width}}  {'packets':>9}  {'packets/s':>12}")
    for label, rate, n in rows:
        print(f"{label:<{width}}  {n:>9,}  {rate:>12,.0f}")


if __name__ == "__main__":
    main()
