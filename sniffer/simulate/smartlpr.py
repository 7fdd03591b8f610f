"""SmartLPR simulator: a unit and a central system over real sockets on 127.0.0.1.

Both peers are sans-IO logic classes (``UnitLogic``, ``CentralLogic``) that build every frame
with ``dissectors.smartlpr.codec.encode`` (the construct specs) and parse what they receive with the
dissector's framer and fast path. Two drivers move the bytes:

* **Scenarios** (``camshark simulate smartlpr normal-session --out x.pcapng``): a single
  thread runs both peers on a virtual clock, in time order, over a real TCP connection or a
  real UDP socket pair on 127.0.0.1. Every send is recorded (time, side, bytes) and checked to
  arrive intact at the other end. The pcapng is written with ``sniffer.packet_writer``. Timing
  (seeded latencies from a fixed base time) and the endpoints written to the file (127.0.0.1,
  unit on port 8051, central on 8050 or a fixed client port) are normalised, so regenerating a
  scenario yields the same bytes.
* **Bench** (``--unit-connect HOST:PORT`` / ``--central-listen PORT``): one peer in real time
  against a real central system or unit, optionally recording to ``--out``.

Faults: bad Bcc (answered with NAK 1 and a resend), frames split across sends, garbage bytes,
latency, missing replies, dropped ACKs (event retransmission), NAK 6 with a version
downgrade, busy NAK 4, hardware-mode NAK 3.
"""

from __future__ import annotations

import argparse
import heapq
import io
import random
import selectors
import socket
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw

from dissectors.api import Direction, Frame, Link
from dissectors.smartlpr.codec import encode
from dissectors.smartlpr.framing import SmartLprFramer
from dissectors.smartlpr.records import (
    Ack,
    Body,
    CurrentFrame,
    CurrentFrameResponse,
    GetPicture,
    GetPictureResponse,
    LicenseInfo,
    Nak,
    Ping,
    RawBody,
    SmartLprMessage,
    Status,
    StatusResponse,
    Trigger,
)
from dissectors.smartlpr.tables import MessageClass, MessageType, message_class
from dissectors.smartlpr.wire import parse_message
from sniffer.packet_writer import CaptureWriter, TcpConversation, UdpFlow
from sniffer.sources.base import Side

MS = 1_000_000
BASE_NS = 1_714_557_600_000_000_000
"""2024-05-01 10:00:00 UTC: every scenario starts here."""
UNIT_PORT = 8051
CENTRAL_PORT = 8050
CENTRAL = Side.A
"""The central system is side A (the TCP client); the unit is side B."""
UNIT = Side.B
RECV_TIMEOUT_S = 5.0

# ------------------------------------------------------------------ pictures


