"""JSON and JSON Lines records (schema ``camshark/1``, documented in the README)."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

import orjson

from dissectors.api import Direction, Field, Link, Record

SCHEMA = "camshark/1"

Endpoints = Callable[[Record], tuple[str, str]]


def fields_to_json(fields: tuple[Field, ...]) -> dict[str, object]:
    """Nest the detail tree: leaves give their value, nodes a dict of their children.

    A node that has both a value and children keeps the value under ``_value``; a name seen
    twice at one level becomes a list.
    """
    result: dict[str, object] = {}
    repeated = False
    for node in fields:
        name = node.name
        if node.children:
            value: object = fields_to_json(node.children)
            if node.value is not None:
                value["_value"] = node.value  # type: ignore[index]
        else:
            value = node.value
        if name in result:
            existing = result[name]
            if existing.__class__ is _Repeated:
                existing.append(value)
            else:
                result[name] = _Repeated((existing, value))
            repeated = True
        else:
            result[name] = value
    if repeated:
        return {
            key: list(value) if value.__class__ is _Repeated else value
            for key, value in result.items()
        }
    return result


class _Repeated(list[object]):
    """Values of a name repeated at one level (told apart from a value that is a list)."""


_DIRECTION_NAMES = tuple(direction.name.lower() for direction in sorted(Direction))
"""Indexed by the Direction's value (a tuple index beats hashing an IntEnum)."""
EXACT_SECONDS_NS = 2**22 * 10**9
"""Below this many ns (48 days), ``ns / 1e9`` is already ``round(ns / 1e9, 9)``: the nearest
double to a 9-decimal number is within half a unit of its 9th decimal while ulp < 1e-9."""
_LINK_NAMES: dict[int, tuple[Link, str]] = {}
"""``id(link)`` -> (link, name): the link is kept so that its id cannot be reused meanwhile."""
MAX_CACHED_LINKS = 4096


def _link_name(link: Link) -> str:
    cached = _LINK_NAMES.get(id(link))
    if cached is not None and cached[0] is link:
        return cached[1]
    if len(_LINK_NAMES) >= MAX_CACHED_LINKS:
        _LINK_NAMES.clear()
    name = link.name
    _LINK_NAMES[id(link)] = (link, name)
    return name


def seconds(delta_ns: int) -> float:
    """Nanoseconds as seconds rounded to 9 decimals (``round`` costs ~1 µs; skipped if exact)."""
    if -EXACT_SECONDS_NS < delta_ns < EXACT_SECONDS_NS:
        return delta_ns / 1e9
    return round(delta_ns / 1e9, 9)


def record_to_dict(
    record: Record, base_time_ns: int, endpoints: Endpoints, *, with_hex: bool = True
) -> dict[str, object]:
    """One record as a JSON-ready dict (the ``camshark/1`` schema)."""
    source, destination = endpoints(record)
    dissection = record.dissection
    item = record.item
    link = item.link
    data = item.data
    time_ns = item.time_ns
    problems = dissection.problems
    if record.problems:
        problems = (*problems, *record.problems)
    latency_ns = record.latency_ns
    json_fields = dissection.json_fields
    result: dict[str, object] = {
        "schema": SCHEMA,
        "frame": record.number,
        "time": seconds(time_ns - base_time_ns),
        "time_ns": time_ns,
        "link": link.id,
        "link_name": _link_name(link),
        "src": source,
        "dst": destination,
        "direction": _DIRECTION_NAMES[item.direction],
        "protocol": record.protocol,
        "type": dissection.type,
        "kind": dissection.kind,  # a StrEnum: orjson writes its string value
        "summary": dissection.summary,
        "length": len(data),
        "stream_offset": item.start,
        "fields": json_fields() if json_fields is not None else fields_to_json(dissection.fields),
        "problems": [{"severity": p.severity, "code": p.code, "text": p.text} for p in problems]
        if problems
        else [],
        "request_in": record.request_in,
        "response_in": record.response_in,
        "latency_ms": None if latency_ns is None else latency_ns / 1e6,
    }
    if with_hex:
        result["hex"] = data.hex()
    return result


def _default(value: object) -> object:
    if isinstance(value, bytes | bytearray):
        return value.hex()
    return str(value)


def dumps(item: object) -> bytes:
    """orjson with a fallback for bytes and enums (about 10x the stdlib's speed)."""
    return orjson.dumps(item, default=_default)


def dumps_line(item: object) -> bytes:
    """``dumps`` and a newline, in one call."""
    return orjson.dumps(item, default=_default, option=orjson.OPT_APPEND_NEWLINE)


class JsonArrayWriter:
    """Writes records as one JSON array, streaming (never holds the array in memory).

    Each element goes out as ``separator + object + terminator``; ``write_encoded`` takes
    elements already in that form (the separator of the first is adjusted here).
    """

    separator = b",\n  "
    terminator = b""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._first = True
        stream.write(b"[")

    def write(self, item: dict[str, object]) -> None:
        """Append one element."""
        self.write_encoded(self.separator + dumps(item))

    def write_encoded(self, elements: bytes | bytearray) -> None:
        """Append elements, each already ``separator + object + terminator``."""
        if self._first and elements:
            self._first = False
            self._stream.write(memoryview(elements)[1:])  # the first has no comma
        else:
            self._stream.write(elements)

    def close(self) -> None:
        """Close the array."""
        self._stream.write(b"\n]\n" if not self._first else b"]\n")


class JsonLinesWriter:
    """One JSON object per line, written as it goes (the caller decides when to flush)."""

    separator = b""
    terminator = b"\n"

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def write(self, item: dict[str, object]) -> None:
        """Write one line."""
        self._stream.write(dumps_line(item))

    def write_encoded(self, elements: bytes | bytearray) -> None:
        """Write lines already encoded."""
        self._stream.write(elements)

    def close(self) -> None:
        """Nothing to close; flush."""
        self._stream.flush()


JsonWriter = JsonArrayWriter | JsonLinesWriter
