"""A large, realistic SmartLPR-over-TCP capture, generated fast from patched templates.

Several central-system ↔ unit TCP connections run interleaved. On each, the central system
pipelines a batch of cycles (Status + Trigger per cycle) in one send, the unit answers the
batch in one send (StatusResponse, ACK, LicenseInfo event per cycle), and the central system
ACKs the plate reads in one send. So TCP segments carry several messages each, as on a busy
stream (a batch larger than the MSS is cut across segments, splitting messages too). Every
``PICTURE_EVERY`` cycles the central system asks for the picture (GetPicture, answered by a
GetPictureResponse with a small JPEG), and every ``NAK_EVERY`` cycles the unit refuses the
Trigger with NAK 4 (busy) instead of reading a plate.

With ``one_per_segment`` the same conversation goes one message per send instead (request,
then its reply), the usual pattern of a request/response link that is not saturated.

Frames are encoded once with ``dissectors.smartlpr.codec.encode``; each message then only gets its
Id (and TriggerId, CarId, timestamp) patched with ``struct.pack_into`` and its Bcc recomputed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from dissectors.checksums import xor_bcc
from dissectors.smartlpr.codec import encode
from dissectors.smartlpr.records import (
    Ack,
    GetPicture,
    GetPictureResponse,
    LicenseInfo,
    Nak,
    Status,
    StatusResponse,
    Trigger,
)
from sniffer.packet_writer import CaptureWriter, TcpConversation
from sniffer.sources.base import Side

BATCH = 4
"""Cycles the central system pipelines per send."""
PICTURE_EVERY = 40
NAK_EVERY = 97
UNITS = 8
BURST_STEP_NS = 10_000_000
"""Capture time between two batches (any link): about 2,400 messages/s from 8 busy units."""
MESSAGE_STEP_NS = 400_000
"""With one message per segment: time between two messages of one link's batch."""
START_NS = 1_764_000_000_000_000_000
PORT = 8051

_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
OFF_ID = 13
OFF_DATA = 17


def _jpeg(size: int) -> bytes:
    body = bytes((i * 7) & 0xFF for i in range(size - 4)).replace(b"\xff", b"\x00")
    return b"\xff\xd8" + body + b"\xff\xd9"


@dataclass(slots=True)
class _Templates:
    status: bytes
    status_response: bytes
    trigger: bytes
    ack: bytes
    nak: bytes
    plates: list[bytes]
    get_picture: bytes
    picture: bytes


def _templates(unit: int) -> _Templates:
    plates = []
    for i, plate in enumerate(("1234KLM", "AB123CD", "9876XYZ", "KA01AB1234", "B-MW 1000")):
        body = LicenseInfo(
            car_id=0,
            trigger_id=0,
            timestamp=0,
            timestamp_usec=250_000,
            detected_chars=plate.replace(" ", "").replace("-", ""),
            qualities=tuple(80 + (i + k) % 20 for k in range(len(plate))),
            grammar_ok=True,
            printable=plate,
            country="ESP" if i % 2 else "DEU",
        )
        plates.append(encode(body, unit_id=unit, id=1))
    jpeg = _jpeg(3000)
    return _Templates(
        status=encode(Status(), unit_id=unit, id=2),
        status_response=encode(StatusResponse(1, 0, 1), unit_id=unit, id=2),
        trigger=encode(Trigger(0), unit_id=unit, id=2),
        ack=encode(Ack(), unit_id=unit, id=2),
        nak=encode(Nak(4, 0), unit_id=unit, id=2),
        plates=plates,
        get_picture=encode(GetPicture(0), unit_id=unit, id=2),
        picture=encode(GetPictureResponse(10, 20, 110, 420, len(jpeg), jpeg), unit_id=unit, id=2),
    )


def _patch(template: bytes, conv_id: int, *values: tuple[int, struct.Struct, int]) -> bytes:
    frame = bytearray(template)
    _U32.pack_into(frame, OFF_ID, conv_id & 0xFFFFFFFF)
    for offset, layout, value in values:
        layout.pack_into(frame, offset, value)
    end = len(frame) - 2
    frame[end] = xor_bcc(bytes(frame[:end]))
    return bytes(frame)