def make_jpeg(text: str, size: tuple[int, int] = (160, 48), seed: int = 0) -> bytes:
    """A small, real JPEG (Pillow): a plate-like image with ``text`` on it."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, (235, 235, 225))
    draw = ImageDraw.Draw(image)
    draw.rectangle((2, 2, size[0] - 3, size[1] - 3), outline=(20, 20, 20), width=3)
    draw.rectangle((4, 4, 18, size[1] - 5), fill=(0, 51, 153))
    draw.text((26, size[1] // 2 - 6), text, fill=(10, 10, 10))
    for _ in range(40):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.point((x, y), fill=(rng.randrange(150, 256),) * 3)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


# ------------------------------------------------------------------ actions


@dataclass(slots=True)
class Send:
    """Bytes one peer puts on the wire at ``at_ns``."""

    at_ns: int
    side: Side
    data: bytes
    label: str
    pieces: int = 1
    """Split the frame over this many separate sends (TCP), 1 ms apart."""
    garbage: bytes = b""
    """Junk sent just before the frame, in its own send."""


@dataclass(slots=True)
class Timer:
    """Call ``callback(now_ns)`` at ``at_ns``; it returns more actions."""

    at_ns: int
    callback: Callable[[int], list[Action]]


Action = Send | Timer


# ------------------------------------------------------------------ peers


@dataclass(slots=True)
class _PendingEvent:
    body: Body
    version: int
    retries: int = 0


@dataclass
class UnitLogic:
    """A SmartLPR unit: answers requests, reads plates, sends and retransmits events."""

    unit_id: int = 1
    rng: random.Random = field(default_factory=lambda: random.Random(1))
    hardware_mode: bool = False
    ack_timeout_ns: int = 500 * MS
    max_retries: int = 3
    capture_ns: int = 120 * MS
    silent_ids: set[int] = field(default_factory=set)
    """Central Ids this unit never answers (missing-reply fault)."""
    silent_every: int = 0
    """Bench fault: ignore every n-th central request (0: never)."""
    bad_bcc_ids: set[int] = field(default_factory=set)
    """Event Ids whose first transmission carries a corrupted Bcc."""
    split_ids: set[int] = field(default_factory=set)
    garbage_ids: set[int] = field(default_factory=set)
    plates: list[str] = field(default_factory=lambda: ["1234 ABC", "5678 KLM", "9012 XYZ"])
    next_id: int = 1
    next_car: int = 1001
    capturing_until: int = 0
    pending: dict[int, _PendingEvent] = field(default_factory=dict)
    pictures: dict[int, bytes] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    def latency(self, low_ms: float = 2, high_ms: float = 6) -> int:
        """A seeded processing delay."""
        return int(self.rng.uniform(low_ms, high_ms) * MS)

    def _send(
        self,
        at_ns: int,
        body: Body,
        conv_id: int,
        label: str,
        version: int | None = None,
        bcc: int | None = None,
    ) -> Send:
        data = encode(body, self.unit_id, conv_id, version, bcc=bcc)
        pieces = 3 if conv_id in self.split_ids and label.startswith("LicenseInfo") else 1
        garbage = b""
        if conv_id in self.garbage_ids and label.startswith("LicenseInfo"):
            garbage = bytes([0x00, 0x02, 0xFF, 0x13, 0x37, 0x02, 0x00]) + b"noise"
            self.garbage_ids.discard(conv_id)
        return Send(at_ns, UNIT, data, label, pieces=pieces, garbage=garbage)

    def read_plate(self, now_ns: int, trigger_id: int, version: int = 2) -> list[Action]:
        """Capture, read and report a plate (an event with a new odd Id)."""
        car = self.next_car
        self.next_car += 1
        text = self.plates[(car - 1001) % len(self.plates)]
        chars = text.replace(" ", "").replace("-", "")
        quals = tuple(self.rng.randrange(80, 100) for _ in chars)
        at = now_ns + self.latency(60, 140)
        body = LicenseInfo(
            car_id=car,
            trigger_id=trigger_id,
            timestamp=at // 1_000_000_000,
            timestamp_usec=(at // 1000) % 1_000_000,
            detected_chars=chars,
            qualities=quals,
            grammar_ok=True,
            printable=text,
            country="E",
        )
        self.pictures[car] = make_jpeg(text, seed=car)
        conv_id = self.next_id
        self.next_id += 2
        self.pending[conv_id] = _PendingEvent(body, version)
        return self._event(at, conv_id)

    def _event(self, at_ns: int, conv_id: int) -> list[Action]:
        event = self.pending[conv_id]
        body: Body = event.body
        if event.version != 2 and isinstance(body, LicenseInfo):
            body = _license_info_v1(body)
        bcc = None
        if conv_id in self.bad_bcc_ids:
            self.bad_bcc_ids.discard(conv_id)
            bcc = encode(body, self.unit_id, conv_id, event.version)[-2] ^ 0x5A
        label = f"LicenseInfo v{event.version} id={conv_id} retry={event.retries}"
        send = self._send(at_ns, body, conv_id, label, version=event.version, bcc=bcc)
        retries = event.retries

        def check(now_ns: int) -> list[Action]:
            pending = self.pending.get(conv_id)
            if pending is None or pending.retries != retries:
                return []
            if pending.retries >= self.max_retries:
                self.log.append(f"event {conv_id} given up after {pending.retries} retries")
                del self.pending[conv_id]
                return []
            pending.retries += 1
            return self._event(now_ns, conv_id)

        return [send, Timer(at_ns + self.ack_timeout_ns, check)]

    def on_frame(self, message: SmartLprMessage, now_ns: int) -> list[Action]:
        """React to one frame from the central system."""
        body = message.body
        conv_id = message.id
        at = now_ns + self.latency()
        if not message.bcc_ok:
            return [self._send(at, Nak(1, 0), conv_id, "NAK 1")]
        if message.unit_id != self.unit_id:
            return [self._send(at, Nak(5, 0), conv_id, "NAK 5")]
        cls = message_class(message.type)
        if cls is MessageClass.ACK_NAK:
            return self._on_reply(message, now_ns)
        if conv_id in self.silent_ids or (
            self.silent_every and (conv_id // 2) % self.silent_every == 0
        ):
            self.log.append(f"ignoring {type(body).__name__} id={conv_id}")
            return []
        if isinstance(body, Status):
            return [self._send(at, StatusResponse(1, 0, 1), conv_id, "StatusResponse")]
        if isinstance(body, Ping):
            return [self._send(at, Ack(), conv_id, "ACK (Ping)")]
        if isinstance(body, Trigger):
            if self.hardware_mode:
                return [self._send(at, Nak(3, 0), conv_id, "NAK 3")]
            if now_ns < self.capturing_until:
                return [self._send(at, Nak(4, 0), conv_id, "NAK 4 (busy)")]
            self.capturing_until = now_ns + self.capture_ns
            return [
                self._send(at, Ack(), conv_id, "ACK (Trigger)"),
                *self.read_plate(at, body.trigger_id),
            ]
        if isinstance(body, GetPicture):
            jpeg = self.pictures.get(body.car_id, b"")
            roi = (18, 30, 34, 130) if jpeg else (0, 0, 0, 0)
            reply = GetPictureResponse(*roi, len(jpeg), jpeg)
            return [self._send(at + self.latency(5, 15), reply, conv_id, "GetPictureResponse")]
        if isinstance(body, CurrentFrame):
            jpeg = make_jpeg(f"exp {body.exposure_time_us}", (96, 64), seed=body.exposure_time_us)
            frame_reply = CurrentFrameResponse(len(jpeg), jpeg)
            return [
                self._send(at + self.latency(10, 30), frame_reply, conv_id, "CurrentFrameResponse")
            ]
        return [self._send(at, Nak(0, 0), conv_id, "NAK 0")]

    def _on_reply(self, message: SmartLprMessage, now_ns: int) -> list[Action]:
        event = self.pending.get(message.id)
        if event is None:
            return []
        body = message.body
        if isinstance(body, Nak) and body.code == 6 and event.version > 1:
            event.version -= 1
            event.retries += 1
            self.log.append(f"event {message.id} downgraded to version {event.version}")
            return self._event(now_ns + self.latency(), message.id)
        if isinstance(body, Nak) and body.code in (1, 4):
            event.retries += 1
            return self._event(now_ns + self.latency(), message.id)
        del self.pending[message.id]
        return []


def _license_info_v1(body: LicenseInfo) -> RawBody:
    """A stand-in for LicenseInfo v1, whose layout is not public: v2 minus printable/country."""
    v2 = encode(body, 1, 1)[17:-2]
    return RawBody(MessageType.LICENSE_INFO, v2[:97])


@dataclass
class CentralLogic:
    """A central system: sends requests with even Ids, ACKs events, can refuse or drop."""

    unit_id: int = 1
    rng: random.Random = field(default_factory=lambda: random.Random(2))
    refuse_versions_above: int | None = None
    """NAK 6 for LicenseInfo versions above this (version negotiation fault)."""
    drop_event_ids: dict[int, int] = field(default_factory=dict)
    """Event Id → how many transmissions to ignore (dropped ACK → retransmission)."""
    drop_every: int = 0
    """Bench fault: ignore the first transmission of every n-th event (0: never)."""
    seen_events: set[int] = field(default_factory=set)
    next_id: int = 2
    received: list[SmartLprMessage] = field(default_factory=list)
    cars: list[int] = field(default_factory=list)

    def request(
        self,
        at_ns: int,
        body: Body,
        *,
        bad_bcc: bool = False,
        pieces: int = 1,
        garbage: bytes = b"",
    ) -> list[Action]:
        """Send a request with a fresh even Id."""
        conv_id = self.next_id
        self.next_id += 2
        data = encode(body, self.unit_id, conv_id)
        label = f"{type(body).__name__} id={conv_id}"
        if bad_bcc:
            data = data[:-2] + bytes([data[-2] ^ 0xFF]) + data[-1:]

            def resend(now_ns: int) -> list[Action]:
                if any(m.id == conv_id and isinstance(m.body, Nak) for m in self.received):
                    good = encode(body, self.unit_id, conv_id)
                    return [Send(now_ns, CENTRAL, good, label + " (resent)")]
                return []

            return [
                Send(at_ns, CENTRAL, data, label + " (bad Bcc)", pieces, garbage),
                Timer(at_ns + 50 * MS, resend),
            ]
        return [Send(at_ns, CENTRAL, data, label, pieces, garbage)]

    def on_frame(self, message: SmartLprMessage, now_ns: int) -> list[Action]:
        """React to one frame from the unit."""
        self.received.append(message)
        at = now_ns + int(self.rng.uniform(1, 3) * MS)
        if not message.bcc_ok:
            return [Send(at, CENTRAL, encode(Nak(1, 0), self.unit_id, message.id), "NAK 1")]
        if message_class(message.type) is not MessageClass.EVENT:
            return []
        if self.drop_every and message.id not in self.seen_events:
            self.seen_events.add(message.id)
            if ((message.id + 1) // 2) % self.drop_every == 0:
                return []
        drops = self.drop_event_ids.get(message.id, 0)
        if drops:
            self.drop_event_ids[message.id] = drops - 1
            return []
        limit = self.refuse_versions_above
        if (
            message.type == MessageType.LICENSE_INFO
            and limit is not None
            and message.version > limit
        ):
            return [Send(at, CENTRAL, encode(Nak(6, 0), self.unit_id, message.id), "NAK 6")]
        if isinstance(message.body, LicenseInfo):
            self.cars.append(message.body.car_id)
        return [Send(at, CENTRAL, encode(Ack(), self.unit_id, message.id), "ACK")]


# ------------------------------------------------------------------ wire (real sockets)


@dataclass(frozen=True, slots=True)
class Sent:
    """One recorded send: what went over the socket, when (virtual clock), from which side."""

    time_ns: int
    side: Side
    data: bytes


class LoopbackWire:
    """A real TCP connection or UDP socket pair on 127.0.0.1 between central and unit."""

    def __init__(self, transport: str) -> None:
        self.transport = transport
        self.socks: dict[Side, socket.socket] = {}
        if transport == "tcp":
            server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            server.bind(("127.0.0.1", 0))
            server.listen(1)
            client = socket.create_connection(server.getsockname(), timeout=RECV_TIMEOUT_S)
            accepted, _ = server.accept()
            server.close()
            self.socks = {CENTRAL: client, UNIT: accepted}
        elif transport == "udp":
            central = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            unit = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            central.bind(("127.0.0.1", 0))
            unit.bind(("127.0.0.1", 0))
            central.connect(unit.getsockname())
            unit.connect(central.getsockname())
            self.socks = {CENTRAL: central, UNIT: unit}
        else:
            raise ValueError(f"unknown transport {transport!r}")
        for sock in self.socks.values():
            sock.settimeout(RECV_TIMEOUT_S)

    def carry(self, side: Side, data: bytes) -> bytes:
        """Send ``data`` from ``side``; return what the other side received."""
        sender, receiver = self.socks[side], self.socks[Side(1 - side)]
        if self.transport == "udp":
            sender.send(data)
            return receiver.recv(65535)
        sender.sendall(data)
        got = bytearray()
        while len(got) < len(data):
            piece = receiver.recv(len(data) - len(got))
            if not piece:
                raise ConnectionError("peer closed the connection")
            got += piece
        return bytes(got)

    def close(self) -> None:
        """Close both sockets."""
        for sock in self.socks.values():
            sock.close()


# ------------------------------------------------------------------ scenario driver


@dataclass
class Simulation:
    """Both peers, the wire and the virtual clock of one scenario run."""

    transport: str
    unit: UnitLogic
    central: CentralLogic
    sent: list[Sent] = field(default_factory=list)
    _queue: list[tuple[int, int, Action]] = field(default_factory=list)
    _seq: int = 0

    def schedule(self, actions: Iterable[Action]) -> None:
        """Queue actions by time (ties keep their order)."""
        for action in actions:
            self._seq += 1
            heapq.heappush(self._queue, (action.at_ns, self._seq, action))

    def run(self) -> list[Sent]:
        """Play everything queued over real sockets; returns the recording."""
        wire = LoopbackWire(self.transport)
        link = Link(0, self.transport, "central", "unit")
        framers = {
            CENTRAL: SmartLprFramer(link, Direction.TO_DEVICE),
            UNIT: SmartLprFramer(link, Direction.FROM_DEVICE),
        }
        try:
            while self._queue:
                now, _seq, action = heapq.heappop(self._queue)
                if isinstance(action, Timer):
                    self.schedule(action.callback(now))
                    continue
                for at, data in _pieces(action, self.transport):
                    received = wire.carry(action.side, data)
                    if received != data:
                        raise ConnectionError("the socket changed the bytes")
                    self.sent.append(Sent(at, action.side, data))
                    framer = framers[action.side]
                    items = list(framer.feed(received, at))
                    if self.transport == "udp":
                        items += list(framer.flush())
                    for item in items:
                        if isinstance(item, Frame):
                            self._deliver(Side(1 - action.side), item.data, at)
        finally:
            wire.close()
        return self.sent

    def _deliver(self, to_side: Side, data: bytes, now_ns: int) -> None:
        message = parse_message(data)
        peer = self.unit if to_side is UNIT else self.central
        self.schedule(peer.on_frame(message, now_ns))


def _pieces(send: Send, transport: str) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    at = send.at_ns
    if send.garbage:
        out.append((at, send.garbage))
        at += MS
    count = send.pieces if transport == "tcp" else 1
    step = -(-len(send.data) // count)
    for index in range(count):
        piece = send.data[index * step : (index + 1) * step]
        if piece:
            out.append((at + index * MS, piece))
    return out


# ------------------------------------------------------------------ scenarios


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named, deterministic session."""

    name: str
    transport: str
    description: str
    build: Callable[[Simulation], None]


