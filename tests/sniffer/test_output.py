"""Text lines, JSON records, stats and the objects writer."""

from __future__ import annotations

import io
import json

import orjson
from hypothesis import example, given
from hypothesis import strategies as st

from dissectors.api import ExtractedObject, Field
from sniffer.objects_writer import INDEX_NAME, safe_name, write_objects
from sniffer.output.json import (
    EXACT_SECONDS_NS,
    JsonArrayWriter,
    JsonLinesWriter,
    fields_to_json,
    record_to_dict,
    seconds,
)
from sniffer.output.text import format_line, format_tree
from sniffer.stats import Stats, render, to_json
from tests.sniffer.test_display_filter import make_record


def endpoints(record):
    return ("10.0.0.2:9999", "10.0.0.1:40000")


def test_text_line_has_number_time_endpoints_direction_protocol_type_and_problems() -> None:
    record = make_record(number=7)
    record.request_in = 3
    record.latency_ns = 12_500_000
    line = format_line(record, 4_000_000_000, endpoints)
    assert line.split()[:3] == ["7", "1.000000", "10.0.0.2:9999"]
    assert "dev→host smartlpr LicenseInfo: plate 1234KLM" in line
    assert "[reply to #3, 12.500 ms]" in line
    assert line.endswith("[!!smartlpr.bad_checksum]")


def test_tree_lines_carry_spans_and_display_text() -> None:
    lines = list(format_tree(make_record().dissection.fields))
    assert lines[0] == "    [1:5] unit_id: 1"
    assert "        [33:73] plate: 1234KLM" in lines
    assert "        [0:1] reason: can't complete (busy)" in lines


@given(st.integers(-(2**64), 2**64) | st.integers(-EXACT_SECONDS_NS, EXACT_SECONDS_NS))
@example(EXACT_SECONDS_NS - 1)
@example(-EXACT_SECONDS_NS + 1)
@example(1)
@example(0)
def test_seconds_are_the_nanoseconds_rounded_to_9_decimals(delta_ns: int) -> None:
    assert repr(seconds(delta_ns)) == repr(round(delta_ns / 1e9, 9))


def test_json_record_has_the_documented_keys_and_nested_fields() -> None:
    record = make_record()
    record.response_in = 9
    item = record_to_dict(record, 5_000_000_000, endpoints)
    assert item["schema"] == "camshark/1"
    assert item["frame"] == 1
    assert item["time"] == 0.0
    assert item["direction"] == "from_device"
    assert item["protocol"] == "smartlpr"
    assert item["type"] == "LicenseInfo"
    assert item["fields"] == {
        "unit_id": 1,
        "license": {"plate": "1234KLM", "car_id": 1001, "grammar_ok": True, "reason": 4},
    }
    assert item["problems"] == [
        {"severity": "error", "code": "smartlpr.bad_checksum", "text": "bcc"}
    ]
    assert item["response_in"] == 9
    assert item["request_in"] is None
    assert item["hex"] == "02" + "00" * 20


def test_repeated_field_names_become_a_list() -> None:
    fields = (Field("q", 1, (0, 1)), Field("q", 2, (1, 2)), Field("q", 3, (2, 3)))
    assert fields_to_json(fields) == {"q": [1, 2, 3]}


def test_json_array_and_lines_writers_produce_valid_json() -> None:
    stream = io.BytesIO()
    writer = JsonArrayWriter(stream)
    writer.write({"a": 1})
    writer.write({"b": b"\x01"})
    writer.close()
    assert json.loads(stream.getvalue()) == [{"a": 1}, {"b": "01"}]
    empty = io.BytesIO()
    JsonArrayWriter(empty).close()
    assert json.loads(empty.getvalue()) == []
    lines = io.BytesIO()
    jsonl = JsonLinesWriter(lines)
    jsonl.write({"a": 1})
    jsonl.write({"a": 2})
    assert [json.loads(line) for line in lines.getvalue().splitlines()] == [{"a": 1}, {"a": 2}]


def test_stats_count_types_problems_and_latency() -> None:
    stats = Stats()
    request = make_record(1, type_="Status")
    request.response_in = 2
    reply = make_record(2, type_="StatusResponse")
    reply.request_in = 1
    reply.latency_ns = 4_000_000
    stats.add(request)
    stats.add(reply)
    assert stats.records == 2
    assert stats.types[("smartlpr", "Status", "event")] == 1
    sample = stats.latencies[("smartlpr", "Status")]
    assert (sample.values, sample.count, sample.low, sample.high) == ([4_000_000], 1, 4e6, 4e6)
    assert stats.checksum_errors == 2
    report = "\n".join(render(stats, "x.pcapng"))
    assert "Checksum errors: 2" in report
    assert "smartlpr  Status   1      4.000  4.000   4.000  4.000" in report
    assert to_json(stats, "x")["latency_ms"][0]["median"] == 4.0


def test_safe_names_cannot_escape_the_directory() -> None:
    assert safe_name("../../etc/passwd") == "etc_passwd"
    assert safe_name("a b:c?.jpg") == "a_b_c_.jpg"
    assert safe_name("") == "object"
    assert len(safe_name("x" * 500 + ".jpg")) == 120
    assert safe_name("x" * 500 + ".jpg").endswith(".jpg")


def test_objects_are_written_with_unique_names_and_an_index(tmp_path) -> None:
    objects = [
        ExtractedObject("smartlpr", "pic.jpg", b"\xff\xd8one", (1, 2, 3, 7)),
        ExtractedObject(
            "smartlpr",
            "pic.jpg",
            b"\xff\xd8two",
            (9,),
            complete=False,
            holes=((10, 20),),
            extra_files={".h265": b"\x00\x00\x00\x01"},
        ),
    ]
    index_path = write_objects(objects, tmp_path)
    assert index_path.name == INDEX_NAME
    index = orjson.loads(index_path.read_bytes())
    files = [entry["file"] for entry in index["objects"]]
    assert files == ["pic.jpg", "pic-2.jpg"]
    assert (tmp_path / "pic-2.jpg").read_bytes() == b"\xff\xd8two"
    assert index["objects"][0]["frames"] == [[1, 3], [7, 7]]
    assert index["objects"][1]["holes"] == [[10, 20]]
    assert index["objects"][1]["derived"][".h265"]["file"] == "pic-2.h265"
    assert len(index["objects"][0]["sha256"]) == 64
