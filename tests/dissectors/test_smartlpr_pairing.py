"""The C pairing kernel (``dissectors._smartlpr_pairing``) equals its Python twin.

Both run the same random sequences of calls on tables of their own; their answers, the
tables and every annotation they made must be equal. ``take_run`` is also fed arbitrary
headers and bytes: it must never crash, and stop where the twin stops.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dissectors.api import Kind, Link
from dissectors.bulk import LeanRecord, LinkSide
from dissectors.smartlpr import pairing
from dissectors.smartlpr.codec import encode
from dissectors.smartlpr.records import (
    Ack,
    Body,
    GetPicture,
    GetPictureResponse,
    LicenseInfo,
    Status,
    StatusResponse,
    Trigger,
)
from dissectors.smartlpr.tables import LEN_OVERHEAD
from dissectors.speedups import smartlpr_scan_python

needs_c = pytest.mark.skipif(not pairing.HAVE_C, reason="the C pairing kernel was not built")

HOSTS = ("10.0.0.1", "10.0.0.2")
SIDE = LinkSide("smartlpr", Link(1, "tcp", "10.0.0.1:4000", "10.0.0.2:5232"), Kind.EVENT)  # type: ignore[arg-type]


Pictures = list[tuple[object, ...]]


def _pair(max_entries: int, pictures: tuple[Pictures, Pictures] | None = None) -> tuple[Any, Any]:
    """The C and the Python pairing; with ``pictures``, each records its ``picture_seen``
    calls in its list (else it takes no GetPictureResponse)."""
    made = []
    for n, (cls, table) in enumerate(
        (
            (pairing.c_pairing, pairing.c_age_table),
            (pairing.PairingPython, pairing.AgeTablePython),
        )
    ):
        tables = pairing.new_tables(table)  # type: ignore[arg-type]
        seen = None if pictures is None else _recorder(pictures[n])
        made.append((cls(tables, pairing.new_shapes(seen), max_entries), tables))  # type: ignore[misc]
    return made[0], made[1]


def _recorder(calls: Pictures) -> pairing.PictureSeen:
    def picture_seen(row: LeanRecord, unit_id: int, entry: pairing.Pending) -> None:
        calls.append((_annotations(row), row.offset, unit_id, _entry_view(entry)))

    return picture_seen


def _row(number: int, time_ns: int = 0) -> LeanRecord:
    return LeanRecord(number, SIDE, time_ns, 19, ("smartlpr", "Status", Kind.REQUEST))


def _annotations(row: LeanRecord) -> tuple[object, ...]:
    return (row.number, row.problems, row.texts, row.request_in, row.response_in, row.latency_ns)


def _entry_view(value: object) -> object:
    if isinstance(value, tuple):
        return tuple(_entry_view(v) for v in value)
    if isinstance(value, LeanRecord):
        return _annotations(value)
    return value


def _tables_view(tables: pairing.Tables) -> object:
    return [[(k, _entry_view(v)) for k, v in table.items()] for table in tables]


KINDS = [Kind.REQUEST, Kind.EVENT, Kind.RESPONSE, Kind.ACK, Kind.NAK]
call = st.one_of(
    st.tuples(
        st.just("opened"),
        st.sampled_from(KINDS[:2]),
        st.integers(1, 2),
        st.integers(0, 4),
        st.sampled_from([68, 67, 2, 71]),
        st.integers(0, 3),
    ),
    st.tuples(
        st.just("replied"),
        st.sampled_from(KINDS[2:]),
        st.integers(1, 2),
        st.integers(0, 4),
        st.sampled_from([132, 131, 135, 192, 193]),
    ),
    st.tuples(st.just("trigger_seen"), st.integers(1, 2), st.integers(-1, 3)),
    st.tuples(st.just("trigger_of"), st.integers(1, 2), st.integers(-1, 3)),
    st.tuples(st.just("refuse"), st.integers(1, 2)),
    st.tuples(
        st.just("clock_drift"),
        st.sampled_from([0, 1, 1_700_000_000, 2**32 - 1, 2**70]),
        st.sampled_from([0, 999_999, 1_000_000]),
        st.sampled_from([0, 1_700_000_000 * 10**9, 2**80, -5]),
    ),
    st.tuples(st.just("parity_ok"), st.integers(-3, 2**40), st.sampled_from(KINDS)),
    st.tuples(st.just("prune"), st.integers(0, 3), st.integers(0, 700)),
)


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.lists(call, max_size=60), st.integers(1, 4))
def test_every_primitive_equals_its_twin(calls: list[tuple[Any, ...]], cap: int) -> None:
    (c, c_tables), (py, py_tables) = _pair(cap)
    rows: dict[int, tuple[LeanRecord, LeanRecord]] = {}
    for number, (name, *args) in enumerate(calls, 1):
        results = []
        for side, (kernel, tables) in enumerate(((c, c_tables), (py, py_tables))):
            if name in ("opened", "replied"):
                rows.setdefault(number, (_row(number, number * 10), _row(number, number * 10)))
                target = rows[number][side]
                if name == "opened":
                    kind, unit, conv_id, message_type, version = args
                    result = kernel.opened(
                        target, number * 10, kind, HOSTS, unit, conv_id, message_type, version,
                        True, None,
                    )  # fmt: skip
                else:
                    kind, unit, conv_id, message_type = args
                    result = kernel.replied(
                        target, number * 10, kind, HOSTS, unit, conv_id, message_type
                    )
                    result = _entry_view(result)
            elif name == "trigger_seen":
                result = kernel.trigger_seen(HOSTS, args[0], args[1], number, number * 10)
            elif name == "prune":
                table = (tables.answered, tables.triggers, tables.refused, tables.pending)[args[0]]
                field = (3, 1, 2, 8)[args[0]]
                result = table.prune(field, args[1])
            elif name == "refuse":
                tables.refused.set(HOSTS, args[0], 68, (2, number, number * 10))
                result = None
            else:
                result = getattr(kernel, name)(*([HOSTS, *args] if name == "trigger_of" else args))
            results.append(result)
        assert results[0] == results[1], name
        assert _tables_view(c_tables) == _tables_view(py_tables)
    for c_row, py_row in rows.values():
        assert _annotations(c_row) == _annotations(py_row)


def _frame(body: Body, unit: int, conv_id: int) -> bytes:
    return encode(body, unit, conv_id)


_PLATE = LicenseInfo(1, 3, 1_700_000_000, 0, "AB12", (90, 91), True, "AB 12", "E")
FRAMES = [
    lambda u, i: _frame(Status(), u, i),
    lambda u, i: _frame(Ack(), u, i),
    lambda u, i: _frame(StatusResponse(1, 0, 1), u, i),
    lambda u, i: _frame(StatusResponse(0, 0, 1), u, i),
    lambda u, i: _frame(Trigger(i % 4), u, i),
    lambda u, i: _frame(_PLATE, u, i),
    lambda u, i: _frame(LicenseInfo(1, 3, 5, 0, "X", (50,), False, "", ""), u, i),
    lambda u, i: _frame(GetPicture(1000 + i), u, i),
    lambda u, i: _frame(_picture(b"\xff\xd8" + bytes(i) + b"\xff\xd9"), u, i),
    lambda u, i: _frame(_picture(b"\xff\xd8"[: i % 3]), u, i),  # 0-2 bytes: 0 and 1 not lean
    lambda u, i: _frame(_picture(b"\x00\xd8\xff\xd9"), u, i),  # not a JPEG
    lambda u, i: _frame(_picture(b"\xff\xd8\xff\xd9", i), u, i),  # ImageSize off (i != 4)
]


def _picture(image: bytes, image_size: int | None = None) -> GetPictureResponse:
    size = len(image) if image_size is None else image_size
    return GetPictureResponse(1, 2, 3, 4, size, image)


frames = st.lists(
    st.tuples(st.integers(0, len(FRAMES) - 1), st.integers(1, 2), st.integers(0, 5)),
    min_size=1,
    max_size=30,
)
header = st.tuples(
    st.integers(-3, 400),
    st.sampled_from(
        [LEN_OVERHEAD, LEN_OVERHEAD + 3, LEN_OVERHEAD + 4, LEN_OVERHEAD + 169, 7]
        + [LEN_OVERHEAD + 12 + n for n in (0, 1, 2, 3, 40)]
    ),
    st.integers(0, 2),
    st.sampled_from([None, None, 0, 200]),  # Size (None: the length)
    st.sampled_from([192, 68, 132, 67, 2, 71, 135, 9999]),
    st.integers(0, 3),
    st.integers(-1, 5),
    st.booleans(),
).map(lambda h: (*h[:3], h[1] if h[3] is None else h[3], *h[4:]))


def _run_both(
    data: bytes,
    headers: list[tuple[int, ...]],
    offsets: tuple[int, ...] | None,
    times: tuple[int, ...],
    index: int,
    rows: bool,
    pictures: bool = True,
) -> None:
    seen: tuple[Pictures, Pictures] = ([], [])
    (c, c_tables), (py, py_tables) = _pair(100, seen if pictures else None)
    outs: list[list[object]] = [[], []]
    results = []
    for n, kernel in enumerate((c, py)):
        position = index
        number = 5
        for _round in range(3):  # resume after each stop, as read_run does
            position, number, latest = kernel.take_run(
                SIDE, data, 1000, headers, offsets, times, HOSTS, number, outs[n], rows, position
            )
            results.append((position, number, latest))
            position += 1
    assert results[: len(results) // 2] == results[len(results) // 2 :]
    assert [_annotations(r) for r in outs[0]] == [_annotations(r) for r in outs[1]]  # type: ignore[arg-type]
    facts = [
        [(r.time_ns, r.length, r.key, r.data, r.offset, r.stream_start) for r in out]  # type: ignore[attr-defined]
        for out in outs
    ]
    assert facts[0] == facts[1]
    assert _tables_view(c_tables) == _tables_view(py_tables)
    assert seen[0] == seen[1]
    taken = [r for r in outs[1] if r.key[1] == "GetPictureResponse"]  # type: ignore[attr-defined]
    assert len(seen[1]) == len(taken) if rows else len(seen[1]) >= len(taken)


@needs_c
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames, st.lists(st.integers(0, 3000), max_size=5), st.integers(0, 3), st.booleans())
def test_take_run_equals_its_twin_on_real_frames(
    chosen: list[tuple[int, int, int]], cuts: list[int], index: int, rows: bool
) -> None:
    data = b"".join(FRAMES[f](unit, conv_id) for f, unit, conv_id in chosen)
    headers, _end = smartlpr_scan_python(data, 0, 0, 4096, 255)
    offsets = tuple(sorted({1000, *(1000 + c % len(data) for c in cuts)}))
    times = tuple(10 * (i + 1) for i in range(len(offsets)))
    _run_both(data, list(headers), offsets, times, index, rows)
    _run_both(data, list(headers), None, tuple(range(len(headers))), index, rows)
    _run_both(data, list(headers), offsets, (), index, rows)
    _run_both(data, list(headers), None, tuple(range(len(headers))), index, rows, pictures=False)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(st.binary(max_size=300), st.just(bytes([1]) * 300)),
    st.lists(header, max_size=10),
    st.integers(0, 2),
)
@needs_c
def test_take_run_is_safe_and_equal_on_arbitrary_headers(
    data: bytes, headers: list[tuple[int, ...]], index: int
) -> None:
    _run_both(data, headers, (1000,), (7,), index, True)


HOSTS_B = ("10.0.0.1", "10.0.0.3")
table_op = st.one_of(
    st.tuples(
        st.sampled_from(["get", "contains", "pop"]),
        st.sampled_from([HOSTS, HOSTS_B]),
        st.integers(0, 3),
        st.sampled_from([0, 1, 2, -1, 2**32 - 1, 2**63 - 1, -(2**63)]),
    ),
    st.tuples(
        st.just("set"),
        st.sampled_from([HOSTS, HOSTS_B]),
        st.integers(0, 3),
        st.sampled_from([0, 1, 2, -1, 2**32 - 1, 2**63 - 1, -(2**63)]),
        st.integers(0, 100),
    ),
    st.tuples(st.sampled_from(["oldest", "pop_oldest", "items", "len"])),
    st.tuples(st.just("prune"), st.integers(0, 100)),
    st.tuples(st.just("fill"), st.integers(0, 300), st.integers(1, 7)),
)


def _table_op(table: Any, op: tuple[Any, ...]) -> object:
    name, *args = op
    if name == "set":
        *key, stamp = args
        # equal hosts, another tuple object: keys compare by value
        return table.set((key[0][0], key[0][1]), key[1], key[2], ("v", stamp))
    if name == "len":
        return (len(table), bool(table))
    if name == "prune":
        return table.prune(1, args[0])
    if name == "fill":  # many keys, every step-th taken out again: growth and compaction
        count, step = args
        for n in range(count):
            table.set(HOSTS, 9, n, ("f", n))
        return [table.pop(HOSTS, 9, n) for n in range(0, count, step)]
    return getattr(table, name)(*args)


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.lists(table_op, max_size=80))
def test_the_age_table_equals_its_twin(ops: list[tuple[Any, ...]]) -> None:
    """Same answers, same contents in the same age order, after any sequence of operations."""
    c_table, py_table = pairing.c_age_table(), pairing.AgeTablePython()  # type: ignore[misc]
    for op in ops:
        assert _table_op(c_table, op) == _table_op(py_table, op), op
        assert c_table.items() == py_table.items()
        assert len(c_table) == len(py_table)


@needs_c
def test_a_big_table_stays_in_age_order_and_shrinks_back() -> None:
    table = pairing.c_age_table()  # type: ignore[misc]
    for n in range(50_000):
        table.set(HOSTS, n % 7, n, ("x", n))
        if n % 3:
            table.pop(HOSTS, (n - 1) % 7, n - 1)
    keys = [key[2] for key, _value in table.items()]
    assert keys == sorted(keys) and len(keys) == len(table)
    assert table.prune(1, 49_000) == sum(k <= 49_000 for k in keys)
    while table.pop_oldest() is not None:
        pass
    assert len(table) == 0 and table.oldest() is None and table.items() == []
    table.set(HOSTS, 1, 1, ("y", 1))
    assert table.items() == [((HOSTS, 1, 1), ("y", 1))]


@needs_c
@pytest.mark.parametrize(("unit", "key"), [(1, 2**63), (-(2**63) - 1, 1)])
def test_both_tables_refuse_ints_beyond_64_bits(unit: int, key: int) -> None:
    for table in (pairing.c_age_table(), pairing.AgeTablePython()):  # type: ignore[misc]
        with pytest.raises(OverflowError):
            table.set(HOSTS, unit, key, 1)
        with pytest.raises(OverflowError):
            table.get(HOSTS, unit, key)


@needs_c
@pytest.mark.parametrize(
    ("hosts", "unit"), [(["a", "b"], 1), (("a",), 1), (("a", 2), 1), (HOSTS, "1"), (HOSTS, 1.0)]
)
def test_the_c_table_refuses_other_keys(hosts: object, unit: object) -> None:
    table = pairing.c_age_table()  # type: ignore[misc]
    with pytest.raises(TypeError):
        table.set(hosts, unit, 1, 1)
    with pytest.raises(TypeError):
        table.contains(hosts, unit, 1)


@needs_c
def test_an_uninitialised_or_misused_pairing_raises() -> None:
    kernel = pairing.c_pairing.__new__(pairing.c_pairing)  # type: ignore[union-attr]
    with pytest.raises(RuntimeError):
        kernel.trigger_of(HOSTS, 1, 1)
    (c, _tables), _ = _pair(10)
    with pytest.raises(TypeError):
        c.opened(1, 2, 3)
    with pytest.raises(TypeError):
        c.trigger_of("not hosts", 1, 1)
    with pytest.raises(TypeError):
        pairing.c_pairing((1, 2), pairing.new_shapes(), 10)  # type: ignore[misc]
    with pytest.raises(TypeError):  # the C kernel reads the C tables only
        pairing.c_pairing(pairing.new_tables(pairing.AgeTablePython), pairing.new_shapes(), 10)  # type: ignore[misc]


@needs_c
@settings(max_examples=300, deadline=None)
@given(
    st.integers(-(2**40), 2**44)
    | st.integers(-(2**62), 2**62)
    | st.sampled_from([50_000, 150_000, -250_000, 1_250_000, 49_999, -50_001, 10**14 - 1, 10**14]),
    st.integers(-(2**31), 2**31 - 1).filter(lambda t: t != -1),  # -1: a hardware trigger
    st.integers(1, 2**40),
)
def test_the_trigger_latency_text_is_the_twins(delta: int, trigger_id: int, number: int) -> None:
    """Half-way latencies included (0.05 ms rounds to even): C's "%.1f" equals Python's."""
    time_ns = 1_700_000_000 * 10**9
    plate = LicenseInfo(1, trigger_id, 1_700_000_000, 0, "AB12", (90, 91), True, "AB 12", "E")
    data = _frame(Trigger(trigger_id), 1, 2) + _frame(plate, 1, 3)
    headers, _end = smartlpr_scan_python(data, 0, 0, 4096, 255)
    texts = []
    for kernel, _tables in _pair(100):
        out: list[LeanRecord] = []
        kernel.take_run(
            SIDE, data, 0, headers, None, (time_ns - delta, time_ns), HOSTS, number - 1, out,
            True, 0,
        )  # fmt: skip
        assert [row.number for row in out] == [number, number + 1]
        texts.append(out[1].texts)
    expected = pairing.trigger_latency_text(time_ns, number, time_ns - delta, trigger_id)
    assert texts == [[expected], [expected]]


@needs_c
def test_a_picture_exchange_is_taken_lean_only_with_a_picture_callback() -> None:
    jpeg = b"\xff\xd8" + bytes(100) + b"\xff\xd9"
    data = _frame(GetPicture(1042), 1, 4) + _frame(_picture(jpeg), 1, 4)
    headers = list(smartlpr_scan_python(data, 0, 0, 4096, 255)[0])
    for kernel, _tables in _pair(100):  # no callback: the response is the Python rules'
        assert kernel.take_run(SIDE, data, 0, headers, None, (1, 2), HOSTS, 0, [], True, 0)[0] == 1
    seen: tuple[Pictures, Pictures] = ([], [])
    for kernel, _tables in _pair(100, seen):
        out: list[object] = []
        assert kernel.take_run(SIDE, data, 0, headers, None, (1, 2), HOSTS, 0, out, True, 0) == (
            2,
            2,
            2,
        )
        assert [r.key[1] for r in out] == ["GetPicture", "GetPictureResponse"]  # type: ignore[attr-defined]
    assert seen[0] == seen[1]
    (annotations, offset, unit, entry), *more = seen[0]
    assert (annotations[0], annotations[3], offset, unit, more) == (2, 1, LEN_OVERHEAD + 4, 1, [])
    request_body = entry[7]  # type: ignore[index]
    assert request_body == GetPicture(1042)
