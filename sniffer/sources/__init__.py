"""Where bytes come from: ``open_source(target)`` turns a target string into a ``Source``.

Targets:

* ``pcap:PATH`` or a plain path: a pcap or pcapng file (told apart by its magic number);
  ``-`` reads one from standard input (a pipe works: the reader never seeks);
* ``replay:PATH?speed=1.0``: the same file played back with its original timing
  (``sniffer.sources.replay``);
* ``live:IFACE?filter=BPF``: a live interface, captured by dumpcap (``sniffer.sources.live``).

Further schemes plug in through ``SCHEMES`` (scheme prefix -> opener).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, cast

from sniffer.sources.base import ChunkRuns, Event, Source, SourceError
from sniffer.sources.fast_path import FastPath
from sniffer.sources.packets import DecodeStats, PacketDecoder
from sniffer.sources.pcap_file import CaptureReader, Interface, Progress
from sniffer.sources.tcp_reassembly import Reassembler, ReassemblyStats

__all__ = ["SCHEMES", "PcapSource", "open_source", "source_events"]


class PcapSource:
    """The TCP/UDP events of a pcap or pcapng file, streamed in capture order.

    ``events()`` yields ``Chunk``/``Gap``/``LinkClosed`` events; at the end every link still
    open is closed with reason ``end of capture``. A truncated or corrupt file yields all it
    could read (and closes the links), then raises ``SourceError`` saying where it broke.

    Args:
        path: the capture file.
        progress: optional ``progress(bytes_read, total)`` callback.
        max_buffer: out-of-order bytes held per TCP direction before declaring a gap.
        fileobj: an open binary stream to read instead of opening ``path`` (a pipe).

    Raises:
        SourceError: the file is missing, unreadable or not a capture file.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        progress: Progress | None = None,
        max_buffer: int | None = None,
        fileobj: IO[bytes] | None = None,
    ) -> None:
        self.path = Path(path)
        self._reader = CaptureReader(self.path, progress=progress, fileobj=fileobj)
        self.decoder = PacketDecoder()
        self.reassembler = (
            Reassembler() if max_buffer is None else Reassembler(max_buffer=max_buffer)
        )

    @property
    def format(self) -> str:
        """``pcap`` or ``pcapng``."""
        return self._reader.format

    @property
    def interfaces(self) -> list[Interface]:
        """The file's capture interfaces seen so far (link type, name, description)."""
        return self._reader.interfaces

    @property
    def decode_stats(self) -> DecodeStats:
        """Packets seen, skipped and malformed, by kind (the fast path adds its packets when
        ``events()`` ends or stops)."""
        return self.decoder.stats

    @property
    def reassembly_stats(self) -> ReassemblyStats:
        """Retransmissions, out-of-order segments, gaps and overlaps."""
        return self.reassembler.stats

    @property
    def packets_read(self) -> int:
        """Packets read from the file so far."""
        return self._reader.packets_read

    def events(self) -> Iterator[Event]:
        """Stream the capture's events; raises SourceError at the end on a damaged file."""
        return cast(Iterator[Event], self._events(runs=False))

    def run_events(self) -> Iterator[Event | ChunkRuns]:
        """Like ``events``, with the payloads of the in-order packets the fast path's kernel
        takes in one call delivered as one ``ChunkRuns`` (by link side)."""
        return self._events(runs=True)

    def _events(self, *, runs: bool) -> Iterator[Event | ChunkRuns]:
        failure: SourceError | None = None
        fast_path = FastPath(self.decoder, self.reassembler)
        try:
            yield from fast_path.events(self._reader, runs=runs)
        except SourceError as error:
            failure = error
        yield from self.reassembler.finish()  # at the time of the last packet read
        if failure is not None:
            raise failure

    def close(self) -> None:
        """Release the file."""
        self._reader.close()


def _open_pcap(target: str, progress: Progress | None) -> Source:
    return PcapSource(target, progress=progress)


def _open_replay(target: str, progress: Progress | None) -> Source:
    from sniffer.sources.replay import ReplaySource

    return ReplaySource.from_url(target)


def _open_live(target: str, progress: Progress | None) -> Source:
    from sniffer.sources.live import LiveSource

    return LiveSource.from_url(target)


SCHEMES: dict[str, Callable[[str, Progress | None], Source]] = {
    "live:": _open_live,
    "replay:": _open_replay,
}
"""Scheme prefix -> opener(target, progress). ``pcap:`` and plain paths are handled first."""


def source_events(source: Source, *, runs: bool) -> Iterator[Event | ChunkRuns]:
    """``source.events()``, or with ``runs`` its ``run_events()`` when it has them."""
    if runs and isinstance(source, PcapSource):
        return source.run_events()
    return source.events()


def open_source(target: str, *, progress: Progress | None = None) -> Source:
    """Open a source by target string (see the module docstring).

    Raises:
        SourceError: unknown scheme, missing or unreadable file, not a capture file.
    """
    if target.startswith("pcap:"):
        path = target[len("pcap:") :].removeprefix("//")
        if not path:
            raise SourceError(f"pcap source without a file: {target!r}")
        return _open_pcap(path, progress)
    for prefix, opener in SCHEMES.items():
        if target.startswith(prefix):
            return opener(target, progress)
    if target == "-":
        return _open_pcap("/dev/stdin", progress)
    return _open_pcap(target, progress)
