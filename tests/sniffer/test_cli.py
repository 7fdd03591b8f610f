"""The camshark command line, end to end on small captures built with the packet writer."""

from __future__ import annotations

import io
import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

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
from sniffer.cli import EXIT_INPUT, EXIT_OK, EXIT_USAGE, main
from sniffer.packet_writer import CaptureWriter, TcpConversation
from sniffer.sources.base import Side
from tests.helpers import plate_read

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\xff\xd9"

PLATE = plate_read("1234 KLM")

# (time ms, side, frame): side A is the central system (TCP client), B the unit
SESSION = [
    (0, Side.A, encode(Status(), 1, 2)),
    (3, Side.B, encode(StatusResponse(1, 0, 1), 1, 2)),
    (10, Side.A, encode(Trigger(7), 1, 4)),
    (12, Side.B, encode(Ack(), 1, 4)),
    (80, Side.B, encode(PLATE, 1, 1)),
    (85, Side.A, encode(Ack(), 1, 1)),
    (100, Side.A, encode(GetPicture(1001), 1, 6)),
    (130, Side.B, encode(GetPictureResponse(10, 20, 30, 40, len(JPEG), JPEG), 1, 6)),
    (200, Side.A, encode(Status(), 1, 8, bcc=0xA9)),
    (202, Side.B, encode(Nak(1, 0), 1, 8)),
    (300, Side.A, encode(Trigger(9), 1, 10)),
]


def write_session(path: Path, session=SESSION, *, close: bool = True) -> Path:
    conversation = TcpConversation(("10.0.0.1", 40000), ("10.0.0.2", 9000))
    with CaptureWriter(path) as writer:
        writer.write_all(conversation.open(T0 - MS))
        for time_ms, side, frame in session:
            writer.write_all(conversation.send(side, frame, T0 + time_ms * MS, ack=True))
        if close:
            writer.write_all(conversation.close(T0 + 5000 * MS))
    return path


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    return write_session(tmp_path / "session.pcapng")


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    stdout = io.BytesIO()
    wrapper = io.TextIOWrapper(stdout, encoding="utf-8", write_through=True)
    real = sys.stdout
    sys.stdout = wrapper
    try:
        status = main(list(argv))
        wrapper.flush()
    finally:
        sys.stdout = real
    captured = capsys.readouterr()
    return status, stdout.getvalue().decode(), captured.err


def test_read_prints_one_line_per_message_with_pairs_and_problems(capsys, capture) -> None:
    status, out, err = run_cli(capsys, "read", str(capture))
    assert status == EXIT_OK, err
    lines = out.splitlines()
    assert len(lines) == len(SESSION)
    assert lines[0].split()[:2] == ["1", "0.000000"]
    assert "host→dev smartlpr Status" in lines[0]
    assert "[reply in #2]" in lines[0]
    assert "StatusResponse" in lines[1] and "[reply to #1, 3.000 ms]" in lines[1]
    assert "1234 KLM" in lines[4] or "1234KLM" in lines[4]
    bad = [line for line in lines if "[!!smartlpr.bad_checksum]" in line]
    assert len(bad) == 1
    assert "Status" in bad[0]
    assert "unanswered" in lines[10]


def test_read_json_is_one_array_with_the_documented_record(capsys, capture) -> None:
    status, out, _ = run_cli(capsys, "read", str(capture), "-T", "json")
    assert status == EXIT_OK
    records = json.loads(out)
    assert len(records) == len(SESSION)
    first = records[0]
    for key in (
        "frame",
        "time",
        "link",
        "direction",
        "protocol",
        "type",
        "summary",
        "fields",
        "problems",
        "request_in",
        "response_in",
    ):
        assert key in first
    assert first["direction"] == "to_device"
    assert first["response_in"] == 2
    assert records[1]["request_in"] == 1
    plate = records[4]
    assert plate["type"] == "LicenseInfo"
    assert plate["direction"] == "from_device"
    flat = json.dumps(plate["fields"])
    assert "1234KLM" in flat and "1001" in flat
    codes = {p["code"] for r in records for p in r["problems"]}
    assert {"smartlpr.bad_checksum", "smartlpr.unanswered"} <= codes


def test_read_jsonl_streams_one_object_per_line(capsys, capture) -> None:
    status, out, _ = run_cli(capsys, "read", str(capture), "-T", "jsonl", "--no-hex")
    assert status == EXIT_OK
    lines = out.splitlines()
    assert [json.loads(line)["frame"] for line in lines] == list(range(1, len(SESSION) + 1))
    assert "hex" not in json.loads(lines[0])


def test_problems_and_filter_select_messages(capsys, capture) -> None:
    _, out, _ = run_cli(capsys, "read", str(capture), "--problems")
    assert all(re.search(r"\[(!!|!|·)\w+\.", line) for line in out.splitlines())
    assert len(out.splitlines()) >= 2
    _, out, _ = run_cli(capsys, "read", str(capture), "-Y", 'smartlpr.plate contains "KLM"')
    assert [line.split()[0] for line in out.splitlines()] == ["5"]
    _, out, _ = run_cli(capsys, "read", str(capture), "-Y", "smartlpr.type == Trigger", "-c", "1")
    assert [line.split()[0] for line in out.splitlines()] == ["3"]


