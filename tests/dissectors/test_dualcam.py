"""DualCam framer and decode: spec vectors (specs/dualcam.md A.13), framing rules, properties."""

from __future__ import annotations

import contextlib
import hashlib
import struct

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dissectors.api import DecodeError, Direction, Frame, Junk, Link, Severity
from dissectors.checksums import crc16_kermit
from dissectors.dualcam import DISSECTOR, encode, media, orient, sniff, spec
from dissectors.dualcam.decode import decode
from dissectors.dualcam.records import (
    DualCamData,
    DualCamInit,
    DualCamMetadata,
    DualCamResume,
    DualCamStart,
    DualCamStatus,
    DualCamSync,
)
from dissectors.dualcam.tables import luhn_ok

LINK = Link(1, "tcp", "10.0.0.2:40000", "10.0.0.1:5232")
DEV = Direction.FROM_DEVICE
SRV = Direction.TO_DEVICE


def frame(hex_or_bytes: str | bytes, direction: Direction = DEV, time_ns: int = 0) -> Frame:
    data = bytes.fromhex(hex_or_bytes) if isinstance(hex_or_bytes, str) else hex_or_bytes
    return Frame(LINK, direction, 0, data, time_ns)


def cut(direction: Direction, *chunks: bytes, final: bool = True) -> list[Frame | Junk]:
    framer = DISSECTOR.new_framer(LINK, direction)
    items: list[Frame | Junk] = []
    for index, chunk in enumerate(chunks):
        items.extend(framer.feed(chunk, index))
    if final:
        items.extend(framer.flush())
    return items


def shape(items: list[Frame | Junk]) -> list[tuple[str, int, bytes]]:
    return [("junk" if isinstance(i, Junk) else "frame", i.start, i.data) for i in items]


def shape_with_reasons(items: list[Frame | Junk]) -> list[tuple[str, int, bytes]]:
    return [(i.reason if isinstance(i, Junk) else "frame", i.start, i.data) for i in items]


# --- A.13 real frames -----------------------------------------------------------------------


def test_init_vector_decodes_protocol_imei_and_settings() -> None:
    # spec A.13 INIT: p=5, IMEI 350612071913857, bits 30/26/10
    dissection = decode(frame("0000000500013ee13c00198144000400"))
    assert dissection.type == "INIT"
    message = dissection.message
    assert isinstance(message, DualCamInit)
    assert (message.protocol_id, message.imei, message.settings) == (5, 350612071913857, 0x44000400)
    assert message.imei_ok
    assert message.pending == ["photo front"]
    fields = {f.name: f for f in dissection.fields}
    assert fields["imei"].span == (4, 12)
    assert fields["settings"].value == 0x44000400
    bits = {c.name: c.value for c in fields["settings"].children}
    assert bits["bit30"] and bits["photo_front"] and bits["bit10"] and not bits["video_rear"]
    assert not dissection.problems


@pytest.mark.parametrize(
    ("raw", "imei"),
    [
        # spec A.4 IMEI check
        ("00013ee13c001981", 350612071913857),
        ("0003118c43db077f", 863719061653375),
        ("0001403a4abaa314", 352094082736916),
    ],
)
def test_imei_is_binary_u64_and_luhn_valid(raw: str, imei: int) -> None:
    assert int.from_bytes(bytes.fromhex(raw), "big") == imei
    assert luhn_ok(imei)
    assert not luhn_ok(imei + 1)


def test_traccar_frame_decoder_vectors() -> None:
    # traccar DualcamFrameDecoderTest: an INIT (IMEI 352094082736916) and START count 17
    items = cut(DEV, bytes.fromhex("000000050001403a4abaa3144400040000010006000000110000"))
    assert [len(i.data) for i in items] == [16, 10]
    init, start = (decode(i) for i in items if isinstance(i, Frame))
    assert isinstance(init.message, DualCamInit)
    assert init.message.imei == 352094082736916
    assert start.summary == "START count=17"


def test_junk_reason_names_the_command() -> None:
    (junk, _) = cut(DEV, encode.resume(1) + encode.sync(1))
    assert isinstance(junk, Junk)
    assert junk.reason.startswith("command 0x0002 is not one the device sends")
    (junk, _) = cut(DEV, b"\x00\x04\xff\xff" + encode.sync(1))
    assert isinstance(junk, Junk)
    assert junk.reason.startswith("command 0x0004 with an impossible length")


