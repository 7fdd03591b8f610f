"""DualCam simulator: a tracker uploading photos and videos to a camera server, over real TCP.

Both peers are sans-IO logic classes (``DeviceLogic``, ``ServerLogic``) that build every frame
with ``dissectors.dualcam.encode`` (the construct specs) and cut what they receive with the
dissector's own framer. Two drivers move the bytes:

* **Scenarios** (``camshark simulate dualcam photo-upload --out x.pcapng``): one thread runs
  both peers on a virtual clock over a real TCP connection on 127.0.0.1. Every send crosses
  the socket and is checked to arrive intact; it is recorded with its virtual time and written
  to pcapng with ``sniffer.packet_writer`` (device 127.0.0.1:40000, server 127.0.0.1:5232,
  1360-byte segments as on the cellular links of the real logs). Times start at a fixed base
  and pictures are seeded, so regenerating a scenario gives the same file.
* **Bench** (``--device-connect HOST:PORT`` / ``--server-listen PORT``): one peer in real time
  against a real camera server or tracker, optionally recording to ``--out``.

Faults: corrupted CRC (the server RESUMEs, frames in flight are ignored, the device SYNCs and
resends), bytes dropped inside a DATA frame (junk on the wire, as in the real video log),
disconnect mid-file, bare server commands (``00 09``, ``00 05``, ``00 00``), START never
answered (the device repeats START, then gives up).

``--from-real-log FILE.json --out X.pcapng`` turns a real device log (one entry per server
read, device direction only) into a capture with the same read boundaries.
"""

from __future__ import annotations

import argparse
import heapq
import io
import json
import random
import selectors
import socket
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from dissectors.api import Direction, Frame, Junk, Link
from dissectors.checksums import crc16_kermit
from dissectors.dualcam import encode
from dissectors.dualcam.decode import decode
from dissectors.dualcam.framing import DualCamFramer
from dissectors.dualcam.records import (
    DualCamData,
    DualCamInit,
    DualCamMetadata,
    DualCamResume,
    DualCamStart,
    DualCamStatus,
    DualCamSync,
    DualCamText,
)
from dissectors.dualcam.tables import IDENTIFIERS, PACKET_SIZE, Settings
from sniffer.packet_writer import CaptureWriter, TcpConversation
from sniffer.sources.base import Side

MS = 1_000_000
BASE_NS = 1_730_288_100_000_000_000
"""2024-10-30 11:35:00 UTC: every scenario starts here."""
DEVICE = Side.A
"""The tracker is the TCP client (side A); the camera server is side B."""
SERVER = Side.B
DEVICE_ADDR = ("127.0.0.1", 40000)
SERVER_ADDR = ("127.0.0.1", 5232)
SEGMENT = 1360
"""TCP segment size of the recorded device stream (the real logs show 1360-byte reads)."""
ONE_WAY_MS = 150
"""Virtual network latency (cellular)."""
DATA_INTERVAL_MS = 280
"""Time between DATA frames (median of the real photo uploads)."""
IMEI = 863719061653375
RECV_TIMEOUT_S = 5.0

# ------------------------------------------------------------------ files