def _read_at(
    sim: Simulation, at_ns: int, fault: Callable[[UnitLogic, CentralLogic, int], None] | None = None
) -> None:
    """A hardware-loop plate read at ``at_ns``; ``fault`` may mark the event's Id first."""

    def fire(now_ns: int) -> list[Action]:
        if fault is not None:
            fault(sim.unit, sim.central, sim.unit.next_id)
        return sim.unit.read_plate(now_ns, -1)

    sim.schedule([Timer(at_ns, fire)])


def _normal(sim: Simulation) -> None:
    c, t = sim.central, BASE_NS
    sim.schedule(c.request(t, Ping(CENTRAL_PORT)))
    sim.schedule(c.request(t + 100 * MS, Status()))
    sim.schedule(c.request(t + 300 * MS, Trigger(1)))
    sim.schedule(c.request(t + 900 * MS, GetPicture(1001)))
    sim.schedule(c.request(t + 1200 * MS, Trigger(2)))
    _read_at(sim, t + 1250 * MS)  # a hardware-loop read between a request and its reply
    sim.schedule(c.request(t + 1800 * MS, GetPicture(1002)))
    sim.schedule(c.request(t + 2100 * MS, CurrentFrame(2000)))
    sim.schedule(c.request(t + 2500 * MS, Status()))


