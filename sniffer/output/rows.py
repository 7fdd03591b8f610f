"""``read`` in bulk mode: settled Records and LeanRecords as camshark/1 objects
(``read -T json/jsonl``) or text lines (plain ``read``).

The pipeline's bulk mode (``sink``) hands over settled items in order; most are LeanRecords
(see ``dissectors.bulk``), rendered by their dissector's ``lean_renderer`` (C) where it has
one and the message is the common case. Any other item is rendered through the Record it
stands for (``record_of``) by ``record_to_dict`` or ``format_line``, so the output is the same
byte for byte as when every message is a Record.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from dissectors import registry
from dissectors.api import Dissection, Frame, Problem, Record
from dissectors.bulk import LeanRecord, LeanRenderer, LinkSide
from sniffer.dissections import Counters, decoded
from sniffer.output.json import SCHEMA, Endpoints, JsonWriter, dumps, record_to_dict
from sniffer.output.text import MARKS, format_line, side_part

Decode = Callable[[Frame], Dissection]

SIDE_MEMBERS = ("link", "link_name", "src", "dst", "direction", "protocol")
"""The members of a record's object that follow from its link side, in their order."""
FLUSH_CHUNKS = 64
"""Rendered chunks are written every this many (a renderer call or a Record makes one or a
few; a renderer gives one per 16 KiB)."""
MAX_SIDES = 4096
"""Bound on the link sides whose rendering is kept (forgotten all at once beyond)."""


def record_of(row: LeanRecord, decode: Decode) -> Record:
    """The Record a LeanRecord stands for: its frame decoded, its annotations copied."""
    side = row.side
    frame = Frame(
        side.link, side.direction, row.stream_start + row.offset, row.frame_data, row.time_ns
    )
    record = Record(row.number, side.protocol, frame, decode(frame))
    problems = row.problems
    if problems:
        texts = row.texts or ()
        record.problems = [
            Problem(severity, code, texts[i] if i < len(texts) else "")
            for i, (code, severity) in enumerate(problems)
        ]
    record.request_in = row.request_in
    record.response_in = row.response_in
    record.latency_ns = row.latency_ns
    return record


@dataclass(slots=True)
class _SideRendering:
    decode: Decode
    renderer: LeanRenderer | None
    fragments: dict[LinkSide, bytes]
    """The renderer's fragments: shared by every side of its protocol."""


def _no_endpoints(record: Record) -> tuple[str, str]:
    return record.link.a, record.link.b


class _Uncounted:
    malformed = 0


_NO_COUNTERS = _Uncounted()


