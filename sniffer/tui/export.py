"""Exports started from inside the TUI: JSON of the shown messages, extracted objects."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from dissectors.api import Direction, Record
from sniffer.capture import Capture
from sniffer.objects_writer import write_objects
from sniffer.output.json import JsonArrayWriter, record_to_dict

Endpoints = Callable[[Record], tuple[str, str]]


def default_endpoints(record: Record) -> tuple[str, str]:
    """(source, destination) when the pipeline cannot say: ``a`` is taken as the host."""
    link = record.link
    if record.direction is Direction.TO_DEVICE:
        return link.a, link.b
    return link.b, link.a


def export_json(
    capture: Capture,
    indices: Iterable[int],
    path: Path,
    *,
    endpoints: Endpoints | None = None,
) -> int:
    """Write the records at ``indices`` as a ``camshark/1`` JSON array; returns the count."""
    count = 0
    base = capture.first_time_ns
    ends = endpoints or default_endpoints
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as stream:
        writer = JsonArrayWriter(stream)
        for index in indices:
            writer.write(record_to_dict(capture.record(index), base, ends))
            count += 1
        writer.close()
    return count


def export_objects(capture: Capture, directory: Path) -> Path:
    """Write every extracted object and the index; returns the index path."""
    return write_objects(list(capture.objects), directory)
