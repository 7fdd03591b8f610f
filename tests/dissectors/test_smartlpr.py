"""SmartLPR dissector: golden vectors, fast path vs construct, framer properties, decode."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dissectors.api import DecodeError, Direction, Frame, Junk, Kind, Link, Severity
from dissectors.bulk import FrameRun
from dissectors.checksums import xor_bcc
from dissectors.smartlpr import DISSECTOR, orient, sniff
from dissectors.smartlpr.codec import decode, decode_reference, encode, parse_message
from dissectors.smartlpr.framing import SmartLprFramer
from dissectors.smartlpr.records import (
    Ack,
    Body,
    CurrentFrame,
    CurrentFrameResponse,
    GetPicture,
    GetPictureResponse,
    LicenseInfo,
    Nak,
    Ping,
    RawBody,
    Status,
    StatusResponse,
    Trigger,
)
from dissectors.smartlpr.tables import MAX_FRAME, QUERCUSVL_NAK, SizeReading
from tests.helpers import plate_read

LINK = Link(1, "udp", "10.0.0.5:8051", "10.0.0.1:8050")

LICENSE_INFO_HEX = (
    "0201000000bc0000000200020001000000e90300000700000000f1536590d003003132333441424300000000"
    "00000000000000000000000000000000000000000000000000000000005f61605e5a5c5d0000000000000000"
    "0000000000000000000000000000000000000000000000000001313233342041424300000000000000000000"
    "0000000000000000000000000000000000000000000045000000000000000000000000000000000000000000"
    "00000000000000000000e803"
)
LICENSE_INFO = plate_read("1234 ABC")

# (hex, unit_id, id, version, body, type name, kind, summary) -- all from spec B.8
GOLDEN: list[tuple[str, int, int, int, Body, str, Kind, str]] = [
    # B.8 "Status request C→U id=2"
    (
        "02 01000000 13000000 4400 0000 02000000 56 03",
        1, 2, 0, Status(), "Status", Kind.REQUEST, "Status",
    ),
    # B.8 "Status response U→C id=2 (active, io=0, camera ok)"
    (
        "02 01000000 16000000 8400 0000 02000000 010001 93 03",
        1, 2, 0, StatusResponse(1, 0, 1), "StatusResponse", Kind.RESPONSE,
        "StatusResponse active io=0 camera ok",
    ),
    # B.8 "Trigger C→U id=4 (TriggerId 7)"
    (
        "02 01000000 17000000 4300 0000 04000000 07000000 54 03",
        1, 4, 0, Trigger(7), "Trigger", Kind.REQUEST, "Trigger 7",
    ),
    # B.8 "ACK U→C id=4"
    (
        "02 01000000 13000000 c000 0000 04000000 d4 03",
        1, 4, 0, Ack(), "ACK", Kind.ACK, "ACK id=4",
    ),
    # B.8 "Trigger C→U id=6"
    (
        "02 01000000 17000000 4300 0000 06000000 08000000 59 03",
        1, 6, 0, Trigger(8), "Trigger", Kind.REQUEST, "Trigger 8",
    ),
    # B.8 "NAK code 4 U→C id=6"
    (
        "02 01000000 15000000 c100 0000 06000000 0400 d5 03",
        1, 6, 0, Nak(4, 0), "NAK", Kind.NAK, "NAK 4 can't complete sub=0 id=6",
    ),
    # B.8 "expected NAK 1 id=2" (answer to the corrupted Status)
    (
        "02 01000000 15000000 c100 0000 02000000 0100 d4 03",
        1, 2, 0, Nak(1, 0), "NAK", Kind.NAK, "NAK 1 bad format sub=0 id=2",
    ),
    # B.8 "ACK of LicenseInfo C→U id=1"
    (
        "02 01000000 13000000 c000 0000 01000000 d1 03",
        1, 1, 0, Ack(), "ACK", Kind.ACK, "ACK id=1",
    ),
    # B.8 LicenseInfo v2, unit→central, id 1 (188-byte frame, Size 0xBC, BCC 0xE8)
    (
        LICENSE_INFO_HEX,
        1, 1, 2, LICENSE_INFO, "LicenseInfo", Kind.EVENT,
        "LicenseInfo car 1001 plate '1234 ABC' E q=90-97 trig 7",
    ),
]  # fmt: skip

# B.8 "Corrupted BCC id=2 (correct BCC is 0x56)"
CORRUPTED = "02 01000000 13000000 4400 0000 02000000 a9 03"


def unhex(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def frame_of(data: bytes, direction: Direction = Direction.TO_DEVICE) -> Frame:
    return Frame(LINK, direction, 0, data, 1_700_000_000_000_000_000)


def run_framer(pieces: list[bytes], *, flush: bool = True) -> list[Frame | Junk]:
    framer = SmartLprFramer(LINK, Direction.FROM_DEVICE)
    items: list[Frame | Junk] = []
    for index, piece in enumerate(pieces):
        items.extend(framer.feed(piece, index))
    if flush:
        items.extend(framer.flush())
    return items


def frames_only(items: list[Frame | Junk]) -> list[bytes]:
    return [item.data for item in items if isinstance(item, Frame)]


# ---------------------------------------------------------------- golden vectors


@pytest.mark.parametrize("vector", GOLDEN, ids=[f"{g[5]}-id{g[2]}" for g in GOLDEN])
def test_golden_vector_decodes_and_encodes(
    vector: tuple[str, int, int, int, Body, str, Kind, str],
) -> None:
    hex_text, unit_id, conv_id, version, body, name, kind, summary = vector
    data = unhex(hex_text)
    dissection = decode(frame_of(data))
    message = dissection.message
    assert message.body == body
    assert (message.unit_id, message.id, message.version) == (unit_id, conv_id, version)
    assert message.size == len(data)
    assert message.size_reading is SizeReading.WHOLE
    assert message.bcc_ok
    assert dissection.type == name
    assert dissection.kind is kind
    assert dissection.summary == summary
    assert encode(body, unit_id, conv_id, version) == data
    assert encode(body, unit_id, conv_id) == data  # the record's default version


@pytest.mark.parametrize("vector", GOLDEN, ids=[f"{g[5]}-id{g[2]}" for g in GOLDEN])
def test_struct_fast_path_agrees_with_construct(
    vector: tuple[str, int, int, int, Body, str, Kind, str],
) -> None:
    data = unhex(vector[0])
    assert parse_message(data) == decode_reference(data)


def test_corrupted_bcc_reports_received_and_computed() -> None:
    # spec B.8: corrupted BCC 0xa9, correct 0x56
    data = unhex(CORRUPTED)
    dissection = decode(frame_of(data))
    assert dissection.message.body == Status()
    assert not dissection.message.bcc_ok
    (problem,) = dissection.problems
    assert problem.code == "smartlpr.bad_checksum"
    assert problem.severity is Severity.ERROR
    assert "0xa9" in problem.text and "0x56" in problem.text
    assert encode(Status(), 1, 2, bcc=0xA9) == data
    assert parse_message(data) == decode_reference(data)
    bcc_field = next(f for f in dissection.fields if f.name == "bcc")
    assert bcc_field.value == 0xA9 and "computed 0x56" in bcc_field.text


def test_license_info_fields_have_names_values_and_spans() -> None:
    data = unhex(LICENSE_INFO_HEX)
    fields = {f.name: f for f in decode(frame_of(data)).fields}
    assert fields["plate"].value == "1234ABC"
    assert fields["plate"].span == (33, 73)
    assert fields["printable"].value == "1234 ABC"
    assert fields["country"].value == "E"
    assert fields["grammar_ok"].value is True
    assert fields["car_id"].value == 1001 and fields["car_id"].span == (17, 21)
    assert fields["trigger_id"].value == 7
    assert fields["timestamp"].value == 1_700_000_000
    assert "2023-11-14 22:13:20.250000" in fields["timestamp"].text
    assert fields["qualities"].value == "95 97 96 94 90 92 93"
    assert [c.value for c in fields["qualities"].children] == [95, 97, 96, 94, 90, 92, 93]
    assert fields["bcc"].span == (186, 187)
    assert fields["type"].value == 2 and "LicenseInfo" in fields["type"].text
    assert fields["size"].text == "188 (whole frame)"
    for field in fields.values():
        start, end = field.span
        assert 0 <= start <= end <= len(data)


@pytest.mark.parametrize("hex_text", [g[0] for g in GOLDEN])
def test_every_field_span_lies_inside_the_frame(hex_text: str) -> None:
    data = unhex(hex_text)
    names = [f.name for f in decode(frame_of(data)).fields]
    assert names[:6] == ["stx", "unit_id", "size", "type", "version", "id"]
    assert names[-2:] == ["bcc", "etx"]
    for field in decode(frame_of(data)).fields:
        assert 0 <= field.span[0] <= field.span[1] <= len(data)


# ---------------------------------------------------------------- other messages


def test_get_picture_response_carries_roi_and_jpeg() -> None:
    jpeg = b"\xff\xd8" + b"\x11" * 20 + b"\xff\xd9"
    body = GetPictureResponse(10, 20, 30, 40, len(jpeg), jpeg)
    data = encode(body, 3, 8)
    dissection = decode(frame_of(data, Direction.FROM_DEVICE))
    assert dissection.message.body == body
    assert dissection.summary == "GetPictureResponse JPEG 24 B roi t10 l20 b30 r40"
    assert dissection.problems == ()
    fields = {f.name: f for f in dissection.fields}
    assert fields["image"].span == (29, 29 + len(jpeg))
    assert fields["roi_right"].value == 40
    assert parse_message(data) == decode_reference(data)


def test_image_size_zero_means_busy_not_error() -> None:
    data = encode(GetPictureResponse(0, 0, 0, 0, 0, b""), 1, 2)
    dissection = decode(frame_of(data))
    assert "no image (busy)" in dissection.summary
    assert [p.code for p in dissection.problems] == ["smartlpr.image_unavailable"]
    assert dissection.problems[0].severity is Severity.NOTE


def test_truncated_and_oversized_images_are_flagged() -> None:
    truncated = decode(frame_of(encode(CurrentFrameResponse(100, b"\xff\xd8abc"), 1, 2)))
    assert "smartlpr.bad_length" in [p.code for p in truncated.problems]
    huge = decode(frame_of(encode(CurrentFrameResponse(70_000, b"\xff\xd8"), 1, 2)))
    assert "smartlpr.image_too_large" in [p.code for p in huge.problems]
    not_jpeg = decode(frame_of(encode(CurrentFrameResponse(3, b"abc"), 1, 2)))
    assert "smartlpr.not_jpeg" in [p.code for p in not_jpeg.problems]


@pytest.mark.parametrize(
    ("body", "summary"),
    [
        (GetPicture(1001), "GetPicture car 1001"),
        (CurrentFrame(2000), "CurrentFrame exposure 2000 µs"),
        (Ping(8050), "Ping port 8050"),
        (CurrentFrameResponse(0, b""), "CurrentFrameResponse no image (failed)"),
        (StatusResponse(0, 0, 0), "StatusResponse inactive io=0 camera FAULT"),
        (Trigger(-1), "Trigger -1"),
    ],
)
def test_summaries(body: Body, summary: str) -> None:
    assert decode(frame_of(encode(body, 1, 2))).summary == summary


def test_unit_health_and_ping_port_problems() -> None:
    unhealthy = decode(frame_of(encode(StatusResponse(1, 0, 0), 1, 2)))
    assert [p.code for p in unhealthy.problems] == ["smartlpr.unit_health"]
    assert "camera status incorrect" in unhealthy.problems[0].text
    assert decode(frame_of(encode(StatusResponse(1, 0, 1), 1, 2))).problems == ()
    bad_port = decode(frame_of(encode(Ping(70_000), 1, 2)))
    assert [p.code for p in bad_port.problems] == ["smartlpr.bad_port"]


def test_nak_reason_comes_from_the_product_table() -> None:
    data = encode(Nak(10, 0), 1, 2)
    smartlpr = decode(frame_of(data))
    assert "bad authorization" in smartlpr.problems[0].text
    assert smartlpr.problems[0].code == "smartlpr.nak"
    quercus = decode(frame_of(data), QUERCUSVL_NAK)
    assert "not in the product's table" in quercus.problems[0].text
    reason = next(f for f in decode(frame_of(encode(Nak(8, 0)))).fields if f.name == "reason")
    assert reason.value == "code not in the product's table"


def test_unknown_type_is_raw_with_its_class() -> None:
    for message_type, cls, kind in [
        (0, "event", Kind.EVENT),
        (65, "request", Kind.REQUEST),
        (133, "response", Kind.RESPONSE),
        (200, "ack/nak", Kind.OTHER),
    ]:
        dissection = decode(frame_of(encode(RawBody(message_type, b"\x01\x02"), 1, 3)))
        assert dissection.type == f"Unknown{message_type}"
        assert dissection.kind is kind
        assert f"({cls})" in dissection.summary
        assert [p.code for p in dissection.problems] == ["smartlpr.unknown_type"]
        assert dissection.message.body == RawBody(message_type, b"\x01\x02")


def test_license_info_other_versions_are_shown_raw() -> None:
    data = encode(RawBody(2, b"\x00" * 150), 1, 1, version=1)
    dissection = decode(frame_of(data))
    assert dissection.type == "LicenseInfo"
    assert dissection.summary == "LicenseInfo v1 (layout unknown) 150 B"
    assert [p.code for p in dissection.problems] == ["smartlpr.unknown_version"]


def test_known_type_with_wrong_length_is_bad_length() -> None:
    data = encode(RawBody(67, b"\x01\x02"), 1, 2)  # Trigger needs 4 bytes
    dissection = decode(frame_of(data))
    assert dissection.type == "Trigger"
    assert [p.code for p in dissection.problems] == ["smartlpr.bad_length"]
    assert isinstance(dissection.message.body, RawBody)


def test_hardware_trigger_and_bad_timestamp_in_license_info() -> None:
    body = LicenseInfo(5, -1, 0, 0, "AB", (50, 60), False, "AB", "")
    dissection = decode(frame_of(encode(body, 1, 1)))
    assert dissection.summary == "LicenseInfo car 5 plate 'AB' q=50-60 trig hw"
    assert [p.code for p in dissection.problems] == ["smartlpr.timestamp"]


def test_invalid_utf8_plate_does_not_raise() -> None:
    raw = bytearray(encode(LICENSE_INFO, 1, 1))
    raw[33] = 0xFF  # first DetectedChars byte
    raw[-2] ^= 0xFF ^ ord("1")
    dissection = decode(frame_of(bytes(raw)))
    assert dissection.message.bcc_ok
    assert "\ufffd" in dissection.message.body.detected_chars


# ---------------------------------------------------------------- size readings


@pytest.mark.parametrize("reading", list(SizeReading))
def test_each_size_reading_is_framed_and_reported(reading: SizeReading) -> None:
    data = encode(Trigger(7), 1, 4, size_reading=reading)
    following = encode(Ack(), 1, 4, size_reading=reading)
    items = run_framer([data + following])
    assert frames_only(items) == [data, following]
    dissection = decode(frame_of(data))
    assert dissection.message.size_reading is reading
    codes = [p.code for p in dissection.problems]
    assert codes == ([] if reading is SizeReading.WHOLE else ["smartlpr.size_reading"])


def test_size_fitting_no_reading_is_bad_size() -> None:
    data = bytearray(unhex(GOLDEN[2][0]))
    data[5] = 40  # Size 40 for a 23-byte frame
    data[-2] = xor_bcc(bytes(data[:-2]))
    dissection = decode(frame_of(bytes(data)))
    assert [p.code for p in dissection.problems] == ["smartlpr.bad_size"]
    assert "Size 40" in dissection.problems[0].text


# ---------------------------------------------------------------- framer


def test_framer_resyncs_after_garbage() -> None:
    frame = unhex(GOLDEN[0][0])
    garbage = b"\x00\x02\x99hello\x02\x02"
    items = run_framer([garbage + frame])
    assert [type(i).__name__ for i in items] == ["Junk", "Frame"]
    assert items[0].data == garbage
    assert items[1].start == len(garbage)


def test_framer_rejects_huge_size_claims_without_waiting() -> None:
    header = b"\x02\x01\x00\x00\x00" + (0xFFFFFF00).to_bytes(4, "little") + b"\x44\x00\x00\x00"
    frame = unhex(GOLDEN[0][0])
    items = run_framer([header + b"\x02\x00\x00\x00" + frame], flush=False)
    assert frames_only(items) == [frame]


def test_framer_waits_for_incomplete_frames() -> None:
    data = unhex(LICENSE_INFO_HEX)
    framer = SmartLprFramer(LINK, Direction.FROM_DEVICE)
    assert list(framer.feed(data[:100], 1)) == []
    (frame,) = list(framer.feed(data[100:], 2))
    assert isinstance(frame, Frame) and frame.data == data
    assert frame.time_ns == 1  # the time of the chunk carrying the first byte


def test_bad_checksum_frame_is_still_a_frame() -> None:
    corrupted = unhex(CORRUPTED)
    nak = unhex(GOLDEN[6][0])
    assert frames_only(run_framer([corrupted + nak])) == [corrupted, nak]
    assert frames_only(run_framer([corrupted])) == [corrupted]  # on flush


def test_gap_turns_the_partial_frame_into_junk_and_resyncs() -> None:
    data = unhex(LICENSE_INFO_HEX)
    ack = unhex(GOLDEN[3][0])
    framer = SmartLprFramer(LINK, Direction.FROM_DEVICE)
    assert list(framer.feed(data[:50], 1)) == []
    (junk,) = list(framer.gap(100, 2))
    assert isinstance(junk, Junk) and junk.data == data[:50] and junk.start == 0
    assert "gap" in junk.reason
    items = list(framer.feed(data[150:] + ack, 3))
    assert frames_only(items) == [ack]
    assert items[-1].start == 150 + len(data) - 150


def test_udp_datagram_with_trailing_bytes_gives_frame_and_junk() -> None:
    frame = unhex(GOLDEN[1][0])
    items = run_framer([frame + b"\x00\x00"])
    assert frames_only(items) == [frame]
    assert isinstance(items[-1], Junk) and items[-1].data == b"\x00\x00"


# ---------------------------------------------------------------- properties

texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=10
).filter(lambda text: len(text.encode("utf-8")) <= 32)  # the narrowest text field (country)
qualities = (
    st.lists(st.integers(0, 100), max_size=40).map(tuple).filter(lambda q: not q or q[-1] != 0)
)
u32 = st.integers(0, 2**32 - 1)
u16 = st.integers(0, 2**16 - 1)
i32 = st.integers(-(2**31), 2**31 - 1)
u8 = st.integers(0, 255)
images = st.binary(max_size=300)


@st.composite
def image_responses(draw: st.DrawFn) -> Body:
    image = draw(images)
    if draw(st.booleans()):
        return GetPictureResponse(draw(u16), draw(u16), draw(u16), draw(u16), len(image), image)
    return CurrentFrameResponse(len(image), image)


bodies: st.SearchStrategy[Body] = st.one_of(
    st.builds(
        LicenseInfo,
        car_id=u32,
        trigger_id=i32,
        timestamp=u32,
        timestamp_usec=u32,
        detected_chars=texts,
        qualities=qualities,
        grammar_ok=st.booleans(),
        printable=texts,
        country=texts,
    ),
    st.builds(Trigger, i32),
    st.just(Status()),
    st.builds(StatusResponse, u8, u8, u8),
    st.builds(GetPicture, u32),
    st.builds(CurrentFrame, u32),
    st.builds(Ping, u32),
    st.just(Ack()),
    st.builds(Nak, u8, u8),
    image_responses(),
    st.builds(RawBody, st.sampled_from([0, 1, 65, 69, 97, 133, 250]), st.binary(max_size=50)),
)


@settings(max_examples=300, deadline=None)
@given(body=bodies, unit_id=u32, conv_id=u32, reading=st.sampled_from(list(SizeReading)))
def test_round_trip_decode_of_encode(
    body: Body, unit_id: int, conv_id: int, reading: SizeReading
) -> None:
    data = encode(body, unit_id, conv_id, size_reading=reading)
    message = decode(frame_of(data)).message
    assert message.body == body
    assert (message.unit_id, message.id, message.size_reading) == (unit_id, conv_id, reading)
    assert message.bcc_ok
    assert frames_only(run_framer([data])) == [data]
    if reading is SizeReading.WHOLE:
        assert decode_reference(data) == message


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    frames = [
        encode(body, draw(u8), draw(u32)) for body in draw(st.lists(bodies, min_size=1, max_size=6))
    ]
    return b"".join(frames), frames


@settings(max_examples=200, deadline=None)
@given(stream=streams(), cuts=st.lists(st.integers(0, 2000), max_size=8))
def test_chunking_invariance(stream: tuple[bytes, list[bytes]], cuts: list[int]) -> None:
    data, frames = stream
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    assert frames_only(run_framer(pieces)) == frames
    assert frames_only(run_framer([data])) == frames


def bulk_framer_items(pieces: list[bytes], *, whole_first: bool) -> tuple[list[object], int]:
    """Items of a framer in bulk mode fed ``pieces`` (``cut_frames`` of whole chunks tried
    first when ``whole_first``, its cut shown as the run ``feed`` would yield), the flush
    included, and how many pieces ``cut_frames`` took."""
    framer = SmartLprFramer(LINK, Direction.FROM_DEVICE)
    framer.header_runs = True
    items: list[object] = []
    taken = 0
    for index, piece in enumerate(pieces):
        cut = framer.cut_frames(piece, index, whole=True) if whole_first else None
        if cut is None:
            items.extend(framer.feed(piece, index))
        else:
            start, headers, end = cut
            assert end == len(piece)
            items.append(FrameRun(framer.side, start, piece, headers, (start,), (index,)))
            taken += 1
    items.extend(framer.flush())
    # a run's LinkSide is its framer's own: compare what it says
    return [
        (i.start, bytes(i.data), list(i.headers), i.arrival_offsets, list(i.arrival_times))
        if isinstance(i, FrameRun)
        else i
        for i in items
    ], taken


@settings(max_examples=200, deadline=None)
@given(
    stream=streams(),
    cuts=st.lists(st.integers(0, 2000), max_size=8),
    noise=st.binary(max_size=12),
    noise_at=st.integers(0, 2000),
)
def test_cut_frames_is_feed_when_a_chunk_is_whole_frames(
    stream: tuple[bytes, list[bytes]], cuts: list[int], noise: bytes, noise_at: int
) -> None:
    data, frames = stream
    cuts = [*cuts, *itertools.accumulate(len(frame) for frame in frames)]  # whole chunks too
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    pieces.insert(noise_at % (len(pieces) + 1), noise)
    reference, _ = bulk_framer_items(pieces, whole_first=False)
    items, _ = bulk_framer_items(pieces, whole_first=True)
    assert items == reference


def test_cut_frames_takes_a_chunk_of_whole_frames_only() -> None:
    frames = [encode(Ping(8051), 1, 3), encode(StatusResponse(1, 0, 0), 1, 5)]
    data = b"".join(frames)
    # the first frame teaches the framer the link's Size reading; then a whole chunk
    items, taken = bulk_framer_items(
        [frames[0], data, data[:-1], data[-1:], data], whole_first=True
    )
    assert taken == 2  # the second chunk and the last one
    reference, _ = bulk_framer_items(
        [frames[0], data, data[:-1], data[-1:], data], whole_first=False
    )
    assert items == reference
    framer = SmartLprFramer(LINK, Direction.FROM_DEVICE)
    assert framer.cut_frames(data, 0, whole=True) is None  # not in bulk mode


def check_accounting(data: bytes, pieces: list[bytes]) -> list[Frame | Junk]:
    items = run_framer(pieces)
    assert b"".join(i.data for i in items) == data
    offset = 0
    for item in items:
        assert item.start == offset
        assert item.data  # no empty items
        offset += len(item.data)
    return items


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400), cut=st.integers(0, 400))
@example(data=b"\x02" * 40, cut=3)
@example(data=b"\x02\x01\x00\x00\x00\x13\x00\x00\x00\x44\x00\x00\x00\x02\x00\x00\x00", cut=17)
@example(data=unhex(CORRUPTED) + b"\x02", cut=5)
def test_accounting_for_arbitrary_bytes(data: bytes, cut: int) -> None:
    cut = min(cut, len(data))
    check_accounting(data, [data[:cut], data[cut:]])


@settings(max_examples=200, deadline=None)
@given(
    noise=st.lists(st.binary(max_size=30), min_size=1, max_size=4),
    bodies_=st.lists(bodies, min_size=1, max_size=4),
)
@example(noise=[b"\x02\x01"], bodies_=[Status()])
def test_accounting_with_frames_in_noise(noise: list[bytes], bodies_: list[Body]) -> None:
    frames = [encode(b, 1, 2) for b in bodies_]
    parts = [x for pair in zip(noise, frames, strict=False) for x in pair] + frames[len(noise) :]
    data = b"".join(parts)
    check_accounting(data, [data])


@settings(max_examples=200, deadline=None)
@given(
    noise=st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\x02", b"")), max_size=4),
    bodies_=st.lists(bodies, min_size=1, max_size=4),
)
@example(noise=[b"\x03\x03\x03"], bodies_=[Ack()])
def test_resync_finds_every_frame_in_noise_without_stx(
    noise: list[bytes], bodies_: list[Body]
) -> None:
    frames = [encode(b, 1, 2) for b in bodies_]
    parts = [x for pair in zip(noise, frames, strict=False) for x in pair] + frames[len(noise) :]
    data = b"".join(parts)
    assert frames_only(check_accounting(data, [data])) == frames


def test_false_stx_pointing_into_the_next_frame_does_not_lose_it() -> None:
    # adversarial: a stray 0x02 followed by a header whose Size reading ends exactly at the
    # real frame's Etx -- the Bcc of the combined span fails, so the real frame survives
    real = unhex(GOLDEN[0][0])
    stray = b"\x02\x01\x00\x00\x00" + (17 + len(real)).to_bytes(4, "little") + b"\x44\x00\x00\x00"
    items = run_framer([stray + real])
    assert real in frames_only(items)


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=300))
@example(data=b"\x02" + b"\x00" * 18)
@example(data=unhex(GOLDEN[8][0])[:-1] + b"\x00")
@example(data=b"\x02" + b"\x00" * 8 + b"\x87\x00" + b"\x00" * 6 + b"\x00\x00\x03")
@example(data=b"\x02" + b"\x00" * 8 + b"\x02\x00\x02\x00" + b"\x00" * 4 + b"\x00\x03")
def test_decode_totality(data: bytes) -> None:
    try:
        dissection = decode(frame_of(data))
    except DecodeError:
        return
    assert isinstance(dissection.summary, str)
    for field in dissection.fields:
        assert 0 <= field.span[0] <= field.span[1] <= len(data)


# ---------------------------------------------------------------- sniff / orient


def test_sniff_and_orient() -> None:
    assert sniff(unhex(GOLDEN[0][0])) == pytest.approx(0.95)
    assert sniff(unhex(CORRUPTED)) == pytest.approx(0.8)
    assert sniff(unhex(LICENSE_INFO_HEX)[:40]) == pytest.approx(0.6)
    assert sniff(b"GET / HTTP/1.1\r\n\r\n") == 0.0
    assert sniff(b"\x02" * 30) == 0.0
    assert orient(unhex(GOLDEN[0][0])) is Direction.TO_DEVICE
    assert orient(unhex(GOLDEN[1][0])) is Direction.FROM_DEVICE
    assert orient(unhex(LICENSE_INFO_HEX)) is Direction.FROM_DEVICE
    assert orient(unhex(GOLDEN[3][0])) is None


def test_sniff_and_orient_a_capture_that_starts_mid_frame() -> None:
    tail = unhex(LICENSE_INFO_HEX)[100:]  # the end of a frame whose start was not captured
    stream = tail + unhex(GOLDEN[1][0]) + unhex(GOLDEN[0][0])
    assert sniff(stream) == pytest.approx(0.85)
    assert orient(stream) is Direction.FROM_DEVICE
    assert sniff(b"\x00" * 10 + unhex(CORRUPTED)) <= 0.4  # unchecked frames do not count
    assert sniff(bytes(range(256)) * 2) < 0.5


def test_dissector_declaration() -> None:
    assert DISSECTOR.id == "smartlpr"
    assert len(DISSECTOR.description) <= 55 and DISSECTOR.description.endswith(".")
    assert "Scope" in DISSECTOR.doc and "Spec" in DISSECTOR.doc
    assert DISSECTOR.new_matcher is not None
    ports = {b.port for b in DISSECTOR.bindings}
    assert ports == {8050, 8051}


def test_max_frame_bound_covers_the_largest_picture() -> None:
    body = GetPictureResponse(0, 0, 0, 0, 65000, b"\xff\xd8" + bytes(64996) + b"\xff\xd9")
    data = encode(body, 1, 2)
    assert len(data) <= MAX_FRAME
    assert frames_only(run_framer([data[:1000], data[1000:]])) == [data]


# ---------------------------------------------------------------- framer state


def test_corrupted_frame_after_a_good_one_is_delivered_at_once() -> None:
    # once a good frame confirmed the whole-frame reading, a bad-Bcc frame needs no lookahead
    good = unhex(GOLDEN[0][0])
    corrupted = unhex(CORRUPTED)
    framer = SmartLprFramer(LINK, Direction.TO_DEVICE)
    assert [i.data for i in framer.feed(good, 1)] == [good]
    assert [i.data for i in framer.feed(corrupted, 2)] == [corrupted]


def test_first_frame_with_a_bad_bcc_waits_for_the_other_readings() -> None:
    corrupted = unhex(CORRUPTED)
    framer = SmartLprFramer(LINK, Direction.TO_DEVICE)
    assert list(framer.feed(corrupted, 1)) == []
    assert [i.data for i in framer.flush()] == [corrupted]


def test_the_link_learns_a_data_only_size_reading() -> None:
    # 40 data bytes with 0x03 at data[22]: under the whole-frame reading (Size 40) that byte
    # would be the Etx, so a corrupted frame is misread unless the link's reading is known
    payload = bytes(22) + b"\x03" + bytes(17)
    good = [encode(RawBody(65, payload), 1, i, size_reading=SizeReading.DATA_ONLY) for i in (2, 4)]
    bad = bytearray(encode(RawBody(65, payload), 1, 6, size_reading=SizeReading.DATA_ONLY))
    bad[-2] ^= 0xFF
    framer = SmartLprFramer(LINK, Direction.TO_DEVICE)
    got = [i.data for i in framer.feed(b"".join(good) + bytes(bad), 1)]
    assert got == [*good, bytes(bad)]
    alone = SmartLprFramer(LINK, Direction.TO_DEVICE)
    first = [*alone.feed(bytes(bad), 1), *alone.flush()]
    assert first[0].data == bytes(bad[:40])  # the misreading the learned reading avoids


def test_garbage_arriving_in_pieces_is_one_junk_item() -> None:
    frame = unhex(GOLDEN[0][0])
    framer = SmartLprFramer(LINK, Direction.TO_DEVICE)
    items = [*framer.feed(b"\x00\x02", 1), *framer.feed(b"\xff\x13\x37", 2)]
    items += framer.feed(b"\x02\x00" + frame, 3)
    assert [type(i).__name__ for i in items] == ["Junk", "Frame"]
    assert items[0].data == b"\x00\x02\xff\x13\x37\x02\x00" and items[0].time_ns == 1


def test_endless_garbage_is_released_in_bounded_pieces() -> None:
    framer = SmartLprFramer(LINK, Direction.TO_DEVICE)
    items = list(framer.feed(b"\x55" * 10_000, 1))
    assert items and sum(len(i.data) for i in items) == 10_000


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(
        st.one_of(st.binary(max_size=25), bodies.map(lambda b: encode(b, 1, 2))), max_size=6
    ),
    cuts=st.lists(st.integers(0, 3000), max_size=6),
)
@example(parts=[unhex(CORRUPTED), unhex(GOLDEN[0][0])], cuts=[19, 20])
@example(parts=[b"\x02\x01\x00\x00\x00\x30\x00\x00\x00\x44\x00", unhex(GOLDEN[2][0])], cuts=[11])
def test_frames_never_depend_on_how_arbitrary_input_is_cut(
    parts: list[bytes], cuts: list[int]
) -> None:
    data = b"".join(parts)
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    whole = check_accounting(data, [data])
    cut = check_accounting(data, pieces)
    assert [(f.start, f.data) for f in whole if isinstance(f, Frame)] == [
        (f.start, f.data) for f in cut if isinstance(f, Frame)
    ]
