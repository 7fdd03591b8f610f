"""SmartLPR detail: the JSON fields fast path gives exactly the nested Field tree.

``Dissection.json_fields`` (``detail.field_values``) skips the Field tree for JSON output;
``build_fields`` builds the tree from the same values. Compared as orjson bytes, so key
order and ``true`` vs ``1`` count, on every SmartLPR message of the bundled captures and the
benchmark capture shape, and on random frames.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.smartlpr_capture import generate
from dissectors.api import DecodeError, Dissection, Field
from dissectors.checksums import xor_bcc
from dissectors.smartlpr.codec import decode, encode
from dissectors.smartlpr.detail import build_fields, field_values
from dissectors.smartlpr.records import Body, LicenseInfo
from dissectors.smartlpr.tables import QUERCUSVL_NAK, STX, SizeReading
from sniffer.output.json import dumps, fields_to_json
from sniffer.pipeline import Pipeline, iter_records
from sniffer.sources import open_source
from tests.dissectors.test_smartlpr import bodies, frame_of, u8, u32

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = sorted((ROOT / "captures" / "smartlpr").glob("*.pcap*"))


def assert_json_fields_match_the_tree(dissection: Dissection) -> None:
    assert dissection.json_fields is not None
    fast = dissection.json_fields()
    assert dumps(fast) == dumps(fields_to_json(dissection.fields))


def smartlpr_dissections(path: Path) -> list[Dissection]:
    records = iter_records(open_source(str(path)), Pipeline())
    return [r.dissection for r in records if r.protocol == "smartlpr" and r.dissection.message]


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.stem)
def test_json_fields_match_the_tree_on_the_captures(capture: Path) -> None:
    dissections = smartlpr_dissections(capture)
    assert dissections
    for dissection in dissections:
        assert_json_fields_match_the_tree(dissection)


def test_json_fields_match_the_tree_on_the_benchmark_capture(tmp_path: Path) -> None:
    path = tmp_path / "bench.pcap"
    generate(path, 5_000)
    dissections = smartlpr_dissections(path)
    assert {d.type for d in dissections} >= {"LicenseInfo", "GetPictureResponse", "NAK", "ACK"}
    for dissection in dissections:
        assert_json_fields_match_the_tree(dissection)


@settings(max_examples=400, deadline=None)
@given(
    body=bodies,
    unit_id=u32,
    conv_id=u32,
    reading=st.sampled_from(list(SizeReading)),
    bcc_flip=u8,
    naks=st.sampled_from([None, QUERCUSVL_NAK]),
)
def test_json_fields_match_the_tree_on_random_messages(
    body: Body,
    unit_id: int,
    conv_id: int,
    reading: SizeReading,
    bcc_flip: int,
    naks: dict[int, str] | None,
) -> None:
    data = bytearray(encode(body, unit_id, conv_id, size_reading=reading))
    data[-2] ^= bcc_flip
    frame = frame_of(bytes(data))
    dissection = decode(frame) if naks is None else decode(frame, naks)
    assert_json_fields_match_the_tree(dissection)


@settings(max_examples=300, deadline=None)
@given(
    header=st.binary(min_size=16, max_size=16),
    payload=st.binary(max_size=200),
    trailer=st.binary(min_size=2, max_size=2),
)
def test_json_fields_match_the_tree_on_random_bytes(
    header: bytes, payload: bytes, trailer: bytes
) -> None:
    data = bytes([STX]) + header + payload
    data += bytes([xor_bcc(data) if trailer[0] & 1 else trailer[0], trailer[1]])
    try:
        dissection = decode(frame_of(data))
    except DecodeError:
        return
    assert_json_fields_match_the_tree(dissection)


def test_the_tree_keeps_spans_and_display_text() -> None:
    body = LicenseInfo(7, -1, 1_764_000_000, 5, "AB1", (90, 80, 70), True, "AB 1", "ESP")
    data = encode(body, unit_id=3, id=4)
    message = decode(frame_of(data)).message
    tree = {node.name: node for node in build_fields(data, message)}
    assert tree["trigger_id"] == Field("trigger_id", -1, (21, 25), "-1 (hardware-trigger mode)")
    assert tree["timestamp"].text == "1764000000 (2025-11-24 16:00:00.000005 UTC)"
    assert tree["qualities"].value == "90 80 70"
    assert tree["qualities"].children[2] == Field("quality_3", 70, (75, 76), "70 (1)")
    assert tree["id"].text == "4 (central-opened)"
    assert field_values(data, message)["qualities"] == {
        "quality_1": 90,
        "quality_2": 80,
        "quality_3": 70,
        "_value": "90 80 70",
    }
