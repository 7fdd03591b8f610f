"""Tracker state: one ``SessionState`` per connection, one ``FileState`` per announced file."""

from __future__ import annotations

from dataclasses import dataclass, field

from dissectors.api import Link, Record
from dissectors.dualcam.coverage import Ranges
from dissectors.dualcam.records import DualCamMetadata
from dissectors.dualcam.tables import IDENTIFIERS, PACKET_SIZE


@dataclass(slots=True, eq=False)
class FileState:
    """One file from FILE_REQUEST/START to its outcome."""

    session: SessionState
    identifier: str
    count: int
    byte_mode: bool
    start: Record
    request: Record | None
    metadata: DualCamMetadata | None
    data: bytearray = field(default_factory=bytearray)
    size: int | None = None
    """Exact size once known (byte mode, or the short last packet in packet mode)."""
    verified: Ranges = field(default_factory=Ranges)
    duplicates: Ranges = field(default_factory=Ranges)
    conflicts: Ranges = field(default_factory=Ranges)
    frames: list[int] = field(default_factory=list)
    last_data: Record | None = None
    packets: set[int] = field(default_factory=set)
    """Packet numbers verified at least once (packet mode)."""
    crc: int = 0
    chain_ok: bool = True
    position_known: bool = True
    """False after junk or a gap: the next frames' packet numbers are guesses until a SYNC."""
    synced: bool = False
    answered: bool = False
    next_packet: int = 1
    next_offset: int = 0
    starts: list[int] = field(default_factory=list)
    crc_failures: list[dict[str, object]] = field(default_factory=list)
    in_flight: int = 0
    resumes: list[dict[str, object]] = field(default_factory=list)
    pending_resumes: list[Record] = field(default_factory=list)
    flagged_resumes: set[int] = field(default_factory=set)
    syncs: int = 0
    stalls: list[dict[str, object]] = field(default_factory=list)
    gaps_ms: list[float] = field(default_factory=list)
    first_data_ns: int | None = None
    last_data_ns: int | None = None
    received: int = 0
    junk_bytes: int = 0
    last_record: int = 0
    last_time_ns: int = 0
    outcome: str = "in progress"
    done: bool = False
    flagged_unanswered: bool = False
    final_details: dict[str, object] | None = None
    """``report.file_details`` taken when the file ended; its per-frame lists (record numbers,
    packets, gaps) are then released, so a long capture does not keep them for every file."""

    @property
    def expected(self) -> int:
        """Exact size when known, else the packet-mode upper bound ``count * 1024``."""
        if self.size is not None:
            return self.size
        return self.count if self.byte_mode else self.count * PACKET_SIZE

    @property
    def complete(self) -> bool:
        """Every byte of the file verified by the CRC chain."""
        if self.size is None or self.count == 0:
            return False
        return not self.verified.gaps(0, self.size)

    @property
    def kind_camera(self) -> tuple[str, str]:
        if self.identifier in IDENTIFIERS:
            return IDENTIFIERS[self.identifier]
        if self.metadata is not None and self.metadata.kind_camera:
            return self.metadata.kind_camera
        lowered = self.identifier.lower()
        kind = "video" if "video" in lowered or lowered.endswith((".mp4", ".h265")) else "photo"
        return kind, "unknown"


@dataclass(slots=True, eq=False)
class SessionState:
    """One TCP connection from one tracker."""

    link: Link
    imei: int | None = None
    protocol_id: int | None = None
    inits: int = 0
    settings: list[int] = field(default_factory=list)
    server_seen: bool = False
    file: FileState | None = None
    files: list[FileState] = field(default_factory=list)
    file_count: int = 0
    """Files started on the connection (``files`` may have forgotten some)."""
    request: Record | None = None
    meta_request: Record | None = None
    repeat_init: Record | None = None
    path_request: Record | None = None
    path: str | None = None
    metadata: DualCamMetadata | None = None
    closed: bool = False
    first_init_ns: int | None = None
    init: Record | None = None
    """The first INIT of the connection."""
    first_server_ns: int | None = None
    orphan_data: int = 0
    """DATA frames seen outside any transfer."""
    orphan_crc: int | None = None
    """CRC of the last such frame: the register the next one starts from."""

    @property
    def who(self) -> str:
        return str(self.imei) if self.imei is not None else f"link {self.link.id}"