class _Rows(ABC):
    """The bulk-mode sink of ``read``: renders settled items into chunks that ``_write``
    writes. A form gives the renderer call, the Record path it falls back to, and the part
    of its output that follows from a link side alone (each side's fragment)."""

    def __init__(self) -> None:
        self._endpoints: Endpoints = _no_endpoints
        self._counters: Counters = _NO_COUNTERS
        self._out: list[bytes] = []
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
        out = self._out
        render = self._render
        index = 0
        count = len(items)
        while index < count:
            item = items[index]
            if type(item) is LeanRecord:
                side = self._sides.get(item.side) or self._side(item)
                renderer = side.renderer
                if renderer is not None:
                    done = render(renderer, items, index, base_ns, side.fragments, out)
                    if done > index:
                        index = done
                        continue
                record = record_of(item, side.decode)
            else:
                assert isinstance(item, Record)
                record = item
            self._render_record(record, base_ns, out)
            index += 1
        if len(out) >= FLUSH_CHUNKS:
            self.flush()

    def flush(self) -> None:
        """Write what was rendered (``take_all`` writes every ``FLUSH_CHUNKS`` chunks)."""
        if self._out:
            write = self._write
            for chunk in self._out:  # each as it is: a big one goes to the file uncopied
                write(chunk)
            self._out = []

    def close(self) -> None:
        """Write what was rendered and end the output."""
        self.flush()

    @abstractmethod
    def _render(
        self,
        renderer: LeanRenderer,
        items: list[Record | LeanRecord],
        index: int,
        base_ns: int,
        fragments: dict[LinkSide, bytes],
        out: list[bytes],
    ) -> int:
        """``renderer``'s form of ``items[index]`` on into ``out``: the index it stopped at."""

    @abstractmethod
    def _render_record(self, record: Record, base_ns: int, out: list[bytes]) -> None:
        """The Record path's form of ``record`` into ``out``."""

    @abstractmethod
    def _fragment(self, record: Record) -> bytes:
        """The part of ``record``'s form that follows from its link side, as the renderer
        takes it."""

    @abstractmethod
    def _write(self, rendered: bytes) -> None:
        """Write a chunk of rendered output."""

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
            make = dissector.lean_renderer
            renderer = None if make is None else make(LeanRecord, SCHEMA)
            rendering = _SideRendering(self._decoder(protocol, dissector.decode), renderer, {})
            self._protocols[protocol] = rendering
        rendering.fragments[row.side] = self._fragment(record_of(row, rendering.decode))
        self._sides[row.side] = rendering
        return rendering

    def _decoder(self, protocol: str, decode: Decode) -> Decode:
        counters = self._counters

        def decode_safely(frame: Frame) -> Dissection:
            return decoded(protocol, decode, frame, counters)

        return decode_safely


class JsonRows(_Rows):
    """The bulk-mode sink of ``read -T json/jsonl``: writes settled items to ``writer``."""

    def __init__(self, writer: JsonWriter, *, with_hex: bool) -> None:
        super().__init__()
        self._writer = writer
        self._with_hex = with_hex

    def _render(
        self,
        renderer: LeanRenderer,
        items: list[Record | LeanRecord],
        index: int,
        base_ns: int,
        fragments: dict[LinkSide, bytes],
        out: list[bytes],
    ) -> int:
        writer = self._writer
        return renderer.render(
            items,
            index,
            base_ns,
            fragments,
            self._with_hex,
            writer.separator,
            writer.terminator,
            out,
        )

    def _render_record(self, record: Record, base_ns: int, out: list[bytes]) -> None:
        writer = self._writer
        out.append(writer.separator)
        out.append(dumps(record_to_dict(record, base_ns, self._endpoints, with_hex=self._with_hex)))
        out.append(writer.terminator)

    def _fragment(self, record: Record) -> bytes:
        whole = record_to_dict(record, 0, self._endpoints)
        return dumps({name: whole[name] for name in SIDE_MEMBERS})[1:-1]

    def _write(self, rendered: bytes) -> None:
        self._writer.write_encoded(rendered)

    def close(self) -> None:
        """Write what was rendered and close the writer (the JSON array's ``]``)."""
        super().close()
        self._writer.close()


TEXT_MARKS = tuple((severity, mark.encode()) for severity, mark in MARKS)
"""The marks ``render_text`` writes, by severity."""


class TextRows(_Rows):
    """The bulk-mode sink of plain ``read``: writes each settled item's line
    (``format_line``) to ``out``."""

    def __init__(self, out: BinaryIO) -> None:
        super().__init__()
        self._stream = out

    def _render(
        self,
        renderer: LeanRenderer,
        items: list[Record | LeanRecord],
        index: int,
        base_ns: int,
        fragments: dict[LinkSide, bytes],
        out: list[bytes],
    ) -> int:
        return renderer.render_text(items, index, base_ns, fragments, TEXT_MARKS, out)

    def _render_record(self, record: Record, base_ns: int, out: list[bytes]) -> None:
        out.append((format_line(record, base_ns, self._endpoints) + "\n").encode())

    def _fragment(self, record: Record) -> bytes:
        return side_part(record, self._endpoints).encode()

    def _write(self, rendered: bytes) -> None:
        self._stream.write(rendered)