def make_jpeg(label: str, seed: int, size: tuple[int, int] = (320, 240)) -> bytes:
    """A small real JPEG (Pillow) with a seeded pattern and a label."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randrange(256), 90, 160))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.rectangle((x, y, x + rng.randrange(8, 60), y + rng.randrange(8, 40)), fill=colour)
    draw.text((10, 10), label, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _ptmf_record(kind: bytes, sequence: int, payload: bytes, timestamp_us: int) -> bytes:
    header = struct.pack(
        "<4sBc2sHHH10sII4s",
        b"PTMF",
        3 if kind == b"I" else 0,
        kind,
        b"\x00\x14",
        1280,
        720,
        sequence,
        bytes(10),
        len(payload),
        timestamp_us,
        bytes(4),
    )
    return header + payload


def make_ptmf(seconds: int, seed: int, fps: int = 20) -> bytes:
    """A small synthetic PTMF video: H.265-shaped I/P records and 40 ms 'A' audio records."""
    rng = random.Random(seed)
    start_code = b"\x00\x00\x00\x01"
    records: list[tuple[int, bytes]] = []
    sequence = 0
    for frame in range(seconds * fps):
        stamp = frame * 1_000_000 // fps
        if frame % fps == 0:
            nals = [b"\x40\x01", b"\x42\x01", b"\x44\x01", b"\x26\x01"]  # VPS SPS PPS IDR
            body = b"".join(
                start_code + n + rng.randbytes(40 if n != b"\x26\x01" else 2500) for n in nals
            )
            records.append((stamp, _ptmf_record(b"I", sequence, body, stamp)))
        else:
            body = start_code + b"\x02\x01" + rng.randbytes(rng.randrange(300, 700))
            records.append((stamp, _ptmf_record(b"P", sequence, body, stamp)))
        sequence += 1
    for index in range(seconds * 25):
        stamp = index * 40_000
        audio = b"\x00\x01\xa0\x00" + rng.randbytes(320)
        records.append((stamp, _ptmf_record(b"A", sequence + index, audio, stamp)))
    records.sort(key=lambda item: item[0])
    return b"".join(record for _, record in records)


@dataclass
class Upload:
    """A file the device has pending."""

    identifier: str
    """``%photof``, ``%photor``, ``%videof`` or ``%videor``."""
    data: bytes
    timestamp_ms: int
    duration_s: int = 0
    fps: int = 0

    @property
    def bit(self) -> int:
        kind, camera = IDENTIFIERS[self.identifier]
        return {
            ("photo", "front"): Settings.PHOTO_FRONT,
            ("photo", "rear"): Settings.PHOTO_REAR,
            ("video", "front"): Settings.VIDEO_FRONT,
            ("video", "rear"): Settings.VIDEO_REAR,
        }[(kind, camera)]

    @property
    def packets(self) -> int:
        return -(-len(self.data) // PACKET_SIZE)

    def metadata(self) -> bytes:
        kind, camera = IDENTIFIERS[self.identifier]
        file_type = {"photo": 0x04, "video": 0x10}[kind] << (camera == "rear")
        return encode.metadata(
            file_type=file_type,
            timestamp_ms=self.timestamp_ms,
            duration_s=self.duration_s,
            fps=self.fps,
            timezone_min=120,
            latitude=54.687157,
            longitude=25.279652,
        )


# ------------------------------------------------------------------ actions


@dataclass(frozen=True)
class Send:
    """Write ``data`` after ``delay_ms``."""

    data: bytes
    delay_ms: int = 0


@dataclass(frozen=True)
class Timer:
    """Call the peer's ``on_timer(token)`` after ``delay_ms``."""

    token: tuple[object, ...]
    delay_ms: int


@dataclass(frozen=True)
class Close:
    """Close the connection after ``delay_ms``."""

    delay_ms: int = 0


@dataclass(frozen=True)
class Deliver:
    """Bytes that crossed the socket reach the peer (scheduled at the virtual arrival time)."""

    data: bytes
    delay_ms: int = 0


Action = Send | Timer | Close


@dataclass
class DeviceFaults:
    """Tracker-side fault injection (packet numbers are 1-based, first pass only)."""

    corrupt_packet: int | None = None
    drop_bytes_packet: int | None = None
    drop_bytes: int = 300
    disconnect_after_packet: int | None = None
    start_repeats: int = 3
    start_repeat_ms: int = 5000


