"""The shared framer building blocks."""

from __future__ import annotations

from dissectors.framing import ArrivalTimes


def test_each_byte_gets_the_time_of_the_chunk_that_carried_it() -> None:
    times = ArrivalTimes()
    assert times.at(0) == 0
    times.add(0, 100)
    times.add(10, 200)
    times.add(25, 300)
    assert [times.at(offset) for offset in (0, 9, 10, 24, 25, 99)] == [100, 100, 200, 200, 300, 300]


def test_forgetting_consumed_chunks_keeps_the_one_still_in_use() -> None:
    times = ArrivalTimes()
    for offset, time_ns in ((0, 1), (10, 2), (20, 3)):
        times.add(offset, time_ns)
    times.forget_before(15)
    assert times.at(15) == 2
    assert times.at(20) == 3
    times.forget_before(0)
    assert times.at(15) == 2


def test_restart_after_a_gap_keeps_the_latest_time() -> None:
    times = ArrivalTimes()
    times.add(0, 5)
    times.add(8, 9)
    times.restart(100)
    assert times.at(100) == 9
    times.add(100, 12)
    assert times.at(150) == 12
