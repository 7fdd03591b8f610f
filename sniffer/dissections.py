"""The Dissections the pipeline makes itself: junk, gaps, raw data, malformed frames."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from dissectors.api import DecodeError, Dissection, Field, Frame, Junk, Kind, Problem, Severity


class Counters(Protocol):
    """Where ``decoded`` counts what it could not decode (``PipelineStats``)."""

    malformed: int


def hex_preview(data: bytes, limit: int = 32) -> str:
    """Hex of the first ``limit`` bytes, with an ellipsis when cut."""
    text = data[:limit].hex(" ")
    return text + " …" if len(data) > limit else text


def junk_dissection(protocol: str, junk: Junk) -> Dissection:
    size = len(junk.data)
    text = f"{size} byte{'s' if size != 1 else ''} skipped: {junk.reason}"
    problem = Problem(
        Severity.WARNING,
        f"{protocol}.junk",
        f"{text}. Look for line noise, a wrong protocol or baud rate, or a lost segment.",
    )
    return Dissection(
        "junk",
        text,
        kind=Kind.JUNK,
        problems=(problem,),
        fields=(Field("junk", junk.data.hex(), (0, size), hex_preview(junk.data)),),
    )


def gap_dissection(length: int) -> Dissection:
    problem = Problem(
        Severity.WARNING,
        "tcp.gap",
        f"{length} bytes of this direction were never captured (lost segment or capture "
        "drop); the framer resynchronised after the hole.",
    )
    return Dissection(
        "gap",
        f"[{length} bytes missing from the stream]",
        kind=Kind.JUNK,
        problems=(problem,),
        fields=(Field("gap_length", length, (0, 0)),),
    )


def decoded(
    protocol: str, decode: Callable[[Frame], Dissection], frame: Frame, stats: Counters
) -> Dissection:
    """``decode(frame)``, or a malformed dissection: a dissector bug must not cost data."""
    try:
        return decode(frame)
    except DecodeError as error:
        stats.malformed += 1
        return _malformed_dissection(protocol, error, bug=False)
    except Exception as error:  # a dissector bug must not cost data
        stats.malformed += 1
        return _malformed_dissection(protocol, error, bug=True)


def _malformed_dissection(protocol: str, error: Exception, *, bug: bool) -> Dissection:
    if bug:
        problem = Problem(
            Severity.ERROR,
            f"{protocol}.dissector_bug",
            f"the {protocol} dissector failed ({type(error).__name__}: {error}); the bytes are "
            "kept, please attach this capture to a bug report.",
        )
    else:
        problem = Problem(Severity.ERROR, f"{protocol}.malformed", f"malformed: {error}")
    return Dissection("malformed", f"Malformed: {error}", kind=Kind.MALFORMED, problems=(problem,))


def raw_dissection(data: bytes) -> Dissection:
    return Dissection(
        "data",
        f"{len(data)} bytes: {hex_preview(data, 16)}",
        kind=Kind.OTHER,
        fields=(Field("data", data.hex(), (0, len(data)), hex_preview(data)),),
    )