class DeviceLogic:
    """The tracker: INIT, answers FILE_REQUEST/METADATA_REQUEST, streams DATA from SYNC."""

    def __init__(self, uploads: list[Upload], faults: DeviceFaults | None = None) -> None:
        self.pending = list(uploads)
        self.faults = faults or DeviceFaults()
        self.framer = DualCamFramer(Link(0, "tcp", "device", "server"), Direction.TO_DEVICE)
        self.current: Upload | None = None
        self.epoch = 0
        self.crc = 0
        self.starts = 0
        self.faulted: set[str] = set()

    def settings(self) -> int:
        bits = Settings.BIT30 | Settings.BIT10
        for upload in self.pending:
            bits |= upload.bit
        return int(bits)

    def begin(self) -> list[Action]:
        return [Send(encode.init(IMEI, self.settings()))]

    def on_bytes(self, data: bytes, now_ns: int) -> list[Action]:
        out: list[Action] = []
        for item in self.framer.feed(data, now_ns):
            if isinstance(item, Frame):
                out += self._on_frame(item)
        return out

    def _find(self, identifier: str) -> Upload | None:
        return next((u for u in self.pending if u.identifier == identifier), None)

    def _on_frame(self, frame: Frame) -> list[Action]:
        dissection = decode(frame)
        message = dissection.message
        kind = dissection.type
        if kind == "METADATA_REQUEST" and isinstance(message, DualCamText):
            upload = self._find(message.text)
            return [Send(upload.metadata(), 900)] if upload else []
        if kind == "FILE_REQUEST" and isinstance(message, DualCamText):
            upload = self._find(message.text)
            if upload is None:
                return [Send(encode.status(17), 300)]
            self.current = upload
            self.starts = 1
            return [
                Send(encode.start(upload.packets), 400),
                Timer(("start", self.epoch), 400 + self.faults.start_repeat_ms),
            ]
        if kind == "RESUME" and isinstance(message, DualCamResume):
            self.epoch += 1
            self.crc = 0
            packet = max(message.offset, 1)
            return [Send(encode.sync(packet), 350), Timer(("data", self.epoch, packet), 630)]
        if kind == "REPEAT_INIT":
            if self.current in self.pending:
                self.pending.remove(self.current)
            self.current = None
            self.epoch += 1
            return [Send(encode.init(IMEI, self.settings()), 470)]
        if kind in ("CLOSE", "COMPLETE"):
            self.epoch += 1
            return [Close(100)]
        return []

    def on_timer(self, token: tuple[object, ...]) -> list[Action]:
        if token[1] != self.epoch or self.current is None:
            return []
        upload = self.current
        if token[0] == "start":
            if self.starts > self.faults.start_repeats:
                return [Close(500)]
            self.starts += 1
            return [
                Send(encode.start(upload.packets)),
                Timer(("start", self.epoch), self.faults.start_repeat_ms),
            ]
        packet = token[2]
        assert isinstance(packet, int)
        chunk = upload.data[(packet - 1) * PACKET_SIZE : packet * PACKET_SIZE]
        if not chunk:
            return []
        self.crc = crc16_kermit(chunk, self.crc)
        wire = encode.data(chunk, self.crc)
        faults = self.faults
        if packet == faults.corrupt_packet and "corrupt" not in self.faulted:
            self.faulted.add("corrupt")
            spoiled = bytearray(wire)
            spoiled[4 + len(chunk) // 2] ^= 0x5A  # the CRC was computed on the good bytes
            wire = bytes(spoiled)
        if packet == faults.drop_bytes_packet and "drop" not in self.faulted:
            self.faulted.add("drop")
            middle = 4 + len(chunk) // 3
            wire = wire[:middle] + wire[middle + faults.drop_bytes :]
        out: list[Action] = [Send(wire)]
        if packet == faults.disconnect_after_packet and "disconnect" not in self.faulted:
            self.faulted.add("disconnect")
            return [*out, Close(50)]
        out.append(Timer(("data", self.epoch, packet + 1), DATA_INTERVAL_MS))
        return out


@dataclass
class ServerOptions:
    """Camera-server behaviour."""

    metadata: bool = True
    bare_repeat_init: bool = True
    bare_close: bool = False
    complete_instead_of_close: bool = False
    answer_start: bool = True
    resume_first: int = 1
    resume_retry_ms: int = 2000
    goodbye: tuple[bytes, ...] = ()
    """Commands sent (100 ms apart) when nothing is pending, instead of the usual CLOSE."""


@dataclass
class ReceivedFile:
    """What the simulated server stored."""

    identifier: str
    count: int
    data: bytearray = field(default_factory=bytearray)
    complete: bool = False
    crc_errors: int = 0
    resumes: int = 0


class ServerLogic:
    """The camera server: requests pending files, verifies the CRC chain, RESUMEs on errors."""

    PREFERENCE = (
        (Settings.VIDEO_REAR, "%videor"),
        (Settings.VIDEO_FRONT, "%videof"),
        (Settings.PHOTO_REAR, "%photor"),
        (Settings.PHOTO_FRONT, "%photof"),
    )

    def __init__(self, options: ServerOptions | None = None) -> None:
        self.options = options or ServerOptions()
        self.framer = DualCamFramer(Link(0, "tcp", "device", "server"), Direction.FROM_DEVICE)
        self.files: list[ReceivedFile] = []
        self.current: ReceivedFile | None = None
        self.identifier = ""
        self.accepting = False
        self.packet = 1
        self.crc = 0
        self.epoch = 0

    def begin(self) -> list[Action]:
        return []

    def on_bytes(self, data: bytes, now_ns: int) -> list[Action]:
        out: list[Action] = []
        for item in self.framer.feed(data, now_ns):
            if isinstance(item, Junk):
                out += self._lost()
            else:
                out += self._on_frame(item)
        return out

    def _close(self) -> bytes:
        if self.options.complete_instead_of_close:
            return encode.status(0)
        return encode.close(bare=self.options.bare_close)

    def _on_frame(self, frame: Frame) -> list[Action]:
        dissection = decode(frame)
        message = dissection.message
        kind = dissection.type
        if kind == "INIT" and isinstance(message, DualCamInit):
            for bit, identifier in self.PREFERENCE:
                if message.settings & bit:
                    self.identifier = identifier
                    if self.options.metadata:
                        return [Send(encode.metadata_request(identifier), 300)]
                    return [Send(encode.file_request(identifier), 300)]
            if self.options.goodbye:
                return [Send(c, 200 + 100 * i) for i, c in enumerate(self.options.goodbye)]
            return [Send(self._close(), 200)]
        if kind == "METADATA" and isinstance(message, DualCamMetadata):
            return [Send(encode.file_request(self.identifier), 200)]
        if kind == "START" and isinstance(message, DualCamStart):
            repeated = self.current is not None and not self.current.data
            if not (repeated and self.current and self.current.identifier == self.identifier):
                self.current = ReceivedFile(self.identifier, message.count)
                self.files.append(self.current)
            if message.count == 0:
                return [Send(self._close(), 200)]
            if not self.options.answer_start:
                return []
            return [Send(encode.resume(self.options.resume_first), 600)]
        if kind == "SYNC" and isinstance(message, DualCamSync):
            self.epoch += 1
            self.packet = max(message.offset, 1)
            self.crc = 0
            self.accepting = True
            return []
        if kind == "DATA" and isinstance(message, DualCamData):
            return self._on_data(frame.data, message)
        if kind == "STATUS" and isinstance(message, DualCamStatus):
            return [Close(100)]
        return []

    def _on_data(self, raw: bytes, message: DualCamData) -> list[Action]:
        file = self.current
        if file is None or not self.accepting:
            return []
        chunk = raw[4 : 4 + message.length]
        crc = crc16_kermit(chunk, self.crc)
        if crc != message.crc:
            file.crc_errors += 1
            return self._lost()
        self.crc = crc
        offset = (self.packet - 1) * PACKET_SIZE
        if len(file.data) < offset + len(chunk):
            file.data.extend(bytes(offset + len(chunk) - len(file.data)))
        file.data[offset : offset + len(chunk)] = chunk
        self.packet += 1
        if self.packet > file.count:
            file.complete = True
            self.accepting = False
            repeat = encode.repeat_init(bare=self.options.bare_repeat_init)
            return [Send(repeat, 250)]
        return []

    def _lost(self) -> list[Action]:
        """CRC error or junk: RESUME from the first missing packet, ignore DATA until SYNC."""
        if self.current is None or not self.accepting:
            return []
        self.accepting = False
        self.current.resumes += 1
        self.epoch += 1
        return [
            Send(encode.resume(self.packet), 200),
            Timer(("resume", self.epoch), 200 + self.options.resume_retry_ms),
        ]

    def on_timer(self, token: tuple[object, ...]) -> list[Action]:
        if token[1] != self.epoch or self.accepting or self.current is None:
            return []
        self.current.resumes += 1
        return [
            Send(encode.resume(self.packet)),
            Timer(("resume", self.epoch), self.options.resume_retry_ms),
        ]


Peer = DeviceLogic | ServerLogic

# ------------------------------------------------------------------ virtual-clock driver


@dataclass(frozen=True)
class Sent:
    """One send as it crossed the socket."""

    time_ns: int
    side: Side
    data: bytes


@dataclass
class Recording:
    """What a scenario did on the wire."""

    sends: list[Sent] = field(default_factory=list)
    closed_by: Side | None = None
    closed_at: int = 0


class LoopbackPair:
    """A real TCP connection on 127.0.0.1: device socket (client) and server socket."""

    def __init__(self) -> None:
        listener = socket.create_server(("127.0.0.1", 0))
        try:
            self.device = socket.create_connection(listener.getsockname(), RECV_TIMEOUT_S)
            self.server, _ = listener.accept()
        finally:
            listener.close()
        self.server.settimeout(RECV_TIMEOUT_S)
        self.sockets = {DEVICE: self.device, SERVER: self.server}

    def carry(self, side: Side, data: bytes) -> bytes:
        """Send from ``side``; read exactly the same number of bytes at the other end."""
        self.sockets[side].sendall(data)
        other = self.sockets[Side(1 - side)]
        received = bytearray()
        while len(received) < len(data):
            piece = other.recv(len(data) - len(received))
            if not piece:
                raise ConnectionError("peer closed while bytes were in flight")
            received += piece
        return bytes(received)

    def close(self) -> None:
        for sock in self.sockets.values():
            sock.close()


def play(device: DeviceLogic, server: ServerLogic, *, limit_s: int = 600) -> Recording:
    """Run both peers on a virtual clock over a real loopback TCP connection."""
    queue: list[tuple[int, int, Side, Action | Deliver]] = []
    counter = 0
    peers: dict[Side, Peer] = {DEVICE: device, SERVER: server}
    recording = Recording()

    def schedule(side: Side, now: int, actions: list[Action] | list[Deliver]) -> None:
        nonlocal counter
        for action in actions:
            counter += 1
            heapq.heappush(queue, (now + action.delay_ms * MS, counter, side, action))

    wire = LoopbackPair()
    try:
        schedule(DEVICE, BASE_NS, device.begin())
        while queue:
            now, _, side, action = heapq.heappop(queue)
            if now > BASE_NS + limit_s * 1_000_000_000:
                break
            if isinstance(action, Close):
                recording.closed_by, recording.closed_at = side, now
                break
            if isinstance(action, Timer):
                schedule(side, now, peers[side].on_timer(action.token))
                continue
            if isinstance(action, Deliver):
                schedule(side, now, peers[side].on_bytes(action.data, now))
                continue
            received = wire.carry(side, action.data)
            if received != action.data:
                raise ConnectionError("the socket changed the bytes")
            recording.sends.append(Sent(now, side, action.data))
            schedule(Side(1 - side), now, [Deliver(received, ONE_WAY_MS)])
        if recording.closed_by is None:
            recording.closed_by, recording.closed_at = DEVICE, now + 100 * MS
    finally:
        wire.close()
    return recording


def capture_packets(
    recording: Recording, client_port: int = DEVICE_ADDR[1]
) -> list[tuple[int, bytes]]:
    """One connection as packets: handshake, data segments each ACKed 1 ms later, FIN close."""
    conversation = TcpConversation((DEVICE_ADDR[0], client_port), SERVER_ADDR, mss=SEGMENT)
    first = recording.sends[0].time_ns if recording.sends else BASE_NS
    packets = conversation.open(first - 300 * MS, step_ns=ONE_WAY_MS * MS)
    for sent in recording.sends:
        packets += conversation.send(sent.side, sent.data, sent.time_ns, segment_size=SEGMENT)
        packets.append((sent.time_ns + MS, conversation.pure_ack(Side(1 - sent.side))))
    packets += conversation.close(
        recording.closed_at, side=recording.closed_by or DEVICE, step_ns=ONE_WAY_MS * MS
    )
    return packets


def write_capture(recordings: Recording | list[Recording], out: str | Path, comment: str) -> int:
    """Recordings (one per connection, client ports 40000, 40001 ...) as one pcapng."""
    if isinstance(recordings, Recording):
        recordings = [recordings]
    packets: list[tuple[int, bytes]] = []
    for index, recording in enumerate(recordings):
        packets += capture_packets(recording, DEVICE_ADDR[1] + index)
    packets.sort(key=lambda item: item[0])
    with CaptureWriter(out, comment=comment) as writer:
        writer.write_all(packets)
        return writer.count


# ------------------------------------------------------------------ scenarios


@dataclass(frozen=True)
class Scenario:
    """A named, deterministic session."""

    name: str
    description: str


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("photo-upload", "one front photo: metadata, START, RESUME 1, 11 DATA, done"),
        Scenario("video-with-resume", "PTMF video; bytes lost in packet 12 -> junk, RESUME 12"),
        Scenario("crc-error-resume", "photo; packet 5 corrupted -> RESUME 5, frames in flight"),
        Scenario("aborted-upload", "photo; the tracker disconnects after packet 4"),
        Scenario("start-unanswered", "server never answers START; the tracker repeats it"),
        Scenario("bare-server-commands", "two photos; RESUME 0; bare 00 09, 00 05, 00 00"),
    )
}


