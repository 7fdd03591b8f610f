"""``Stats`` keeps a bounded, uniform sample of latencies per request type and per link."""

from __future__ import annotations

import pytest

from dissectors.api import Direction, Kind, Link
from dissectors.bulk import LeanRecord, LinkSide
from sniffer import stats as stats_module
from sniffer.stats import Stats


def _reference_samples(latencies: list[int], cap: int) -> tuple[list[int], list[int]]:
    """The rule written plainly: per type a reservoir, per link every other one dropped."""
    per_type: list[int] = []
    per_link: list[int] = []
    for seen, latency in enumerate(latencies, start=1):
        if len(per_type) < cap:
            per_type.append(latency)
        else:
            per_type[seen % cap] = latency
        per_link.append(latency)
        if len(per_link) > cap:
            del per_link[::2]
    return per_type, per_link


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
    per_type, per_link = _reference_samples(latencies, 4)
    assert stats.latencies == {("smartlpr", "Status"): per_type}
    assert stats.links[1].latencies_ns == per_link
    assert stats.records == len(rows)
