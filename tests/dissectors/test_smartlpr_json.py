"""The C JSON renderer of SmartLPR LeanRecords (``_smartlpr_json.c``) against the Record path.

The oracle is what ``read -T json/jsonl`` writes for the Record a LeanRecord stands for: its
Frame cut from ``data``, ``codec.decode``, the matcher's problems with their texts, then
``record_to_dict`` and orjson. Wherever the renderer writes an object it must be that one,
byte for byte; and it must write one exactly when ``common_case`` says so (else it stops,
writing nothing): on the bundled captures, golden frames, random messages, random times and
annotations, and junk.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dissectors.api import DecodeError, Direction, Frame, Link, Record, Severity
from dissectors.bulk import LeanRecord, LinkSide
from dissectors.smartlpr import codec, lean_json
from dissectors.smartlpr.codec import encode
from dissectors.smartlpr.records import (
    Ack,
    Body,
    GetPicture,
    GetPictureResponse,
    LicenseInfo,
    Nak,
    RawBody,
    Status,
    StatusResponse,
    Trigger,
)
from dissectors.smartlpr.tables import LEN_HEADER, LEN_OVERHEAD, MAX_IMAGE, SizeReading
from sniffer.output import rows, text
from sniffer.output.json import EXACT_SECONDS_NS, SCHEMA, dumps, record_to_dict
from sniffer.pipeline import Pipeline
from sniffer.sources import open_source, source_events

pytestmark = pytest.mark.skipif(not lean_json.HAVE_C, reason="the C renderer was not built")

CAPTURES = sorted((Path(__file__).resolve().parents[2] / "captures" / "smartlpr").glob("*.pcapng"))
INT64 = 1 << 63
FRAGMENT_KEYS = ("link", "link_name", "src", "dst", "direction", "protocol")
LEAN_TYPES = ("ACK", "Status", "StatusResponse", "Trigger", "LicenseInfo")
PICTURE_TYPES = ("GetPicture", "GetPictureResponse")
RENDERED_TYPES = LEAN_TYPES + PICTURE_TYPES
"""The messages the renderer writes when decode reports nothing about them (LicenseInfo in
its plain form)."""


class OwnLean:
    """A class of its own with the slots of ``LeanRecord``: the renderer takes the type."""

    __slots__ = LeanRecord.__slots__


SLOTS = tuple(name for name in LeanRecord.__slots__ if name != "key")

LINK = Link(3, "tcp", "10.0.0.1:40001", "10.0.0.9:8051")
SIDES = (
    LinkSide("smartlpr", LINK, Direction.TO_DEVICE),
    LinkSide("smartlpr", LINK, Direction.FROM_DEVICE),
)


def endpoints(record: Record) -> tuple[str, str]:
    link = record.link
    return (link.a, link.b) if record.direction is Direction.TO_DEVICE else (link.b, link.a)


def new_lean(lean_type: type = LeanRecord, **slots: object) -> Any:
    lean = lean_type.__new__(lean_type)
    for name, value in slots.items():
        setattr(lean, name, value)
    return lean


def lean_of(
    frame: bytes,
    *,
    number: object = 7,
    side: object = SIDES[0],
    time_ns: object = 1_000_000_000,
    prefix: bytes = b"",
    suffix: bytes = b"",
    stream_start: object = 100,
    problems: object = None,
    texts: object = None,
    request_in: object = None,
    response_in: object = None,
    latency_ns: object = None,
) -> Any:
    return new_lean(
        data=prefix + frame + suffix,
        offset=len(prefix),
        length=len(frame),
        key=None,
        number=number,
        side=side,
        time_ns=time_ns,
        stream_start=stream_start,
        problems=problems,
        texts=texts,
        request_in=request_in,
        response_in=response_in,
        latency_ns=latency_ns,
    )


def record_of(lean: Any) -> Record:
    """The Record the LeanRecord stands for, as ``read``'s bulk path rebuilds it."""
    if type(lean) is not LeanRecord:
        lean = new_lean(**{name: getattr(lean, name) for name in LeanRecord.__slots__})
    return rows.record_of(lean, codec.decode)


def oracle(record: Record, base_ns: int, with_hex: bool) -> bytes:
    return dumps(record_to_dict(record, base_ns, endpoints, with_hex=with_hex))


def fragment_of(side: LinkSide, ends: Callable[[Record], tuple[str, str]] = endpoints) -> bytes:
    """What the caller computes once per side: the link part of the object, from a record."""
    frame = Frame(side.link, side.direction, 0, encode(Status()), 0)
    values = record_to_dict(Record(1, side.protocol, frame, codec.decode(frame)), 0, ends)
    keys = list(values)
    first = keys.index(FRAGMENT_KEYS[0])
    assert tuple(keys[first : first + len(FRAGMENT_KEYS)]) == FRAGMENT_KEYS
    return dumps({key: values[key] for key in FRAGMENT_KEYS})[1:-1]


FRAGMENTS: dict[object, bytes] = {side: fragment_of(side) for side in SIDES}

MISSING = object()


def _int64(value: object) -> bool:
    return type(value) is int and -INT64 <= value < INT64


def _plain_float(value: float) -> bool:
    text = repr(value)
    return "e" not in text and "n" not in text