def _faults(sim: Simulation) -> None:
    c, u, t = sim.central, sim.unit, BASE_NS
    # garbage before a request
    sim.schedule(c.request(t, Ping(CENTRAL_PORT), garbage=b"\x00\x02\x02junk\x03"))
    # bad Bcc on a central request: the unit answers NAK 1, the central resends
    sim.schedule(c.request(t + 100 * MS, Status(), bad_bcc=True))
    # a request split over three sends
    sim.schedule(c.request(t + 500 * MS, Trigger(11), pieces=3))
    # busy: a second Trigger while the first capture runs -> NAK 4
    sim.schedule(c.request(t + 540 * MS, Trigger(12)))
    # event with a bad Bcc: central NAK 1, unit resends
    _read_at(sim, t + 1000 * MS, lambda unit, _c, eid: unit.bad_bcc_ids.add(eid))
    # dropped ACK: the central ignores the event once, the unit retransmits it
    _read_at(sim, t + 1600 * MS, lambda _u, central, eid: central.drop_event_ids.update({eid: 1}))
    # a request the unit never answers
    u.silent_ids.add(c.next_id)
    sim.schedule(c.request(t + 3000 * MS, Status()))
    # NAK 6: the central refuses LicenseInfo v2 for a while, the unit downgrades to v1
    sim.schedule([Timer(t + 5500 * MS, lambda _now: _refuse(c))])
    _read_at(sim, t + 5600 * MS)
    sim.schedule([Timer(t + 6500 * MS, lambda _now: _accept(c))])
    # an event split over three sends, and garbage before an event
    _read_at(sim, t + 7000 * MS, lambda unit, _c, eid: unit.split_ids.add(eid))
    _read_at(sim, t + 7500 * MS, lambda unit, _c, eid: unit.garbage_ids.add(eid))
    # GetPicture for a car the unit never read: ImageSize 0
    sim.schedule(c.request(t + 8200 * MS, GetPicture(4242)))


