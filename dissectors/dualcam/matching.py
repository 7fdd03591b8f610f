"""DualCam transfer tracker: sessions per link (shown by IMEI), files from request to outcome.

For each file it keeps a coverage map (verified, duplicate and conflicting byte ranges), the
CRC-16/KERMIT chain (one register, reset at every SYNC; spec A.6), each RESUME with the SYNC
that answered it, repeated STARTs, stalls and the outcome. DATA records are annotated in place:
the matcher swaps in a Dissection with the packet number, byte offset and CRC verdict
(``dualcam.packet``, ``dualcam.offset``, ``dualcam.crc_ok``, ``dualcam.crc_computed``), so
filters and the detail tree see them without a new Record field.

Problem codes added here (``decode`` adds bad_imei, protocol_id, start_blank, device_status,
bare_command, bad_length, metadata_quirk, metadata_version, future_timestamp, unknown_command):

* errors: ``crc_chain`` (received vs computed CRC, and whether a chain reset explains it)
* warnings: ``aborted`` (on the last DATA, with the missing packets), ``start_repeated``,
  ``start_unanswered``, ``resume_unanswered``, ``sync_mismatch``, ``data_before_sync``,
  ``data_outside_transfer``, ``conflicting_duplicate``, ``beyond_announced``, ``short_packet``,
  ``resume_outside_transfer``, ``sync_outside_transfer``, ``imei_changed``, ``init_unanswered``
* notes: ``in_flight`` (DATA after a CRC error, ignored by the server until SYNC), ``stall``,
  ``resume_repeated``, ``sync_unrequested``, ``served`` (the next INIT shows the file served)
"""

from __future__ import annotations

from collections.abc import Sequence

from dissectors.api import (
    Direction,
    Dissection,
    ExtractedObject,
    Field,
    Link,
    Record,
    Severity,
    Transfer,
)
from dissectors.bulk import FrameRun
from dissectors.checksums import crc16_kermit
from dissectors.dualcam import speedups
from dissectors.dualcam.coverage import Ranges, diff_span, packets_text
from dissectors.dualcam.records import (
    PROTOCOL,
    DualCamData,
    DualCamEnhancedData,
    DualCamInit,
    DualCamMetadata,
    DualCamResume,
    DualCamStart,
    DualCamStatus,
    DualCamSync,
    DualCamText,
)
from dissectors.dualcam.report import extract_object, file_details, file_transfer
from dissectors.dualcam.state import FileState, SessionState
from dissectors.dualcam.tables import PACKET_SIZE, pending_words

__all__ = ["DualCamMatcher", "Ranges", "new_matcher"]

_DATA_MESSAGES = (DualCamData, DualCamEnhancedData)
"""For isinstance on the DATA hot path (``A | B`` builds a union object on every call)."""

STALL_NS = 2_000_000_000
"""A pause between DATA frames longer than this is a stall (spec A.12)."""
RESUME_TIMEOUT_NS = 2_500_000_000
"""RESUME with no SYNC after this long is flagged (the reference server resends after 2 s)."""
START_TIMEOUT_NS = 2_500_000_000
"""START with no RESUME/SYNC after this long is flagged (server think time seen up to 2.2 s)."""
PACKET_MODE_LIMIT = 8192
"""Protocol >= 6 with a legacy identifier: a START count below this is packets (traccar)."""
MAX_FILE_BYTES = 64 * 1024 * 1024
"""Largest file the tracker stores (a 20 s DualCam video is about 6 MB)."""