def _plain_str(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return all(ord(char) >= 0x20 for char in value)


def _plain_problems(problems: object, texts: object) -> bool:
    if texts is not None and type(texts) is not list:
        return False
    if problems is None or (type(problems) is list and not problems):
        return True
    if type(problems) is not list or type(texts) is not list or len(texts) != len(problems):
        return False
    return all(
        type(problem) is tuple
        and len(problem) == 2
        and _plain_str(problem[0])
        and _plain_str(problem[1])
        and _plain_str(text)
        for problem, text in zip(problems, texts, strict=True)
    )


def _plain_text(raw: bytes, plate: bool) -> bool:
    """A text field ``_text`` reads as valid UTF-8 whose JSON (and, for a plate text, repr)
    is the text itself in quotes."""
    try:
        text = raw.rstrip(b"\0").decode()
    except UnicodeDecodeError:
        return False
    if any(char < " " for char in text):
        return False
    return not plate or (text.isprintable() and "'" not in text and "\\" not in text)


def _common_frame(frame: bytes) -> bool:
    """A frame of the rendered types that decode reports nothing about, in the plain form."""
    try:
        dissection = codec.decode(Frame(LINK, Direction.TO_DEVICE, 0, frame, 0))
    except DecodeError:
        return False
    if dissection.problems or dissection.type not in RENDERED_TYPES:
        return False
    if dissection.type != "LicenseInfo":
        return True
    data = frame[LEN_HEADER:]
    return (
        data[16:56].rstrip(b"\0") != b""
        and _plain_text(data[16:56], plate=True)
        and _plain_text(data[97:137], plate=True)
        and _plain_text(data[137:169], plate=False)
    )


def _common_slots(lean: object, fragments: dict[object, bytes]) -> dict[str, Any] | None:
    """The slots of an item both forms may render (a LeanRecord with its side's fragment,
    ints of 64 bits where ints belong, the frame within its bytes), else None."""
    if type(lean) is not LeanRecord:
        return None
    slots = {name: getattr(lean, name, MISSING) for name in SLOTS}
    if type(fragments.get(slots["side"])) is not bytes or type(slots["data"]) is not bytes:
        return None
    if not all(
        _int64(slots[name]) for name in ("offset", "length", "stream_start", "number", "time_ns")
    ):
        return None
    if not all(
        slots[name] is None or _int64(slots[name])
        for name in ("request_in", "response_in", "latency_ns")
    ):
        return None
    offset, length = slots["offset"], slots["length"]
    if offset < 0 or length < LEN_OVERHEAD or offset + length > len(slots["data"]):
        return None
    if not _int64(slots["stream_start"] + offset):
        return None
    return slots


def _frame_of(slots: dict[str, Any]) -> bytes:
    offset: int = slots["offset"]
    return bytes(slots["data"][offset : offset + slots["length"]])


def common_case(lean: object, base_ns: int, fragments: dict[object, bytes]) -> bool:
    """Whether the renderer must write this item (else it must stop at it)."""
    slots = _common_slots(lean, fragments)
    if slots is None:
        return False
    time_ns: int = slots["time_ns"]
    if not -EXACT_SECONDS_NS < time_ns - base_ns < EXACT_SECONDS_NS:
        return False
    latency = slots["latency_ns"]
    if not _plain_float((time_ns - base_ns) / 1e9) or (
        latency is not None and not _plain_float(latency / 1e6)
    ):
        return False
    return _plain_problems(slots["problems"], slots["texts"]) and _common_frame(_frame_of(slots))


@pytest.fixture(scope="module")
def renderer() -> lean_json.Renderer:
    made = lean_json.new_renderer(LeanRecord, SCHEMA)
    assert made is not None
    return made


def check_one(
    renderer: lean_json.Renderer,
    lean: object,
    base_ns: int = 0,
    with_hex: bool = True,
    separator: bytes = b"",
    terminator: bytes = b"\n",
    fragments: dict[object, bytes] = FRAGMENTS,
) -> bool:
    """Render one item after some earlier output: the oracle's object or a clean stop."""
    out = bytearray(b"earlier;")
    index = renderer.render([lean], 0, base_ns, fragments, with_hex, separator, terminator, out)
    if common_case(lean, base_ns, fragments):
        expected = oracle(record_of(lean), base_ns, with_hex)
        assert (index, bytes(out)) == (1, b"earlier;" + separator + expected + terminator)
        return True
    assert (index, bytes(out)) == (0, b"earlier;")
    return False


# -- golden frames ------------------------------------------------------------------------------

PLATE = LicenseInfo(
    car_id=1001,
    trigger_id=11,
    timestamp=1_714_557_600,
    timestamp_usec=250_000,
    detected_chars="1234ABC",
    qualities=(95, 94, 95, 92, 86, 83, 95),
    grammar_ok=True,
    printable="1234 ABC",
    country="E",
)


def plate(**changes: object) -> LicenseInfo:
    values: dict[str, Any] = {name: getattr(PLATE, name) for name in PLATE.__slots__}
    values.update(changes)
    return LicenseInfo(**values)


def jpeg(size: int) -> bytes:
    """``size`` bytes of a JPEG: FF D8, then any bytes."""
    return (b"\xff\xd8" + bytes(range(256)) * (size // 256 + 1))[:size]


def picture(
    image: bytes = jpeg(3000),
    image_size: int | None = None,
    roi: tuple[int, int, int, int] = (10, 20, 110, 420),
) -> GetPictureResponse:
    """A GetPictureResponse whose ImageSize is its image's size unless said otherwise."""
    return GetPictureResponse(*roi, len(image) if image_size is None else image_size, image)


def picture_with_bcc(bcc: int, image: bytes) -> bytes:
    """A GetPictureResponse frame of ``image`` whose (right) Bcc is ``bcc``: its ROI top picks
    it."""
    return next(
        frame
        for top in range(256)
        if (frame := encode(picture(image, roi=(top, 0, 0, 0))))[-2] == bcc
    )


RENDERED: dict[str, bytes] = {
    "ack": encode(Ack(), id=6),
    "status": encode(Status(), unit_id=9, id=4, version=3),
    "status_response": encode(StatusResponse(1, 0, 1), id=4),
    "status_response_io": encode(StatusResponse(1, 255, 1), unit_id=2**32 - 1, id=2**32 - 2),
    "trigger": encode(Trigger(1), id=6),
    "trigger_lowest": encode(Trigger(-(2**31)), id=8),
    "plate": encode(PLATE, id=7),
    "plate_hw_no_grammar": encode(plate(trigger_id=-1, grammar_ok=False, country=""), id=9),
    "plate_one_quality": encode(plate(qualities=(0, 0, 100)), id=9),
    "plate_no_quality": encode(plate(qualities=()), id=9),
    "plate_more_qualities": encode(plate(detected_chars="AB", qualities=(1, 2, 3)), id=9),
    "plate_same_qualities": encode(plate(qualities=(50,) * 40, detected_chars="X" * 40), id=9),
    "plate_zero_in_qualities": encode(plate(qualities=(0, 7, 0, 9)), id=9),
    "plate_no_printable": encode(plate(printable=""), id=9),
    "plate_quotes": encode(plate(printable='A"B', country="C\"\\D'"), id=9),
    "plate_non_ascii": encode(
        plate(detected_chars="ΑΒΓ1234", printable="ΑΒΓ 1234", country="Ελλάδα")
    ),
    "plate_four_byte_chars": encode(plate(detected_chars="𝔸😀B", qualities=(9, 8, 7, 6))),
    "plate_country_controls_beyond_ascii": encode(plate(country="E\x7f\x85\u00a0\u2028")),
    "plate_full": encode(plate(printable="P" * 40, country="~" * 32, car_id=2**32 - 1), id=9),
    "get_picture": encode(GetPicture(3), id=6),
    "get_picture_car_0": encode(GetPicture(0), unit_id=0, id=0),
    "get_picture_car_max": encode(GetPicture(2**32 - 1), id=2**32 - 1, version=7),
    "picture": encode(picture(), id=6),
    "picture_roi_0": encode(picture(roi=(0, 0, 0, 0)), id=8),
    "picture_roi_max": encode(picture(roi=(65535, 65535, 65535, 65535)), unit_id=2**32 - 1),
    "picture_two_bytes": encode(picture(jpeg(2))),
    "picture_largest": encode(picture(jpeg(MAX_IMAGE)), id=10),
    "picture_version_3": encode(picture(jpeg(100)), version=3),
}
STOPPED: dict[str, bytes] = {
    "nak": encode(Nak(4, 0), id=6),
    "ack_stx_data_size": encode(Ack(), size_reading=SizeReading.STX_DATA),
    "ack_bad_bcc": encode(Ack(), bcc=0),
    "ack_with_data": encode(RawBody(192, b"x")),
    "status_response_inactive": encode(StatusResponse(0, 0, 1)),
    "status_response_fault": encode(StatusResponse(1, 0, 0)),
    "plate_v3": encode(RawBody(2, encode(PLATE)[LEN_HEADER:-2]), version=3),
    "plate_no_time": encode(plate(timestamp=0)),
    "plate_bad_usec": encode(plate(timestamp_usec=1_000_000)),
    "plate_quality_101": encode(plate(qualities=(101,))),
    "plate_quality_beyond_chars": encode(plate(qualities=(1,) * 7 + (0, 101))),
    "plate_no_chars": encode(plate(detected_chars="")),
    "plate_apostrophe": encode(plate(printable="O'B")),
    "plate_backslash": encode(plate(detected_chars="A\\B")),
    "plate_control": encode(plate(country="E\t")),
    "plate_no_break_space": encode(plate(printable="A\u00a0B")),
    "plate_zero_width_space": encode(plate(detected_chars="A\u200bB")),
    "plate_c1_control": encode(plate(detected_chars="A\x85")),
    "plate_del": encode(plate(printable="A\x7f")),
    "plate_inner_zero": encode(plate(detected_chars="A\0B")),
    "get_picture_short": encode(RawBody(71, b"abc")),
    "get_picture_long": encode(RawBody(71, b"abcde")),
    "get_picture_stx_data_size": encode(GetPicture(3), size_reading=SizeReading.DATA_ONLY),
    "picture_no_head": encode(RawBody(135, b"x" * 11)),
    "picture_busy": encode(picture(b"", 0)),
    "picture_busy_with_bytes": encode(picture(jpeg(10), 0)),
    "picture_truncated": encode(picture(jpeg(100), 101)),
    "picture_extra_bytes": encode(picture(jpeg(100), 99)),
    "picture_size_beyond_all": encode(picture(jpeg(100), 2**32 - 1)),
    "picture_not_jpeg": encode(picture(b"\xff\xd9" + jpeg(100)[2:])),
    "picture_not_jpeg_swapped": encode(picture(b"\xd8\xff" + jpeg(100)[2:])),
    "picture_one_byte_then_bcc_d8": picture_with_bcc(0xD8, b"\xff"),
    "picture_too_large": encode(picture(jpeg(MAX_IMAGE + 1))),
    "picture_stx_data_size": encode(picture(), size_reading=SizeReading.STX_DATA),
    "picture_bad_bcc": encode(picture(), bcc=encode(picture())[-2] ^ 1),
}


@pytest.mark.parametrize("name", RENDERED)
@pytest.mark.parametrize("with_hex", [True, False])
def test_golden_frames_render_as_the_record_path(
    renderer: lean_json.Renderer, name: str, with_hex: bool
) -> None:
    lean = lean_of(RENDERED[name], prefix=b"\x02\x03junk", suffix=b"\x02", latency_ns=1_500_000)
    assert check_one(renderer, lean, with_hex=with_hex, separator=b",\n  ", terminator=b"")


def test_a_plate_read_line_reads_as_expected(renderer: lean_json.Renderer) -> None:
    out = bytearray()
    lean = lean_of(
        RENDERED["plate"],
        number=12,
        time_ns=1_250_000_000,
        problems=[("smartlpr.trigger_latency", Severity.NOTE)],
        texts=["plate read 120.5 ms after Trigger #11"],
        request_in=None,
        response_in=13,
    )
    assert renderer.render([lean], 0, 1_000_000_000, FRAGMENTS, False, b"", b"\n", out) == 1
    assert out.startswith(
        b'{"schema":"camshark/1","frame":12,"time":0.25,"time_ns":1250000000,'
        b'"link":3,"link_name":"tcp 10.0.0.1:40001 \xe2\x86\x94 10.0.0.9:8051",'
    )
    assert b'"summary":"LicenseInfo car 1001 plate \'1234 ABC\' E q=83-95 trig 11"' in out
    assert b'"problems":[{"severity":"note","code":"smartlpr.trigger_latency",' in out
    assert out.endswith(b'"request_in":null,"response_in":13,"latency_ms":null}\n')


# -- the bundled captures ---------------------------------------------------------------------


def capture_records(path: Path) -> tuple[list[Record], Pipeline]:
    pipeline = Pipeline(None, keep_objects=False)
    source = open_source(str(path))
    records: list[Record] = []
    try:
        for event in source_events(source, runs=False):
            records.extend(pipeline.process(event))
    finally:
        source.close()
    records.extend(pipeline.finish())
    return records, pipeline


def render_all(
    renderer: lean_json.Renderer,
    items: list[object],
    fallback: Callable[[object], bytes],
    base_ns: int,
    fragments: dict[object, bytes],
    with_hex: bool,
) -> tuple[bytes, int]:
    """Every item as the caller renders them: C while it can, ``fallback`` for each item it
    stops at (what ``read -T jsonl`` does); the output and how many C rendered."""
    out = bytearray()
    index = rendered = 0
    while index < len(items):
        stop = renderer.render(items, index, base_ns, fragments, with_hex, b"", b"\n", out)
        rendered += stop - index
        if stop < len(items):
            out += fallback(items[stop]) + b"\n"
        index = stop + 1
    return bytes(out), rendered


def lean_items(
    records: list[Record],
) -> tuple[list[object], dict[tuple[int, Direction], LinkSide], dict[int, Record]]:
    """A capture's records as the bulk path would hand them to a renderer: each SmartLPR
    frame as a LeanRecord (its frame at a varying place in its bytes) with the Record it
    stands for, anything else as its Record; and the link sides."""
    sides: dict[tuple[int, Direction], LinkSide] = {}
    items: list[object] = []
    by_lean: dict[int, Record] = {}
    for record in records:
        frame = record.item
        if record.protocol != "smartlpr" or not isinstance(frame, Frame):
            items.append(record)  # not a LeanRecord: the caller renders it
            continue
        side = sides.setdefault(
            (frame.link.id, frame.direction),
            LinkSide(record.protocol, frame.link, frame.direction),
        )
        lean = lean_of(
            frame.data,
            number=record.number,
            side=side,
            time_ns=frame.time_ns,
            prefix=b"\x02" * (record.number % 5),
            stream_start=frame.start - record.number % 5,
            problems=[(p.code, p.severity) for p in record.problems] or None,
            texts=[p.text for p in record.problems] or None,
            request_in=record.request_in,
            response_in=record.response_in,
            latency_ns=record.latency_ns,
        )
        items.append(lean)
        by_lean[id(lean)] = record
    return items, sides, by_lean


@pytest.mark.parametrize("path", CAPTURES, ids=lambda path: path.name)
@pytest.mark.parametrize("with_hex", [True, False])
def test_every_message_of_the_captures_renders_as_read_does(
    renderer: lean_json.Renderer, path: Path, with_hex: bool
) -> None:
    records, pipeline = capture_records(path)
    base_ns = records[0].time_ns
    items, sides, by_lean = lean_items(records)
    fragments = {side: fragment_of(side, pipeline.endpoints) for side in sides.values()}
    for item in items:  # the bundled plates are plain: only decode's problems stop C
        dissection = by_lean[id(item)].dissection if id(item) in by_lean else None
        assert common_case(item, base_ns, fragments) == (
            dissection is not None and not dissection.problems and dissection.type in RENDERED_TYPES
        )
    pictures = [
        item
        for item in items
        if id(item) in by_lean
        and by_lean[id(item)].dissection.type in PICTURE_TYPES
        and not by_lean[id(item)].dissection.problems
    ]
    assert pictures  # every bundled capture asks for a picture: C takes them all in one call
    assert renderer.render(pictures, 0, base_ns, fragments, with_hex, b"", b"", bytearray()) == len(
        pictures
    )

    def read_writes(item: object) -> bytes:
        record = by_lean.get(id(item), item)
        assert isinstance(record, Record)
        return dumps(record_to_dict(record, base_ns, pipeline.endpoints, with_hex=with_hex))

    output, rendered = render_all(renderer, items, read_writes, base_ns, fragments, with_hex)
    assert output == b"".join(read_writes(item) + b"\n" for item in items)
    assert rendered == sum(common_case(item, base_ns, fragments) for item in items) > len(items) / 2


# -- random messages, times and annotations -----------------------------------------------------


def mostly(common: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly ``common``: most random items are rendered, the rest stop."""
    return st.integers(0, 6).flatmap(lambda pick: odd if pick == 3 else common)


u32 = st.integers(0, 2**32 - 1)
i32 = st.integers(-(2**31), 2**31 - 1)
plain_text = st.text(
    st.one_of(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.characters(codec="utf-8", exclude_categories=["Cc"]),
    ),
    max_size=10,
).filter(lambda text: len(text.encode()) <= 32)
plate_text = mostly(
    plain_text.filter(lambda text: text.isprintable() and "'" not in text and "\\" not in text),
    st.text(
        st.one_of(st.characters(codec="utf-8"), st.sampled_from("'\"\\\0\t\x7fñ€")), max_size=8
    ),
)
qualities = mostly(
    st.lists(st.integers(0, 100), max_size=40), st.lists(st.integers(0, 255), max_size=40)
)
plates = st.builds(
    LicenseInfo,
    car_id=u32,
    trigger_id=st.one_of(st.just(-1), i32),
    timestamp=mostly(st.integers(1, 2**32 - 1), st.just(0)),
    timestamp_usec=mostly(st.integers(0, 999_999), u32),
    detected_chars=mostly(plate_text.filter(bool), plate_text),
    qualities=qualities.map(tuple),
    grammar_ok=st.booleans(),
    printable=plate_text,
    country=mostly(plain_text, plate_text),
)
u16 = st.integers(0, 0xFFFF)
images = mostly(
    st.binary(max_size=40).map(lambda rest: b"\xff\xd8" + rest),
    st.one_of(st.binary(max_size=6), st.sampled_from([b"", b"\xff", b"\xd8", jpeg(MAX_IMAGE + 1)])),
)
image_sizes = mostly(
    st.none(),  # the image's
    st.one_of(st.integers(0, 50), st.sampled_from([MAX_IMAGE, MAX_IMAGE + 1, 2**32 - 1])),
)
pictures = st.builds(picture, images, image_sizes, st.tuples(u16, u16, u16, u16))
bodies: st.SearchStrategy[Body] = st.one_of(
    st.just(Ack()),
    st.just(Status()),
    st.builds(
        StatusResponse,
        mostly(st.just(1), st.integers(0, 255)),
        st.integers(0, 255),
        mostly(st.just(1), st.integers(0, 255)),
    ),
    st.builds(Trigger, i32),
    plates,
    plates,
    st.builds(Nak, st.integers(0, 255), st.integers(0, 255)),
    st.builds(GetPicture, u32),
    pictures,
)


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    body = draw(bodies)
    plain_version = st.just(2) if isinstance(body, LicenseInfo) else st.integers(0, 0xFFFF)
    version = draw(mostly(plain_version, st.integers(0, 0xFFFF)))
    reading = draw(mostly(st.just(SizeReading.WHOLE), st.sampled_from(list(SizeReading))))
    bcc = draw(mostly(st.none(), st.integers(0, 255)))
    frame = encode(body, draw(u32), draw(u32), version, size_reading=reading, bcc=bcc)
    if draw(st.integers(0, 9)) == 0:  # one byte changed anywhere
        at = draw(st.integers(0, len(frame) - 1))
        frame = frame[:at] + bytes([draw(st.integers(0, 255))]) + frame[at + 1 :]
    return frame


int64s = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([-(2**63), 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 0, -1]),
)
numbers = mostly(st.integers(0, 10**7), int64s)
# deltas around every boundary of the plain forms (0, 100 µs, 48 days, 2**53, 64 bits)
deltas = mostly(
    st.one_of(st.just(0), st.integers(10**5, 10**12), st.integers(-(10**12), -(10**5))),
    st.one_of(
        st.integers(-EXACT_SECONDS_NS - 10, EXACT_SECONDS_NS + 10),
        st.sampled_from([0, 1, 99_999, 100_000, -100_000, EXACT_SECONDS_NS - 1, EXACT_SECONDS_NS]),
        st.integers(-(10**5), 10**5),
        st.integers(-(2**64), 2**64),
    ),
)
latencies = mostly(
    st.one_of(st.none(), st.integers(0, 10**10)),
    st.one_of(
        st.integers(-(2**63), 2**63 - 1),
        st.integers(-1000, 1000),
        st.sampled_from([99, 100, 2**53, 2**53 + 1, 2**63 - 1, -(2**63), 2**63]),
    ),
)
texts = mostly(
    st.text(max_size=12).filter(lambda text: all(char >= " " for char in text)),
    st.one_of(
        st.text(max_size=12),
        st.sampled_from(["\ud800", "caf\u00e9 \u2028", "tab\there", '"quoted" \\ back']),
    ),
)
severities = mostly(st.sampled_from(list(Severity)), texts)
problem_lists = st.one_of(
    st.none(),
    st.just([]),
    st.lists(st.tuples(texts, severities), min_size=1, max_size=3),
)


@st.composite
def leans(draw: st.DrawFn) -> tuple[LeanRecord, int]:
    frame = draw(frames())
    problems = draw(problem_lists)
    count = len(problems or [])
    texts_drawn = draw(
        mostly(
            st.lists(texts, min_size=count, max_size=count),
            st.one_of(st.none(), st.lists(texts, max_size=4), st.just(())),
        )
    )
    base_ns = draw(mostly(st.integers(0, 2**62), st.integers(-(2**63), 2**63 - 1)))
    lean = lean_of(
        frame,
        number=draw(numbers),
        side=draw(st.sampled_from(SIDES)),
        time_ns=base_ns + draw(deltas),
        prefix=draw(st.binary(max_size=6)),
        suffix=draw(st.binary(max_size=6)),
        stream_start=draw(numbers),
        problems=problems,
        texts=texts_drawn,
        request_in=draw(mostly(st.none(), numbers)),
        response_in=draw(mostly(st.none(), numbers)),
        latency_ns=draw(latencies),
    )
    return lean, base_ns


@given(
    lean_and_base=leans(),
    with_hex=st.booleans(),
    separator=st.sampled_from([b"", b",\n  "]),
    terminator=st.sampled_from([b"", b"\n"]),
)
@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_messages_render_as_the_record_path_or_stop(
    renderer: lean_json.Renderer,
    lean_and_base: tuple[LeanRecord, int],
    with_hex: bool,
    separator: bytes,
    terminator: bytes,
) -> None:
    lean, base_ns = lean_and_base
    check_one(renderer, lean, base_ns, with_hex, separator, terminator)


@given(delta=deltas, latency=latencies)
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_float_written_is_the_one_orjson_writes(
    renderer: lean_json.Renderer, delta: int, latency: int | None
) -> None:
    base_ns = 1_714_557_600_000_000_000
    assume(-INT64 <= base_ns + delta < INT64)
    lean = lean_of(RENDERED["ack"], time_ns=base_ns + delta, latency_ns=latency)
    rendered = check_one(renderer, lean, base_ns)
    time_plain = _plain_float(delta / 1e9) and abs(delta) < EXACT_SECONDS_NS
    latency_plain = latency is None or (_int64(latency) and _plain_float(latency / 1e6))
    assert rendered == (time_plain and latency_plain)
    if latency is None and (delta == 0 or 10**5 <= abs(delta) < EXACT_SECONDS_NS):
        assert rendered  # every time from 100 µs to 48 days is a plain decimal


@given(
    batch=st.lists(leans(), min_size=1, max_size=12),
    with_hex=st.booleans(),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_batch_renders_up_to_the_first_item_it_stops_at(
    renderer: lean_json.Renderer, batch: list[tuple[LeanRecord, int]], with_hex: bool
) -> None:
    base_ns = batch[0][1]
    items: list[object] = [lean for lean, _ in batch]
    stop = next(
        (i for i, item in enumerate(items) if not common_case(item, base_ns, FRAGMENTS)),
        len(items),
    )
    start = stop // 2
    out = bytearray(b">")
    index = renderer.render(items, start, base_ns, FRAGMENTS, with_hex, b",", b"", out)
    expected = b"".join(
        b"," + oracle(record_of(item), base_ns, with_hex) for item in items[start:stop]
    )
    assert (index, bytes(out)) == (stop, b">" + expected)


# -- what one call keeps for its next items: times, sides, fields' openers, problem heads -------


def check_batch(
    renderer: lean_json.Renderer,
    items: list[object],
    base_ns: int = 0,
    fragments: dict[object, bytes] = FRAGMENTS,
    ends: Callable[[Record], tuple[str, str]] = endpoints,
) -> int:
    """Render ``items`` in one call, into a bytearray and into a list: the oracle's objects
    (the fragments made with ``ends``) up to the first item that is not the common case, where
    it stops (its index)."""
    stop = next(
        (i for i, item in enumerate(items) if not common_case(item, base_ns, fragments)),
        len(items),
    )
    expected = b"".join(
        dumps(record_to_dict(record_of(item), base_ns, ends, with_hex=True)) + b"\n"
        for item in items[:stop]
    )
    into_bytearray = bytearray()
    into_list: list[bytes] = []
    for out in (into_bytearray, into_list):
        assert renderer.render(items, 0, base_ns, fragments, True, b"", b"\n", out) == stop  # type: ignore[arg-type]
    assert bytes(into_bytearray) == b"".join(into_list) == expected
    return stop


DIGIT_BOUNDARIES = (0, 9, 10, 99, 100, 999, 1000, 9999, 10**4, 99_999, 10**5, 10**8 - 1, 10**8)
U32_BOUNDARIES = (*DIGIT_BOUNDARIES, 2**31 - 1, 2**31, 2**32 - 1)
I64_BOUNDARIES = (*U32_BOUNDARIES, 2**32, 2**53 + 1, 10**16, 10**18 - 1, 10**18, 2**63 - 1)


def test_numbers_at_every_digit_count_boundary(renderer: lean_json.Renderer) -> None:
    """Frame numbers, stream offsets, replies, ids, unit ids and versions around each width,
    one at a time and then in one call (the fields' opener changing from item to item)."""
    items: list[object] = []
    for value in I64_BOUNDARIES:
        small = min(value, 2**32 - 1)
        for sign in (1, -1):
            frame = encode(
                Status(), unit_id=small, id=U32_BOUNDARIES[value % 16], version=min(value, 65535)
            )
            lean = lean_of(
                frame,
                number=sign * value,
                stream_start=sign * value,
                request_in=-sign * value,
                response_in=sign * value,
                latency_ns=sign * value,
            )
            check_one(renderer, lean)
            items.append(lean)
    for value in U32_BOUNDARIES:
        items.append(lean_of(encode(Trigger(min(value, 2**31 - 1)), unit_id=value, id=value)))
        items.append(lean_of(encode(Trigger(-min(value, 2**31)), unit_id=value, id=value)))
        items.append(lean_of(encode(plate(car_id=value, timestamp_usec=value % 10**6), id=value)))
    items += [  # one unit id, the version changing
        lean_of(encode(Status(), unit_id=1, id=version, version=version))
        for version in (0, 9, 10, 99, 100, 65535, 0)
    ]
    common = [item for item in items if common_case(item, 0, FRAGMENTS)]
    assert len(common) > len(items) * 3 // 4
    assert check_batch(renderer, common) == len(common)


def test_times_shared_or_not_within_a_call(renderer: lean_json.Renderer) -> None:
    """Items of one time (the same int, or equal ints), of others, before the base (negative
    relative times), and a time that is no plain decimal, where the call stops."""
    base_ns = 1_764_000_000_000_008_000
    shared = base_ns + 400_000
    deltas = (0, 0, 400_000, -400_000, -400_000, 10**9, 10**9 + 1, 0, -(10**15), -1, 1)
    items: list[object] = [lean_of(RENDERED["ack"], time_ns=shared, number=n) for n in range(3)]
    items += [
        lean_of(RENDERED["plate" if n % 2 else "trigger"], time_ns=base_ns + delta, number=n)
        for n, delta in enumerate(deltas, 3)
    ]
    assert check_batch(renderer, items, base_ns) == len(items) - 2  # -1 ns: 1e-09 s
    assert check_batch(renderer, items[:-2], base_ns + 10**9) == 9  # 10**9 + 1: 1e-09 s
    assert check_batch(renderer, items[:-2][::-1], shared) == len(items) - 2


class HashedSide(LinkSide):
    """A side whose hash is Python's: looked up again for each item."""

    __slots__ = ()
    hashed: ClassVar[list[object]] = []

    def __hash__(self) -> int:
        HashedSide.hashed.append(self)
        return 5


def test_sides_within_a_call_and_between_calls(renderer: lean_json.Renderer) -> None:
    ack = RENDERED["ack"]
    order = (0, 0, 1, 0, 1, 1, 0)
    items: list[object] = [lean_of(ack, side=SIDES[i], number=n) for n, i in enumerate(order)]
    assert check_batch(renderer, items) == len(items)

    def swapped(record: Record) -> tuple[str, str]:
        return endpoints(record)[::-1]

    renamed: dict[object, bytes] = {side: fragment_of(side, swapped) for side in SIDES}
    assert check_batch(renderer, items, fragments=renamed, ends=swapped) == len(items)
    assert check_batch(renderer, items) == len(items)
    assert check_batch(renderer, items, fragments={SIDES[1]: FRAGMENTS[SIDES[1]]}) == 0
    assert check_batch(renderer, items, fragments={SIDES[0]: FRAGMENTS[SIDES[0]]}) == 2

    side = HashedSide("smartlpr", LINK, Direction.FROM_DEVICE)
    fragments: dict[object, bytes] = {**FRAGMENTS, side: fragment_of(side)}
    hashed = [lean_of(ack, side=side, number=n) for n in range(3)]
    HashedSide.hashed.clear()
    out = bytearray()
    assert renderer.render(hashed, 0, 0, fragments, False, b"", b"\n", out) == 3
    assert HashedSide.hashed == [side] * 3
    assert bytes(out) == b"".join(oracle(record_of(item), 0, False) + b"\n" for item in hashed)

    class Forgetful(HashedSide):
        """Takes its fragment away when hashed the second time."""

        __slots__ = ()

        def __hash__(self) -> int:
            if len(HashedSide.hashed) == 1:
                fragments.pop(self)
            return super().__hash__()

    side = Forgetful("smartlpr", LINK, Direction.FROM_DEVICE)
    fragments[side] = fragment_of(side)
    HashedSide.hashed.clear()
    forgetful = [lean_of(ack, side=side, number=n) for n in range(3)]
    assert renderer.render(forgetful, 0, 0, fragments, False, b"", b"", bytearray()) == 1


def test_a_run_of_picture_exchanges_is_rendered_in_one_call(renderer: lean_json.Renderer) -> None:
    """Requests and responses among the other messages, pictures of every size up to the
    largest (its hex beyond a chunk), in one call of each form, up to a busy answer."""
    names = (
        *("trigger", "plate", "get_picture", "picture", "ack", "get_picture_car_0"),
        *("picture_two_bytes", "get_picture_car_max", "picture_largest", "picture_roi_max"),
    )
    items: list[object] = [
        lean_of(RENDERED[name], number=n, time_ns=n * 400_000, side=SIDES[n % 2])
        for n, name in enumerate(names)
    ]
    busy = lean_of(STOPPED["picture_busy"])
    assert check_batch(renderer, items) == len(items)
    assert check_batch(renderer, [*items, busy, *items]) == len(items)
    out: list[bytes] = []
    assert renderer.render_text([*items, busy], 0, 0, TEXT_FRAGMENTS, MARKS, out) == len(items)  # type: ignore[arg-type]
    assert b"".join(out) == b"".join(text_oracle(record_of(item), 0) for item in items)


def test_problem_heads_within_a_call(renderer: lean_json.Renderer) -> None:
    """Problems of the same severity and code objects, of equal codes in other objects, of
    other severities and codes, and one whose code JSON would escape, where the call stops."""
    ack = RENDERED["ack"]
    code = "smartlpr.trigger_latency"
    equal = "".join(["smartlpr.", "trigger_latency"])
    assert equal == code and equal is not code
    problems: list[tuple[list[tuple[str, str]], list[str]]] = [
        ([(code, Severity.NOTE)], ["a"]),
        ([(code, Severity.NOTE)], ["b"]),
        ([(equal, Severity.NOTE)], ['c "quoted"']),
        ([(code, Severity.WARNING), (code, Severity.NOTE)], ["d", "e"]),
        ([('other "code"', Severity.NOTE)], ["caf\u00e9"]),
        ([(code, "note")], ["g"]),
        ([(code, Severity.NOTE)], ["h" * 70_000]),  # beyond a chunk
        ([(code, Severity.NOTE)], ["\u00e9" * 40_000]),
        ([("tab\there", Severity.NOTE)], ["i"]),
        ([(code, Severity.NOTE)], ["j"]),
    ]
    items: list[object] = [
        lean_of(ack, problems=pairs, texts=texts, number=n)
        for n, (pairs, texts) in enumerate(problems)
    ]
    assert check_batch(renderer, items) == len(items) - 2
    assert check_batch(renderer, items[-1:] + items) == len(items) - 1


# -- junk: never a crash, never a wrong object --------------------------------------------------


class OddSide:
    """A side whose hash misbehaves."""

    def __init__(self, action: Callable[[], None]) -> None:
        self.action = action

    def __hash__(self) -> int:
        self.action()
        return 1


junk = st.one_of(
    st.none(),
    st.integers(),
    st.booleans(),
    st.floats(),
    st.text(max_size=4),
    st.binary(max_size=30),
    st.lists(st.tuples(st.text(max_size=3), st.text(max_size=3)), max_size=2),
    st.lists(st.integers(), max_size=2),
    st.tuples(st.text(max_size=3), st.text(max_size=3)),
    st.builds(bytearray, st.binary(max_size=30)),
    st.just(object()),
    st.just(Severity.ERROR),
    st.just([[]]),
)


def test_odd_sides_fragments_and_items_stop_it(renderer: lean_json.Renderer) -> None:
    out = bytearray()

    def render(items: list[object], fragments: dict[object, bytes] = FRAGMENTS) -> int:
        return renderer.render(items, 0, 0, fragments, True, b"", b"", out)

    def fail() -> None:
        raise RuntimeError("no hash")

    ack = RENDERED["ack"]
    assert render([lean_of(ack, side=OddSide(fail))]) == 0
    items: list[object] = []
    items += [lean_of(ack, side=OddSide(items.clear)), lean_of(ack)]
    assert render(items) == 0
    assert items == []
    assert render([lean_of(ack)], {SIDES[0]: bytearray(b"x")}) == 0  # type: ignore[dict-item]
    assert render([lean_of(ack, side=SIDES[1])], {SIDES[0]: b"x"}) == 0
    assert out == b""
    assert render([lean_of(ack), object(), lean_of(ack)]) == 1
    assert renderer.render([lean_of(ack)], 5, 0, FRAGMENTS, True, b"", b"", out) == 5


class Subclass(LeanRecord):
    __slots__ = ()


class NoTexts:
    __slots__ = tuple(name for name in LeanRecord.__slots__ if name != "texts")


class TextsProperty(NoTexts):
    __slots__ = ()

    @property
    def texts(self) -> None:
        return None


def test_only_the_lean_type_itself_is_rendered(renderer: lean_json.Renderer) -> None:
    lean = lean_of(RENDERED["ack"])
    sub = new_lean(Subclass, **{slot: getattr(lean, slot) for slot in LeanRecord.__slots__})
    out = bytearray()
    assert renderer.render([sub], 0, 0, FRAGMENTS, True, b"", b"", out) == 0
    made = lean_json.new_renderer(Subclass, SCHEMA)
    assert made is not None
    assert made.render([sub, lean], 0, 0, FRAGMENTS, True, b"", b"", out) == 1
    assert bytes(out) == oracle(record_of(sub), 0, True)


@pytest.mark.parametrize("lean_type", [NoTexts, TextsProperty, int])
def test_a_lean_type_without_every_slot_is_refused(lean_type: type) -> None:
    with pytest.raises(TypeError, match="needs a slot"):
        lean_json.new_renderer(lean_type, SCHEMA)


@pytest.mark.parametrize(
    "args",
    [
        ((), 0, 0, {}, True, b"", b"", bytearray()),
        ([], 0, 0, [], True, b"", b"", bytearray()),
        ([], 0, 0, {}, True, "", b"", bytearray()),
        ([], 0, 0, {}, True, b"", b"", b""),
        ([], 0.0, 0, {}, True, b"", b"", bytearray()),
        ([], 0, None, {}, True, b"", b"", bytearray()),
        ([], 0, 0, {}, True, b"", b""),
    ],
)
def test_wrong_arguments_raise_type_error(renderer: lean_json.Renderer, args: tuple[Any]) -> None:
    with pytest.raises(TypeError):
        renderer.render(*args)


def test_out_of_range_arguments_raise(renderer: lean_json.Renderer) -> None:
    with pytest.raises(ValueError, match="negative"):
        renderer.render([], -1, 0, {}, True, b"", b"", bytearray())
    with pytest.raises(OverflowError):
        renderer.render([], 0, 2**63, {}, True, b"", b"", bytearray())
    assert lean_json._kernel is not None
    with pytest.raises(TypeError, match="not initialised"):
        lean_json._kernel.Renderer.__new__(lean_json._kernel.Renderer).render(
            [], 0, 0, {}, True, b"", b"", bytearray()
        )


def test_the_schema_must_be_plain(renderer: lean_json.Renderer) -> None:
    with pytest.raises(ValueError, match="plain"):
        lean_json.new_renderer(LeanRecord, 'camshark/"2"')
    assert lean_json.head("x/1") == b'{"schema":"x/1","frame":'


def test_no_renderer_without_the_c_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lean_json, "_kernel", None)
    assert lean_json.new_renderer(LeanRecord, SCHEMA) is None


def test_a_big_batch_is_written_whole(renderer: lean_json.Renderer) -> None:
    items: list[object] = [
        lean_of(RENDERED["plate"], number=n, time_ns=n * 10**6) for n in range(1, 6001)
    ]
    out = bytearray()
    assert renderer.render(items, 0, 0, FRAGMENTS, True, b"", b"\n", out) == len(items)
    lines = bytes(out).split(b"\n")
    assert len(lines) == len(items) + 1 and len(out) > 2**21
    for number in (1, 1777, 6000):
        assert lines[number - 1] == oracle(record_of(items[number - 1]), 0, True)


def test_a_list_gets_the_same_bytes_in_chunks(renderer: lean_json.Renderer) -> None:
    """``out`` may be a list (the sinks' form): it gets bytes objects, one per 16 KiB block
    and one for the rest, with the bytes a bytearray gets."""
    items: list[object] = [
        lean_of(RENDERED["plate"], number=n, time_ns=n * 10**6) for n in range(1, 301)
    ]
    into_bytearray = bytearray(b"earlier;")
    into_list: list[bytes] = [b"earlier;"]
    for out in (into_bytearray, into_list):
        assert renderer.render(items, 0, 0, FRAGMENTS, True, b",", b"", out) == len(items)  # type: ignore[arg-type]
        assert renderer.render_text(items, 0, 0, TEXT_FRAGMENTS, MARKS, out) == len(items)  # type: ignore[arg-type]
    assert b"".join(into_list) == into_bytearray
    assert len(into_list) > 4 and all(type(chunk) is bytes for chunk in into_list)
    chunks = len(into_list)
    assert renderer.render([], 0, 0, FRAGMENTS, True, b"", b"", into_list) == 0  # type: ignore[arg-type]
    assert len(into_list) == chunks  # nothing rendered, nothing appended


@pytest.mark.parametrize("name", ["ack", "plate"])
def test_a_class_of_its_own_with_the_slots_is_rendered_alike(name: str) -> None:
    renderer = lean_json.new_renderer(OwnLean, SCHEMA)
    assert renderer is not None
    own = new_lean(
        OwnLean, **{slot: getattr(lean_of(RENDERED[name]), slot) for slot in LeanRecord.__slots__}
    )
    out = bytearray()
    assert renderer.render([own], 0, 0, FRAGMENTS, True, b"", b"", out) == 1  # type: ignore[list-item]
    assert bytes(out) == oracle(record_of(own), 0, True)


def test_smartlpr_declares_the_renderer() -> None:
    from dissectors.smartlpr import DISSECTOR

    assert DISSECTOR.lean_renderer is not None
    made = DISSECTOR.lean_renderer(LeanRecord, SCHEMA)
    assert made is not None
    out = bytearray()
    assert made.render([lean_of(RENDERED["ack"])], 0, 0, FRAGMENTS, False, b"", b"", out) == 1


def _with_bcc(frame: bytes) -> bytes:
    end = len(frame) - 2
    bcc = 0
    for byte in frame[:end]:
        bcc ^= byte
    return frame[:end] + bytes([bcc]) + frame[end + 1 :]


UTF8_PIECES = (
    *(b"\xc3\xa9", b"\xf0\x9f\x98\x80", b"\xe2\x80\x8b", b"\xc2\x85"),  # valid
    *(b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"),  # overlong, etc.
    *(b"\xe2\x82", b"\x80", b"\xff", b"\0", b"'", b"\\", b"A", b"7", b" "),
)
utf8_ish = st.lists(
    st.one_of(st.binary(min_size=1, max_size=1), st.sampled_from(UTF8_PIECES)), max_size=12
).map(b"".join)


# -- the text line (render_text) ----------------------------------------------------------------

MARKS = tuple((severity, mark.encode()) for severity, mark in text.MARKS)


def text_fragment_of(
    side: LinkSide, ends: Callable[[Record], tuple[str, str]] = endpoints
) -> bytes:
    """What the caller computes once per side: the side's part of the line."""
    frame = Frame(side.link, side.direction, 0, encode(Status()), 0)
    return text.side_part(Record(1, side.protocol, frame, codec.decode(frame)), ends).encode()


TEXT_FRAGMENTS: dict[object, bytes] = {side: text_fragment_of(side) for side in SIDES}


def text_oracle(record: Record, base_ns: int) -> bytes:
    return (text.format_line(record, base_ns, endpoints) + "\n").encode()


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def common_text_case(lean: object, base_ns: int, fragments: dict[object, bytes]) -> bool:
    """Whether ``render_text`` must write this item (else it must stop at it)."""
    slots = _common_slots(lean, fragments)
    if slots is None or not _int64(slots["time_ns"] - base_ns):
        return False
    problems, texts = slots["problems"], slots["texts"]
    if problems is MISSING:
        return False
    if problems is not None and not (type(problems) is list and not problems):
        if type(problems) is not list:
            return False
        if texts is not None and (type(texts) is not list or len(texts) not in (0, len(problems))):
            return False
        for problem in problems:
            if type(problem) is not tuple or len(problem) != 2:
                return False
            code, severity = problem
            if type(code) is not str or not _encodable(code):
                return False
            if not any(severity is member for member in Severity):
                return False
    return _common_frame(_frame_of(slots))


def check_text(
    renderer: lean_json.Renderer,
    lean: object,
    base_ns: int = 0,
    fragments: dict[object, bytes] = TEXT_FRAGMENTS,
) -> bool:
    """Render one item's line after some earlier output: the oracle's line or a clean stop."""
    out = bytearray(b"earlier;")
    index = renderer.render_text([lean], 0, base_ns, fragments, MARKS, out)
    if common_text_case(lean, base_ns, fragments):
        assert (index, bytes(out)) == (1, b"earlier;" + text_oracle(record_of(lean), base_ns))
        return True
    assert (index, bytes(out)) == (0, b"earlier;")
    return False


@pytest.mark.parametrize("name", RENDERED)
def test_golden_frames_render_as_format_line(renderer: lean_json.Renderer, name: str) -> None:
    lean = lean_of(
        RENDERED[name],
        prefix=b"\x02\x03junk",
        suffix=b"\x02",
        request_in=3,
        response_in=9,
        latency_ns=1_500_000,
        problems=[("smartlpr.x", Severity.ERROR), ("smartlpr.y", Severity.NOTE)],
        texts=["one", "two"],
    )
    assert check_text(renderer, lean)
    assert check_text(renderer, lean_of(RENDERED[name], number=-12, time_ns=-(10**9)))


def test_a_plate_read_text_line_reads_as_expected(renderer: lean_json.Renderer) -> None:
    out = bytearray()
    lean = lean_of(
        RENDERED["plate_quotes"],
        number=12,
        time_ns=1_250_000_500,
        problems=[("smartlpr.trigger_latency", Severity.NOTE), ("x", Severity.WARNING)],
        texts=None,
        request_in=11,
        latency_ns=120_500_500,
        response_in=13,
    )
    assert renderer.render_text([lean], 0, 1_000_000_000, TEXT_FRAGMENTS, MARKS, out) == 1
    # both at a midpoint of their last digit: the doubles 0.2500005 and 120.5005 lie above it
    assert (
        out
        == (
            "    12    0.250001 10.0.0.1:40001 → 10.0.0.9:8051 host→dev smartlpr "
            "LicenseInfo car 1001 plate 'A\"B' C\"\\D' q=83-95 trig 11 "
            "[reply to #11, 120.501 ms] [reply in #13] [·smartlpr.trigger_latency] [!x]\n"
        ).encode()
    )


def test_a_summary_is_prefixed_with_its_type_unless_it_starts_with_it() -> None:
    assert lean_json._kernel is not None
    made = lean_json._kernel.Renderer(
        LeanRecord,
        lean_json.head(SCHEMA),
        lean_json.COMMON_TYPES,
        tuple(lean_json.label(code) for code in lean_json.COMMON_TYPES),
        (
            *(b"ACK id", b"Stat", b"Other", b""),
            b"LicenseInfo car 1001 plate '1234 ABC' E q=83-95 X",
            *(b"GetPicture car 3", b"Picture"),
        ),
    )
    out = bytearray()
    names = ("ack", "status", "status_response", "trigger", "plate", "get_picture", "picture")
    items: list[object] = [lean_of(RENDERED[name]) for name in names]
    assert made.render_text(items, 0, 1_000_000_000, TEXT_FRAGMENTS, MARKS, out) == 7
    summaries = [line.split(" smartlpr ", 1)[1] for line in bytes(out).decode().splitlines()]
    assert summaries == [
        "ACK id=6",
        "Status",
        "Other: StatusResponse active io=0 camera ok",
        "Trigger 1",
        "LicenseInfo car 1001 plate '1234 ABC' E q=83-95 X: "
        "LicenseInfo car 1001 plate '1234 ABC' E q=83-95 trig 11",
        "GetPicture car 3",
        "Picture: GetPictureResponse JPEG 3000 B roi t10 l20 b110 r420",
    ]


@pytest.mark.parametrize("path", CAPTURES, ids=lambda path: path.name)
def test_every_message_of_the_captures_renders_as_read_prints_it(
    renderer: lean_json.Renderer, path: Path
) -> None:
    records, pipeline = capture_records(path)
    base_ns = records[0].time_ns
    items, sides, by_lean = lean_items(records)
    fragments = {side: text_fragment_of(side, pipeline.endpoints) for side in sides.values()}

    def read_prints(item: object) -> bytes:
        record = by_lean.get(id(item), item)
        assert isinstance(record, Record)
        return (text.format_line(record, base_ns, pipeline.endpoints) + "\n").encode()

    out = bytearray()
    index = rendered = 0
    while index < len(items):
        stop = renderer.render_text(items, index, base_ns, fragments, MARKS, out)
        rendered += stop - index
        if stop < len(items):
            out += read_prints(items[stop])
        index = stop + 1
    assert bytes(out) == b"".join(read_prints(item) for item in items)
    expected = sum(common_text_case(item, base_ns, fragments) for item in items)
    assert rendered == expected > len(items) / 2


@given(lean_and_base=leans())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_messages_render_as_format_line_or_stop(
    renderer: lean_json.Renderer, lean_and_base: tuple[LeanRecord, int]
) -> None:
    lean, base_ns = lean_and_base
    check_text(renderer, lean, base_ns)


# around every boundary of the integer form: midpoints, 1e15 ns, 2**53, 64 bits
fixed_ns = st.one_of(
    st.integers(-(10**16), 10**16),
    st.integers(-(10**16), 10**16).map(lambda k: k // 1000 * 1000 + 500),
    st.integers(-(10**13), 10**13).map(lambda k: k * 1000 + 500),
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-3000, 3000),
    st.sampled_from(
        [
            *(10**15 - 500, 10**15 - 1, 10**15, 10**15 + 500, 2**53 - 1, 2**53 + 1, 2**63 - 1),
            *(-(2**63), -(10**15) + 500, 999_999_999_500, 1_000_000_000_499),
        ]
    ),
)


@given(delta=fixed_ns, latency=st.one_of(st.none(), fixed_ns))
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_time_and_latency_written_is_the_one_format_writes(
    renderer: lean_json.Renderer, delta: int, latency: int | None
) -> None:
    base_ns = delta // 2 if abs(delta) > 2**62 else 1_714_557_600_000_000_000
    assume(-INT64 <= base_ns + delta < INT64)
    lean = lean_of(RENDERED["ack"], time_ns=base_ns + delta, latency_ns=latency, request_in=1)
    assert check_text(renderer, lean, base_ns)


@given(batch=st.lists(leans(), min_size=1, max_size=12))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_batch_of_lines_renders_up_to_the_first_item_it_stops_at(
    renderer: lean_json.Renderer, batch: list[tuple[LeanRecord, int]]
) -> None:
    base_ns = batch[0][1]
    items: list[object] = [lean for lean, _ in batch]
    stop = next(
        (i for i, item in enumerate(items) if not common_text_case(item, base_ns, TEXT_FRAGMENTS)),
        len(items),
    )
    start = stop // 2
    out = bytearray(b">")
    index = renderer.render_text(items, start, base_ns, TEXT_FRAGMENTS, MARKS, out)
    expected = b"".join(text_oracle(record_of(item), base_ns) for item in items[start:stop])
    assert (index, bytes(out)) == (stop, b">" + expected)


def test_line_times_shared_or_not_within_a_call(renderer: lean_json.Renderer) -> None:
    """Lines of one time (the same int, or equal ints), of others, before the base, on a
    rounding midpoint (glibc's rounding) and beyond the exact range, sides alternating."""
    base_ns = 1_764_000_000_000_008_000
    shared = base_ns + 400_000
    deltas = (0, 0, 400_000, -400_000, 2_500, 2_500, -1, 1_500, 10**15 + 500, 10**17, 0)
    items: list[object] = [lean_of(RENDERED["ack"], time_ns=shared, number=n) for n in range(3)]
    items += [
        lean_of(RENDERED["plate"], time_ns=base_ns + delta, number=n, side=SIDES[n % 2])
        for n, delta in enumerate(deltas, 3)
    ]
    assert all(common_text_case(item, base_ns, TEXT_FRAGMENTS) for item in items)
    for base in (base_ns, shared, base_ns + 10**16):
        out: list[bytes] = []
        assert renderer.render_text(items, 0, base, TEXT_FRAGMENTS, MARKS, out) == len(items)  # type: ignore[arg-type]
        assert b"".join(out) == b"".join(text_oracle(record_of(item), base) for item in items)


def test_odd_sides_marks_and_items_stop_the_lines(renderer: lean_json.Renderer) -> None:
    out = bytearray()

    def render(items: list[object], marks: tuple[tuple[object, bytes], ...] = MARKS) -> int:
        return renderer.render_text(items, 0, 0, TEXT_FRAGMENTS, marks, out)  # type: ignore[arg-type]

    def fail() -> None:
        raise RuntimeError("no hash")

    ack = RENDERED["ack"]
    assert render([lean_of(ack, side=OddSide(fail))]) == 0
    items: list[object] = []
    items += [lean_of(ack, side=OddSide(items.clear)), lean_of(ack)]
    assert render(items) == 0
    noted = lean_of(ack, problems=[("c", Severity.NOTE)], texts=["t"])
    assert render([noted], ((Severity.ERROR, b"!!"),)) == 0
    assert render([lean_of(ack, problems=[("c", "note")], texts=["t"])]) == 0
    assert out == b""
    assert render([lean_of(ack), object(), lean_of(ack)]) == 1
    assert render([noted], ((Severity.NOTE, b"<note>"),)) == 1
    assert out.endswith(b" smartlpr ACK id=6 [<note>c]\n")


@pytest.mark.parametrize(
    "args",
    [
        ((), 0, 0, {}, MARKS, bytearray()),
        ([], 0, 0, [], MARKS, bytearray()),
        ([], 0, 0, {}, [], bytearray()),
        ([], 0, 0, {}, ((Severity.NOTE, "·"),), bytearray()),
        ([], 0, 0, {}, ((Severity.NOTE,),), bytearray()),
        ([], 0, 0, {}, MARKS, b""),
        ([], 0.0, 0, {}, MARKS, bytearray()),
        ([], 0, 0, {}, MARKS),
    ],
)
def test_wrong_text_arguments_raise_type_error(
    renderer: lean_json.Renderer, args: tuple[Any]
) -> None:
    with pytest.raises(TypeError):
        renderer.render_text(*args)


def test_a_big_batch_of_lines_is_written_whole(renderer: lean_json.Renderer) -> None:
    items: list[object] = [
        lean_of(RENDERED["plate"], number=n, time_ns=n * 10**6) for n in range(1, 20001)
    ]
    out = bytearray()
    assert renderer.render_text(items, 0, 0, TEXT_FRAGMENTS, MARKS, out) == len(items)
    lines = bytes(out).split(b"\n")
    assert len(lines) == len(items) + 1 and len(out) > 2**21
    for number in (1, 7777, 20000):
        assert lines[number - 1] + b"\n" == text_oracle(record_of(items[number - 1]), 0)


# -- both forms: what must stop, and junk that must never crash or render wrong ------------------

FORMS = ("json", "text")


def check_form(
    form: str, renderer: lean_json.Renderer, lean: object, with_hex: bool = True
) -> bool:
    """``check_one`` (the JSON object) or ``check_text`` (the line) of one item."""
    if form == "json":
        return check_one(renderer, lean, with_hex=with_hex)
    return check_text(renderer, lean)


def render_form(
    form: str, renderer: lean_json.Renderer, items: list[object], out: bytearray
) -> int:
    if form == "json":
        return renderer.render(items, 0, 0, FRAGMENTS, True, b"", b"", out)
    return renderer.render_text(items, 0, 0, TEXT_FRAGMENTS, MARKS, out)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", STOPPED)
def test_other_frames_are_left_to_the_record_path(
    renderer: lean_json.Renderer, name: str, form: str
) -> None:
    assert not check_form(form, renderer, lean_of(STOPPED[name]))


@pytest.mark.parametrize("form", FORMS)
@given(
    data=st.binary(max_size=200),
    offset=st.integers(-300, 300),
    length=st.one_of(st.integers(-5, 300), st.sampled_from([-(2**63), 2**63 - 1])),
    with_hex=st.booleans(),
)
@settings(max_examples=400, deadline=None)
def test_arbitrary_bytes_offsets_and_lengths_are_safe(
    renderer: lean_json.Renderer, form: str, data: bytes, offset: int, length: int, with_hex: bool
) -> None:
    lean = lean_of(b"")
    lean.data, lean.offset, lean.length = data, offset, length
    check_form(form, renderer, lean, with_hex)


@pytest.mark.parametrize("form", FORMS)
@given(
    changes=st.dictionaries(st.sampled_from(SLOTS), st.one_of(junk, st.just(MISSING)), min_size=1),
    name=st.sampled_from(list(RENDERED)),
    with_problems=st.booleans(),
)
@settings(max_examples=400, deadline=None)
def test_junk_in_any_slot_stops_the_renderer_or_renders_it_right(
    renderer: lean_json.Renderer,
    form: str,
    changes: dict[str, object],
    name: str,
    with_problems: bool,
) -> None:
    problems = {"problems": [("a", Severity.WARNING)], "texts": ["t"]} if with_problems else {}
    lean = lean_of(RENDERED[name], latency_ns=1000, **problems)
    for slot, value in changes.items():
        if value is MISSING:
            delattr(lean, slot)
        else:
            setattr(lean, slot, value)
    try:
        hash(getattr(lean, "side", None))
    except TypeError:
        out = bytearray()
        assert render_form(form, renderer, [lean], out) == 0
        assert out == b""
        return
    check_form(form, renderer, lean)


@pytest.mark.parametrize("form", FORMS)
@given(chars=utf8_ish, printable=utf8_ish, country=utf8_ish)
@settings(max_examples=400, deadline=None)
def test_any_bytes_in_the_plate_texts_render_as_decode_reads_them_or_stop(
    renderer: lean_json.Renderer, form: str, chars: bytes, printable: bytes, country: bytes
) -> None:
    frame = bytearray(RENDERED["plate"])
    body = LEN_HEADER
    for start, size, raw in ((16, 40, chars), (97, 40, printable), (137, 32, country)):
        frame[body + start : body + start + size] = raw[:size].ljust(size, b"\0")
    check_form(form, renderer, lean_of(_with_bcc(bytes(frame))))