def test_init_with_bad_luhn_is_flagged() -> None:
    dissection = decode(frame(encode.init(350612071913858, 0x40000400)))
    assert [p.code for p in dissection.problems] == ["dualcam.bad_imei"]


def test_start_vector_is_29_packets() -> None:
    # spec A.13 START
    dissection = decode(frame("000100060000001d0000"))
    assert dissection.type == "START"
    assert {f.name: f.value for f in dissection.fields}["count"] == 29
    assert not dissection.problems


def test_start_blank_not_zero_is_flagged() -> None:
    dissection = decode(frame("000100060000001d1234"))
    assert [p.code for p in dissection.problems] == ["dualcam.start_blank"]


def test_sync_vector() -> None:
    # spec A.13 SYNC
    dissection = decode(frame("0003000400000001"))
    assert (dissection.type, dissection.summary) == ("SYNC", "SYNC 1")


def test_metadata_vector_binary_v3() -> None:
    # spec A.13 METADATA (real frame, photo front 2024-10-30 11:35:05Z, UTC+5, Karachi)
    hex_ = "000b0020030400000192dd35362800000000012c"
    hex_ += "4038edb61bb05faf4050c84585d47922"
    dissection = decode(frame(hex_, time_ns=1_730_288_144_165_000_000))
    message = dissection.message
    assert isinstance(message, DualCamMetadata)
    assert message.timestamp_ms == 1730288105000
    assert message.kind_camera == ("photo", "front")
    assert message.timezone_min == 300
    assert message.latitude == pytest.approx(24.92856)
    assert message.longitude == pytest.approx(67.12924, abs=1e-5)
    fields = {f.name: f for f in dissection.fields}
    assert fields["timestamp"].value == "2024-10-30T11:35:05Z"
    assert fields["latitude"].span == (20, 28)
    assert not dissection.problems
    # the struct fast path agrees with the construct spec
    parsed = spec.METADATA_V3.parse(bytes.fromhex(hex_)[4:])
    assert (parsed.timestamp_ms, parsed.latitude, parsed.timezone_min) == (
        message.timestamp_ms,
        message.latitude,
        message.timezone_min,
    )


def test_metadata_far_future_timestamp_is_flagged() -> None:
    # real logs show year 2043 when the camera RTC was not set
    raw = encode.metadata(file_type=0x04, timestamp_ms=2_313_000_000_000)
    dissection = decode(frame(raw, time_ns=1_730_288_144_000_000_000))
    assert "dualcam.future_timestamp" in [p.code for p in dissection.problems]


def test_metadata_v4_and_json() -> None:
    raw = encode.metadata(
        file_type=0x20, timestamp_ms=1_730_000_000_000, version=4, trigger_timestamp_ms=1
    )
    assert len(raw) == 44
    message = decode(frame(raw)).message
    assert isinstance(message, DualCamMetadata)
    assert message.trigger_timestamp_ms == 1
    assert message.kind_camera == ("video", "rear")
    doc = b'{"version":1,"file":{"file_type":1,"file_timestamp":1700000000,"duration":5}}'
    message = decode(frame(encode.command(0x0B, doc))).message
    assert isinstance(message, DualCamMetadata)
    assert (message.timestamp_ms, message.duration_s) == (1_700_000_000_000, 5)


