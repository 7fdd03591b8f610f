"""Stage benchmark: CPU µs per packet from the capture file to ``Chunk`` events.

Run: ``.venv/bin/python benchmarks/bench_pcap_stages.py [--baseline REF] [--quick]``.

Cumulative stages, each measured in its own child process (CPU time of the loop only, the
best of ``--repeat`` runs: the machine is shared, and the minimum is the steadiest):

* ``read``: ``CaptureReader.records()`` (``packets()`` before it existed), the raw records;
* ``+decode``: the same plus the link/IP/TCP decoding: ``PacketDecoder.decode`` per packet
  before the fast path, the fast path's header struct, checks and payload copy since;
* ``+reassembly``: ``PcapSource.events()``, i.e. everything up to the ``Chunk`` events, with
  the fast path's record and block loops in C (``sniffer.sources._fast_path``) where built;
* ``+reassembly py``: the same with their pure-Python twins (``fast_records_python``,
  ``fast_blocks_python``) patched in: what the C kernels save ("-" for code without them).

Each stage runs on the code of this worktree and on ``--baseline`` (a git ref, extracted with
``git archive`` to a temporary directory, its C kernels built there) in the same run,
interleaved, so the columns are comparable. Captures: the SmartLPR and DualCam bench captures
of ``benchmarks/out`` (made by ``bench_smartlpr.py`` / ``bench_dualcam.py``), and pcapng
copies made once with ``editcap``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
STAGES = ("read", "+decode", "+reassembly", "+reassembly py")

FULL = ("smartlpr-1000000.pcap", "dualcam-2000000000.pcap", "dualcam-200000000.pcapng")
QUICK = ("smartlpr-250000.pcap", "dualcam-200000000.pcap", "smartlpr-250000.pcapng")


def python_kernels() -> bool:
    """Patch the Python twins of the C record and block loops into ``fast_path``; False when
    this code has no such loops."""
    from sniffer.sources import fast_packets, fast_path

    patched = False
    for name in ("fast_records", "fast_blocks"):
        twin = getattr(fast_packets, name + "_python", None)
        if twin is not None and hasattr(fast_path, name):
            setattr(fast_path, name, twin)
            patched = True
    return patched


def child(stage: str, path: str) -> None:
    """Run one stage over ``path`` with whatever ``sniffer`` is on the path; print JSON."""
    if stage == "+reassembly py":
        try:
            have_twins = python_kernels()
        except ImportError:  # code before the C kernel
            have_twins = False
        if not have_twins:
            print(json.dumps({"cpu": None, "packets": 0, "chunks": 0}))
            return
    from sniffer.sources import PcapSource
    from sniffer.sources.base import Chunk
    from sniffer.sources.packets import PacketDecoder
    from sniffer.sources.pcap_file import CaptureReader

    chunks = 0
    start = time.process_time()
    fused = hasattr(CaptureReader, "records")  # this code, or the code before the fast path
    if stage == "read":
        reader = CaptureReader(path)
        for _ in reader.records() if fused else reader.packets():
            pass
        packets = reader.packets_read
    elif stage == "+decode" and fused:
        # what the fast path does to decode: the header struct, its checks, the payload copy
        try:
            from sniffer.sources.fast_packets import ETH_IPV4_TCP
        except ImportError:  # code before the C kernel
            from sniffer.sources.fast_path import ETH_IPV4_TCP  # type: ignore[attr-defined,no-redef]

        reader = CaptureReader(path)
        decode = PacketDecoder().decode
        unpack = ETH_IPV4_TCP.unpack_from
        for _time_ns, linktype, buf, begin, end in reader.records():
            if linktype == 1 and end - begin >= ETH_IPV4_TCP.size:
                (ethertype, ver_ihl, total, frag, proto, _key, _seq, _ack, off,
                 _flags) = unpack(buf, begin)  # fmt: skip
                if (ver_ihl == 0x45 and proto == 6 and ethertype == 0x800
                        and not frag & 0x3FFF and off >= 0x50):  # fmt: skip
                    buf[begin + 34 + (off >> 4) * 4 : begin + 14 + total]
                    continue
            decode(linktype, buf[begin:end])
        packets = reader.packets_read
    elif stage == "+decode":
        reader = CaptureReader(path)
        decode = PacketDecoder().decode
        for _time_ns, linktype, data in reader.packets():
            decode(linktype, data)
        packets = reader.packets_read
    else:
        source = PcapSource(path)
        for event in source.events():
            if type(event) is Chunk:
                chunks += 1
        packets = source.packets_read
    cpu = time.process_time() - start
    print(json.dumps({"cpu": cpu, "packets": packets, "chunks": chunks}))


def measure(root: Path, stage: str, path: Path) -> dict[str, float | None]:
    """One child run of ``stage`` with the code under ``root``."""
    env = dict(os.environ, PYTHONPATH=str(root))
    out = subprocess.run(
        [sys.executable, __file__, "--child", stage, str(path)],
        env=env,
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float | None] = json.loads(out)
    return result


def extract(ref: str, into: Path) -> Path:
    """The ``sniffer`` and ``dissectors`` packages of git ``ref`` under ``into``, with their C
    kernels built."""
    archive = into / "code.tar"
    with open(archive, "wb") as f:
        subprocess.run(
            ["git", "archive", ref, "sniffer", "dissectors"], cwd=ROOT, stdout=f, check=True
        )
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    build_kernels(ref, into)
    return into


def build_kernels(ref: str, into: Path) -> None:
    """Build the optional C kernels of ``ref`` (if it has any) in place under ``into``, as an
    install does: without them its fast path would run its Python twins."""
    names = ["setup.py", "pyproject.toml", "README.md"]
    for name in names:
        if subprocess.run(["git", "cat-file", "-e", f"{ref}:{name}"], cwd=ROOT).returncode:
            return
    with tempfile.TemporaryFile() as f:
        subprocess.run(["git", "archive", ref, *names], cwd=ROOT, stdout=f, check=True)
        f.seek(0)
        with tarfile.open(fileobj=f) as tar:
            tar.extractall(into, filter="data")
    subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
        cwd=into,
        capture_output=True,
        check=False,
    )


def capture(name: str) -> Path:
    """A capture of ``benchmarks/out``; a ``.pcapng`` name is converted once from the pcap."""
    path = OUT / name
    if not path.exists() and path.suffix == ".pcapng":
        source = path.with_suffix(".pcap")
        if shutil.which("editcap") is None or not source.exists():
            raise SystemExit(f"{path} missing and cannot be made (editcap, {source.name})")
        subprocess.run(["editcap", "-F", "pcapng", str(source), str(path)], check=True)
    if not path.exists():
        raise SystemExit(f"{path} missing: run bench_smartlpr.py / bench_dualcam.py first")
    return path


def main() -> None:
    """Measure every stage on every capture for the baseline and this worktree."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", default="main", help="git ref to compare against")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smaller captures")
    parser.add_argument("--captures", nargs="*", help="file names in benchmarks/out")
    parser.add_argument("--stages", nargs="*", default=list(STAGES), choices=STAGES)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    names = args.captures or (QUICK if args.quick else FULL)
    with tempfile.TemporaryDirectory() as tmp:
        roots = {"baseline": extract(args.baseline, Path(tmp)), "now": ROOT}
        print(f"baseline = {args.baseline}; CPU µs per packet, best of {args.repeat}")
        print(f"{'capture':<26} {'stage':<14} {'packets':>10} {'baseline':>9} {'now':>7} {'x':>6}")
        for name in names:
            path = capture(name)
            for stage in args.stages:
                times: dict[str, list[float]] = {"baseline": [], "now": []}
                packets = 0
                for _ in range(args.repeat):
                    for label, root in roots.items():
                        result = measure(root, stage, path)
                        if result["cpu"] is not None:
                            times[label].append(result["cpu"])
                            packets = int(result["packets"] or 0)
                per = {k: min(v) / packets * 1e6 if v else None for k, v in times.items()}
                base, now = per["baseline"], per["now"]
                ratio = f"{base / now:>5.2f}x" if base and now else f"{'-':>6}"
                print(
                    f"{name:<26} {stage:<14} {packets:>10,} {_cell(base, 9)} {_cell(now, 7)} "
                    f"{ratio}",
                    flush=True,
                )


def _cell(value: float | None, width: int) -> str:
    return f"{value:>{width}.2f}" if value is not None else f"{'-':>{width}}"


if __name__ == "__main__":
    main()
