"""tshark-like text: one line per record, optional detail tree and hex dump."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from dissectors.api import Direction, Field, Record, Severity
from dissectors.hexdump import hexdump

Endpoints = Callable[[Record], tuple[str, str]]

_DIRECTION = {Direction.TO_DEVICE: "host→dev", Direction.FROM_DEVICE: "dev→host"}
_MARK = {"error": "!!", "warning": "!", "note": "·"}
MARKS = tuple((severity, _MARK[severity.value]) for severity in Severity)
"""The mark of each severity in a line, as ``format_line`` writes it."""


def side_part(record: Record, endpoints: Endpoints) -> str:
    """``10.0.0.2:5000 → 10.0.0.1:40000 dev→host smartlpr``: the part of a line that follows
    from the record's link side alone."""
    source, destination = endpoints(record)
    return f"{source} → {destination} {_DIRECTION[record.direction]} {record.protocol}"


def format_line(record: Record, base_time_ns: int, endpoints: Endpoints) -> str:
    """``  12   0.123456 10.0.0.2:5000 → 10.0.0.1:40000 dev→host smartlpr LicenseInfo …``."""
    relative = (record.time_ns - base_time_ns) / 1e9
    dissection = record.dissection
    summary = dissection.summary
    if not summary.startswith(dissection.type):
        summary = f"{dissection.type}: {summary}"
    parts = [f"{record.number:>6} {relative:>11.6f} {side_part(record, endpoints)} {summary}"]
    if record.request_in is not None:
        latency = "" if record.latency_ns is None else f", {record.latency_ns / 1e6:.3f} ms"
        parts.append(f"[reply to #{record.request_in}{latency}]")
    if record.response_in is not None:
        parts.append(f"[reply in #{record.response_in}]")
    parts.extend(f"[{_MARK[p.severity.value]}{p.code}]" for p in record.all_problems)
    return " ".join(parts)


def format_tree(fields: tuple[Field, ...], indent: str = "    ") -> Iterator[str]:
    """The detail tree, one field per line with its byte span."""
    for node in fields:
        start, end = node.span
        yield f"{indent}[{start}:{end}] {node.name}: {node.text}"
        if node.children:
            yield from format_tree(node.children, indent + "    ")


def format_problems(record: Record, indent: str = "    ") -> Iterator[str]:
    """Each problem on its own line with severity, code and sentence."""
    for problem in record.all_problems:
        yield f"{indent}{problem.severity.value.upper()} {problem.code}: {problem.text}"


def format_hex(record: Record, indent: str = "    ") -> Iterator[str]:
    """The frame bytes as a classic hex dump."""
    for line in hexdump(record.data):
        yield indent + line