class _Unit:
    """One central-system ↔ unit connection and its counters."""

    def __init__(self, index: int, start_ns: int) -> None:
        self.unit_id = index + 1
        self.conv = TcpConversation(
            (f"10.0.0.{index + 10}", 40000 + index), (f"10.0.1.{index + 10}", PORT)
        )
        self.t = _templates(self.unit_id)
        self.central_id = 0
        self.unit_conv_id = 1
        self.cycle = 0
        self.trigger_id = 0
        self.car_id = 1000 * self.unit_id
        self.start_ns = start_ns

    def exchanges(self, time_ns: int) -> list[tuple[Side, bytes, bool]]:
        """One batch of cycles in conversation order: (sender, frame, is the central's ACK)."""
        t = self.t
        out: list[tuple[Side, bytes, bool]] = []
        seconds = time_ns // 1_000_000_000
        for _ in range(BATCH):
            self.cycle += 1
            self.central_id += 2
            out.append((Side.A, _patch(t.status, self.central_id), False))
            out.append((Side.B, _patch(t.status_response, self.central_id), False))
            self.central_id += 2
            self.trigger_id += 1
            trig = (OFF_DATA, _I32, self.trigger_id)
            out.append((Side.A, _patch(t.trigger, self.central_id, trig), False))
            if self.cycle % NAK_EVERY == 0:
                out.append((Side.B, _patch(t.nak, self.central_id), False))
            else:
                out.append((Side.B, _patch(t.ack, self.central_id), False))
                self.car_id += 1
                plate = t.plates[self.cycle % len(t.plates)]
                plate_read = _patch(
                    plate,
                    self.unit_conv_id,
                    (OFF_DATA, _U32, self.car_id),
                    (OFF_DATA + 4, _I32, self.trigger_id),
                    (OFF_DATA + 8, _U32, seconds),
                )
                out.append((Side.B, plate_read, False))
                out.append((Side.A, _patch(t.ack, self.unit_conv_id), True))
                self.unit_conv_id += 2
            if self.cycle % PICTURE_EVERY == 0:
                self.central_id += 2
                get = _patch(t.get_picture, self.central_id, (OFF_DATA, _U32, self.car_id))
                out.append((Side.A, get, False))
                out.append((Side.B, _patch(t.picture, self.central_id), False))
        return out

    def batch(self, time_ns: int) -> tuple[bytes, bytes, bytes, int]:
        """(central bytes, unit bytes, central ACK bytes, messages) for one batch of cycles."""
        exchanges = self.exchanges(time_ns)
        central = b"".join(f for side, f, ack in exchanges if side is Side.A and not ack)
        unit = b"".join(f for side, f, _ack in exchanges if side is Side.B)
        acks = b"".join(f for side, f, ack in exchanges if side is Side.A and ack)
        return central, unit, acks, len(exchanges)


@dataclass(slots=True)
class CaptureInfo:
    """What was generated."""

    path: Path
    messages: int
    packets: int
    stream_bytes: int
    file_bytes: int
    duration_s: float


def generate(
    path: Path, messages: int, *, units: int = UNITS, one_per_segment: bool = False
) -> CaptureInfo:
    """Write a pcap of at least ``messages`` SmartLPR messages over ``units`` TCP links.

    By default each side sends a batch of cycles at once (several messages per segment);
    ``one_per_segment`` sends every message on its own, request then reply, ``MESSAGE_STEP_NS``
    apart (one message per TCP segment, except the pictures, which span three).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    links = [_Unit(i, START_NS) for i in range(units)]
    count = 0
    stream_bytes = 0
    now = START_NS
    with CaptureWriter(path, fmt="pcap") as writer:
        for unit in links:
            writer.write_all(unit.conv.open(now))
            now += 1000
        turn = 0
        while count < messages:
            unit = links[turn % units]
            turn += 1
            if one_per_segment:
                exchanges = unit.exchanges(now)
                for step, (side, frame, _ack) in enumerate(exchanges):
                    writer.write_all(unit.conv.send(side, frame, now + step * MESSAGE_STEP_NS))
                    stream_bytes += len(frame)
                count += len(exchanges)
                now += BURST_STEP_NS
                continue
            central, reply, acks, n = unit.batch(now)
            count += n
            stream_bytes += len(central) + len(reply) + len(acks)
            writer.write_all(unit.conv.send(Side.A, central, now))
            writer.write_all(unit.conv.send(Side.B, reply, now + 400_000))
            if acks:
                writer.write_all(unit.conv.send(Side.A, acks, now + 500_000))
            now += BURST_STEP_NS
        for unit in links:
            writer.write_all(unit.conv.close(now))
            now += 1000
        packets = writer.count
    return CaptureInfo(
        path, count, packets, stream_bytes, path.stat().st_size, (now - START_NS) / 1e9
    )
