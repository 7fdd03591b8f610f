"""``stats`` counts NAKs by reason: from the JSON fields, the same text as the detail tree."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dissectors.api import Direction, Frame, Link
from dissectors.smartlpr.codec import decode, encode
from dissectors.smartlpr.records import Nak
from dissectors.smartlpr.tables import SMARTLPR_NAK
from sniffer.stats import _reason, nak_reason

LINK = Link(1, "tcp", "10.0.0.1:40000", "10.0.0.5:8051")


@given(code=st.integers(0, 0xFF), subcode=st.integers(0, 0xFF))
def test_reason_from_json_fields_is_the_tree_text(code: int, subcode: int) -> None:
    data = encode(Nak(code, subcode), 1, 7)
    dissection = decode(Frame(LINK, Direction.FROM_DEVICE, 0, data, 0))
    reason = nak_reason(dissection)
    assert reason == _reason(dissection.fields)
    assert reason is not None
    if code in SMARTLPR_NAK:
        assert reason == SMARTLPR_NAK[code]