def test_metadata_adas_and_dsm_binary_layouts() -> None:
    # spec A.9 [I]: ADAS ts u32 s, type, trigger, lat/lon i32 1e-6, length; DSM adds events, name
    adas = struct.pack(">IBBiiB", 1_697_800_000, 1, 6, 54_687_157, 25_279_652, 0)
    dsm = struct.pack(">IBBiiH10s", 1_697_800_000, 1, 13, -33_868_820, 151_209_296, 0b11, b"JONAS")
    for payload, layout in ((adas, "adas"), (dsm, "dsm")):
        raw = encode.command(0x0B, payload)
        (item,) = cut(DEV, raw)
        assert isinstance(item, Frame)
        dissection = decode(item)
        message = dissection.message
        assert isinstance(message, DualCamMetadata)
        assert message.layout == layout
        assert message.timestamp_ms == 1_697_800_000_000
        assert message.kind_camera == ("photo", layout)
        parsed = (spec.METADATA_ADAS if layout == "adas" else spec.METADATA_DSM).parse(payload)
        assert message.latitude == parsed.latitude_e6 / 1e6
    fields = {f.name: f for f in decode(frame(encode.command(0x0B, dsm))).fields}
    assert fields["events"].text == "0x0003 (drowsiness, distraction)"
    assert fields["driver_name"].value == "JONAS"
    assert fields["latitude"].value == pytest.approx(-33.86882)


def test_metadata_13_plus_1_quirk_keeps_the_framerate_byte() -> None:
    # spec A.3: 0x000B with len 13 followed by one extra byte (framerate)
    short = encode.command(0x0B, struct.pack(">BBQBH", 2, 0x10, 1_700_000_000_000, 0, 3))
    stream = short + b"\x14" + encode.start(3)
    items = cut(DEV, stream)
    assert [len(i.data) for i in items] == [18, 10]
    assert all(isinstance(i, Frame) for i in items)
    dissection = decode(items[0])  # type: ignore[arg-type]
    assert isinstance(dissection.message, DualCamMetadata)
    assert dissection.message.fps == 20
    assert [p.code for p in dissection.problems] == ["dualcam.metadata_quirk"]


def test_path_response_vector() -> None:
    # spec A.13 PATH_RSP
    dissection = decode(
        frame("000d001e64736d2f706963747572652f3233313032302f3233313435322e6a706700")
    )
    assert dissection.type == "PATH_RESPONSE"
    assert {f.name: f.value for f in dissection.fields}["path"] == "dsm/picture/231020/231452.jpg"


def test_status_reason_text() -> None:
    dissection = decode(frame(encode.status(0x11)))
    assert dissection.type == "STATUS"
    fields = {f.name: f.value for f in dissection.fields}
    assert fields["status"] == 17
    assert "failed to read file" in str(fields["reason"])
    assert dissection.problems[0].severity is Severity.ERROR
    complete = decode(frame(encode.status(0), SRV))
    assert (complete.type, complete.problems) == ("COMPLETE", ())


def test_server_commands_decode() -> None:
    assert decode(frame("000800072570686f746f66", SRV)).summary == (
        "FILE_REQUEST %photof (photo, front)"
    )
    assert decode(frame("0002000400000001", SRV)).summary == "RESUME 1"
    assert decode(frame("00000000", SRV)).type == "CLOSE"
    assert decode(frame("000c00020000", SRV)).type == "PATH_REQUEST"
    meta = decode(frame("000a00072570686f746f66", SRV))
    assert meta.type == "METADATA_REQUEST"
    bare = decode(frame("0009", SRV))
    assert bare.type == "REPEAT_INIT"
    assert [p.code for p in bare.problems] == ["dualcam.bare_command"]
    assert {f.name: f.value for f in bare.fields}["bare_command"] is True


def test_enhanced_data_decodes_offset_and_crc() -> None:
    payload = struct.pack(">I", 2048) + b"abc" + struct.pack(">H", 0x1234)
    dissection = decode(frame(encode.command(0x0E, payload)))
    fields = {f.name: f.value for f in dissection.fields}
    assert (dissection.type, fields["offset"], fields["data"], fields["crc"]) == (
        "ENHANCED_DATA",
        2048,
        3,
        0x1234,
    )


def test_unknown_command_from_device_is_flagged() -> None:
    dissection = decode(frame("0002000400000001", DEV))
    assert dissection.type == "UNKNOWN"


# --- A.13 synthetic file and CRC chain ------------------------------------------------------

SYNTHETIC = bytes(i % 251 for i in range(2500))