class DualCamMatcher:
    """Follows DualCam sessions and file transfers for one capture."""

    def __init__(self) -> None:
        self._sessions: dict[int, SessionState] = {}
        self._order: list[SessionState] = []
        self._objects: list[ExtractedObject] = []

    # -- Matcher protocol --------------------------------------------------------------------

    def observe(self, record: Record) -> None:
        """See one record of this protocol, in arrival order."""
        if record.protocol != PROTOCOL:
            return
        session = self._session(record.link)
        device = record.direction is Direction.FROM_DEVICE
        if not device:
            session.server_seen = True
            if session.first_server_ns is None:
                session.first_server_ns = record.time_ns
        kind = record.dissection.type
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, session, record)
        elif kind in ("junk", "gap", "malformed") and session.file and not session.file.done:
            file = session.file
            if device:
                file.junk_bytes += len(record.data)
                file.position_known = False  # whole frames may be inside the junk
                if kind == "gap":
                    file.chain_ok = False
        if session.file is not None and not session.file.done:
            session.file.last_record = record.number
            session.file.last_time_ns = record.time_ns

    def take_run(self, run: FrameRun, first_number: int) -> int:
        """Take the leading DATA frames of ``run`` (numbered from ``first_number`` on) that
        are the common case; return how many (DualCam's ``read_run`` makes Records of the rest).

        The common case: the next packet of a synced file in order, its CRC continuing the
        chain, within the announced size, no stall before it. That is where ``_on_data``
        would add no problem and change nothing but the counters, the chain and the data, so
        this loop does just that, without a Record; it stops at the first frame that needs
        more (``read_run`` then hands that one and the rest to ``observe`` one by one).
        """
        session = self._sessions.get(run.side.link.id)
        file = session.file if session is not None else None
        if file is None or file.done or not file.synced or not file.chain_ok:
            return 0
        byte_mode = file.byte_mode
        count = file.count
        size = file.size
        first_offset = len(file.data)
        first_packet = file.next_packet  # packet mode only
        if byte_mode:
            if file.next_offset != first_offset:
                return 0
            taken = pos = 0
            if size is None:  # until a frame fixes the size (to count), count bounds it
                taken, pos = _take_frames(
                    file, run, 0, min(count, MAX_FILE_BYTES) - first_offset, 1, 0
                )
                if taken == 0:
                    return 0
                size = count
            room = MAX_FILE_BYTES - len(file.data)  # once the size is known, only the cap
            taken += _take_frames(file, run, pos, room, run.count - taken, 0)[0]
        else:
            if (first_packet - 1) * PACKET_SIZE != first_offset:
                return 0
            limit = min(count * PACKET_SIZE, MAX_FILE_BYTES) if size is None else MAX_FILE_BYTES
            # every packet is full but the last one (packet ``count``), which ends the run;
            # past it (a resent or extra packet) none is exempt: frame run.count + 1 is never
            frames = count - first_packet + 1 if first_packet <= count else run.count + 1
            taken = _take_frames(file, run, 0, limit - first_offset, frames, PACKET_SIZE)[0]
            if first_packet + taken - 1 == count:
                size = len(file.data)
        if taken == 0:
            return 0
        assert session is not None
        assert file.last_data_ns is not None
        offset = len(file.data)
        session.orphan_crc = None
        if byte_mode:
            file.next_offset = offset
        else:
            file.next_packet = first_packet + taken
            file.packets.update(range(first_packet, first_packet + taken))
        file.size = size
        file.received += offset - first_offset
        file.verified.add(first_offset, offset)
        file.frames.extend(range(first_number, first_number + taken))
        file.last_data = None  # no Record to annotate if the file ends aborted
        file.last_record = first_number + taken - 1
        file.last_time_ns = file.last_data_ns
        return taken

    def expire(self, now_ns: int) -> None:
        """Flag STARTs the server has not answered and RESUMEs the device has not."""
        for session in self._order:
            file = session.file
            if file is None or file.done or file.count == 0:
                continue
            if (
                not file.answered
                and not file.flagged_unanswered
                and now_ns - file.start.time_ns > START_TIMEOUT_NS
            ):
                file.flagged_unanswered = True
                file.start.add_problem(
                    Severity.WARNING,
                    f"{PROTOCOL}.start_unanswered",
                    "START not answered by RESUME within "
                    f"{START_TIMEOUT_NS / 1e9:g} s: the server never set the start point, so "
                    "the device will repeat START (check the server's RESUME handling).",
                )
            for resume in file.pending_resumes:
                if resume.number in file.flagged_resumes:
                    continue
                if now_ns - resume.time_ns > RESUME_TIMEOUT_NS:
                    file.flagged_resumes.add(resume.number)
                    resume.add_problem(
                        Severity.WARNING,
                        f"{PROTOCOL}.resume_unanswered",
                        f"no SYNC {RESUME_TIMEOUT_NS / 1e9:g} s after this RESUME: the device "
                        "has not confirmed the start point (servers resend RESUME every 2 s).",
                    )

    def link_closed(self, link: Link, time_ns: int) -> None:
        """The connection ended: an unfinished file is aborted."""
        session = self._sessions.get(link.id)
        if session is None:
            return
        self._end_file(session, "aborted: connection closed mid-file")
        if session.init is not None and not session.server_seen and not session.file_count:
            session.init.add_problem(
                Severity.WARNING,
                f"{PROTOCOL}.init_unanswered",
                "the server sent nothing after INIT before the connection ended: check that "
                "the port is a camera server (not the Codec 8 AVL server), or the capture "
                "misses the server direction.",
            )
        session.closed = True
        del self._sessions[link.id]

    def finish(self) -> None:
        """End of capture: every open file gets its outcome."""
        for session in list(self._sessions.values()):
            self._end_file(session, "aborted: capture ended mid-file")

    def take_objects(self) -> list[ExtractedObject]:
        """Files finished (complete or not) since the last call."""
        objects, self._objects = self._objects, []
        return objects

    def transfers(self) -> list[Transfer]:
        """Every file transfer seen (those that ended before ``forget_transfers`` excepted),
        in order."""
        return [file_transfer(file) for session in self._order for file in session.files]

    def forget_transfers(self) -> None:
        """Forget the files whose transfer ended."""
        for session in self._order:
            session.files = [file for file in session.files if not file.done]

    # -- sessions ----------------------------------------------------------------------------

    def _session(self, link: Link) -> SessionState:
        session = self._sessions.get(link.id)
        if session is None:
            session = SessionState(link)
            self._sessions[link.id] = session
            self._order.append(session)
        return session

    @staticmethod
    def _link(request: Record | None, response: Record) -> None:
        if request is None or request.response_in is not None:
            return
        request.response_in = response.number
        response.request_in = request.number
        response.latency_ns = response.time_ns - request.time_ns

    # -- handlers ----------------------------------------------------------------------------

    def _on_init(self, session: SessionState, record: Record) -> None:
        message = record.dissection.message
        assert isinstance(message, DualCamInit)
        file = session.file
        if file is not None and not file.done:
            self._end_file(session, "aborted: device sent a new INIT mid-file")
        if session.imei is not None and session.imei != message.imei:
            record.add_problem(
                Severity.WARNING,
                f"{PROTOCOL}.imei_changed",
                f"IMEI changed on the same connection ({session.imei} -> {message.imei}).",
            )
        if session.settings:
            served = pending_words(session.settings[-1] & ~message.settings)
            if served:
                record.add_problem(
                    Severity.NOTE,
                    f"{PROTOCOL}.served",
                    f"queue drained: {', '.join(served)} no longer pending.",
                )
        if session.first_init_ns is None:
            session.first_init_ns = record.time_ns
            session.init = record
        session.imei = message.imei
        session.protocol_id = message.protocol_id
        session.inits += 1
        session.settings.append(message.settings)
        self._link(session.repeat_init, record)
        session.repeat_init = None

    def _on_file_request(self, session: SessionState, record: Record) -> None:
        session.request = record

    def _on_repeat_init(self, session: SessionState, record: Record) -> None:
        self._end_file(session, "aborted: server asked for a new INIT mid-file")
        session.repeat_init = record

    def _on_close(self, session: SessionState, record: Record) -> None:
        self._end_file(session, "aborted: server closed the session mid-file")

    def _on_complete(self, session: SessionState, record: Record) -> None:
        self._end_file(session, "aborted: server sent COMPLETE mid-file")

    def _on_metadata_request(self, session: SessionState, record: Record) -> None:
        session.meta_request = record

    def _on_metadata(self, session: SessionState, record: Record) -> None:
        message = record.dissection.message
        assert isinstance(message, DualCamMetadata)
        self._link(session.meta_request, record)
        session.meta_request = None
        session.metadata = message
        if session.file is not None and not session.file.done and session.file.metadata is None:
            session.file.metadata = message

    def _on_path_request(self, session: SessionState, record: Record) -> None:
        session.path_request = record

    def _on_path_response(self, session: SessionState, record: Record) -> None:
        message = record.dissection.message
        assert isinstance(message, DualCamText)
        self._link(session.path_request, record)
        session.path_request = None
        session.path = message.text

    def _on_status(self, session: SessionState, record: Record) -> None:
        message = record.dissection.message
        assert isinstance(message, DualCamStatus)
        if message.status:
            self._end_file(session, f"device error {message.status}: {message.reason}")

    def _on_start(self, session: SessionState, record: Record) -> None:
        message = record.dissection.message
        assert isinstance(message, DualCamStart)
        request = session.request
        identifier = "unknown"
        if request is not None and isinstance(request.dissection.message, DualCamText):
            identifier = request.dissection.message.text
        old = session.file
        if old is not None and not old.done:
            if not old.answered and not old.frames and old.count == message.count:
                old.starts.append(record.number)
                record.add_problem(
                    Severity.WARNING,
                    f"{PROTOCOL}.start_repeated",
                    f"START repeated ({len(old.starts)} so far, "
                    f"{(record.time_ns - old.start.time_ns) / 1e9:.1f} s after the first): the "
                    "server has not answered with RESUME, so the device asks again.",
                )
                return
            self._end_file(session, "aborted: a new START replaced it")
        metadata = session.metadata
        if request is None and metadata is not None and metadata.kind_camera:
            kind, camera = metadata.kind_camera  # device-only capture: infer from metadata
            identifier = f"%{kind}{camera[0]}"
        self._link(request, record)
        session.request = None
        if not identifier.startswith(("%", "unknown")):
            byte_mode = True  # path flow (spec A.7)
        elif (session.protocol_id or 5) >= 6:
            byte_mode = message.count >= PACKET_MODE_LIMIT  # traccar's heuristic
        else:
            byte_mode = False
        session.metadata = None
        file = FileState(
            session,
            identifier,
            message.count,
            byte_mode,
            record,
            request,
            metadata,
            starts=[record.number],
            last_record=record.number,
            last_time_ns=record.time_ns,
        )
        session.file = file
        session.files.append(file)
        session.file_count += 1
        if message.count == 0:
            self._end_file(session, "nothing to send")

    def _on_resume(self, session: SessionState, record: Record) -> None:
        message = record.dissection.message
        assert isinstance(message, DualCamResume)
        file = session.file
        if file is None or file.done:
            record.add_problem(
                Severity.WARNING,
                f"{PROTOCOL}.resume_outside_transfer",
                "RESUME with no file announced (no START on this connection).",
            )
            return
        if not file.answered:
            self._link(file.start, record)
        file.answered = True
        if file.pending_resumes:
            record.add_problem(
                Severity.NOTE,
                f"{PROTOCOL}.resume_repeated",
                f"RESUME repeated without a SYNC in between ({len(file.pending_resumes)} "
                "pending): each one may make the device resend from that point.",
            )
        file.pending_resumes.append(record)
        file.resumes.append(
            {
                "resume": record.number,
                "value": message.offset,
                "time_ns": record.time_ns,
                "sync": None,
                "sync_value": None,
                "latency_ns": None,
            }
        )

    def _on_sync(self, session: SessionState, record: Record) -> None:
        message = record.dissection.message
        assert isinstance(message, DualCamSync)
        file = session.file
        if file is None or file.done:
            record.add_problem(
                Severity.WARNING,
                f"{PROTOCOL}.sync_outside_transfer",
                "SYNC with no file in progress on this connection.",
            )
            return
        value = message.offset
        if file.byte_mode:
            file.next_offset = value
        else:
            file.next_packet = max(value, 1)
        file.crc = 0
        file.chain_ok = True
        file.position_known = True
        file.synced = True
        file.answered = True
        file.syncs += 1
        if file.pending_resumes:
            resume = file.pending_resumes.pop(0)
            self._link(resume, record)
            for entry in file.resumes:
                if entry["resume"] == resume.number:
                    entry["sync"] = record.number
                    entry["sync_value"] = value
                    entry["latency_ns"] = record.time_ns - resume.time_ns
            asked = resume.dissection.message
            assert isinstance(asked, DualCamResume)
            expected = asked.offset if file.byte_mode else max(asked.offset, 1)
            if expected != value:
                record.add_problem(
                    Severity.WARNING,
                    f"{PROTOCOL}.sync_mismatch",
                    f"SYNC {value} does not echo RESUME {asked.offset} (#{resume.number}).",
                )
        elif session.server_seen:
            record.add_problem(
                Severity.NOTE,
                f"{PROTOCOL}.sync_unrequested",
                "SYNC without a pending RESUME.",
            )

    def _on_data(self, session: SessionState, record: Record) -> None:
        message = record.dissection.message
        assert isinstance(message, _DATA_MESSAGES)
        file = session.file
        if file is None or file.done:
            self._orphan_data(session, record, message)
            return
        session.orphan_crc = None
        if not file.synced:
            file.synced = True
            record.add_problem(
                Severity.WARNING,
                f"{PROTOCOL}.data_before_sync",
                "DATA before any SYNC: the device should confirm the start point first.",
            )
        item = record.item
        payload = item.data[message.data_start : message.data_start + message.length]
        size = len(payload)
        packet: int | None
        if isinstance(message, DualCamEnhancedData):
            offset = message.offset
            packet = None
            file.next_offset = offset + size
        elif file.byte_mode:
            offset = file.next_offset
            packet = None
            file.next_offset += size
        else:
            packet = file.next_packet
            offset = (packet - 1) * PACKET_SIZE
            file.next_packet += 1
        file.frames.append(record.number)
        file.last_data = record
        file.received += size
        now = item.time_ns
        if file.last_data_ns is not None:
            pause = now - file.last_data_ns
            file.gaps_ms.append(pause / 1e6)
            if pause > STALL_NS:
                file.stalls.append({"record": record.number, "pause_s": round(pause / 1e9, 3)})
                record.add_problem(
                    Severity.NOTE,
                    f"{PROTOCOL}.stall",
                    f"transfer stalled for {pause / 1e9:.1f} s before this DATA.",
                )
        else:
            file.first_data_ns = now
        file.last_data_ns = now
        if not file.chain_ok:
            file.in_flight += 1
            if not file.position_known:
                packet = None
                offset = -1
            record.add_problem(
                Severity.NOTE,
                f"{PROTOCOL}.in_flight",
                "in flight after a CRC error: the server ignores DATA until the next SYNC.",
            )
            _annotate(record, packet, offset, None, "in flight after error (not checked)")
            return
        computed = crc16_kermit(payload, file.crc)
        if computed != message.crc:
            file.chain_ok = False
            fresh = crc16_kermit(payload, 0)
            rule = (
                "it matches a CRC started from 0: the chain was restarted without a SYNC"
                if fresh == message.crc and file.crc != 0
                else "bytes were lost or corrupted"
            )
            where = f"packet {packet}" if packet is not None else f"offset {offset}"
            file.crc_failures.append(
                {
                    "record": record.number,
                    "packet": packet,
                    "offset": offset,
                    "received": message.crc,
                    "computed": computed,
                    "rule": "reset" if fresh == message.crc else "none",
                }
            )
            record.add_problem(
                Severity.ERROR,
                f"{PROTOCOL}.crc_chain",
                f"CRC chain broken at {where}: received 0x{message.crc:04x}, computed "
                f"0x{computed:04x}; {rule}. The server should RESUME from the first bad packet.",
            )
            _annotate(record, packet, offset, computed, f"BAD (computed 0x{computed:04x})")
            return
        file.crc = computed
        end = offset + size
        if (end > file.expected and file.size is None) or end > MAX_FILE_BYTES:
            record.add_problem(
                Severity.WARNING,
                f"{PROTOCOL}.beyond_announced",
                f"DATA ends at byte {end}, beyond the {file.expected} bytes START announced.",
            )
            if end > MAX_FILE_BYTES or end > file.expected + PACKET_SIZE:
                _annotate(record, packet, offset, computed, "ok (not stored: out of range)")
                return
        if not file.byte_mode and size < PACKET_SIZE:
            file.size = end
            if packet != file.count:
                record.add_problem(
                    Severity.WARNING,
                    f"{PROTOCOL}.short_packet",
                    f"packet {packet} is short ({size} B) but START announced {file.count}.",
                )
        elif not file.byte_mode and packet == file.count:
            file.size = end
        elif file.byte_mode and file.size is None:
            file.size = file.count
        verdict = "ok"
        for low, high in file.verified.overlap(offset, end):
            before = bytes(file.data[low:high])
            now_bytes = payload[low - offset : high - offset]
            same = before == now_bytes
            if same:
                file.duplicates.add(low, high)
            else:
                first, last = diff_span(before, now_bytes)
                file.conflicts.add(low + first, low + last)
            verdict = "ok, duplicate" if same else "ok, CONFLICTS with earlier copy"
            if not same:
                record.add_problem(
                    Severity.WARNING,
                    f"{PROTOCOL}.conflicting_duplicate",
                    f"bytes {low}..{high} were received before with different content.",
                )
        data = file.data
        if offset == len(data):
            data += payload  # the usual case: the next packet in order
        else:
            if len(data) < end:
                data.extend(bytes(end - len(data)))
            data[offset:end] = payload
        file.verified.add(offset, end)
        if packet is not None:
            file.packets.add(packet)
        _annotate(record, packet, offset, computed, verdict)

    @staticmethod
    def _orphan_data(
        session: SessionState, record: Record, message: DualCamData | DualCamEnhancedData
    ) -> None:
        """DATA outside a transfer (a capture that starts mid-file, late retransmissions).

        The position is unknown, but the chain still checks from one such frame to the next:
        each CRC is the register the following frame starts from (spec A.6).
        """
        session.orphan_data += 1
        if session.orphan_data == 1:
            record.add_problem(
                Severity.WARNING,
                f"{PROTOCOL}.data_outside_transfer",
                "DATA with no file in progress (no START seen: the capture probably started "
                "mid-transfer, or the file had already ended); later ones are not flagged.",
            )
        start = message.data_start
        payload = record.data[start : start + message.length]
        previous = session.orphan_crc
        session.orphan_crc = message.crc
        if previous is None:
            _annotate(record, None, -1, None, "unchecked (no chain start seen)")
            return
        computed = crc16_kermit(payload, previous)
        if computed == message.crc:
            _annotate(record, None, -1, computed, "ok (chained from the previous frame)")
            return
        session.orphan_crc = None
        record.add_problem(
            Severity.ERROR,
            f"{PROTOCOL}.crc_chain",
            f"CRC 0x{message.crc:04x} does not continue the previous frame's chain "
            f"(computed 0x{computed:04x}): bytes lost or a SYNC not captured.",
        )
        _annotate(record, None, -1, computed, f"BAD (computed 0x{computed:04x})")

    # -- outcome ----------------------------------------------------------------------------

    def _end_file(self, session: SessionState, reason: str) -> None:
        file = session.file
        if file is None or file.done:
            return
        file.done = True
        if file.count == 0:
            file.outcome = "nothing to send"
        elif reason.startswith("device error"):
            file.outcome = reason
        elif file.complete:
            file.outcome = "complete"
        elif not file.answered and not file.frames:
            file.outcome = "never started (START not answered by RESUME)"
        else:
            file.outcome = reason
        if file.outcome.startswith(("aborted", "device error")) and file.last_data is not None:
            missing = file.verified.gaps(0, file.expected)
            what = packets_text(missing) if not file.byte_mode else str(missing)
            file.last_data.add_problem(
                Severity.WARNING,
                f"{PROTOCOL}.aborted",
                f"{file.identifier} {file.outcome}; missing "
                f"{'packets ' if not file.byte_mode else 'bytes '}{what}.",
            )
        if file.frames:
            self._objects.append(extract_object(file))  # the object takes the bytes
        file.data = bytearray()  # memory stays one file
        # the per-DATA-frame lists are summarised now; release them (one entry per KiB of
        # file: about 250 KB per finished file, which piled up over a long capture)
        file.final_details = file_details(file)
        del file.frames[1:]  # keep the truthiness "some DATA was seen"
        file.packets = set()
        file.gaps_ms = []