def _refuse(central: CentralLogic) -> list[Action]:
    central.refuse_versions_above = 1
    return []


def _accept(central: CentralLogic) -> list[Action]:
    central.refuse_versions_above = None
    return []


def _udp(sim: Simulation) -> None:
    c, t = sim.central, BASE_NS
    sim.schedule(c.request(t, Ping(CENTRAL_PORT)))
    sim.schedule(c.request(t + 100 * MS, Status()))
    _read_at(sim, t + 200 * MS)
    sim.schedule(c.request(t + 600 * MS, Trigger(21)))
    sim.schedule(c.request(t + 1200 * MS, GetPicture(1001)))
    sim.schedule(c.request(t + 1500 * MS, CurrentFrame(1500)))


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "normal-session",
            "tcp",
            "Ping, Status, Triggers with plate reads, GetPicture, CurrentFrame",
            _normal,
        ),
        Scenario(
            "faults",
            "tcp",
            "bad Bcc + NAK 1, garbage, split frames, retransmission, unanswered, NAK 6, NAK 4",
            _faults,
        ),
        Scenario(
            "udp-session",
            "udp",
            "UDP 8051/8050: Ping, Status, plate event, Trigger, GetPicture, CurrentFrame",
            _udp,
        ),
    )
}


def simulate(name: str, seed: int = 1) -> list[Sent]:
    """Run scenario ``name`` over real sockets; returns what went over them."""
    scenario = SCENARIOS[name]
    sim = Simulation(
        scenario.transport,
        UnitLogic(rng=random.Random(seed)),
        CentralLogic(rng=random.Random(seed + 1)),
    )
    scenario.build(sim)
    return sim.run()


