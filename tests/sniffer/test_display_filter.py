"""Display filter expressions over records."""

from __future__ import annotations

import pytest

from dissectors.api import Direction, Dissection, Field, Frame, Kind, Problem, Record, Severity
from sniffer.display_filter import FilterError, compile_filter
from tests.helpers import tcp_info


def make_record(number: int = 1, protocol: str = "smartlpr", type_: str = "LicenseInfo") -> Record:
    link = tcp_info().link
    frame = Frame(link, Direction.FROM_DEVICE, 0, b"\x02" + bytes(20), 5_000_000_000)
    fields = (
        Field("unit_id", 1, (1, 5)),
        Field(
            "license",
            None,
            (17, 186),
            children=(
                Field("plate", "1234KLM", (33, 73)),
                Field("car_id", 1001, (17, 21)),
                Field("grammar_ok", True, (113, 114)),
                Field("reason", 4, (0, 1), display="can't complete (busy)"),
            ),
        ),
    )
    dissection = Dissection(
        type_,
        "plate 1234KLM",
        kind=Kind.EVENT,
        fields=fields,
        problems=(Problem(Severity.ERROR, "smartlpr.bad_checksum", "bcc"),),
    )
    return Record(number, protocol, frame, dissection)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("", True),
        ("smartlpr", True),
        ("dualcam", False),
        ("smartlpr.type == LicenseInfo", True),
        ("smartlpr.type == licenseinfo", True),
        ("smartlpr.type == Status", False),
        ('smartlpr.plate contains "KLM"', True),
        ('smartlpr.plate contains "klm"', True),
        ('smartlpr.plate contains "XYZ"', False),
        ("smartlpr.car_id == 1001", True),
        ("smartlpr.car_id == 0x3e9", True),
        ("smartlpr.car_id > 1000 and smartlpr.car_id < 1002", True),
        ("smartlpr.car_id >= 1002", False),
        ("smartlpr.plate", True),
        ("smartlpr.roi_top", False),
        ("not smartlpr.roi_top", True),
        ("!smartlpr", False),
        ("smartlpr.reason == 4", True),
        ('smartlpr.reason contains "busy"', True),
        ('smartlpr.plate matches "^[0-9]{4}"', True),
        ('smartlpr.plate ~ "klm$"', True),
        ("expert.code == smartlpr.bad_checksum", True),
        ("expert.severity == error", True),
        ("expert", True),
        ("frame.number == 1", True),
        ("frame.len == 21", True),
        ("direction == from_device", True),
        ("kind == event", True),
        ("link == 1", True),
        ("(dualcam or smartlpr) and not expert.severity == warning", True),
        ("dualcam || smartlpr.car_id != 1001", False),
        ("type == LicenseInfo && protocol == smartlpr", True),
    ],
)
def test_expression_against_a_license_record(expression: str, expected: bool) -> None:
    assert compile_filter(expression)(make_record()) is expected


def test_frame_time_is_relative_to_the_capture_start() -> None:
    keep = compile_filter("frame.time >= 2", base_time_ns=lambda: 3_000_000_000)
    assert keep(make_record())
    keep = compile_filter("frame.time > 2.5", base_time_ns=lambda: 3_000_000_000)
    assert not keep(make_record())


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("smartlpr.type ==", "unexpected end"),
        ("(smartlpr", "missing ')'"),
        ("smartlpr )", "unexpected ')'"),
        ("== 3", "expected a field name"),
        ('smartlpr.plate matches "("', "bad regular expression"),
        ("smartlpr.type == $", "unexpected character"),
        ("42", "expected a field name"),
    ],
)
def test_invalid_expression_says_what_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(FilterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compile_filter(expression)
