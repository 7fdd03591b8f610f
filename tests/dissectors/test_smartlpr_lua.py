"""The Wireshark Lua twin (dissectors/smartlpr/smartlpr.lua) reads the captures as camshark does."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from dissectors.smartlpr.tables import TYPE_NAMES
from sniffer.pipeline import Pipeline, iter_records
from sniffer.sources import open_source

ROOT = Path(__file__).resolve().parents[2]
LUA = ROOT / "dissectors" / "smartlpr" / "smartlpr.lua"
CAPTURES = ROOT / "captures" / "smartlpr"

pytestmark = [
    pytest.mark.tshark,
    pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not on PATH"),
]


def tshark_fields(path: Path, *fields: str, display_filter: str = "smartlpr") -> list[list[str]]:
    command = [
        "tshark",
        "-X",
        f"lua_script:{LUA}",
        "-o",
        "tcp.analyze_sequence_numbers:FALSE",
        "-r",
        str(path),
        "-Y",
        display_filter,
        "-T",
        "fields",
        *(arg for field in fields for arg in ("-e", field)),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    assert "Lua: Error" not in result.stderr and "Dissector bug" not in result.stderr
    return [line.split("\t") for line in result.stdout.splitlines()]


def camshark_messages(path: Path) -> Counter[tuple[str, int]]:
    records = iter_records(open_source(str(path)), Pipeline())
    return Counter(
        (r.dissection.type, r.dissection.message.id)
        for r in records
        if r.dissection.message is not None
    )


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ["normal-session", "faults", "udp-session"])
def test_lua_dissector_finds_the_same_messages_as_camshark(name: str) -> None:
    path = CAPTURES / f"{name}.pcapng"
    rows = tshark_fields(path, "smartlpr.type", "smartlpr.id")
    seen: Counter[tuple[str, int]] = Counter()
    for types, ids in rows:
        for message_type, conv_id in zip(types.split(","), ids.split(","), strict=True):
            seen[(TYPE_NAMES.get(int(message_type), "?"), int(conv_id))] += 1
    assert seen == camshark_messages(path)


@pytest.mark.timeout(60)
def test_lua_dissector_fields_and_filters_match_camshark_names() -> None:
    path = CAPTURES / "faults.pcapng"
    rows = tshark_fields(
        path,
        "smartlpr.car_id",
        "smartlpr.plate",
        "smartlpr.printable",
        display_filter='smartlpr.plate contains "KLM"',
    )
    assert rows == [
        ["1002", "5678KLM", "5678 KLM"],  # the copy with the bad Bcc
        ["1002", "5678KLM", "5678 KLM"],  # its resend
        ["1005", "5678KLM", "5678 KLM"],
    ]
    bad = tshark_fields(path, "frame.number", display_filter="_ws.expert.group == 0x01000000")
    assert len(bad) == 2  # the two corrupted frames (expert group "Checksum")