def write_capture(
    sent: list[Sent],
    transport: str,
    path: str | Path,
    comment: str = "",
    *,
    central: tuple[str, int] | None = None,
    unit: tuple[str, int] = ("127.0.0.1", UNIT_PORT),
    unit_is_client: bool = False,
) -> int:
    """Write the recording as a pcapng with real-looking TCP or UDP packets.

    ``central`` defaults to 127.0.0.1 port 40001 (TCP client) or 8050 (UDP). Over TCP the
    client opens the connection: the central system unless ``unit_is_client``.
    """
    packets: list[tuple[int, bytes]] = []
    if transport == "tcp":
        central = central or ("127.0.0.1", 40001)
        client, server = (unit, central) if unit_is_client else (central, unit)
        conv = TcpConversation(client, server)
        first = sent[0].time_ns if sent else BASE_NS
        packets += conv.open(first - 3 * MS)
        for item in sent:
            side = Side(1 - item.side) if unit_is_client else item.side
            packets += conv.send(side, item.data, item.time_ns)
        last = sent[-1].time_ns if sent else BASE_NS
        packets += conv.close(last + 10 * MS)
    else:
        flow = UdpFlow(central or ("127.0.0.1", CENTRAL_PORT), unit)
        packets += [flow.datagram(item.side, item.data, item.time_ns) for item in sent]
    with CaptureWriter(path, comment=comment or None) as writer:
        writer.write_all(packets)
        return writer.count


# ------------------------------------------------------------------ bench mode (real time)


def _endpoint(address: tuple[str, int] | tuple[str, int, int, int]) -> tuple[str, int]:
    return address[0], address[1]


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