def test_synthetic_file_crc_table() -> None:
    # spec A.13: 2500 bytes, byte[i] = i mod 251, split 1024/1024/452
    digest = hashlib.sha256(SYNTHETIC).hexdigest()
    assert digest.startswith("a75c5b14")
    assert digest.endswith("0f88")
    frames = [f for _, f in encode.data_frames(SYNTHETIC)]
    assert [f[:4].hex() for f in frames] == ["00040402", "00040402", "000401c6"]
    assert [f[-2:].hex() for f in frames] == ["ef1f", "3090", "2f7b"]
    assert frames[0][-8:].hex() == "0e0f10111213ef1f"
    assert frames[1][-8:].hex() == "2223242526273090"
    assert frames[2][-8:].hex() == "ebecedeeeff02f7b"
    for packet, crc in ((1, 0xEF1F), (2, 0x3090), (3, 0x2F7B)):
        assert crc16_kermit(SYNTHETIC[: min(packet * 1024, 2500)], 0) == crc
    unchained = [crc16_kermit(SYNTHETIC[o : o + 1024], 0) for o in (0, 1024, 2048)]
    assert unchained == [0xEF1F, 0xE199, 0x760C]


def test_synthetic_resume_restarts_chain() -> None:
    # spec A.13: after RESUME 2 / SYNC 2 the resent packets carry 0xE199 and 0xC1A0
    resent = [f[-2:].hex() for _, f in encode.data_frames(SYNTHETIC, first_packet=2)]
    assert resent == ["e199", "c1a0"]


def test_happy_path_session_vectors_frame_both_ways() -> None:
    # spec A.13 happy-path session (IMEI 356307042441013)
    device = bytes.fromhex("000000050001440f32b2173544000400000100060000000300000003000400000001")
    device += b"".join(f for _, f in encode.data_frames(SYNTHETIC))
    device += bytes.fromhex("000000050001440f32b2173540000400")
    server_chunks = [
        bytes.fromhex(h) for h in ("000800072570686f746f66", "0002000400000001", "0009", "00000000")
    ]
    device_items = cut(DEV, device)
    assert [decode(i).type for i in device_items if isinstance(i, Frame)] == [
        "INIT", "START", "SYNC", "DATA", "DATA", "DATA", "INIT",
    ]  # fmt: skip
    assert not any(isinstance(i, Junk) for i in device_items)
    server_items = cut(SRV, *server_chunks)
    assert [decode(i).type for i in server_items if isinstance(i, Frame)] == [
        "FILE_REQUEST", "RESUME", "REPEAT_INIT", "CLOSE",
    ]  # fmt: skip
    assert [len(i.data) for i in server_items] == [11, 8, 2, 4]
    assert encode.init(356307042441013, 0x44000400).hex() == "000000050001440f32b2173544000400"
    assert encode.file_request("%photof").hex() == "000800072570686f746f66"


# --- framing rules --------------------------------------------------------------------------


def test_bare_server_commands_at_chunk_end() -> None:
    items = cut(SRV, b"\x00\x09", b"\x00\x05", b"\x00\x00", final=False)
    assert [(len(i.data), decode(i).type) for i in items if isinstance(i, Frame)] == [
        (2, "REPEAT_INIT"),
        (2, "COMPLETE"),
        (2, "CLOSE"),
    ]


def test_bare_repeat_init_followed_by_close_in_one_chunk() -> None:
    # A.3: 0x0009 is 4 bytes only if the next two bytes are 00 00
    items = cut(SRV, bytes.fromhex("0009000800072570686f746f66"))
    assert [len(i.data) for i in items] == [2, 11]
    items = cut(SRV, bytes.fromhex("000900000000"))
    assert [len(i.data) for i in items] == [4, 2]


def test_absurd_length_is_not_a_frame() -> None:
    good = encode.sync(1)
    items = cut(DEV, b"\x00\x04\xff\xff" + b"\xaa" * 20 + good)
    assert shape(items) == [("junk", 0, b"\x00\x04\xff\xff" + b"\xaa" * 20), ("frame", 24, good)]


def test_resync_after_garbage_on_next_data_header() -> None:
    frames = [f for _, f in encode.data_frames(SYNTHETIC)]
    stream = b"Cookie: mstshash=scan\r\n" + frames[0] + frames[1]
    items = cut(DEV, stream)
    assert isinstance(items[0], Junk)
    assert items[0].data == b"Cookie: mstshash=scan\r\n"
    assert [i.data for i in items[1:]] == frames[:2]


