"""SmartLPR simulator: sessions over real 127.0.0.1 sockets, read back through the pipeline."""

from __future__ import annotations

import argparse
import socket
import threading
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dissectors.api import Direction, Kind, Link, Record
from dissectors.smartlpr.codec import encode
from dissectors.smartlpr.records import Ack, Status, StatusResponse, Trigger
from sniffer.pipeline import Pipeline, iter_records
from sniffer.simulate import smartlpr as sim
from sniffer.sources import open_source
from sniffer.sources.base import Chunk, Gap, LinkClosed, LinkInfo, Side, Transport

CAPTURES = Path(__file__).resolve().parents[2] / "captures" / "smartlpr"


def read_back(path: Path) -> tuple[list[Record], Pipeline]:
    pipeline = Pipeline()
    records = list(iter_records(open_source(str(path)), pipeline))
    return records, pipeline


def problem_codes(records: list[Record]) -> Counter[str]:
    return Counter(p.code for r in records for p in r.all_problems)


def simulate_to(tmp_path: Path, name: str) -> tuple[list[Record], Pipeline]:
    sent = sim.simulate(name)
    path = tmp_path / f"{name}.pcapng"
    sim.write_capture(sent, sim.SCENARIOS[name].transport, path)
    return read_back(path)


@pytest.mark.timeout(30)
def test_normal_session_over_real_tcp_decodes_cleanly(tmp_path: Path) -> None:
    records, pipeline = simulate_to(tmp_path, "normal-session")
    assert all(r.protocol == "smartlpr" for r in records)
    types = [r.dissection.type for r in records]
    assert types[:4] == ["Ping", "ACK", "Status", "StatusResponse"]
    assert types.count("LicenseInfo") == 3 and types.count("GetPictureResponse") == 2
    assert problem_codes(records) == Counter({"smartlpr.trigger_latency": 2})
    requests = [r for r in records if r.dissection.kind in (Kind.REQUEST, Kind.EVENT)]
    assert all(r.response_in is not None for r in requests)
    assert all(
        r.direction is Direction.TO_DEVICE for r in records if r.dissection.kind is Kind.REQUEST
    )
    objects = pipeline.take_objects()
    assert [o.name for o in objects] == [
        "smartlpr-unit1-car1001-frame10.jpg",
        "smartlpr-unit1-car1002-frame18.jpg",
        "smartlpr-unit1-current-frame20.jpg",
    ]
    assert all(o.complete and o.data.startswith(b"\xff\xd8") for o in objects)


@pytest.mark.timeout(30)
def test_faults_session_shows_every_injected_fault(tmp_path: Path) -> None:
    records, _ = simulate_to(tmp_path, "faults")
    codes = problem_codes(records)
    assert codes["smartlpr.bad_checksum"] == 2
    assert codes["smartlpr.junk"] == 2
    assert codes["smartlpr.unanswered"] == 1
    assert codes["smartlpr.version_downgrade"] == 1
    assert codes["smartlpr.retransmission"] >= 3
    naks = [r.dissection.message.body.code for r in records if r.dissection.type == "NAK"]
    assert sorted(naks) == [1, 1, 4, 6]
    nak1 = next(r for r in records if r.dissection.type == "NAK")
    assert nak1.request_in == 4 and "bad Bcc here too" in str(nak1.problems)


@pytest.mark.timeout(30)
def test_udp_session_is_found_by_port_binding(tmp_path: Path) -> None:
    records, pipeline = simulate_to(tmp_path, "udp-session")
    assert len(records) == 14
    assert {r.link.transport for r in records} == {"udp"}
    assert all(r.protocol == "smartlpr" for r in records)
    assert len(pipeline.take_objects()) == 2


@pytest.mark.timeout(30)
def test_scenarios_are_deterministic() -> None:
    first = sim.simulate("faults")
    second = sim.simulate("faults")
    assert first == second


GENERATED_WITH_PILLOW = "13.0.0"
"""The JPEGs inside the captures come from Pillow; another libjpeg may encode other bytes."""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", list(sim.SCENARIOS))
def test_committed_captures_match_the_simulator(tmp_path: Path, name: str) -> None:
    import PIL

    path = tmp_path / f"{name}.pcapng"
    sim.write_capture(
        sim.simulate(name),
        sim.SCENARIOS[name].transport,
        path,
        f"camshark smartlpr simulator: {name}",
    )
    committed = CAPTURES / f"{name}.pcapng"
    if PIL.__version__ == GENERATED_WITH_PILLOW:
        assert path.read_bytes() == committed.read_bytes()
    else:  # same session, maybe other JPEG bytes
        fresh, _ = read_back(path)
        again, _ = read_back(committed)
        assert [r.dissection.type for r in fresh] == [r.dissection.type for r in again]


