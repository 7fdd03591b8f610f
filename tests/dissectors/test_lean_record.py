"""``LeanRecord`` with its storage in C (``dissectors._lean_record``) behaves exactly like its
pure-Python twin ``LeanRecordPython``, and is outside the cycle collector.

Both classes go through the same checks; the bulk paths of ``stats`` and ``read`` are run
once more with the C storage hidden, so that the fallback class goes through them too.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from pathlib import Path
from types import MemberDescriptorType
from typing import Any

import pytest

from dissectors.api import Direction, Kind, Link, Record, Severity
from dissectors.bulk import HAVE_C, LeanRecord, LeanRecordMethods, LeanRecordPython, LinkSide
from sniffer.pipeline import Pipeline
from sniffer.sources import open_source, source_events

ROOT = Path(__file__).resolve().parents[2]
GC_FLAG = 1 << 14
"""Py_TPFLAGS_HAVE_GC."""
LINK = Link(3, "tcp", "10.0.0.1:40001", "10.0.0.9:8051")
SIDE = LinkSide("smartlpr", LINK, Direction.TO_DEVICE)
KEY = ("smartlpr", "ACK", Kind.ACK)
FIELDS = LeanRecordPython.__slots__

needs_c = pytest.mark.skipif(not HAVE_C, reason="the C storage was not built")


@pytest.fixture(
    params=[
        pytest.param(LeanRecordPython, id="python"),
        pytest.param(LeanRecord, marks=needs_c, id="c"),
    ]
)
def lean_type(request: pytest.FixtureRequest) -> Any:
    return request.param


def values(row: object) -> dict[str, object]:
    """Every attribute of ``row``, or the type of the error reading it raises."""
    found: dict[str, object] = {}
    for name in FIELDS:
        try:
            found[name] = getattr(row, name)
        except AttributeError:
            found[name] = AttributeError
    return found


@needs_c
def test_the_lean_record_is_the_c_one() -> None:
    assert LeanRecord is not LeanRecordPython
    assert LeanRecord.__module__ == "dissectors.bulk" and LeanRecord.__name__ == "LeanRecord"
    assert LeanRecord.__mro__[1] is LeanRecordMethods
    assert LeanRecord.__doc__ == LeanRecordPython.__doc__
    assert LeanRecord.__slots__ == FIELDS


@needs_c
def test_the_members_are_the_slots() -> None:
    from dissectors._lean_record import LeanRecordBase

    assert LeanRecord.__mro__[2] is LeanRecordBase
    members = {
        name for name, value in vars(LeanRecordBase).items() if type(value) is MemberDescriptorType
    }
    assert members == set(FIELDS)
    for name in FIELDS:
        assert type(getattr(LeanRecordPython, name)) is MemberDescriptorType
        assert getattr(LeanRecord, name) is getattr(LeanRecordBase, name)


def test_defaults(lean_type: Any) -> None:
    row = lean_type(7, SIDE, 10**9, 19, KEY)
    assert values(row) == {
        "data": b"",
        "key": KEY,
        "latency_ns": None,
        "length": 19,
        "number": 7,
        "offset": 0,
        "problems": None,
        "request_in": None,
        "response_in": None,
        "side": SIDE,
        "stream_start": 0,
        "texts": None,
        "time_ns": 10**9,
    }


def test_positional_and_keyword_arguments_agree(lean_type: Any) -> None:
    data = b"xx" + bytes(19)
    positional = lean_type(7, SIDE, 5, 19, KEY, data, 2, 100)
    keywords = lean_type(
        stream_start=100, offset=2, data=data, key=KEY, length=19, time_ns=5, side=SIDE, number=7
    )
    mixed = lean_type(7, SIDE, 5, 19, KEY, offset=2, stream_start=100, data=data)
    assert values(positional) == values(keywords) == values(mixed)
    assert values(positional) == values(LeanRecordPython(7, SIDE, 5, 19, KEY, data, 2, 100))
    assert positional.data is data and positional.key is KEY and positional.side is SIDE


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((7, SIDE, 5, 19), {}),
        ((7, SIDE, 5, 19, KEY, b"", 0, 0, 0), {}),
        ((7, SIDE, 5, 19, KEY), {"unknown": 1}),
        ((7, SIDE, 5, 19, KEY), {"number": 8}),
        ((), {"side": SIDE, "time_ns": 5, "length": 19, "key": KEY}),
    ],
)
def test_bad_arguments_are_refused(
    lean_type: Any, args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    with pytest.raises(TypeError):
        LeanRecordPython(*args, **kwargs)
    with pytest.raises(TypeError):
        lean_type(*args, **kwargs)


def test_init_again_resets_every_attribute(lean_type: Any) -> None:
    row = lean_type(7, SIDE, 5, 19, KEY, b"abc", 1, 2)
    row.add_problem(Severity.WARNING, "x", "y")
    row.request_in = row.response_in = row.latency_ns = 3
    row.__init__(8, SIDE, 6, 20, KEY)
    assert values(row) == values(LeanRecordPython(8, SIDE, 6, 20, KEY))


def test_attributes_read_write_and_delete(lean_type: Any) -> None:
    row = lean_type(7, SIDE, 5, 19, KEY)
    for name in FIELDS:
        value = object()
        setattr(row, name, value)
        assert getattr(row, name) is value
        delattr(row, name)
        with pytest.raises(AttributeError):
            getattr(row, name)
        with pytest.raises(AttributeError):
            delattr(row, name)
        assert not hasattr(row, name)
        setattr(row, name, None)
        assert getattr(row, name) is None


def test_a_record_made_without_init_has_no_attribute(lean_type: Any) -> None:
    row = lean_type.__new__(lean_type)
    assert values(row) == dict.fromkeys(FIELDS, AttributeError)
    with pytest.raises(AttributeError):
        row.frame_data  # noqa: B018


def test_a_record_made_after_others_were_freed_starts_empty(lean_type: Any) -> None:
    """The C class keeps freed rows for the next ones: nothing of theirs is left."""
    rows = [lean_type(n, SIDE, 5, 19, KEY, b"x", 1, 2) for n in range(50)]
    for row in rows:
        row.add_problem(Severity.ERROR, "lost", "was lost")
        row.request_in = row.response_in = row.latency_ns = 1
    del rows, row
    fresh = [lean_type.__new__(lean_type) for _ in range(60)]
    assert all(values(row) == dict.fromkeys(FIELDS, AttributeError) for row in fresh)
    made = [lean_type(n, SIDE, 5, 19, KEY) for n in range(60)]
    assert all(
        values(row) == values(LeanRecordPython(n, SIDE, 5, 19, KEY)) for n, row in enumerate(made)
    )


def test_no_other_attribute_no_dict_no_weakref(lean_type: Any) -> None:
    row = lean_type(7, SIDE, 5, 19, KEY)
    with pytest.raises(AttributeError):
        row.other = 1
    assert not hasattr(row, "__dict__")
    with pytest.raises(TypeError):
        weakref.ref(row)


def test_frame_data_and_link(lean_type: Any) -> None:
    row = lean_type(7, SIDE, 5, 3, KEY, b"abcdefg", 2, 100)
    assert row.frame_data == b"cde"
    assert row.link is LINK
    row.offset = 5
    assert row.frame_data == b"fg"


def test_add_problem(lean_type: Any) -> None:
    row = lean_type(7, SIDE, 5, 19, KEY)
    row.add_problem(Severity.WARNING, "late", "came late")
    row.add_problem(Severity.ERROR, "lost", "was lost")
    assert row.problems == [("late", Severity.WARNING), ("lost", Severity.ERROR)]
    assert row.texts == ["came late", "was lost"]
    row = lean_type(7, SIDE, 5, 19, KEY)
    row.problems = [("set", Severity.NOTE)]
    row.add_problem(Severity.ERROR, "lost", "was lost")
    assert row.problems == [("set", Severity.NOTE), ("lost", Severity.ERROR)]
    assert row.texts == ["", "was lost"]


@needs_c
def test_outside_the_cycle_collector() -> None:
    row = LeanRecord(7, SIDE, 5, 19, KEY)
    assert type(row).__flags__ & GC_FLAG == 0
    assert not gc.is_tracked(row)
    row.add_problem(Severity.WARNING, "late", "came late")
    assert not gc.is_tracked(row)


@needs_c
def test_subclasses_and_instances_keep_their_type_alive_and_no_longer() -> None:
    class Subclass(LeanRecord):
        __slots__ = ()

    for cls in (LeanRecord, Subclass):
        before = sys.getrefcount(cls)
        rows = [cls(n, SIDE, 5, 19, KEY, b"x" * n) for n in range(100)]
        assert sys.getrefcount(cls) == before + 100
        assert rows[2].frame_data == b"xx"
        del rows
        assert sys.getrefcount(cls) == before
    sub = Subclass(7, SIDE, 5, 1, KEY, b"a")
    assert sub.frame_data == b"a" and sub.link is LINK
    assert isinstance(sub, LeanRecord)


@needs_c
def test_the_methods_class_adds_no_storage() -> None:
    from dissectors import _lean_record

    class WithDict(LeanRecordMethods):
        pass

    class WithSlot(LeanRecordMethods):
        __slots__ = ("extra",)

    class WithWeakref(LeanRecordMethods):
        __slots__ = ("__weakref__",)

    for methods in (WithDict, WithSlot, WithWeakref, int):
        with pytest.raises(TypeError):
            _lean_record.lean_record_class("x.Lean", methods)


@needs_c
def test_the_rows_of_the_bulk_path_are_not_tracked() -> None:
    """The pairing kernel's rows (allocated by the type, slots filled by offset) included."""
    items: list[Record | LeanRecord] = []
    pipeline = Pipeline(None, keep_objects=False, sink=items.extend)
    source = open_source(str(ROOT / "captures" / "smartlpr" / "normal-session.pcapng"))
    try:
        for event in source_events(source, runs=True):
            pipeline.process(event)
    finally:
        source.close()
    pipeline.finish()
    rows = [item for item in items if type(item) is LeanRecord]
    assert len(rows) > len(items) // 2
    assert all(values(row)[name] is not AttributeError for row in rows for name in FIELDS)
    assert not any(gc.is_tracked(row) for row in rows)


HIDE_C = """
import sys
sys.modules["dissectors._lean_record"] = None
from dissectors import bulk
assert bulk.LeanRecord is bulk.LeanRecordPython and not bulk.HAVE_C
import pytest
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", *sys.argv[1:]]))
"""


@needs_c
def test_the_bulk_paths_with_the_python_class() -> None:
    """``stats`` and ``read`` in bulk mode against their reference paths, with the C storage
    hidden (the class is chosen at import: a process of its own)."""
    tests = ["tests/sniffer/test_stats_bulk.py", "tests/sniffer/test_json_rows.py"]
    done = subprocess.run(
        [sys.executable, "-c", HIDE_C, *tests],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert " passed" in done.stdout
