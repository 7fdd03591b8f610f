"""The replay source: URL parsing, pacing on an injected clock, speed 0, closing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dissectors.api import Link
from sniffer.clock import FixedClock
from sniffer.sources.base import Chunk, Event, LinkInfo, Side, SourceError, Transport
from sniffer.sources.replay import ReplaySource, parse_replay_url

INFO = LinkInfo(Link(1, "tcp", "a:1", "b:2"), Transport.STREAM, 1, 2)
T0 = 1_700_000_000_000_000_000


class ListSource:
    def __init__(self, times_ns: list[int]) -> None:
        self.events_list: list[Event] = [Chunk(INFO, Side.A, t, b"x") for t in times_ns]
        self.closed = False

    def events(self) -> Iterator[Event]:
        yield from self.events_list

    def close(self) -> None:
        self.closed = True


def test_parse_replay_url() -> None:
    assert parse_replay_url("replay:captures/x.pcapng?speed=2.5") == ("captures/x.pcapng", 2.5)
    assert parse_replay_url("replay:/tmp/a%20b.pcap") == ("/tmp/a b.pcap", 1.0)
    assert parse_replay_url("replay://rel/x.pcap?speed=0") == ("rel/x.pcap", 0.0)
    with pytest.raises(SourceError):
        parse_replay_url("replay:x.pcap?speed=fast")
    with pytest.raises(SourceError):
        parse_replay_url("replay:?speed=1")
    with pytest.raises(SourceError):
        parse_replay_url("pcap:x.pcap")
    with pytest.raises(SourceError):
        parse_replay_url("replay:x.pcap?speed=-1")


def test_replay_keeps_the_original_timing() -> None:
    clock = FixedClock()
    start = clock.monotonic_ns()
    times = [T0, T0 + 500_000_000, T0 + 2_000_000_000, T0 + 2_000_000_000]
    replay = ReplaySource(ListSource(times), speed=1.0, clock=clock)
    seen = [clock.monotonic_ns() - start for _event in replay.events()]
    assert seen == [0, 500_000_000, 2_000_000_000, 2_000_000_000]


def test_replay_speed_scales_the_waits() -> None:
    clock = FixedClock()
    times = [T0, T0 + 1_000_000_000, T0 + 3_000_000_000]
    list(ReplaySource(ListSource(times), speed=4.0, clock=clock).events())
    assert clock.slept_s == pytest.approx(0.75)


def test_speed_zero_never_sleeps() -> None:
    clock = FixedClock()
    events = list(ReplaySource(ListSource([T0, T0 + 10**12]), speed=0, clock=clock).events())
    assert len(events) == 2
    assert clock.slept_s == 0


def test_close_stops_the_replay_and_the_file() -> None:
    inner = ListSource([T0 + i * 1_000_000_000 for i in range(10)])
    replay = ReplaySource(inner, speed=1.0, clock=FixedClock())
    seen = 0
    for _event in replay.events():
        seen += 1
        if seen == 3:
            replay.close()
    assert seen == 3
    assert inner.closed


def test_replay_of_a_capture_file(session_capture: Path) -> None:
    clock = FixedClock()
    replay = ReplaySource.from_url(f"replay:{session_capture}?speed=10", clock=clock)
    events = list(replay.events())
    assert events
    span_s = (events[-1].time_ns - events[0].time_ns) / 1e9
    assert clock.slept_s == pytest.approx(span_s / 10, abs=1e-6)
