"""Shared test helpers: a toy line protocol for pipeline tests, event builders, and the
SmartLPR plate read the session fixtures share."""

from __future__ import annotations

from collections.abc import Iterator

from dissectors.api import (
    DecodeError,
    Direction,
    Dissection,
    Dissector,
    ExtractedObject,
    Field,
    Frame,
    Junk,
    Kind,
    Link,
    Record,
    Severity,
    Tcp,
    Transfer,
)
from dissectors.smartlpr.records import LicenseInfo
from sniffer.sources.base import Chunk, Gap, LinkClosed, LinkInfo, Side, Transport


class LineFramer:
    """Frames end at b"\\n"; bytes before a "#" start marker are junk."""

    def __init__(self, link: Link, direction: Direction) -> None:
        self.link = link
        self.direction = direction
        self.buffer = b""
        self.start = 0
        self.time_ns = 0

    def feed(self, data: bytes, time_ns: int) -> Iterator[Frame | Junk]:
        if not self.buffer:
            self.time_ns = time_ns
        self.buffer += data
        while True:
            marker = self.buffer.find(b"#")
            if marker > 0:
                yield self._junk(marker)
                continue
            end = self.buffer.find(b"\n")
            if marker < 0 or end < 0:
                if marker < 0 and self.buffer:
                    yield self._junk(len(self.buffer))
                return
            frame = Frame(
                self.link, self.direction, self.start, self.buffer[: end + 1], self.time_ns
            )
            self.start += end + 1
            self.buffer = self.buffer[end + 1 :]
            self.time_ns = time_ns
            yield frame

    def _junk(self, size: int) -> Junk:
        junk = Junk(self.link, self.direction, self.start, self.buffer[:size], self.time_ns)
        self.start += size
        self.buffer = self.buffer[size:]
        return junk

    def gap(self, length: int, time_ns: int) -> Iterator[Frame | Junk]:
        yield from self.flush()
        self.start += length

    def flush(self) -> Iterator[Frame | Junk]:
        if self.buffer:
            yield self._junk(len(self.buffer))


def decode_line(frame: Frame) -> Dissection:
    """``#REQ 7\\n`` / ``#RSP 7\\n`` / ``#PIC name\\n``; anything else is malformed."""
    text = frame.data[1:-1].decode("ascii", "replace")
    verb, _, arg = text.partition(" ")
    if verb not in ("REQ", "RSP", "PIC", "BUG"):
        raise DecodeError(f"unknown verb {verb!r}")
    if verb == "BUG":
        raise ZeroDivisionError("deliberate dissector bug")
    kind = {"REQ": Kind.REQUEST, "RSP": Kind.RESPONSE, "PIC": Kind.DATA}[verb]
    return Dissection(
        verb,
        f"{verb} {arg}",
        kind=kind,
        fields=lambda: (Field("verb", verb, (1, 4)), Field("arg", arg, (5, len(frame.data) - 1))),
    )


class LineMatcher:
    """Pairs REQ n with RSP n; REQs unanswered for 1 s are flagged; PIC lines become objects."""

    def __init__(self) -> None:
        self.pending: dict[str, Record] = {}
        self.objects: list[ExtractedObject] = []
        self.closed: list[int] = []

    def observe(self, record: Record) -> None:
        verb = record.dissection.type
        arg = record.dissection.summary.partition(" ")[2]
        if verb == "REQ":
            self.pending[arg] = record
        elif verb == "RSP":
            request = self.pending.pop(arg, None)
            if request is not None:
                request.response_in = record.number
                record.request_in = request.number
                record.latency_ns = record.time_ns - request.time_ns
        elif verb == "PIC":
            self.objects.append(
                ExtractedObject("line", f"{arg}.bin", arg.encode(), (record.number,))
            )

    def expire(self, now_ns: int) -> None:
        for key, record in list(self.pending.items()):
            if now_ns - record.time_ns > 1_000_000_000:
                record.add_problem(Severity.WARNING, "line.unanswered", "no RSP within 1 s")
                del self.pending[key]

    def link_closed(self, link: Link, time_ns: int) -> None:
        self.closed.append(link.id)

    def finish(self) -> None:
        self.expire(2**62)

    def take_objects(self) -> list[ExtractedObject]:
        objects, self.objects = self.objects, []
        return objects

    def transfers(self) -> list[Transfer]:
        return []

    def forget_transfers(self) -> None:
        pass


def sniff_line(prefix: bytes) -> float:
    return 0.9 if prefix.startswith((b"#REQ", b"#RSP")) else 0.0


def orient_line(prefix: bytes) -> Direction | None:
    if prefix.startswith(b"#REQ"):
        return Direction.TO_DEVICE
    if prefix.startswith(b"#RSP"):
        return Direction.FROM_DEVICE
    return None


LINE = Dissector(
    id="line",
    name="Toy line protocol",
    description="Newline-terminated test protocol.",
    new_framer=LineFramer,
    decode=decode_line,
    bindings=(Tcp(7777),),
    sniff=sniff_line,
    orient=orient_line,
    new_matcher=LineMatcher,
)


def tcp_info(link_id: int = 1, port_a: int = 40000, port_b: int = 9999) -> LinkInfo:
    link = Link(link_id, "tcp", f"10.0.0.1:{port_a}", f"10.0.0.2:{port_b}")
    return LinkInfo(link, Transport.STREAM, port_a, port_b)


def udp_info(link_id: int = 1, port_a: int = 40000, port_b: int = 9999) -> LinkInfo:
    link = Link(link_id, "udp", f"10.0.0.1:{port_a}", f"10.0.0.2:{port_b}")
    return LinkInfo(link, Transport.DATAGRAM, port_a, port_b)


def chunk(info: LinkInfo, side: int, data: bytes, time_s: float) -> Chunk:
    return Chunk(info, Side(side), int(time_s * 1e9), data)


def gap(info: LinkInfo, side: int, length: int, time_s: float) -> Gap:
    return Gap(info, Side(side), int(time_s * 1e9), length)


def closed(info: LinkInfo, time_s: float) -> LinkClosed:
    return LinkClosed(info, int(time_s * 1e9))


def plate_read(plate: str = "1234 ABC") -> LicenseInfo:
    """The LicenseInfo (v2) of the tests' sessions: car 1001, Trigger 7, ``plate`` read."""
    return LicenseInfo(
        car_id=1001,
        trigger_id=7,
        timestamp=1_700_000_000,
        timestamp_usec=250_000,
        detected_chars=plate.replace(" ", ""),
        qualities=(95, 97, 96, 94, 90, 92, 93),
        grammar_ok=True,
        printable=plate,
        country="E",
    )
