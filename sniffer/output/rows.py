"""``read -T json/jsonl`` in bulk mode: settled Records and LeanRecords as camshark/1 objects.

The pipeline's bulk mode (``sink``) hands over settled items in order; most are LeanRecords
(see ``dissectors.bulk``), rendered by their dissector's ``json_renderer`` (C) where it has
one and the message is the common case. Any other item is rendered through the Record it
stands for (``record_of``) by ``record_to_dict``, so the output is the same byte for byte as
when every message is a Record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dissectors import registry
from dissectors.api import Dissection, Frame, Problem, Record
from dissectors.bulk import LeanJsonRenderer, LeanRecord, LinkSide
from sniffer.dissections import Counters, decoded
from sniffer.output.json import SCHEMA, Endpoints, JsonWriter, dumps, record_to_dict

Decode = Callable[[Frame], Dissection]

_SIDE_MEMBERS = ("link", "link_name", "src", "dst", "direction", "protocol")
"""The members of a record's object that follow from its link side, in their order."""
FLUSH_BYTES = 1 << 16
"""Rendered objects are written in blocks of about this size."""
MAX_SIDES = 4096
"""Bound on the link sides whose rendering is kept (forgotten all at once beyond)."""


def record_of(row: LeanRecord, decode: Decode) -> Record:
    """The Record a LeanRecord stands for: its frame decoded, its annotations copied."""
    side = row.side
    frame = Frame(
        side.link, side.direction, row.stream_start + row.offset, row.frame_data, row.time_ns
    )
    record = Record(row.number, side.protocol, frame, decode(frame))
    if row.problems:
        texts = row.texts or [""] * len(row.problems)
        record.problems = [
            Problem(severity, code, text)
            for (code, severity), text in zip(row.problems, texts, strict=True)
        ]
    record.request_in = row.request_in
    record.response_in = row.response_in
    record.latency_ns = row.latency_ns
    return record


@dataclass(slots=True)
class _SideRendering:
    decode: Decode
    renderer: LeanJsonRenderer | None
    fragments: dict[LinkSide, bytes]
    """The renderer's fragments: shared by every side of its protocol."""


def _no_endpoints(record: Record) -> tuple[str, str]:
    return record.link.a, record.link.b


class _Uncounted:
    malformed = 0


_NO_COUNTERS = _Uncounted()


class JsonRows:
    """The bulk-mode sink of ``read -T json/jsonl``: writes settled items to ``writer``."""

    def __init__(self, writer: JsonWriter, *, with_hex: bool) -> None:
        self._writer = writer
        self._endpoints: Endpoints = _no_endpoints
        self._counters: Counters = _NO_COUNTERS
        self._with_hex = with_hex
        self._out = bytearray()
        self._base_ns: int | None = None
        self._sides: dict[LinkSide, _SideRendering] = {}
        self._protocols: dict[str, _SideRendering] = {}

    def follow(self, endpoints: Endpoints, counters: Counters) -> None:
        """Name endpoints as the pipeline does; count a decode that fails here (``decoded``)
        in ``counters``, as the pipeline's."""
        self._endpoints = endpoints
        self._counters = counters

    def take_all(self, items: list[Record | LeanRecord]) -> None:
        """Render and write ``items``, in order (the pipeline's ``sink``)."""
        if not items:
            return
        if self._base_ns is None:
            self._base_ns = items[0].time_ns
        base_ns = self._base_ns
        writer = self._writer
        separator = writer.separator
        terminator = writer.terminator
        with_hex = self._with_hex
        out = self._out
        index = 0
        count = len(items)
        while index < count:
            item = items[index]
            if type(item) is LeanRecord:
                side = self._sides.get(item.side) or self._side(item)
                renderer = side.renderer
                if renderer is not None:
                    done = renderer.render(
                        items,
                        index,
                        base_ns,
                        side.fragments,
                        with_hex,
                        separator,
                        terminator,
                        out,
                    )
                    if done > index:
                        index = done
                        continue
                record = record_of(item, side.decode)
            else:
                assert isinstance(item, Record)
                record = item
            out += separator
            out += dumps(record_to_dict(record, base_ns, self._endpoints, with_hex=with_hex))
            out += terminator
            index += 1
        if len(out) >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Write what was rendered (``take_all`` writes in blocks of ``FLUSH_BYTES``)."""
        if self._out:
            self._writer.write_encoded(self._out)
            self._out = bytearray()

    def _side(self, row: LeanRecord) -> _SideRendering:
        """How ``row``'s side is rendered, from its first row on."""
        protocol = row.side.protocol
        if len(self._sides) >= MAX_SIDES:
            self._sides.clear()
            for known in self._protocols.values():
                known.fragments.clear()
        rendering = self._protocols.get(protocol)
        if rendering is None:
            dissector = registry.by_id(protocol)
            make = dissector.json_renderer
            renderer = None if make is None else make(LeanRecord, SCHEMA)
            rendering = _SideRendering(self._decoder(protocol, dissector.decode), renderer, {})
            self._protocols[protocol] = rendering
        whole = record_to_dict(record_of(row, rendering.decode), 0, self._endpoints)
        rendering.fragments[row.side] = dumps({name: whole[name] for name in _SIDE_MEMBERS})[1:-1]
        self._sides[row.side] = rendering
        return rendering

    def _decoder(self, protocol: str, decode: Decode) -> Decode:
        counters = self._counters

        def decode_safely(frame: Frame) -> Dissection:
            return decoded(protocol, decode, frame, counters)

        return decode_safely
