"""Fixtures for the TUI tests: a small deterministic SmartLPR capture, hand-made records."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from dissectors.api import (
    Direction,
    Dissection,
    Field,
    Frame,
    Junk,
    Kind,
    Link,
    Problem,
    Record,
    Severity,
)
from dissectors.smartlpr.codec import encode
from dissectors.smartlpr.records import (
    Ack,
    GetPicture,
    GetPictureResponse,
    Nak,
    Status,
    StatusResponse,
    Trigger,
)
from sniffer.capture import Capture
from sniffer.clock import FixedClock
from sniffer.packet_writer import CaptureWriter, TcpConversation
from sniffer.sources.base import Side
from tests.helpers import plate_read

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
CENTRAL = Side.A  # the central system opens the connection
UNIT = Side.B


def tiny_jpeg() -> bytes:
    """A 16x8 two-colour JPEG (deterministic for one Pillow version)."""
    picture = Image.new("RGB", (16, 8), (200, 30, 30))
    picture.paste((30, 30, 200), (8, 0, 16, 8))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90)
    return out.getvalue()


def write_session(path: Path) -> Path:
    """A SmartLPR session over two TCP links, with one of each interesting case.

    Link 1 (central 10.0.0.1 → unit 10.0.0.2:9000): Status/response, Trigger/ACK, LicenseInfo/ACK,
    GetPicture/response with a JPEG, a Status with a corrupted BCC answered by NAK 1, junk from
    the unit, and an unanswered Trigger. Link 2: one Status/response pair.
    """
    jpeg = tiny_jpeg()
    plate = plate_read("1234 ABC")
    script: list[tuple[Side, bytes]] = [
        (CENTRAL, encode(Status(), id=2)),
        (UNIT, encode(StatusResponse(active=1, io=0, camera=1), id=2)),
        (CENTRAL, encode(Trigger(trigger_id=7), id=4)),
        (UNIT, encode(Ack(), id=4)),
        (UNIT, encode(plate, id=1)),
        (CENTRAL, encode(Ack(), id=1)),
        (CENTRAL, encode(GetPicture(car_id=1001), id=6)),
        (UNIT, encode(GetPictureResponse(1, 2, 3, 4, len(jpeg), jpeg), id=6)),
        (CENTRAL, encode(Status(), id=8, bcc=0xA9)),
        (UNIT, encode(Nak(code=1, subcode=0), id=8)),
        (UNIT, b"\x00\xffnoise"),
        (CENTRAL, encode(Trigger(trigger_id=8), id=10)),
    ]
    with CaptureWriter(path) as writer:
        first = TcpConversation(("10.0.0.1", 40000), ("10.0.0.2", 9000))
        second = TcpConversation(("10.0.0.1", 40001), ("10.0.0.3", 9000))
        writer.write_all(first.open(T0))
        writer.write_all(second.open(T0 + MS // 2))
        time_ns = T0 + MS
        for side, data in script:
            writer.write_all(first.send(side, data, time_ns, ack=True))
            time_ns += 3 * MS
        writer.write_all(second.send(CENTRAL, encode(Status(), id=2), time_ns))
        writer.write_all(second.send(UNIT, encode(StatusResponse(1, 0, 1), id=2), time_ns + 2 * MS))
        time_ns += 10_000 * MS  # long enough for the unanswered Trigger to time out
        writer.write_all(first.close(time_ns))
        writer.write_all(second.close(time_ns))
    return path


@pytest.fixture(scope="session")
def session_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of the deterministic SmartLPR session capture."""
    return write_session(tmp_path_factory.mktemp("captures") / "smartlpr-session.pcapng")


@pytest.fixture
def fixed_clock() -> FixedClock:
    return FixedClock()


LINK = Link(1, "tcp", "10.0.0.1:40000", "10.0.0.2:9000")


def make_record(
    number: int,
    *,
    data: bytes = b"\x02abc\x03",
    direction: Direction = Direction.TO_DEVICE,
    type_name: str = "Status",
    summary: str | None = None,
    kind: Kind = Kind.REQUEST,
    problems: tuple[Problem, ...] = (),
    junk: bool = False,
    link: Link = LINK,
    time_ns: int | None = None,
) -> Record:
    """A hand-made record for model tests (protocol ``toy``, decoded by ``toy_lookup``)."""
    when = T0 + number * MS if time_ns is None else time_ns
    item: Frame | Junk
    if junk:
        item = Junk(link, direction, number * 10, data, when, "bad sync")
    else:
        item = Frame(link, direction, number * 10, data, when)
    dissection = Dissection(
        type_name,
        summary if summary is not None else f"{type_name} #{number}",
        kind=kind,
        problems=problems,
    )
    return Record(number, "toy", item, dissection)


def toy_decode(frame: Frame) -> Dissection:
    """Decodes the toy records back: one field per byte after the first."""
    fields = tuple(
        Field(f"byte{i}", value, (i, i + 1), f"0x{value:02x}") for i, value in enumerate(frame.data)
    )
    return Dissection("Status", "re-decoded", kind=Kind.REQUEST, fields=fields)


class _Toy:
    decode = staticmethod(toy_decode)


def toy_lookup(protocol: str) -> object:
    return _Toy() if protocol == "toy" else None


@pytest.fixture
def toy_capture() -> Callable[[int], Capture]:
    """Factory: a capture of ``n`` toy records with a few problems and a request/response pair."""

    def build(n: int) -> Capture:
        capture = Capture(lookup=toy_lookup)  # type: ignore[arg-type]
        for number in range(1, n + 1):
            problems: tuple[Problem, ...] = ()
            if number % 10 == 0:
                problems = (Problem(Severity.ERROR, "toy.bad", "bad thing"),)
            capture.append(
                make_record(
                    number,
                    direction=Direction(number % 2),
                    data=bytes([2, number % 256, 3]),
                    problems=problems,
                )
            )
        return capture

    return build