def test_committed_captures_are_small() -> None:
    for path in CAPTURES.glob("*.pcapng"):
        assert path.stat().st_size < 1_000_000


def test_bench_connection_refused_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    sim.add_arguments(parser)
    args = parser.parse_args(["--unit-connect", f"127.0.0.1:{_free_port()}", "--duration", "1"])
    assert sim.run(args) == 1
    assert capsys.readouterr().err.startswith("error: ")


def test_list_and_unknown_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    sim.add_arguments(parser)
    assert sim.run(parser.parse_args(["--list"])) == 0
    assert "normal-session" in capsys.readouterr().out
    assert sim.run(parser.parse_args(["nope"])) == 2
    assert sim.run(parser.parse_args([])) == 2


@pytest.mark.timeout(30)
def test_cli_writes_the_named_scenario(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    sim.add_arguments(parser)
    out = tmp_path / "x.pcapng"
    assert sim.run(parser.parse_args(["udp-session", "--out", str(out)])) == 0
    records, _ = read_back(out)
    assert len(records) == 14


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_bench_pair(tmp_path: Path, unit_extra: list[str], central_extra: list[str]) -> list[Record]:
    port = _free_port()
    parser = argparse.ArgumentParser()
    sim.add_arguments(parser)
    central_out = tmp_path / "central.pcapng"
    central_args = parser.parse_args(
        [
            *("--central-listen", str(port), "--duration", "20", "--interval", "0.15"),
            *("-o", str(central_out), *central_extra),
        ]
    )
    result: list[int] = []
    central = threading.Thread(target=lambda: result.append(sim.run(central_args)))
    central.start()
    unit_args = parser.parse_args(
        [
            *("--unit-connect", f"127.0.0.1:{port}", "--duration", "2.5", "--interval", "0.2"),
            *unit_extra,
        ]
    )
    for _attempt in range(50):  # the central may not listen yet: exit code 1, retry
        if sim.run(unit_args) == 0:
            break
        threading.Event().wait(0.05)
    else:
        pytest.fail("the unit never connected")
    central.join(20)  # the central stops when the unit hangs up
    assert result == [0]
    records, _ = read_back(central_out)
    return records


@pytest.mark.timeout(30)
def test_bench_unit_against_bench_central_over_tcp(tmp_path: Path) -> None:
    records = run_bench_pair(tmp_path, [], [])
    types = Counter(r.dissection.type for r in records)
    assert types["Status"] >= 1 and types["StatusResponse"] >= 1
    assert types["LicenseInfo"] >= 2 and types["ACK"] >= 2
    assert not any(p.code == "smartlpr.bad_checksum" for r in records for p in r.all_problems)


@pytest.mark.timeout(30)
def test_bench_faults_show_up_in_the_recording(tmp_path: Path) -> None:
    unit_faults = ["--fault", "bad-bcc", "--fault", "split", "--fault", "garbage"]
    records = run_bench_pair(tmp_path, unit_faults, ["--fault", "nak6"])
    codes = problem_codes(records)
    assert codes["smartlpr.version_downgrade"] >= 1
    assert codes["smartlpr.bad_checksum"] >= 1
    assert all(r.protocol == "smartlpr" for r in records)


# ---------------------------------------------------------------- pipeline with random input

FRAMES = [
    encode(Status(), 1, 2),
    encode(StatusResponse(1, 0, 1), 1, 2),
    encode(Trigger(5), 1, 4),
    encode(Ack(), 1, 4),
]


@settings(max_examples=100, deadline=None)
@given(
    transport=st.sampled_from([Transport.STREAM, Transport.DATAGRAM]),
    events=st.lists(
        st.tuples(
            st.integers(0, 1),
            st.one_of(st.sampled_from(FRAMES), st.binary(max_size=40)),
            st.integers(0, 3),
            st.booleans(),
        ),
        max_size=25,
    ),
)
def test_pipeline_never_fails_on_smartlpr_links(
    transport: Transport, events: list[tuple[int, bytes, int, bool]]
) -> None:
    name = "tcp" if transport is Transport.STREAM else "udp"
    info = LinkInfo(Link(1, name, "10.0.0.1:40000", "10.0.0.5:8051"), transport, 40000, 8051)
    pipeline = Pipeline("smartlpr")
    records = []
    time_ns = 1_700_000_000_000_000_000
    for side, data, step_s, lose in events:
        time_ns += step_s * 1_000_000_000
        if lose and transport is Transport.STREAM:
            records += pipeline.process(Gap(info, Side(side), time_ns, len(data) + 1))
        elif data:
            records += pipeline.process(Chunk(info, Side(side), time_ns, data))
    records += pipeline.process(LinkClosed(info, time_ns + 1))
    records += pipeline.finish()
    assert [r.number for r in records] == list(range(1, len(records) + 1))
    assert all(r.protocol == "smartlpr" for r in records)