def test_short_data_after_garbage_needs_a_confirming_header() -> None:
    frames = [f for _, f in encode.data_frames(SYNTHETIC)]
    stream = b"\xff\xff" + frames[2] + encode.sync(1)
    items = cut(DEV, stream)
    assert shape(items) == [
        ("junk", 0, b"\xff\xff"),
        ("frame", 2, frames[2]),
        ("frame", 2 + len(frames[2]), encode.sync(1)),
    ]


def test_gap_flushes_partial_frame_and_resyncs() -> None:
    frames = [f for _, f in encode.data_frames(SYNTHETIC)]
    framer = DISSECTOR.new_framer(LINK, DEV)
    items = list(framer.feed(frames[0] + frames[1][:100], 1))
    items += list(framer.gap(500, 2))
    items += list(framer.feed(frames[1][600:] + frames[2], 3))
    items += list(framer.flush())
    assert shape(items) == [
        ("frame", 0, frames[0]),
        ("junk", 1030, frames[1][:100]),
        ("junk", 1630, frames[1][600:]),
        ("frame", 2060, frames[2]),
    ]


def test_false_init_does_not_swallow_real_frames() -> None:
    # found by a 20,000-example search: 00 00 00 01 + SYNC read as an INIT with protocol 1
    stream = b"\x00\x00\x00\x01" + encode.sync(1) + encode.start(3) + encode.start(3)
    assert shape(cut(DEV, stream)) == [
        ("junk", 0, b"\x00\x00\x00\x01"),
        ("frame", 4, encode.sync(1)),
        ("frame", 12, encode.start(3)),
        ("frame", 22, encode.start(3)),
    ]


def test_stray_zero_before_a_server_command_is_not_a_bare_close() -> None:
    # found by search: 00 + FILE_REQUEST once read as a bare CLOSE eating the request's 00
    stream = b"\x00" + encode.file_request("%photof") + encode.resume(1)
    assert shape(cut(SRV, stream)) == [
        ("junk", 0, b"\x00"),
        ("frame", 1, encode.file_request("%photof")),
        ("frame", 12, encode.resume(1)),
    ]
    # a FILE_REQUEST whose "identifier" is not text is not a frame either
    assert [d for k, _, d in shape(cut(SRV, b"\x00\x08" + stream[1:])) if k == "frame"] == [
        encode.file_request("%photof"),
        encode.resume(1),
    ]


def test_truncated_frame_at_end_is_junk() -> None:
    frames = [f for _, f in encode.data_frames(SYNTHETIC)]
    items = cut(DEV, frames[0] + frames[1][:330])
    assert shape(items) == [("frame", 0, frames[0]), ("junk", 1030, frames[1][:330])]
    assert isinstance(items[1], Junk)
    assert "truncated" in items[1].reason


def test_long_garbage_is_junked_in_fixed_blocks_whatever_the_chunking() -> None:
    garbage = b"\xff" * 200_000
    whole = cut(DEV, garbage + encode.sync(1))
    assert [len(i.data) for i in whole] == [65536, 65536, 65536, 3392, 8]
    pieces = [garbage[o : o + 4096] for o in range(0, len(garbage), 4096)]
    assert shape_with_reasons(cut(DEV, *pieces, encode.sync(1))) == shape_with_reasons(whole)


def test_frame_time_is_the_chunk_of_its_first_byte() -> None:
    framer = DISSECTOR.new_framer(LINK, DEV)
    raw = encode.start(3) + encode.sync(1)
    items = list(framer.feed(raw[:12], 10)) + list(framer.feed(raw[12:], 20))
    assert [(i.start, i.time_ns) for i in items] == [(0, 10), (10, 10)]


# --- heuristics -----------------------------------------------------------------------------


FRAMES_HEAD = bytes.fromhex("00040402ffd8ffe0")