def _take_frames(
    file: FileState, run: FrameRun, pos: int, room: int, max_frames: int, full: int
) -> tuple[int, int]:
    """``speedups.take_data_frames`` from ``run.data[pos]`` into ``file`` (its data, CRC
    register, gaps and DATA times); returns (frames taken, index after them)."""
    if run.arrival_offsets is not None:
        offsets: Sequence[int] = run.arrival_offsets
    else:  # per-frame times: each frame's own offset
        offsets = [run.start + header[0] for header in run.headers]
    taken, pos, crc, last_ns, first_ns = speedups.take_data_frames(
        run.data, pos, file.data, file.crc, room, max_frames, full,
        run.start, offsets, run.arrival_times, file.last_data_ns, STALL_NS, file.gaps_ms,
    )  # fmt: skip
    if taken:
        if file.last_data_ns is None:
            file.first_data_ns = first_ns
        file.crc = crc
        file.last_data_ns = last_ns
    return taken, pos


def _annotate(
    record: Record, packet: int | None, offset: int, computed: int | None, verdict: str
) -> None:
    """Swap in a Dissection that also shows the matcher's facts about this DATA frame.

    The extra fields are built lazily, like the decoder's own: statistics never pay for them.
    """
    old = record.dissection
    message = old.message
    assert isinstance(message, _DATA_MESSAGES)

    def fields() -> tuple[Field, ...]:
        data_span = (message.data_start, message.data_start + message.length)
        crc_span = (data_span[1], data_span[1] + 2)
        extra: list[Field] = []
        if packet is not None:
            extra.append(Field("packet", packet, data_span))
        if offset >= 0:
            extra.append(Field("offset", offset, data_span, f"{offset} (file byte offset)"))
        if computed is not None:
            extra.append(Field("crc_computed", computed, crc_span, f"0x{computed:04x}"))
        checked = verdict.startswith("ok") if computed is not None else None
        extra.append(Field("crc_ok", checked, crc_span))
        extra.append(Field("crc_verdict", verdict, crc_span))
        return (*old.fields, *extra)

    where = f"#{packet}" if packet is not None else f"@{offset}" if offset >= 0 else "#?"
    record.dissection = Dissection(
        old.type,
        f"DATA {where} {message.length} B crc 0x{message.crc:04x} {verdict}",
        kind=old.kind,
        message=message,
        problems=old.problems,
        fields=fields,
    )


_HANDLERS = {
    "INIT": DualCamMatcher._on_init,
    "FILE_REQUEST": DualCamMatcher._on_file_request,
    "REPEAT_INIT": DualCamMatcher._on_repeat_init,
    "CLOSE": DualCamMatcher._on_close,
    "COMPLETE": DualCamMatcher._on_complete,
    "STATUS": DualCamMatcher._on_status,
    "METADATA_REQUEST": DualCamMatcher._on_metadata_request,
    "METADATA": DualCamMatcher._on_metadata,
    "PATH_REQUEST": DualCamMatcher._on_path_request,
    "PATH_RESPONSE": DualCamMatcher._on_path_response,
    "START": DualCamMatcher._on_start,
    "RESUME": DualCamMatcher._on_resume,
    "SYNC": DualCamMatcher._on_sync,
    "DATA": DualCamMatcher._on_data,
    "ENHANCED_DATA": DualCamMatcher._on_data,
}


def new_matcher() -> DualCamMatcher:
    """A tracker for one capture."""
    return DualCamMatcher()