class BenchPeer:
    """Runs one peer in real time against a real socket, recording with wall-clock times."""

    def __init__(self, sock: socket.socket, side: Side, transport: str) -> None:
        self.sock = sock
        self.side = side
        self.transport = transport
        self.sent: list[Sent] = []
        self.queue: list[tuple[int, int, Action]] = []
        self.seq = 0
        link = Link(0, transport, "local", "peer")
        direction = Direction.TO_DEVICE if side is UNIT else Direction.FROM_DEVICE
        self.framer = SmartLprFramer(link, direction)

    def schedule(self, actions: Iterable[Action]) -> None:
        """Queue actions by wall-clock time."""
        for action in actions:
            self.seq += 1
            heapq.heappush(self.queue, (action.at_ns, self.seq, action))

    def run(self, handler: Callable[[SmartLprMessage, int], list[Action]], until_ns: int) -> None:
        """Send due actions, feed what arrives to ``handler``, until ``until_ns``."""
        selector = selectors.DefaultSelector()
        self.sock.settimeout(RECV_TIMEOUT_S)  # sends may block briefly; reads wait on select
        selector.register(self.sock, selectors.EVENT_READ)
        try:
            self._loop(selector, handler, until_ns)
        except (BrokenPipeError, ConnectionResetError, ConnectionRefusedError) as error:
            # the real peer went away: what was exchanged so far is still worth recording
            print(f"peer gone: {error}", file=sys.stderr)
        finally:
            selector.close()

    def _loop(
        self,
        selector: selectors.BaseSelector,
        handler: Callable[[SmartLprMessage, int], list[Action]],
        until_ns: int,
    ) -> None:
        while (now := time.time_ns()) < until_ns:
            while self.queue and self.queue[0][0] <= now:
                _t, _s, action = heapq.heappop(self.queue)
                if isinstance(action, Timer):
                    self.schedule(action.callback(now))
                    continue
                for _at, data in _pieces(action, self.transport):
                    if self.transport == "tcp":
                        self.sock.sendall(data)
                    else:
                        self.sock.send(data)
                    self.sent.append(Sent(time.time_ns(), action.side, data))
            next_due = self.queue[0][0] if self.queue else until_ns
            wait_s = max(0.0, min(next_due, until_ns) - time.time_ns()) / 1e9
            for _key, _mask in selector.select(timeout=min(wait_s, 0.5)):
                data = self.sock.recv(65535)
                if not data:
                    return
                arrived = time.time_ns()
                self.sent.append(Sent(arrived, Side(1 - self.side), data))
                items = list(self.framer.feed(data, arrived))
                if self.transport == "udp":
                    items += list(self.framer.flush())
                for item in items:
                    if isinstance(item, Frame):
                        self.schedule(handler(parse_message(item.data), arrived))


def run_bench(args: argparse.Namespace) -> int:
    """Act as a unit or a central system against a real peer."""
    transport = args.transport
    if args.unit_connect:
        host, port = _host_port(args.unit_connect)
        if transport == "tcp":
            sock = socket.create_connection((host, port), timeout=RECV_TIMEOUT_S)
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("0.0.0.0", args.listen_port))  # noqa: S104 - a bench unit listens
            sock.connect((host, port))
        now = time.time_ns()
        until = now + int(args.duration * 1e9)
        unit = UnitLogic(unit_id=args.unit_id, rng=random.Random(args.seed))
        faults = set(args.fault or ())
        unit.hardware_mode = "hardware" in faults
        if "busy" in faults:
            unit.capture_ns = 10 * 1_000_000_000
        if "silent" in faults:
            unit.silent_every = 3
        peer = BenchPeer(sock, UNIT, transport)
        interval = int(args.interval * 1e9)
        peer.schedule([Timer(now + interval, _plate_timer(unit, faults, interval))])
        peer.run(unit.on_frame, until)
    else:
        port = args.central_listen
        if transport == "tcp":
            server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("0.0.0.0", port))  # noqa: S104 - a bench central system listens
            server.listen(1)
            server.settimeout(args.duration)
            print(f"central system listening on tcp port {port}", file=sys.stderr)
            sock, address = server.accept()
            server.close()
            print(f"unit connected from {address[0]}:{address[1]}", file=sys.stderr)
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("0.0.0.0", port))  # noqa: S104
            host, unit_port = _host_port(args.unit_address)
            sock.connect((host, unit_port))
        now = time.time_ns()
        until = now + int(args.duration * 1e9)
        central = CentralLogic(unit_id=args.unit_id, rng=random.Random(args.seed))
        faults = set(args.fault or ())
        if "nak6" in faults:
            central.refuse_versions_above = 1
        if "drop-ack" in faults:
            central.drop_every = 2
        peer = BenchPeer(sock, CENTRAL, transport)
        interval = int(args.interval * 1e9)
        peer.schedule([Timer(now + interval, _request_timer(central, faults, port, interval))])
        peer.run(central.on_frame, until)
    local, remote = _endpoint(sock.getsockname()), _endpoint(sock.getpeername())
    sock.close()
    print(f"{len(peer.sent)} chunks exchanged", file=sys.stderr)
    if args.out:
        is_unit = bool(args.unit_connect)
        count = write_capture(
            peer.sent,
            transport,
            args.out,
            "camshark smartlpr bench",
            central=remote if is_unit else local,
            unit=local if is_unit else remote,
            unit_is_client=is_unit,
        )
        print(f"wrote {count} packets to {args.out}", file=sys.stderr)
    return 0


