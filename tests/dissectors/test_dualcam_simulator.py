"""DualCam simulator: scenarios over real loopback TCP, read back through the pipeline."""

from __future__ import annotations

import argparse
import socket
import threading
from pathlib import Path

import pytest

from dissectors.api import ExtractedObject, Record, Transfer
from sniffer.pipeline import Pipeline
from sniffer.simulate import dualcam as sim
from sniffer.sources import open_source

CAPTURES = Path(__file__).resolve().parents[2] / "captures" / "dualcam"


def read_back(path: Path) -> tuple[list[Record], list[ExtractedObject], list[Transfer]]:
    source = open_source(str(path))
    pipeline = Pipeline()
    records: list[Record] = []
    try:
        for event in source.events():
            records += pipeline.process(event)
    finally:
        source.close()
    records += pipeline.finish()
    return records, pipeline.take_objects(), pipeline.transfers()


def scenario(
    name: str, tmp_path: Path
) -> tuple[sim.ServerLogic, list[Record], list[ExtractedObject], list[Transfer]]:
    recording, server = sim.simulate(name)
    out = tmp_path / f"{name}.pcapng"
    sim.write_capture(recording, out, name)
    return server, *read_back(out)


def codes(records: list[Record]) -> list[str]:
    return [p.code for r in records for p in r.all_problems]


def test_photo_upload_extracts_what_the_server_stored(tmp_path: Path) -> None:
    server, records, objects, transfers = scenario("photo-upload", tmp_path)
    (stored,) = server.files
    (obj,) = objects
    assert stored.complete
    assert obj.complete
    assert obj.data == bytes(stored.data)
    assert obj.data.startswith(b"\xff\xd8\xff")
    assert obj.details["jpeg"] == {"eoi": True, "width": 320, "height": 240}
    assert transfers[0].outcome == "complete"
    assert "dualcam.crc_chain" not in codes(records)


def test_crc_error_resume(tmp_path: Path) -> None:
    server, records, objects, transfers = scenario("crc-error-resume", tmp_path)
    assert server.files[0].crc_errors == 1
    assert codes(records).count("dualcam.crc_chain") == 1
    resumes = [r for r in records if r.dissection.type == "RESUME"]
    assert [r.dissection.summary for r in resumes] == ["RESUME 1", "RESUME 5"]
    assert resumes[1].response_in is not None
    (obj,) = objects
    assert obj.complete
    assert obj.data == bytes(server.files[0].data)
    assert (transfers[0].crc_failures, transfers[0].retries) == (1, 1)


def test_video_with_dropped_bytes_resyncs_and_completes(tmp_path: Path) -> None:
    server, records, objects, transfers = scenario("video-with-resume", tmp_path)
    junk = [r for r in records if r.dissection.type == "junk"]
    assert [len(r.data) for r in junk] == [1030 - 300]
    (obj,) = objects
    assert obj.complete
    assert obj.data == bytes(server.files[0].data)
    ptmf = obj.details["ptmf"]
    assert isinstance(ptmf, dict)
    assert (ptmf["video_frames"], ptmf["audio_records"], ptmf["tiles_file"]) == (20, 25, True)
    assert b"".join(obj.extra_files[".h265"]).startswith(b"\x00\x00\x00\x01\x40\x01")
    assert transfers[0].crc_failures == 1


def test_aborted_upload(tmp_path: Path) -> None:
    _server, records, objects, transfers = scenario("aborted-upload", tmp_path)
    (obj,) = objects
    assert not obj.complete
    assert len(obj.data) == 4096
    assert transfers[0].outcome == "aborted: connection closed mid-file"
    assert "dualcam.aborted" in codes(records)


def test_start_unanswered(tmp_path: Path) -> None:
    _server, records, objects, transfers = scenario("start-unanswered", tmp_path)
    assert objects == []
    assert [r.dissection.type for r in records].count("START") == 3
    assert codes(records).count("dualcam.start_repeated") == 2
    assert "dualcam.start_unanswered" in codes(records)
    assert transfers[0].outcome.startswith("never started")


def test_bare_server_commands(tmp_path: Path) -> None:
    server, records, objects, _transfers = scenario("bare-server-commands", tmp_path)
    bare = [r for r in records if len(r.data) == 2]
    assert [r.dissection.type for r in bare] == ["REPEAT_INIT", "REPEAT_INIT", "COMPLETE", "CLOSE"]
    assert all(obj.complete for obj in objects)
    assert [o.data for o in objects] == [bytes(f.data) for f in server.files]
    syncs = [r.dissection.summary for r in records if r.dissection.type == "SYNC"]
    assert syncs == ["SYNC 1", "SYNC 1"]  # RESUME 0 is answered with SYNC 1 (spec A.7)


def test_scenarios_are_deterministic_and_match_the_bundled_captures(tmp_path: Path) -> None:
    for name in sim.SCENARIOS:
        first, second = tmp_path / "a.pcapng", tmp_path / "b.pcapng"
        sim.write_capture(sim.simulate(name)[0], first, f"camshark dualcam simulator: {name}")
        sim.write_capture(sim.simulate(name)[0], second, f"camshark dualcam simulator: {name}")
        assert first.read_bytes() == second.read_bytes()
        bundled = CAPTURES / f"{name}.pcapng"
        if bundled.exists():
            assert bundled.read_bytes() == first.read_bytes(), f"regenerate {bundled}"
            assert bundled.stat().st_size < 1_000_000


def test_bench_peers_in_real_time_over_loopback() -> None:
    upload = sim.Upload("%photof", sim.make_jpeg("bench", 9, (64, 48)), 1_730_000_000_000)
    listener = socket.create_server(("127.0.0.1", 0))
    server = sim.ServerLogic(sim.ServerOptions(metadata=False))
    record: list[sim.Sent] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            sim.run_realtime(
                conn, server, duration_s=10, record=record, side=sim.SERVER, time_scale=0.02
            )

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with socket.create_connection(listener.getsockname(), timeout=5) as sock:
            sim.run_realtime(sock, sim.DeviceLogic([upload]), duration_s=10, time_scale=0.02)
    finally:
        thread.join(timeout=10)
        listener.close()
    (stored,) = server.files
    assert stored.complete
    assert bytes(stored.data) == upload.data
    assert record  # what the server saw, for --out


def test_cli_list_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    sim.add_arguments(parser)
    assert sim.run(parser.parse_args(["--list"])) == 0
    assert "crc-error-resume" in capsys.readouterr().out
    assert sim.run(parser.parse_args([])) == 2
    assert sim.run(parser.parse_args(["no-such-scenario"])) == 2


def test_cli_writes_a_scenario(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    sim.add_arguments(parser)
    out = tmp_path / "x.pcapng"
    assert sim.run(parser.parse_args(["photo-upload", "--out", str(out)])) == 0
    _records, objects, _transfers = read_back(out)
    assert [o.complete for o in objects] == [True]
