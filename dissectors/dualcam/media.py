"""What the uploaded files hold: JPEG photos and PTMF videos (spec A.11).

A DualCam video is a chain of PTMF records: a 36-byte little-endian header (``'PTMF'``, flag,
kind ``I``/``P`` video or ``A`` audio, width, height, sequence, payload length @24, timestamp
in µs @28) and the payload. Video payloads are H.265 Annex-B, so concatenating the ``I`` and
``P`` payloads gives a clean ``.h265`` stream that ffmpeg and VLC play.
"""

from __future__ import annotations

from dataclasses import dataclass

from dissectors.dualcam import spec

JPEG_SOI = b"\xff\xd8\xff"
PTMF_MAGIC = b"PTMF"
_SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD})


@dataclass(frozen=True, slots=True)
class PtmfRecord:
    """One PTMF record: where it is and what its header says."""

    offset: int
    kind: str
    """``I``, ``P`` (H.265 video) or ``A`` (audio, probably 8 kHz G.711)."""
    flag: int
    width: int
    height: int
    sequence: int
    length: int
    timestamp_us: int

    @property
    def payload(self) -> slice:
        """Where the payload is in the file."""
        start = self.offset + spec.PTMF_HEADER_SIZE
        return slice(start, start + self.length)


def sniff_content(data: bytes | bytearray) -> tuple[str, str]:
    """(content type, file suffix) from the magic bytes."""
    if data.startswith(JPEG_SOI):
        return "image/jpeg", ".jpg"
    if data.startswith(PTMF_MAGIC):
        return "video/x-teltonika-ptmf", ".ptmf"
    if data[4:8] == b"ftyp":
        return "video/mp4", ".mp4"
    if data.startswith(b"\x00\x00\x00\x01"):
        return "video/h265", ".h265"
    return "application/octet-stream", ".bin"


def ptmf_records(data: bytes | bytearray) -> tuple[list[PtmfRecord], int]:
    """Walk the PTMF chain; return the records and the offset where the walk stopped.

    The walk stops at the end of the data, at a header that is not ``PTMF`` or at a record
    that runs past the end; ``stop == len(data)`` means the records tile the whole file.
    """
    records: list[PtmfRecord] = []
    pos = 0
    size = len(data)
    unpack = spec.PTMF_FAST.unpack_from
    while pos + spec.PTMF_HEADER_SIZE <= size:
        magic, flag, kind, width, height, sequence, length, timestamp = unpack(data, pos)
        if magic != PTMF_MAGIC or pos + spec.PTMF_HEADER_SIZE + length > size:
            break
        records.append(
            PtmfRecord(
                pos, kind.decode("latin-1"), flag, width, height, sequence, length, timestamp
            )
        )
        pos += spec.PTMF_HEADER_SIZE + length
    return records, pos


def annexb_pieces(data: bytes | bytearray, records: list[PtmfRecord]) -> tuple[memoryview, ...]:
    """The H.265 Annex-B elementary stream: the video records' payloads, in order, as views
    of ``data`` (not copies)."""
    view = memoryview(data)
    return tuple(view[r.payload] for r in records if r.kind in ("I", "P"))


def ptmf_summary(data: bytes | bytearray) -> dict[str, object]:
    """Frame counts, size and duration of a PTMF video (for the objects index)."""
    records, stop = ptmf_records(data)
    video = [r for r in records if r.kind in ("I", "P")]
    counts = {kind: sum(1 for r in records if r.kind == kind) for kind in ("I", "P", "A")}
    summary: dict[str, object] = {
        "records": len(records),
        "i_frames": counts["I"],
        "p_frames": counts["P"],
        "audio_records": counts["A"],
        "video_frames": len(video),
        "tiles_file": stop == len(data),
        "walk_stopped_at": stop,
    }
    if video:
        summary["width"] = video[0].width
        summary["height"] = video[0].height
    if len(video) >= 2:
        span_us = video[-1].timestamp_us - video[0].timestamp_us
        period_us = span_us / (len(video) - 1)
        summary["fps"] = round(1e6 / period_us, 2) if period_us > 0 else None
        summary["duration_s"] = round((span_us + period_us) / 1e6, 3)
    return summary


def jpeg_summary(data: bytes | bytearray) -> dict[str, object]:
    """JPEG dimensions from the first SOF marker, and whether the EOI is present."""
    info: dict[str, object] = {"eoi": data.rstrip(b"\x00").endswith(b"\xff\xd9")}
    pos = 2
    size = len(data)
    while pos + 4 <= size:  # one step per marker segment, not per byte
        if data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker in _SOF_MARKERS and pos + 9 <= size:
            info["height"] = int.from_bytes(data[pos + 5 : pos + 7], "big")
            info["width"] = int.from_bytes(data[pos + 7 : pos + 9], "big")
            break
        if marker == 0xDA:  # start of scan: no SOF before it
            break
        pos += 2 + length
    return info
