"""Protocols are listed and picked without importing their decoders (``dissectors.deferred``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dissectors import registry
from dissectors.api import Direction, Frame, Link
from dissectors.deferred import deferred
from dissectors.smartlpr import codec
from dissectors.smartlpr.codec import encode
from dissectors.smartlpr.records import Status

LINK = Link(1, "tcp", "127.0.0.1:40001", "127.0.0.1:8051")

HEAVY = (
    "dissectors.dualcam.decode",
    "dissectors.dualcam.framing",
    "dissectors.dualcam.matching",
    "dissectors.dualcam.runs",
    "dissectors.dualcam.spec",
    "dissectors.smartlpr.codec",
    "dissectors.smartlpr.framing",
    "dissectors.smartlpr.matching",
    "dissectors.smartlpr.runs",
    "dissectors.smartlpr.spec",
)


def test_registry_and_selection_import_no_decoder() -> None:
    script = (
        "import sys\n"
        "from dissectors import registry\n"
        "prefix = bytes.fromhex('0201000000130000004400000002000000560300')\n"
        "assert registry.by_sniffing((prefix,))[0].id == 'smartlpr'\n"
        "assert registry.by_port('tcp', (5232,)).id == 'dualcam'\n"
        "print(' '.join(sorted(m for m in sys.modules if m in set(sys.argv[1:]))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *HEAVY], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""


def test_deferred_function_is_the_target_once_called() -> None:
    smartlpr = registry.by_id("smartlpr")
    framer = smartlpr.new_framer(LINK, Direction.TO_DEVICE)
    (item,) = framer.feed(encode(Status(), 1, 2), 5)
    assert isinstance(item, Frame)
    got, want = smartlpr.decode(item), codec.decode(item)
    assert (got.summary, got.fields, got.problems) == (want.summary, want.fields, want.problems)
    assert smartlpr.decode.__name__ == "decode"


def test_deferred_reports_a_missing_name_at_the_call() -> None:
    missing = deferred("dissectors.smartlpr.codec", "no_such_function")
    with pytest.raises(AttributeError, match="no_such_function"):
        missing()
