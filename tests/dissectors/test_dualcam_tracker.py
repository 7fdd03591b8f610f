"""DualCam transfer tracker: sessions built with the encoder, run through the pipeline."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from dissectors.api import ExtractedObject, Link, Record, Transfer
from dissectors.checksums import crc16_kermit
from dissectors.dualcam import encode
from dissectors.dualcam.matching import Ranges
from sniffer.pipeline import Pipeline
from sniffer.sources.base import Chunk, LinkClosed, LinkInfo, Side, Transport

IMEI = 356307042441013  # spec A.13 happy-path session
T0 = 1_730_288_144_000_000_000
SYNTHETIC = bytes(i % 251 for i in range(2500))  # spec A.13 synthetic file
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 9 + b"\xff\xd9"
FRAMES = [f for _, f in encode.data_frames(SYNTHETIC)]


@dataclass
class Script:
    """Bytes each side sends, with times; ``run`` plays them through a pipeline."""

    steps: list[tuple[Side, bytes, int]] = field(default_factory=list)
    now: int = T0

    def device(self, data: bytes, after_ms: int = 100) -> Script:
        self.now += after_ms * 1_000_000
        self.steps.append((Side.A, data, self.now))
        return self

    def server(self, data: bytes, after_ms: int = 100) -> Script:
        self.now += after_ms * 1_000_000
        self.steps.append((Side.B, data, self.now))
        return self

    def run(self, *, close: bool = True, keep_transfers: bool = True) -> Result:
        link = Link(7, "tcp", "10.1.1.2:40001", "10.1.1.1:10014")
        info = LinkInfo(link, Transport.STREAM, 40001, 10014)
        pipeline = Pipeline(keep_transfers=keep_transfers)
        records: list[Record] = []
        for side, data, time_ns in self.steps:
            records += pipeline.process(Chunk(info, side, time_ns, data))
        if close:
            records += pipeline.process(LinkClosed(info, self.now + 1_000_000))
        records += pipeline.finish()
        return Result(records, pipeline.take_objects(), pipeline.transfers())


@dataclass
class Result:
    records: list[Record]
    objects: list[ExtractedObject]
    transfers: list[Transfer]

    def typed(self, kind: str) -> list[Record]:
        return [r for r in self.records if r.dissection.type == kind]

    def codes(self, record: Record) -> list[str]:
        return [p.code for p in record.all_problems]

    def value(self, record: Record, name: str) -> object:
        return {f.name: f.value for f in record.dissection.fields}.get(name)


def opening(script: Script, identifier: str = "%photof", count: int = 3) -> Script:
    return (
        script.device(encode.init(IMEI, 0x44000400))
        .server(encode.file_request(identifier))
        .device(encode.start(count))
    )


def test_happy_path_links_requests_and_extracts_the_file() -> None:
    script = opening(Script()).server(encode.resume(1), 500).device(encode.sync(1), 400)
    for frame in FRAMES:
        script.device(frame, 280)
    script.server(encode.repeat_init()).device(encode.init(IMEI, 0x40000400), 470)
    script.server(encode.close())
    result = script.run()
    request, start = result.typed("FILE_REQUEST")[0], result.typed("START")[0]
    resume, sync = result.typed("RESUME")[0], result.typed("SYNC")[0]
    assert (request.response_in, start.request_in) == (start.number, request.number)
    assert (start.response_in, resume.request_in) == (resume.number, start.number)
    assert (resume.response_in, sync.request_in) == (sync.number, resume.number)
    assert sync.latency_ns == 400_000_000
    repeat, second_init = result.typed("REPEAT_INIT")[0], result.typed("INIT")[1]
    assert second_init.request_in == repeat.number
    assert "dualcam.bare_command" in result.codes(repeat)
    data = result.typed("DATA")
    assert [result.value(r, "packet") for r in data] == [1, 2, 3]
    assert [result.value(r, "offset") for r in data] == [0, 1024, 2048]
    assert all(result.value(r, "crc_ok") is True for r in data)
    assert data[0].dissection.summary == "DATA #1 1024 B crc 0xef1f ok"
    (obj,) = result.objects
    assert obj.data == SYNTHETIC
    assert obj.complete
    assert obj.holes == ()
    assert obj.frames == tuple(r.number for r in data)
    assert obj.name == "dualcam-356307042441013-photof-20241030T113544Z.jpg"
    (transfer,) = result.transfers
    assert transfer.name == obj.name  # views pair transfers and objects by name
    assert transfer.outcome == "complete"
    assert (transfer.expected_size, transfer.received, transfer.verified) == (2500, 2500, 2500)
    assert (transfer.retries, transfer.crc_failures, transfer.missing) == (0, 0, ())
    assert transfer.details["median_gap_ms"] == 280.0
    assert transfer.details["gap_histogram_ms"] == {
        "<100": 0, "100-200": 0, "200-500": 2, "500-1000": 0, "1000-2000": 0, ">=2000": 0,
    }  # fmt: skip
    assert transfer.details["init_to_first_command_ms"] == 100.0
    assert transfer.details["session_inits"] == 2
    assert transfer.duration_ns > 0
    assert transfer.throughput_bps is not None


def test_crc_error_then_resume_restarts_the_chain() -> None:
    # spec A.13 resume case: packet 2 corrupted, RESUME 2 / SYNC 2, resent CRCs 0xE199, 0xC1A0
    bad = bytearray(FRAMES[1])
    bad[100] ^= 0xFF
    script = opening(Script()).server(encode.resume(1)).device(encode.sync(1))
    script.device(FRAMES[0]).device(bytes(bad)).device(FRAMES[2])
    script.server(encode.resume(2)).device(encode.sync(2))
    for _, frame in encode.data_frames(SYNTHETIC, first_packet=2):
        script.device(frame)
    script.server(encode.repeat_init())
    result = script.run()
    data = result.typed("DATA")
    assert [result.value(r, "packet") for r in data] == [1, 2, 3, 2, 3]
    assert result.codes(data[1]) == ["dualcam.crc_chain"]
    assert result.codes(data[2]) == ["dualcam.in_flight"]
    assert [result.value(r, "crc") for r in data[3:]] == [0xE199, 0xC1A0]
    assert all(result.value(r, "crc_ok") for r in data[3:])
    resumes = result.typed("RESUME")
    syncs = result.typed("SYNC")
    assert resumes[1].response_in == syncs[1].number
    (obj,) = result.objects
    assert obj.complete
    assert obj.data == SYNTHETIC
    failure = obj.details["crc_failures"][0]  # type: ignore[index]
    assert failure["packet"] == 2
    assert failure["received"] == 0x3090
    assert failure["computed"] != 0x3090
    (transfer,) = result.transfers
    assert (transfer.outcome, transfer.retries, transfer.crc_failures) == ("complete", 1, 1)
    assert obj.details["in_flight_after_error"] == 1


def test_connection_closed_mid_file_is_aborted_with_holes() -> None:
    script = opening(Script()).server(encode.resume(1)).device(encode.sync(1))
    script.device(FRAMES[0])
    result = script.run()
    (obj,) = result.objects
    assert not obj.complete
    assert obj.holes == ((1024, 3072),)
    assert obj.details["missing_packets"] == "2..3"
    (transfer,) = result.transfers
    assert transfer.outcome == "aborted: connection closed mid-file"
    assert transfer.missing == ((1024, 3072),)
    last = result.typed("DATA")[-1]
    assert result.codes(last) == ["dualcam.aborted"]
    assert "missing packets 2..3" in last.all_problems[0].text


def test_start_not_answered_is_repeated_and_never_started() -> None:
    script = opening(Script())
    script.device(encode.start(3), 5000).device(encode.start(3), 5000)
    result = script.run()
    starts = result.typed("START")
    assert "dualcam.start_unanswered" in result.codes(starts[0])
    assert [result.codes(s) for s in starts[1:]] == [
        ["dualcam.start_repeated"],
        ["dualcam.start_repeated"],
    ]
    assert result.objects == []
    (transfer,) = result.transfers
    assert transfer.outcome == "never started (START not answered by RESUME)"
    assert transfer.details["repeated_starts"] == 2


def test_device_status_error_ends_the_file() -> None:
    script = opening(Script()).device(encode.status(17))
    result = script.run()
    status = result.typed("STATUS")[0]
    assert result.codes(status) == ["dualcam.device_status"]
    (transfer,) = result.transfers
    assert transfer.outcome.startswith("device error 17: failed to read file")


def test_sync_not_echoing_resume_is_flagged() -> None:
    script = opening(Script()).server(encode.resume(2)).device(encode.sync(3))
    result = script.run()
    assert result.codes(result.typed("SYNC")[0]) == ["dualcam.sync_mismatch"]


def test_repeated_resume_without_sync_is_noted() -> None:
    script = opening(Script()).server(encode.resume(1)).server(encode.resume(1), 2000)
    script.device(encode.sync(1))
    result = script.run()
    assert result.codes(result.typed("RESUME")[1]) == ["dualcam.resume_repeated"]


def test_conflicting_duplicate_is_reported() -> None:
    other = bytearray(SYNTHETIC)
    other[10] ^= 0x55
    script = opening(Script()).server(encode.resume(1)).device(encode.sync(1))
    script.device(FRAMES[0]).server(encode.resume(1)).device(encode.sync(1))
    script.device(next(encode.data_frames(bytes(other)))[1])
    result = script.run()
    second = result.typed("DATA")[1]
    assert result.codes(second) == ["dualcam.conflicting_duplicate", "dualcam.aborted"]
    assert result.transfers[0].details["conflicts"] == [(10, 11)]


def test_stall_is_noted() -> None:
    script = opening(Script()).server(encode.resume(1)).device(encode.sync(1))
    script.device(FRAMES[0]).device(FRAMES[1], 3500).device(FRAMES[2])
    result = script.run()
    assert result.codes(result.typed("DATA")[1]) == ["dualcam.stall"]
    assert result.transfers[0].details["stalls"] == [
        {"record": result.typed("DATA")[1].number, "pause_s": 3.5}
    ]


def test_path_flow_uses_byte_offsets() -> None:
    script = Script().device(encode.init(IMEI, 0x42000400, protocol_id=6))
    script.server(b"\x00\x0c\x00\x02\x00\x00")
    script.device(encode.command(0x0D, b"dsm/picture/231020/231452.jpg\x00"))
    script.server(encode.file_request("dsm/picture/231020/231452.jpg"))
    script.device(encode.start(len(JPEG))).server(encode.resume(0)).device(encode.sync(0))
    crc = 0
    for offset in range(0, len(JPEG), 1024):
        chunk = JPEG[offset : offset + 1024]
        crc = crc16_kermit(chunk, crc)
        script.device(encode.data(chunk, crc))
    script.server(encode.repeat_init())
    result = script.run()
    path = result.typed("PATH_RESPONSE")[0]
    assert path.request_in == result.typed("PATH_REQUEST")[0].number
    data = result.typed("DATA")
    assert [result.value(r, "offset") for r in data] == [0, 1024, 2048]
    assert result.value(data[0], "packet") is None
    (obj,) = result.objects
    assert obj.complete
    assert obj.data == JPEG
    assert obj.name.startswith("dualcam-356307042441013-231452-")
    assert obj.details["mode"] == "bytes"
    assert obj.details["path"] == "dsm/picture/231020/231452.jpg"


def test_nothing_to_send() -> None:
    result = opening(Script(), count=0).run()
    assert result.transfers[0].outcome == "nothing to send"
    assert result.objects == []


def test_ranges_merge_overlap_and_gaps() -> None:
    ranges = Ranges()
    for start, end in ((0, 10), (20, 30), (10, 15), (25, 40)):
        ranges.add(start, end)
    assert ranges.as_tuples() == ((0, 15), (20, 40))
    assert ranges.total == 35
    assert ranges.overlap(12, 22) == [(12, 15), (20, 22)]
    assert ranges.gaps(0, 50) == [(15, 20), (40, 50)]


def _device_stream() -> bytes:
    parts = [encode.init(IMEI, 0x44000400), encode.start(3), encode.sync(1), *FRAMES[:2]]
    bad = bytearray(FRAMES[2])
    bad[5] ^= 1
    resent = next(encode.data_frames(SYNTHETIC, first_packet=3))[1]
    parts += [bytes(bad), encode.sync(3), resent, encode.init(IMEI, 0x40000400)]
    return b"".join(parts)


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(0, 3200), max_size=10))
def test_any_split_of_the_stream_gives_the_same_files(cuts: list[int]) -> None:
    stream = _device_stream()
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})

    def play(pieces: list[bytes]) -> list[tuple[str, bytes, bool, tuple[tuple[int, int], ...]]]:
        script = Script()
        for piece in pieces:
            script.device(piece, 10)
        return [(o.name, o.data, o.complete, o.holes) for o in script.run().objects]

    whole = play([stream])
    assert whole[0][1] == SYNTHETIC
    assert play([stream[a:b] for a, b in itertools.pairwise(points) if b > a]) == whole


def test_capture_starting_mid_transfer_still_checks_the_chain() -> None:
    # no INIT/START/SYNC captured: the CRC of each DATA is the next one's starting register
    script = Script().device(FRAMES[0]).device(FRAMES[1]).device(FRAMES[2])
    bad = bytearray(FRAMES[2])
    bad[9] ^= 1
    script.device(bytes(bad))
    result = script.run()
    data = result.typed("DATA")
    assert [result.codes(r) for r in data] == [
        ["dualcam.data_outside_transfer"], [], [], ["dualcam.crc_chain"],
    ]  # fmt: skip
    assert [result.value(r, "crc_ok") for r in data] == [None, True, True, False]


def test_enhanced_data_carries_its_byte_offset() -> None:
    script = Script().device(encode.init(IMEI, 0x42000400, protocol_id=6))
    script.server(encode.file_request("adas/video/1.mp4")).device(encode.start(2500))
    script.server(encode.resume(0)).device(encode.sync(0))
    crc = 0
    for offset in (0, 1024, 2048):
        chunk = SYNTHETIC[offset : offset + 1024]
        crc = crc16_kermit(chunk, crc)
        payload = offset.to_bytes(4, "big") + chunk + crc.to_bytes(2, "big")
        script.device(encode.command(0x0E, payload))
    result = script.run()
    data = result.typed("ENHANCED_DATA")
    assert [result.value(r, "offset") for r in data] == [0, 1024, 2048]
    assert all(result.value(r, "crc_ok") for r in data)
    (obj,) = result.objects
    assert obj.complete
    assert obj.data == SYNTHETIC


def test_protocol_6_legacy_identifier_picks_the_mode_from_the_count() -> None:
    script = Script().device(encode.init(IMEI, 0x44000400, protocol_id=6))
    script.server(encode.file_request("%photof")).device(encode.start(3))
    script.server(encode.resume(1)).device(encode.sync(1))
    for frame in FRAMES:
        script.device(frame)
    result = script.run()
    (obj,) = result.objects
    assert obj.details["mode"] == "packets"
    assert obj.complete


def test_resume_without_sync_is_flagged() -> None:
    script = opening(Script()).server(encode.resume(1)).server(encode.resume(1), 3000)
    result = script.run()
    first, second = result.typed("RESUME")
    assert result.codes(first) == ["dualcam.resume_unanswered"]
    assert "dualcam.resume_repeated" in result.codes(second)


def test_init_never_answered_is_flagged_when_the_link_closes() -> None:
    result = Script().device(encode.init(IMEI, 0x44000400)).run()
    assert result.codes(result.typed("INIT")[0]) == ["dualcam.init_unanswered"]


def test_without_keep_transfers_only_the_file_still_open_is_listed() -> None:
    script = opening(Script()).server(encode.resume(1), 500).device(encode.sync(1), 400)
    for frame in FRAMES:
        script.device(frame, 280)
    opening(script, "%photor").server(encode.resume(1), 500).device(encode.sync(1), 400)
    script.device(FRAMES[0], 280)
    kept = script.run(close=False)
    assert [t.outcome for t in kept.transfers] == ["complete", "aborted: capture ended mid-file"]
    forgotten = script.run(close=False, keep_transfers=False)
    assert [t.name for t in forgotten.transfers] == [kept.transfers[1].name]
    assert [r.all_problems for r in forgotten.records] == [r.all_problems for r in kept.records]
