"""``Stats`` keeps a bounded, evenly spread sample of latencies per request type and per link,
with exact counts, minimum and maximum."""

from __future__ import annotations

import pytest

from dissectors.api import Direction, Kind, Link
from dissectors.bulk import LeanRecord, LinkSide
from sniffer import stats as stats_module
from sniffer.stats import Stats


def _reference_sample(latencies: list[int], cap: int) -> list[int]:
    """The rule written plainly: every ``stride``-th value, the smallest stride that fits."""
    stride = 1
    while len(latencies[::stride]) > cap:
        stride *= 2
    return latencies[::stride]


@pytest.mark.parametrize("batch", [1, 3, 100])
def test_latency_samples_follow_the_reservoir_rule(
    monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    monkeypatch.setattr(stats_module, "LATENCY_SAMPLES", 4)
    link = Link(1, "tcp", "10.0.0.1:40000", "10.0.0.2:9999")
    to_device = LinkSide("smartlpr", link, Direction.TO_DEVICE)
    from_device = LinkSide("smartlpr", link, Direction.FROM_DEVICE)
    latencies = [1000 * (n % 7 + 1) + n for n in range(23)]
    rows = []
    for n, latency in enumerate(latencies):
        request = LeanRecord(2 * n + 1, to_device, n, 10, ("smartlpr", "Status", Kind.REQUEST))
        reply = LeanRecord(2 * n + 2, from_device, n, 13, ("smartlpr", "ACK", Kind.ACK))
        request.response_in = reply.number
        reply.request_in = request.number
        reply.latency_ns = latency
        rows += [request, reply]
    stats = Stats()
    for start in range(0, len(rows), batch):
        stats.take_all(rows[start : start + batch])
    expected = _reference_sample(latencies, 4)
    assert len(expected) <= 4
    assert expected[0] == latencies[0] and expected[-1] == latencies[16]  # spread to the end
    for sample in (stats.latencies[("smartlpr", "Status")], stats.links[1].latencies):
        assert sample.values == expected
        assert (sample.count, sample.low, sample.high) == (23, min(latencies), max(latencies))
    assert stats.records == len(rows)


def test_latency_table_counts_every_latency_not_just_the_kept_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stats_module, "LATENCY_SAMPLES", 8)
    sample = stats_module.LatencySample()
    for latency in range(1, 101):
        sample.add(latency * 1_000_000)
    assert len(sample.values) <= 8
    row = stats_module.latency_summary({("smartlpr", "Status"): sample})[0]
    assert row[2:4] == (100, 1.0)
    assert row[-1] == 100.0
    assert 40 <= row[4] <= 60  # the median of an even spread, not of the last values
