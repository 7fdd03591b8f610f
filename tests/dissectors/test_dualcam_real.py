"""Real DualCam uploads (device side), fed through the pipeline with their real read boundaries.

Every number comes from /work/shared/real/dualcam/README.md ("What an independent reading of
the bytes finds"). The logs are JSON lists of server reads; the same bytes are also bundled
as captures/dualcam/real-*.pcapng, checked at the end of this file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from dissectors.api import ExtractedObject, Link, Record, Transfer
from sniffer.pipeline import Pipeline
from sniffer.sources import open_source
from sniffer.sources.base import Chunk, LinkClosed, LinkInfo, Side, Transport

REAL = Path("/work/shared/real/dualcam")
CAPTURES = Path(__file__).resolve().parents[2] / "captures" / "dualcam"
SYNTHETIC_T0_NS = 1_730_300_000_000_000_000
"""Logs without read times get reads 280 ms apart (the median seen in the timed logs)."""


@dataclass
class Run:
    records: list[Record]
    objects: list[ExtractedObject]
    transfers: list[Transfer]

    def of_type(self, kind: str) -> list[Record]:
        return [r for r in self.records if r.dissection.type == kind]

    def field(self, record: Record, name: str) -> object:
        return {f.name: f.value for f in record.dissection.fields}.get(name)


def chunks_of(name: str) -> list[tuple[int, bytes]]:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    packets = json.loads(path.read_text())["packets"]
    out = []
    for index, packet in enumerate(packets):
        data = bytes.fromhex(packet["data"].replace(",", ""))
        assert len(data) == packet["length"]
        time_ms = packet.get("time")
        time_ns = time_ms * 1_000_000 if time_ms else SYNTHETIC_T0_NS + index * 280_000_000
        out.append((time_ns, data))
    return out


def run_chunks(chunks: list[tuple[int, bytes]]) -> Run:
    link = Link(1, "tcp", "203.0.113.7:51234", "198.51.100.1:10014")
    info = LinkInfo(link, Transport.STREAM, 51234, 10014)
    pipeline = Pipeline()
    records: list[Record] = []
    for time_ns, data in chunks:
        records += pipeline.process(Chunk(info, Side.A, time_ns, data))
    records += pipeline.process(LinkClosed(info, chunks[-1][0] + 1_000_000))
    records += pipeline.finish()
    return Run(records, pipeline.take_objects(), pipeline.transfers())


VIDEO_SHA256 = "e8a5e2db534a4da786d92a0651fe6153a5421264f8df3b495de89cd443056a52"
PHOTOS = [
    # file, START count, packets got, file bytes, sha256 (README table)
    (
        "photo-front-1.json",
        29,
        28826,
        "3a6b1ed5fe82835a2b3505e110c18bea172eaa25fc45dca8c58c1a5fe67c5841",
    ),
    (
        "photo-front-2.json",
        29,
        29395,
        "e4db7ae7a4dce10feca83750501ec1178fcade6319efb39733dca5ba73b229cd",
    ),
    (
        "photo-front-3.json",
        33,
        33452,
        "26b583049422c148988d4c7a5a37fd24b81b930fc180357fb6314138f69c5d20",
    ),
    (
        "photo-front-4.json",
        30,
        30251,
        "efc57a4e75a989667014b4b292472ed817adbf3a089fc6b8abba0d223eea02c6",
    ),
]


@pytest.mark.parametrize(("name", "count", "size", "sha256"), PHOTOS)
def test_real_photo_upload(name: str, count: int, size: int, sha256: str) -> None:
    run = run_chunks(chunks_of(name))
    assert run.field(run.of_type("START")[0], "count") == count
    assert len(run.of_type("DATA")) == count
    assert not [r for r in run.records if r.dissection.type == "junk"]
    assert not [p for r in run.records for p in r.all_problems if p.severity == "error"]
    (obj,) = run.objects
    assert obj.complete
    assert len(obj.data) == size
    assert hashlib.sha256(obj.data).hexdigest() == sha256
    assert obj.content_type == "image/jpeg"
    assert obj.name.startswith("dualcam-863719061653375-photof-2024")
    assert obj.name.endswith(".jpg")
    assert obj.details["packets_verified"] == count
    assert obj.details["crc_failures"] == []
    (transfer,) = run.transfers
    assert (transfer.outcome, transfer.verified, transfer.crc_failures) == ("complete", size, 0)
    assert transfer.progress == 1.0
    # every DATA record carries its packet number and a good CRC verdict
    packets = [run.field(r, "packet") for r in run.of_type("DATA")]
    assert packets == list(range(1, count + 1))
    assert all(run.field(r, "crc_ok") is True for r in run.of_type("DATA"))


def test_real_photo_metadata_and_queue_drained() -> None:
    run = run_chunks(chunks_of("photo-front-2.json"))
    (obj,) = run.objects
    assert obj.name == "dualcam-863719061653375-photof-20241030T113505Z.jpg"
    assert obj.details["metadata"] == {
        "version": 3,
        "file_type": "photo front",
        "timestamp": "2024-10-30T11:35:05Z",
        "trigger": "server request",
        "duration_s": 0,
        "fps": 0,
        "timezone_min": 300,
        "latitude": pytest.approx(24.92856),
        "longitude": pytest.approx(67.129243, abs=1e-6),
    }
    assert obj.details["jpeg"] == {"eoi": True, "width": 640, "height": 480}
    inits = run.of_type("INIT")
    assert [run.field(r, "pending") for r in inits] == ["photo front", "nothing pending"]
    assert [p.code for p in inits[1].all_problems] == ["dualcam.served"]


def test_real_truncated_photo_reports_missing_packets() -> None:
    run = run_chunks(chunks_of("photo-front-truncated.json"))
    assert run.field(run.of_type("START")[0], "count") == 56
    assert len(run.of_type("DATA")) == 1
    (junk,) = run.of_type("junk")
    assert len(junk.data) == 330  # the rest of the stream: a DATA header and 326 bytes
    (obj,) = run.objects
    assert not obj.complete
    assert len(obj.data) == 1024
    assert obj.holes == ((1024, 56 * 1024),)
    assert obj.details["missing_packets"] == "2..56"
    assert obj.details["packets_verified"] == 1
    (transfer,) = run.transfers
    assert transfer.outcome == "aborted: connection closed mid-file"
    assert transfer.verified == 1024
    assert transfer.crc_failures == 0


def test_real_video_with_resume() -> None:
    run = run_chunks(chunks_of("video-front-resume.json"))
    assert run.field(run.of_type("START")[0], "count") == 584
    (obj,) = run.objects
    assert obj.complete
    assert len(obj.data) == 597868
    assert hashlib.sha256(obj.data).hexdigest() == VIDEO_SHA256
    assert obj.details["packets_verified"] == 584
    # one CRC failure, frames in flight after it are notes, not errors
    errors = [p for r in run.records for p in r.all_problems if p.severity == "error"]
    assert [p.code for p in errors] == ["dualcam.crc_chain"]
    assert len(obj.details["crc_failures"]) == 1  # type: ignore[arg-type]
    assert obj.details["in_flight_after_error"] == 3
    # 580 bytes cannot be framed until the framer resyncs on the next DATA header
    (junk,) = run.of_type("junk")
    assert len(junk.data) == 580
    assert junk.item.start == 349240
    # SYNC 337 twice, packet 337 sent three times, chain restarted at each SYNC
    syncs = [run.field(r, "offset") for r in run.of_type("SYNC")]
    assert syncs == [1, 337, 337]
    copies = [r for r in run.of_type("DATA") if run.field(r, "packet") == 337]
    assert [run.field(r, "crc") for r in copies] == [0xD702, 0x20DE, 0x20DE]
    assert all(run.field(r, "crc_ok") for r in copies)
    assert obj.details["duplicates"] == [(336 * 1024, 338 * 1024)]
    assert obj.details["conflicts"] == []
    # the PTMF records tile the file: 135 records, 3 I + 57 P video, 75 A
    ptmf = obj.details["ptmf"]
    assert isinstance(ptmf, dict)
    assert (ptmf["records"], ptmf["i_frames"], ptmf["p_frames"], ptmf["audio_records"]) == (
        135,
        3,
        57,
        75,
    )
    assert ptmf["tiles_file"] is True
    assert (ptmf["width"], ptmf["height"]) == (1280, 720)
    assert b"".join(obj.extra_files[".h265"]).startswith(b"\x00\x00\x00\x01\x40\x01")  # VPS
    assert obj.name == "dualcam-863719061653375-videof-20241029T124342Z.ptmf"
    (transfer,) = run.transfers
    assert (transfer.outcome, transfer.crc_failures, transfer.verified) == ("complete", 1, 597868)


@pytest.mark.parametrize("name", ["photo-front-1.json", "video-front-resume.json"])
def test_real_logs_give_the_same_files_when_rechunked(name: str) -> None:
    chunks = chunks_of(name)
    stream = b"".join(data for _, data in chunks)
    t0 = chunks[0][0]
    rechunked = [(t0 + i, stream[o : o + 997]) for i, o in enumerate(range(0, len(stream), 997))]
    original, other = run_chunks(chunks).objects, run_chunks(rechunked).objects
    assert [(o.name, o.data, o.holes) for o in original] == [
        (o.name, o.data, o.holes) for o in other
    ]


BUNDLED = [
    # capture, START count, packets verified, file bytes, CRC failures, sha256 (None: incomplete)
    *[(f"real-{n.removesuffix('.json')}.pcapng", c, c, size, 0, sha) for n, c, size, sha in PHOTOS],
    ("real-photo-front-truncated.pcapng", 56, 1, 1024, 0, None),
    ("real-video-front-resume.pcapng", 584, 584, 597868, 1, VIDEO_SHA256),
]


@pytest.mark.parametrize(("capture", "count", "packets", "size", "failures", "sha256"), BUNDLED)
def test_bundled_real_captures_give_the_readme_numbers(
    capture: str, count: int, packets: int, size: int, failures: int, sha256: str | None
) -> None:
    # the same logs as pcapng (captures/dualcam/README.md): no dependency on the JSON files
    source = open_source(str(CAPTURES / capture))
    pipeline = Pipeline()
    records: list[Record] = []
    try:
        for event in source.events():
            records += pipeline.process(event)
    finally:
        source.close()
    records += pipeline.finish()
    starts = [r for r in records if r.dissection.type == "START"]
    assert {f.name: f.value for f in starts[0].dissection.fields}["count"] == count
    (obj,) = pipeline.take_objects()
    assert obj.details["packets_verified"] == packets
    assert len(obj.data) == size
    (transfer,) = pipeline.transfers()
    assert transfer.crc_failures == failures
    if sha256 is None:
        assert not obj.complete
    else:
        assert obj.complete
        assert hashlib.sha256(obj.data).hexdigest() == sha256