def test_verbose_and_hex_add_the_tree_and_dump(capsys, capture) -> None:
    _, out, _ = run_cli(capsys, "read", str(capture), "-V", "-x", "-c", "1")
    assert "unit_id" in out
    assert "0000  02 01 00 00 00" in out


def test_stats_reports_latency_naks_and_checksum_errors(capsys, capture) -> None:
    status, out, _ = run_cli(capsys, "stats", str(capture))
    assert status == EXIT_OK
    assert "Checksum errors: 1" in out
    assert "Status" in out and "Request/response latency" in out
    assert "NAKs by reason" in out
    status, out, _ = run_cli(capsys, "stats", str(capture), "-T", "json")
    report = json.loads(out)
    assert report["records"] == len(SESSION)
    assert report["checksum_errors"] == 1
    assert any(row["request"] == "Status" for row in report["latency_ms"])


def test_objects_writes_the_picture_and_an_index(capsys, capture, tmp_path) -> None:
    out_dir = tmp_path / "objects"
    status, _out, _ = run_cli(capsys, "objects", str(capture), "--out", str(out_dir))
    assert status == EXIT_OK
    index = json.loads((out_dir / "index.json").read_text())
    assert len(index["objects"]) == 1
    entry = index["objects"][0]
    assert (out_dir / entry["file"]).read_bytes() == JPEG
    assert entry["complete"] is True
    assert entry["frames"] == [[8, 8]]


def test_not_a_capture_is_one_clear_line_and_exit_1(capsys, tmp_path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("hello, this is not a capture\n")
    status, out, err = run_cli(capsys, "read", str(bogus))
    assert status == EXIT_INPUT
    assert out == ""
    assert err.startswith("camshark: ") and len(err.strip().splitlines()) == 1
    status, _, err = run_cli(capsys, "read", str(tmp_path / "missing.pcapng"))
    assert status == EXIT_INPUT
    assert "missing.pcapng" in err


def test_truncated_capture_prints_what_it_could_then_fails(capsys, capture, tmp_path) -> None:
    data = capture.read_bytes()
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(data[: len(data) * 2 // 3])
    status, out, err = run_cli(capsys, "read", str(cut))
    assert status == EXIT_INPUT
    assert len(out.splitlines()) >= 5
    assert err.startswith("camshark: ") and len(err.strip().splitlines()) == 1


def test_usage_errors_exit_2(capsys, capture) -> None:
    status, _, err = run_cli(capsys, "read", str(capture), "-P", "nosuch")
    assert status == EXIT_USAGE
    assert "unknown protocol 'nosuch'" in err and "smartlpr" in err
    status, _, err = run_cli(capsys, "read", str(capture), "-Y", "smartlpr.type ==")
    assert status == EXIT_USAGE
    assert "invalid filter" in err


def test_protocols_lists_and_shows_documentation(capsys) -> None:
    status, out, _ = run_cli(capsys, "protocols")
    assert status == EXIT_OK
    assert "smartlpr" in out and "dualcam" in out
    _, out, _ = run_cli(capsys, "protocols", "--show", "smartlpr")
    assert "Spec:" in out


def test_console_script_never_prints_a_traceback(tmp_path) -> None:
    garbage = tmp_path / "garbage.pcap"
    garbage.write_bytes(b"\xd4\xc3\xb2\xa1" + b"\x00" * 10)
    result = subprocess.run(
        [sys.executable, "-m", "sniffer", "read", str(garbage)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == EXIT_INPUT
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("camshark: ")


def test_interrupting_a_live_read_keeps_what_was_captured() -> None:
    demo = Path(__file__).resolve().parents[2] / "sniffer" / "samples" / "demo.pcapng"
    process = subprocess.Popen(
        [sys.executable, "-m", "sniffer", "read", f"replay:{demo}?speed=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # printed at once: live sources do not settle
        assert first.split()[0] == "1"
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "interrupted" in err
    assert "Traceback" not in err
    assert len((first + rest).splitlines()) >= 1


def test_the_quick_exit_writes_everything_and_keeps_the_status(tmp_path, capsys) -> None:
    # read/stats end the process without tearing the interpreter down: nothing may be lost
    faults = Path(__file__).resolve().parents[2] / "captures" / "smartlpr" / "faults.pcapng"
    for command in (["read", "-T", "jsonl"], ["read"], ["stats"]):
        status, expected, _ = run_cli(capsys, *command, str(faults))
        result = subprocess.run(
            [sys.executable, "-m", "sniffer", *command, str(faults)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (result.returncode, result.stdout) == (status, expected)
    out = tmp_path / "objects"
    result = subprocess.run(
        [sys.executable, "-m", "sniffer", "objects", str(faults), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == EXIT_OK
    assert json.loads((out / "index.json").read_text())  # written and closed before the exit


def test_the_quick_exit_is_quiet_when_the_reader_stops_early() -> None:
    # 1.5 MB of JSON Lines: more than a pipe holds, so the writer meets the closed pipe
    video = Path(__file__).resolve().parents[2] / "captures/dualcam/real-video-front-resume.pcapng"
    process = subprocess.Popen(
        [sys.executable, "-m", "sniffer", "read", "-T", "jsonl", str(video)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    process.stdout.readline()
    process.stdout.close()  # like `| head -1`
    _, err = process.communicate(timeout=60)
    assert process.returncode == EXIT_OK
    assert b"Traceback" not in err