def test_sniff_and_orient() -> None:
    init = bytes.fromhex("000000050003118c43db077f44000400")
    assert sniff(init) >= 0.9
    assert sniff(init[:4]) >= 0.5
    assert sniff(encode.init(350612071913858, 0)) < 0.5
    assert sniff(b"GET / HTTP/1.1\r\n") == 0
    assert sniff(FRAMES_HEAD) == 0.5  # mid-transfer capture: a full DATA header
    assert sniff(encode.file_request("%photof")) >= 0.5
    assert orient(init) is DEV
    assert orient(encode.file_request("%videor")) is SRV
    assert orient(b"\x00\x09") is SRV
    assert orient(b"\x00\x00\x00\x00") is SRV
    assert orient(encode.start(1)) is DEV
    assert DISSECTOR.device_is_client is True


# --- construct spec vs struct fast path -----------------------------------------------------


@given(st.integers(0, 0xFFFF), st.integers(0, 2**64 - 1), st.integers(0, 2**32 - 1))
def test_init_struct_fast_path_matches_construct(proto: int, imei: int, settings_: int) -> None:
    raw = encode.init(imei, settings_, proto)
    parsed = spec.INIT.parse(raw)
    assert spec.INIT_FAST.unpack(raw)[1:] == (parsed.protocol_id, parsed.imei, parsed.settings)


def test_ptmf_struct_fast_path_matches_construct() -> None:
    header = bytes.fromhex(
        "50544d46034900140005d002641e00000000000000000000dc600000f834371700000000"
    )  # first record of real/dualcam/video-front-resume.json
    parsed = spec.PTMF_HEADER.parse(header)
    fast = spec.PTMF_FAST.unpack(header)
    assert fast == (
        b"PTMF", parsed.flag, parsed.kind, parsed.width, parsed.height, parsed.sequence,
        parsed.len_payload, parsed.timestamp,
    )  # fmt: skip
    assert (parsed.width, parsed.height, parsed.len_payload) == (1280, 720, 24796)


def test_media_helpers_on_synthetic_ptmf() -> None:
    def record(kind: bytes, seq: int, payload: bytes, ts: int) -> bytes:
        head = struct.pack("<4sBc2sHHH10sII4s", b"PTMF", 0, kind, b"\x00\x14", 320, 240, seq,
                           bytes(10), len(payload), ts, bytes(4))  # fmt: skip
        return head + payload

    nal = b"\x00\x00\x00\x01\x40\x01"
    video = (
        record(b"I", 1, nal, 0) + record(b"A", 2, b"x" * 8, 20_000) + record(b"P", 3, nal, 50_000)
    )
    records, stop = media.ptmf_records(video)
    assert stop == len(video)
    assert [r.kind for r in records] == ["I", "A", "P"]
    assert b"".join(media.annexb_pieces(video, records)) == nal + nal
    summary = media.ptmf_summary(video)
    assert (summary["video_frames"], summary["fps"], summary["duration_s"]) == (2, 20.0, 0.1)
    assert media.sniff_content(video) == ("video/x-teltonika-ptmf", ".ptmf")


# --- properties -----------------------------------------------------------------------------


def _session_stream(garbage: bytes) -> bytes:
    parts = [
        encode.init(863719061653375, 0x44000400),
        encode.metadata(file_type=0x04, timestamp_ms=1_730_288_105_000),
        encode.start(3),
        encode.sync(1),
    ]
    frames = [f for _, f in encode.data_frames(SYNTHETIC)]
    return b"".join(parts) + frames[0] + garbage + frames[1] + frames[2] + encode.sync(2)


@settings(max_examples=150, deadline=None)
@given(
    garbage=st.binary(max_size=64),
    cuts=st.lists(st.integers(0, 4000), max_size=12),
)
@example(garbage=b"\x00\x04\x00\x05", cuts=[1100])
@example(garbage=b"\x00", cuts=[1095, 1096])
def test_device_framer_is_chunking_invariant(garbage: bytes, cuts: list[int]) -> None:
    stream = _session_stream(garbage)
    whole = shape_with_reasons(cut(DEV, stream))
    points = sorted({c % (len(stream) + 1) for c in cuts})
    pieces = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    assert shape_with_reasons(cut(DEV, *[p for p in pieces if p])) == whole


