"""``live:IFACE?filter=BPF``: capture TCP/UDP from a network interface through dumpcap.

Wireshark's ``dumpcap`` does the privileged part (root, or the ``wireshark`` group with
``setcap`` on dumpcap) and writes pcapng to a pipe; the same streaming reader, decoder and TCP
reassembly as for files turn it into events, each packet as soon as it arrives. This keeps
camshark itself unprivileged and avoids scapy's per-packet sniffing cost (PERFORMANCE.md:
dumpcap sustains about 100k packets/s on loopback, scapy's dissecting sniffer 3-4k).

``close()`` (from any thread) stops dumpcap; ``events()`` then flushes and closes every link
with ``end of capture`` and returns. If dumpcap fails (no permission, unknown interface, bad
filter) ``events()`` raises ``SourceError`` with dumpcap's own message.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from sniffer.sources.base import Event, SourceError, split_source_url

if TYPE_CHECKING:
    from sniffer.sources import PcapSource

SCHEME = "live:"
STOP_TIMEOUT_S = 5.0


def parse_live_url(url: str) -> tuple[str, str | None]:
    """Split ``live:IFACE?filter=BPF`` into the interface and the capture filter.

    Raises:
        SourceError: not a live URL, or no interface.
    """
    interface, query = split_source_url(url, SCHEME, "live:IFACE?filter=BPF", "an interface")
    return interface, query.get("filter")


class LiveSource:
    """Events from a live interface, captured by a dumpcap child process.

    Args:
        interface: the interface name as dumpcap knows it (``lo``, ``eth0``, ``any``).
        capture_filter: a libpcap (BPF) filter, e.g. ``tcp port 8051 or udp port 8050``.
        dumpcap: the dumpcap executable.
    """

    def __init__(
        self, interface: str, *, capture_filter: str | None = None, dumpcap: str = "dumpcap"
    ) -> None:
        self.interface = interface
        self.capture_filter = capture_filter
        self.dumpcap = dumpcap
        self.ready = threading.Event()
        """Set once dumpcap has started capturing (its file header arrived)."""
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self.inner: PcapSource | None = None
        """The ``PcapSource`` reading dumpcap's output, once started (for statistics)."""

    @classmethod
    def from_url(cls, url: str) -> LiveSource:
        """Open ``live:IFACE?filter=BPF``."""
        interface, capture_filter = parse_live_url(url)
        return cls(interface, capture_filter=capture_filter)

    def command(self, executable: str) -> list[str]:
        """The dumpcap command line."""
        cmd = [executable, "-i", self.interface, "-w", "-", "-q"]
        if self.capture_filter:
            cmd += ["-f", self.capture_filter]
        return cmd

    def events(self) -> Iterator[Event]:
        """Start dumpcap and stream its packets' events until ``close()`` or dumpcap exits."""
        from sniffer.sources import PcapSource

        executable = shutil.which(self.dumpcap)
        if executable is None:
            raise SourceError(
                f"{self.dumpcap} not found: live capture needs Wireshark's dumpcap "
                "(Debian/Ubuntu: apt install wireshark-common)"
            )
        with tempfile.TemporaryFile() as errors:
            with self._lock:
                if self._stopping.is_set():
                    return
                self._proc = subprocess.Popen(  # noqa: S603 - a fixed argv, no shell
                    self.command(executable), stdout=subprocess.PIPE, stderr=errors
                )
            proc = self._proc
            assert proc.stdout is not None
            try:
                try:
                    source = PcapSource(f"live:{self.interface}", fileobj=proc.stdout)
                except SourceError:
                    raise self._failure(proc, errors) from None
                self.inner = source
                self.ready.set()
                try:
                    yield from source.events()
                except SourceError:
                    if not self._stopping.is_set():
                        raise  # a torn pipe after close() is expected, not an error
                if not self._stopping.is_set() and proc.wait(STOP_TIMEOUT_S) != 0:
                    raise self._failure(proc, errors)
            finally:
                self._stop(proc)

    def _failure(self, proc: subprocess.Popen[bytes], errors: IO[bytes]) -> SourceError:
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._stop(proc)
        errors.seek(0)
        lines = [
            line.strip()
            for line in errors.read().decode("utf-8", "replace").splitlines()
            if line.strip() and not line.startswith(("Capturing on", "See the User"))
        ]
        # dumpcap: the error, then maybe a detail line: 'dumpcap: There is no device named
        # "x".' + '(No such device exists)'; keep both on one line
        detail = " ".join(lines[:2]).removeprefix("dumpcap: ")
        return SourceError(
            f"live capture on {self.interface} failed: {detail or f'exit {proc.returncode}'}"
        )

    def _stop(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT_S)
        if proc.stdout is not None:
            proc.stdout.close()

    def close(self) -> None:
        """Stop capturing; ``events()`` finishes with the links still open closed."""
        with self._lock:
            self._stopping.set()
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
