from __future__ import annotations

import queue
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator

import pytest

from sniffer.sources import open_source
from sniffer.sources.base import Chunk, Event, LinkClosed, Side, SourceError
from sniffer.sources.live import LiveSource, parse_live_url

WAIT_S = 15.0


def test_parse_live_url() -> None:
    assert parse_live_url("live:lo") == ("lo", None)
    assert parse_live_url("live:eth0?filter=tcp%20port%208051") == ("eth0", "tcp port 8051")
    assert parse_live_url("live://any?filter=udp port 1") == ("any", "udp port 1")
    with pytest.raises(SourceError, match="without an interface"):
        parse_live_url("live:")


def test_open_source_knows_the_live_scheme() -> None:
    source = open_source("live:lo?filter=tcp port 1")
    assert isinstance(source, LiveSource)
    assert source.command("/usr/bin/dumpcap") == [
        "/usr/bin/dumpcap", "-i", "lo", "-w", "-", "-q", "-f", "tcp port 1",
    ]  # fmt: skip


def test_missing_dumpcap_is_a_clear_error() -> None:
    source = LiveSource("lo", dumpcap="no-such-dumpcap-here")
    with pytest.raises(SourceError, match="no-such-dumpcap-here not found"):
        list(source.events())


def _can_capture() -> bool:
    if shutil.which("dumpcap") is None:
        return False
    result = subprocess.run(
        ["dumpcap", "-i", "lo", "-c", "1", "-a", "duration:1", "-w", "/dev/null", "-q"],
        capture_output=True, timeout=10, check=False,
    )  # fmt: skip
    return result.returncode == 0


@pytest.fixture(scope="module")
def can_capture() -> None:
    """Skip unless dumpcap may capture on lo (root, or setcap'd dumpcap); checked lazily."""
    if not _can_capture():
        pytest.skip("dumpcap cannot capture on lo here")


live = pytest.mark.usefixtures("can_capture")


@live
def test_unknown_interface_reports_dumpcap_message() -> None:
    source = LiveSource("no-such-if0")
    with pytest.raises(SourceError, match=r"live capture on no-such-if0 failed: .*no-such-if0"):
        list(source.events())


def _drain(events: Iterator[Event], out: queue.Queue[Event | BaseException]) -> None:
    try:
        for event in events:
            out.put(event)
    except BaseException as exc:  # handed to the test thread
        out.put(exc)
    out.put(StopIteration())


@live
def test_live_capture_on_loopback_streams_tcp_and_stops_on_close() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    source = LiveSource("lo", capture_filter=f"tcp port {port}")
    out: queue.Queue[Event | BaseException] = queue.Queue()
    worker = threading.Thread(target=_drain, args=(source.events(), out), daemon=True)
    worker.start()
    assert source.ready.wait(WAIT_S)
    try:
        client = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
        peer, _ = server.accept()
        client.sendall(b"hello live")
        assert peer.recv(100) == b"hello live"
        peer.sendall(b"reply")
        assert client.recv(100) == b"reply"
        got: dict[Side, bytes] = {Side.A: b"", Side.B: b""}
        while got != {Side.A: b"hello live", Side.B: b"reply"}:
            event = out.get(timeout=WAIT_S)  # packets arrive while the capture runs
            assert not isinstance(event, BaseException), event
            if isinstance(event, Chunk):
                got[event.side] += event.data
        client.close()
        peer.close()
    finally:
        source.close()
        server.close()
    rest: list[Event] = []
    while True:
        item = out.get(timeout=WAIT_S)
        if isinstance(item, StopIteration):
            break
        assert not isinstance(item, BaseException), item
        rest.append(item)
    worker.join(WAIT_S)
    assert any(isinstance(e, LinkClosed) for e in rest)


@live
def test_bad_capture_filter_reports_dumpcap_reason() -> None:
    source = LiveSource("lo", capture_filter="tcp port banana")
    with pytest.raises(SourceError, match=r"Invalid capture filter.*unknown port 'banana'"):
        list(source.events())