def _photo(identifier: str, seed: int, minute: int = 0) -> Upload:
    data = make_jpeg(f"camshark {identifier} #{seed}", seed)
    return Upload(identifier, data, BASE_NS // MS - 60_000 + minute * 1000)


def build(name: str) -> tuple[DeviceLogic, ServerLogic]:
    """The two peers of a scenario."""
    if name == "photo-upload":
        return DeviceLogic([_photo("%photof", 1)]), ServerLogic()
    if name == "video-with-resume":
        video = Upload("%videof", make_ptmf(1, 7), BASE_NS // MS - 120_000, 1, 20)
        return DeviceLogic([video], DeviceFaults(drop_bytes_packet=12)), ServerLogic()
    if name == "crc-error-resume":
        return DeviceLogic([_photo("%photof", 2)], DeviceFaults(corrupt_packet=5)), ServerLogic()
    if name == "aborted-upload":
        device = DeviceLogic([_photo("%photor", 3)], DeviceFaults(disconnect_after_packet=4))
        return device, ServerLogic(ServerOptions(metadata=False))
    if name == "start-unanswered":
        device = DeviceLogic([_photo("%photof", 4)], DeviceFaults(start_repeats=2))
        return device, ServerLogic(ServerOptions(answer_start=False, metadata=False))
    if name == "bare-server-commands":
        uploads = [_photo("%photof", 5), _photo("%photor", 6, 1)]
        options = ServerOptions(metadata=False, resume_first=0, goodbye=(b"\x00\x05", b"\x00\x00"))
        return DeviceLogic(uploads), ServerLogic(options)
    raise KeyError(name)


def simulate(name: str) -> tuple[Recording, ServerLogic]:
    """Run one scenario; returns what crossed the wire and what the server stored."""
    device, server = build(name)
    return play(device, server), server


# ------------------------------------------------------------------ real logs


def real_log_capture(log: str | Path, out: str | Path) -> int:
    """A real device log (JSON list of server reads) as a pcapng, one segment per read.

    Reads without a ``time`` are spaced 280 ms apart from the previous one. Only the device
    direction was logged: the capture has no server payload, only its ACKs.
    """
    packets_json = json.loads(Path(log).read_text())["packets"]
    conversation = TcpConversation(DEVICE_ADDR, SERVER_ADDR, mss=65000)
    reads: list[tuple[int, bytes]] = []
    now = BASE_NS
    for entry in packets_json:
        stamp = entry.get("time")
        now = stamp * MS if stamp else now + DATA_INTERVAL_MS * MS
        reads.append((now, bytes.fromhex(entry["data"].replace(",", ""))))
    packets = conversation.open(reads[0][0] - 300 * MS, step_ns=ONE_WAY_MS * MS)
    for at, data in reads:
        packets += conversation.send(DEVICE, data, at, segment_size=len(data))
        packets.append((at + MS, conversation.pure_ack(SERVER)))
    packets += conversation.close(reads[-1][0] + 500 * MS, side=DEVICE, step_ns=MS)
    comment = f"camshark: real DualCam device log {Path(log).name} (device direction only)"
    with CaptureWriter(out, comment=comment) as writer:
        writer.write_all(packets)
        return writer.count


# ------------------------------------------------------------------ real-time bench


def _parse_host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def run_realtime(
    sock: socket.socket,
    peer: Peer,
    *,
    duration_s: float,
    record: list[Sent] | None = None,
    side: Side = DEVICE,
    time_scale: float = 1.0,
) -> None:
    """Drive one peer in real time on a connected socket until it closes or time runs out.

    ``time_scale`` multiplies the peer's delays (tests run a session ten times faster).
    """
    queue: list[tuple[int, int, Action]] = []
    counter = 0

    def schedule(actions: list[Action]) -> None:
        nonlocal counter
        now = time.monotonic_ns()
        for action in actions:
            counter += 1
            delay = int(action.delay_ms * MS * time_scale)
            heapq.heappush(queue, (now + delay, counter, action))

    selector = selectors.DefaultSelector()
    sock.setblocking(False)
    selector.register(sock, selectors.EVENT_READ)
    deadline = time.monotonic_ns() + int(duration_s * 1e9)
    schedule(peer.begin())
    try:
        while time.monotonic_ns() < deadline:
            now = time.monotonic_ns()
            while queue and queue[0][0] <= now:
                _, _, action = heapq.heappop(queue)
                if isinstance(action, Close):
                    return
                if isinstance(action, Timer):
                    schedule(peer.on_timer(action.token))
                    continue
                sock.sendall(action.data)
                if record is not None:
                    record.append(Sent(time.time_ns(), side, action.data))
            wait = (queue[0][0] - now) / 1e9 if queue else 0.5
            for _key, _mask in selector.select(max(0.0, min(wait, 0.5))):
                data = sock.recv(65536)
                if not data:
                    return
                if record is not None:
                    record.append(Sent(time.time_ns(), Side(1 - side), data))
                schedule(peer.on_bytes(data, time.time_ns()))
    finally:
        selector.close()


def _bench_device(args: argparse.Namespace) -> int:
    host, port = _parse_host_port(args.device_connect)
    now_ms = int(time.time() * 1000)
    photo = make_jpeg(f"camshark bench #{args.seed}", args.seed)
    uploads = [Upload("%photof", photo, now_ms - 5000)]
    if args.video:
        uploads.insert(0, Upload("%videof", make_ptmf(2, args.seed), now_ms - 20_000, 2, 20))
    faults = DeviceFaults(
        corrupt_packet=args.corrupt_packet,
        drop_bytes_packet=args.drop_bytes_packet,
        disconnect_after_packet=args.disconnect_after,
    )
    record: list[Sent] = []
    with socket.create_connection((host, port), timeout=RECV_TIMEOUT_S) as sock:
        run_realtime(sock, DeviceLogic(uploads, faults), duration_s=args.duration, record=record)
    print(f"device: {len(record)} sends/receives with {host}:{port}")
    if args.out:
        recording = Recording(record, DEVICE, record[-1].time_ns if record else time.time_ns())
        count = write_capture(recording, args.out, "camshark dualcam bench tracker")
        print(f"{count} packets written to {args.out}")
    return 0


def _bench_server(args: argparse.Namespace) -> int:
    """Serve trackers one connection after another until ``--duration`` runs out."""
    options = ServerOptions(
        answer_start=not args.no_resume, bare_repeat_init=not args.full_commands
    )
    recordings: list[Recording] = []
    deadline = time.monotonic() + args.duration
    saved = 0
    with socket.create_server(("0.0.0.0", args.server_listen)) as listener:  # noqa: S104
        print(f"camera server listening on port {args.server_listen}")
        while (left := deadline - time.monotonic()) > 0:
            listener.settimeout(left)
            try:
                conn, peer_address = listener.accept()
            except TimeoutError:
                break
            record: list[Sent] = []
            server = ServerLogic(options)
            with conn:
                run_realtime(conn, server, duration_s=left, record=record, side=SERVER)
            end = record[-1].time_ns if record else time.time_ns()
            recordings.append(Recording(record, DEVICE, end))
            for file in server.files:
                state = "complete" if file.complete else "incomplete"
                print(f"{peer_address[0]}: {file.identifier} {len(file.data)} bytes {state}")
                if args.save_dir and file.data:
                    target = Path(args.save_dir)
                    target.mkdir(parents=True, exist_ok=True)
                    name = f"file-{saved}-{file.identifier.lstrip('%')}.bin"
                    (target / name).write_bytes(file.data)
                    saved += 1
    if not recordings:
        print("no tracker connected", file=sys.stderr)
        return 1
    if args.out:
        count = write_capture(recordings, args.out, "camshark dualcam bench server")
        print(f"{count} packets written to {args.out}")
    return 0


# ------------------------------------------------------------------ CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``camshark simulate dualcam``."""
    parser.description = "Simulated DualCam tracker and camera server over real TCP."
    parser.add_argument("scenario", nargs="?", help="scenario name (see --list)")
    parser.add_argument("--list", action="store_true", help="list the scenarios")
    parser.add_argument("--out", "-o", help="pcapng file (or directory with --all)")
    parser.add_argument("--all", action="store_true", help="write every scenario into --out DIR")
    parser.add_argument("--seed", type=int, default=1, help="picture seed in bench mode")
    parser.add_argument("--from-real-log", metavar="JSON", help="convert a real device log")
    bench = parser.add_argument_group("bench mode: one simulated peer against a real one")
    bench.add_argument("--device-connect", metavar="HOST:PORT", help="act as a tracker")
    bench.add_argument("--server-listen", metavar="PORT", type=int, help="act as a server")
    bench.add_argument("--duration", type=float, default=120.0, help="seconds to run")
    bench.add_argument("--video", action="store_true", help="tracker: also upload a video")
    bench.add_argument("--corrupt-packet", type=int, metavar="N", help="tracker fault")
    bench.add_argument("--drop-bytes-packet", type=int, metavar="N", help="tracker fault")
    bench.add_argument("--disconnect-after", type=int, metavar="N", help="tracker fault")
    bench.add_argument("--no-resume", action="store_true", help="server: never answer START")
    bench.add_argument(
        "--full-commands", action="store_true", help="server: 00 09 00 00 instead of bare 00 09"
    )
    bench.add_argument("--save-dir", help="server: where to store received files")


def run(args: argparse.Namespace) -> int:
    """Entry point of ``camshark simulate dualcam``; returns the exit code."""
    if args.list:
        for known in SCENARIOS.values():
            print(f"{known.name:22} {known.description}")
        return 0
    if args.from_real_log:
        out = args.out or Path(args.from_real_log).with_suffix(".pcapng").name
        count = real_log_capture(args.from_real_log, out)
        print(f"{args.from_real_log}: {count} packets written to {out}")
        return 0
    if args.device_connect:
        return _bench_device(args)
    if args.server_listen:
        return _bench_server(args)
    if args.all:
        directory = Path(args.out or ".")
        directory.mkdir(parents=True, exist_ok=True)
        for name in SCENARIOS:
            _write_scenario(name, directory / f"{name}.pcapng")
        return 0
    if not args.scenario:
        print("error: name a scenario (--list shows them)", file=sys.stderr)
        return 2
    if args.scenario not in SCENARIOS:
        names = ", ".join(SCENARIOS)
        print(f"error: unknown scenario {args.scenario!r} (known: {names})", file=sys.stderr)
        return 2
    _write_scenario(args.scenario, Path(args.out or f"{args.scenario}.pcapng"))
    return 0


def _write_scenario(name: str, out: Path) -> None:
    recording, server = simulate(name)
    count = write_capture(recording, out, f"camshark dualcam simulator: {name}")
    stored = ", ".join(
        f"{f.identifier} {len(f.data)} B {'complete' if f.complete else 'incomplete'}"
        for f in server.files
    )
    print(f"{name}: {len(recording.sends)} sends, {count} packets -> {out} [{stored}]")