@settings(max_examples=150, deadline=None)
@given(
    commands=st.lists(
        st.sampled_from(
            [
                encode.file_request("%photof"),
                encode.resume(1),
                encode.resume(337),
                encode.close(),
                encode.status(0),
                encode.repeat_init(bare=False),
                encode.metadata_request("%videor"),
                b"\x00\x0c\x00\x02\x00\x00",
            ]
        ),
        min_size=1,
        max_size=8,
    ),
    cuts=st.lists(st.integers(0, 200), max_size=6),
)
def test_server_framer_is_chunking_invariant_away_from_bare_positions(
    commands: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(commands)
    whole = shape(cut(SRV, stream))
    assert [data for _, _, data in whole] == commands
    # a cut 2 bytes into a 0x0000/0x0005/0x0009 command is the one place the bare rule applies
    starts, position = set(), 0
    for command in commands:
        if command[1] in (0, 5, 9):
            starts.add(position + 2)
        position += len(command)
    points = sorted({c % (len(stream) + 1) for c in cuts} - starts)
    pieces = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    assert shape(cut(SRV, *[p for p in pieces if p])) == whole


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=3000), direction=st.sampled_from([DEV, SRV]))
@example(data=b"\x00\x00\x00\x05" + bytes(12), direction=DEV)
@example(data=b"\x00\x0b\x00\x0d" + bytes(13), direction=DEV)
@example(data=b"\x00\x04\x00\x03\x00", direction=DEV)
def test_framer_accounts_for_every_byte(data: bytes, direction: Direction) -> None:
    half = len(data) // 3
    items = cut(direction, data[:half], data[half:])
    assert b"".join(i.data for i in items) == data
    offsets = [i.start for i in items]
    assert offsets == sorted(offsets)
    position = 0
    for item in items:
        assert item.start == position
        position += len(item.data)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(min_size=0, max_size=80), direction=st.sampled_from([DEV, SRV]))
@example(data=b"\x00\x0b\x00\x20\x03", direction=DEV)
@example(data=b"\x00\x04\x00\x00", direction=DEV)
@example(data=b"\x00\x0b\x00\x02{x", direction=DEV)
def test_decode_raises_only_decode_error(data: bytes, direction: Direction) -> None:
    try:
        dissection = decode(frame(data, direction))
        _ = dissection.fields
    except DecodeError:
        pass


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=2000), direction=st.sampled_from([DEV, SRV]))
def test_every_framed_frame_decodes(data: bytes, direction: Direction) -> None:
    for item in cut(direction, data):
        if isinstance(item, Frame):
            with contextlib.suppress(DecodeError):
                _ = decode(item).fields


@settings(max_examples=100, deadline=None)
@given(
    imei=st.integers(10**14, 10**15 - 1),
    settings_=st.integers(0, 2**32 - 1),
    count=st.integers(0, 2**32 - 1),
    offset=st.integers(0, 2**32 - 1),
    status=st.integers(0, 2**32 - 1),
    chunk=st.binary(min_size=1, max_size=1024),
    crc=st.integers(0, 0xFFFF),
    timestamp_ms=st.integers(0, 2**63 - 1),
    latitude=st.floats(-90, 90),
    longitude=st.floats(-180, 180),
)
def test_round_trip_encode_then_decode(
    imei: int,
    settings_: int,
    count: int,
    offset: int,
    status: int,
    chunk: bytes,
    crc: int,
    timestamp_ms: int,
    latitude: float,
    longitude: float,
) -> None:
    message = decode(frame(encode.init(imei, settings_))).message
    assert message == DualCamInit(5, imei, settings_)
    assert decode(frame(encode.start(count))).message == DualCamStart(count, 0)
    assert decode(frame(encode.sync(offset))).message == DualCamSync(offset)
    assert decode(frame(encode.resume(offset), SRV)).message == DualCamResume(offset)
    assert decode(frame(encode.status(status))).message == DualCamStatus(status)
    assert decode(frame(encode.data(chunk, crc))).message == DualCamData(len(chunk), crc)
    meta = encode.metadata(
        file_type=0x10, timestamp_ms=timestamp_ms, latitude=latitude, longitude=longitude
    )
    decoded = decode(frame(meta)).message
    assert isinstance(decoded, DualCamMetadata)
    assert (decoded.timestamp_ms, decoded.latitude, decoded.longitude) == (
        timestamp_ms,
        latitude,
        longitude,
    )