def _plate_timer(
    unit: UnitLogic, faults: set[str], interval_ns: int
) -> Callable[[int], list[Action]]:
    """A plate read every ``interval_ns``, with the bench faults asked for."""
    count = 0

    def fire(now_ns: int) -> list[Action]:
        nonlocal count
        count += 1
        event_id = unit.next_id
        if "bad-bcc" in faults and count % 3 == 0:
            unit.bad_bcc_ids.add(event_id)
        if "split" in faults:
            unit.split_ids.add(event_id)
        if "garbage" in faults and count % 4 == 0:
            unit.garbage_ids.add(event_id)
        return [*unit.read_plate(now_ns, -1), Timer(now_ns + interval_ns, fire)]

    return fire


def _request_timer(
    central: CentralLogic, faults: set[str], port: int, interval_ns: int
) -> Callable[[int], list[Action]]:
    """A central request every ``interval_ns``: Status, Trigger, CurrentFrame, Ping in turn."""
    count = 0

    def fire(now_ns: int) -> list[Action]:
        nonlocal count
        count += 1
        bodies: list[Body] = [Ping(port), Status(), Trigger(count), CurrentFrame(2000)]
        body = bodies[count % len(bodies)]
        bad = "bad-bcc" in faults and count % 3 == 0
        pieces = 3 if "split" in faults else 1
        actions = central.request(now_ns, body, bad_bcc=bad, pieces=pieces)
        return [*actions, Timer(now_ns + interval_ns, fire)]

    return fire


UNIT_FAULTS = ("bad-bcc", "split", "garbage", "silent", "busy", "hardware")
CENTRAL_FAULTS = ("bad-bcc", "split", "nak6", "drop-ack")


# ------------------------------------------------------------------ CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``camshark simulate smartlpr``."""
    parser.description = "Simulated SmartLPR unit and central system over real sockets."
    parser.add_argument("scenario", nargs="?", help="scenario name (see --list)")
    parser.add_argument("--list", action="store_true", help="list the scenarios")
    parser.add_argument("--out", "-o", help="pcapng file to write")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    bench = parser.add_argument_group("bench mode: one simulated peer against a real one")
    bench.add_argument("--unit-connect", metavar="HOST:PORT", help="act as a unit")
    bench.add_argument("--central-listen", metavar="PORT", type=int, help="act as a central system")
    bench.add_argument("--transport", choices=("tcp", "udp"), default="tcp")
    bench.add_argument("--duration", type=float, default=60.0, help="seconds to run")
    bench.add_argument("--interval", type=float, default=2.0, help="seconds between actions")
    bench.add_argument("--unit-id", type=int, default=1)
    bench.add_argument(
        "--fault",
        action="append",
        choices=sorted({*UNIT_FAULTS, *CENTRAL_FAULTS}),
        help="inject a fault (repeatable). unit: bad-bcc (every 3rd event), split, garbage, "
        "silent (every 3rd request), busy (NAK 4), hardware (NAK 3); central: bad-bcc, "
        "split, nak6 (refuse LicenseInfo v2), drop-ack (every 2nd event)",
    )
    bench.add_argument(
        "--listen-port", type=int, default=UNIT_PORT, help="udp unit: local port (8051)"
    )
    bench.add_argument(
        "--unit-address",
        default=f"127.0.0.1:{UNIT_PORT}",
        metavar="HOST:PORT",
        help="udp central: where the unit listens",
    )


def run(args: argparse.Namespace) -> int:
    """Entry point of ``camshark simulate smartlpr``; returns the exit code."""
    if args.list:
        for known in SCENARIOS.values():
            print(f"{known.name:16} {known.transport}  {known.description}")
        return 0
    if args.unit_connect or args.central_listen:
        try:
            return run_bench(args)
        except OSError as error:  # refused, unreachable, no unit connected in time
            print(f"error: {error}", file=sys.stderr)
            return 1
    if not args.scenario:
        print("error: name a scenario (--list shows them)", file=sys.stderr)
        return 2
    scenario = SCENARIOS.get(args.scenario)
    if scenario is None:
        names = ", ".join(SCENARIOS)
        print(f"error: unknown scenario {args.scenario!r} (known: {names})", file=sys.stderr)
        return 2
    sent = simulate(scenario.name, args.seed)
    out = args.out or f"{scenario.name}.pcapng"
    count = write_capture(
        sent, scenario.transport, out, f"camshark smartlpr simulator: {scenario.name}"
    )
    print(f"{scenario.name}: {len(sent)} sends, {count} packets written to {out}")
    return 0
