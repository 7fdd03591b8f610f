"""What a source yields: chunks of bytes per link side, plus gaps and link ends.

A source knows transports, not protocols. Each link has two sides: side 0 is what endpoint
``link.a`` sent (the TCP client, the first UDP sender, or the serial port the user named
first), side 1 what ``link.b`` sent. The pipeline maps sides to ``Direction`` once it knows
which endpoint is the device.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from dissectors.api import Link


class Side(IntEnum):
    """Which endpoint of a link sent the bytes."""

    A = 0
    B = 1


class Transport(IntEnum):
    """How a link delivers its bytes: as a stream to frame, or as datagrams."""

    STREAM = 0
    DATAGRAM = 1


@dataclass(frozen=True, slots=True)
class LinkInfo:
    """Transport facts the protocol selector uses: ports for bindings, serial settings."""

    link: Link
    transport: Transport
    port_a: int | None = None
    port_b: int | None = None
    description: str = ""
    """For serial links: ``9600 8N1``; shown in the UI and written to pcapng interfaces."""


@dataclass(slots=True)
class Chunk:
    """Bytes as a source delivered them (one TCP payload in order, one datagram, one read).

    Not frozen: one is built per packet, and a frozen dataclass costs about 1 µs more each.
    """

    info: LinkInfo
    side: Side
    time_ns: int
    data: bytes


@dataclass(slots=True)
class Gap:
    """``length`` bytes of this side's stream were never seen (lost segment, capture drop)."""

    info: LinkInfo
    side: Side
    time_ns: int
    length: int


@dataclass(frozen=True, slots=True)
class LinkClosed:
    """The link ended (FIN/RST seen, port closed, end of file)."""

    info: LinkInfo
    time_ns: int
    reason: str = "closed"


Event = Chunk | Gap | LinkClosed


class Piece(Protocol):
    """Bytes and the time they arrived (``dissectors.bulk.Piece``)."""

    @property
    def data(self) -> bytes: ...

    @property
    def time_ns(self) -> int: ...


PieceRun = tuple[LinkInfo, Side, Sequence[Piece]]
"""The ``Chunk``s of consecutive packets of one link side: their link, side, bytes and times."""


@dataclass(slots=True)
class ChunkRuns:
    """The ``Chunk``s of consecutive packets in one event, as runs of one link side each, for
    a consumer that takes them so (``PcapSource.run_events``): no object per chunk."""

    runs: Sequence[PieceRun]
    """At least one, each of at least one piece."""

    def chunks(self) -> list[Chunk]:
        """The chunks, one per piece, in order."""
        return [
            Chunk(info, side, piece.time_ns, piece.data)
            for info, side, pieces in self.runs
            for piece in pieces
        ]


class SourceError(Exception):
    """A source failed (unreadable file, truncated capture, port gone); the text is for the user."""


class Source(Protocol):
    """Anything that yields events in time order.

    ``events()`` may raise ``SourceError`` after yielding everything it could read, so that
    nothing already captured is lost.
    """

    def events(self) -> Iterator[Event]: ...

    def close(self) -> None: ...


def split_source_url(url: str, scheme: str, usage: str, what: str) -> tuple[str, dict[str, str]]:
    """``scheme:TARGET?key=value`` → (TARGET, {key: last value}).

    ``usage`` shows the expected form and ``what`` names the target in the errors.

    Raises:
        SourceError: ``url`` does not start with ``scheme``, or has no target.
    """
    if not url.startswith(scheme):
        raise SourceError(f"not a {scheme.rstrip(':')} source: {url!r} (expected {usage})")
    parts = urlsplit(url[len(scheme) :].removeprefix("//"))
    target = unquote(parts.path)
    if not target:
        raise SourceError(f"{scheme.rstrip(':')} source without {what}: {url!r} (e.g. {usage})")
    return target, {key: values[-1] for key, values in parse_qs(parts.query).items()}
