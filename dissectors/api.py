"""The dissector plug-in contract: what every protocol module provides and returns.

Glossary (one word per concept, used in code, UI and tests):

========== ==================================================================
Capture    a recorded or live session: chunks on one or more links
Link       one observed channel: a TCP connection, a UDP flow, a serial tap
Direction  TO_DEVICE / FROM_DEVICE, relative to the device on that link
Chunk      bytes as a source delivered them, with time_ns, link and side
Frame      one protocol unit cut out by a framer, with offsets and time
Junk       bytes a framer skipped while resyncing (never silently dropped)
Message    the protocol's typed record decoded from one frame
Dissection what the UI shows for a frame: type, summary, fields, problems
Field      one node of the detail tree: name, value, byte span
Record     one numbered row of a capture: a frame or junk with its dissection
Transaction a request and its replies, matched by the protocol's matcher
Transfer   a file carried over many frames (pictures, photos, videos)
Problem    expert info: severity, stable code, a sentence for the engineer
========== ==================================================================

Time is always integer nanoseconds since the epoch (``time_ns``).
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from dissectors.bulk import FrameRun, LeanRendererMaker, RunReader, WholeLaneMaker

_T = TypeVar("_T")


def fast_init(cls: type[_T]) -> type[_T]:
    """Give a frozen dataclass an ``__init__`` that builds instances about 2.5x faster.

    The generated frozen ``__init__`` looks up ``object.__setattr__`` through a global and an
    attribute on every field; this one binds it once. Behaviour is identical: same signature
    and defaults, still frozen. Hot-path records (frames, fields, messages) are built
    millions of times per capture, so this is worth it. Apply it above ``@dataclass``.

    Raises:
        TypeError: the class uses ``default_factory``, ``init=False`` or keyword-only fields.
    """
    namespace: dict[str, object] = {"_osa": object.__setattr__}
    params: list[str] = []
    body: list[str] = []
    for item in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not item.init or item.kw_only or item.default_factory is not dataclasses.MISSING:
            raise TypeError(f"fast_init does not support field {item.name} of {cls.__name__}")
        if item.default is dataclasses.MISSING:
            params.append(item.name)
        else:
            namespace[f"_default_{item.name}"] = item.default
            params.append(f"{item.name}=_default_{item.name}")
        body.append(f"    _osa(self, {item.name!r}, {item.name})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    source = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(body) or "    pass")
    exec(source, namespace)  # noqa: S102 - source built above from the class's own field names
    init = namespace["__init__"]
    assert isinstance(init, types.FunctionType)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(cls, "__init__", init)  # noqa: B010 - mypy forbids assigning a method directly
    return cls


class Direction(IntEnum):
    """Which way bytes travel, relative to the device (camera, tracker, sensor)."""

    TO_DEVICE = 0
    FROM_DEVICE = 1

    @property
    def arrow(self) -> str:
        """A compact arrow for narrow columns: host to device is ``→``."""
        return "→" if self is Direction.TO_DEVICE else "←"

    @property
    def opposite(self) -> Direction:
        """The other direction on the same link."""
        return Direction(1 - self.value)


class Severity(StrEnum):
    """Wireshark's expert-info severities, most severe first."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"

    @property
    def rank(self) -> int:
        """2 for error, 1 for warning, 0 for note: larger is worse."""
        return {"error": 2, "warning": 1, "note": 0}[self.value]


class Kind(StrEnum):
    """The role a message plays in its protocol, used for colouring and statistics."""

    REQUEST = "request"
    RESPONSE = "response"
    EVENT = "event"
    ACK = "ack"
    NAK = "nak"
    DATA = "data"
    OTHER = "other"
    JUNK = "junk"
    MALFORMED = "malformed"


@fast_init
@dataclass(frozen=True, slots=True)
class Problem:
    """One expert-info item.

    ``code`` is stable (``smartlpr.bad_checksum``) so scripts and filters can rely on it;
    ``text`` tells the field engineer what it means and what to check.
    """

    severity: Severity
    code: str
    text: str


@fast_init
@dataclass(frozen=True, slots=True)
class Link:
    """One observed channel. Endpoints are display strings (``10.0.0.1:5232``, ``/dev/ttyUSB0``).

    ``a`` is the side that spoke first or opened the connection (TCP client); ``b`` the other.
    """

    id: int
    transport: str
    a: str
    b: str

    @property
    def name(self) -> str:
        """``tcp 10.0.0.1:40000 ↔ 10.0.0.2:5232``."""
        return f"{self.transport} {self.a} ↔ {self.b}"


@fast_init
@dataclass(frozen=True, slots=True)
class Frame:
    """One protocol unit cut out of a link+direction byte stream.

    ``start`` is the offset of the first byte in that stream; ``time_ns`` the arrival time of
    the chunk that carried the first byte.
    """

    link: Link
    direction: Direction
    start: int
    data: bytes
    time_ns: int


@fast_init
@dataclass(frozen=True, slots=True)
class Junk:
    """Bytes a framer skipped while resynchronising; ``reason`` says why."""

    link: Link
    direction: Direction
    start: int
    data: bytes
    time_ns: int
    reason: str = "no frame start found"


@fast_init
@dataclass(frozen=True, slots=True)
class Field:
    """One node of the detail tree.

    ``value`` is the typed value exported to JSON and compared by filters (int, str, float,
    bool or None); ``display`` is what the tree shows (defaults to ``str(value)``).
    ``span`` is a byte range inside the frame, for hex highlighting.
    """

    name: str
    value: object
    span: tuple[int, int]
    display: str | None = None
    children: tuple[Field, ...] = ()

    @property
    def text(self) -> str:
        """The display text of the value."""
        return self.display if self.display is not None else str(self.value)


class DecodeError(Exception):
    """The only exception ``decode`` may raise: the frame cannot be understood."""


class Dissection:
    """What the UI shows for one frame.

    ``fields`` is built lazily: statistics and summaries never pay for the detail tree.
    ``json_fields`` is an optional faster route to JSON output: a dissector may pass a
    function that returns the ``camshark/1`` ``fields`` object directly (exactly what
    ``sniffer.output.json.fields_to_json(fields)`` would give) without building a Field per
    node; None means JSON output nests ``fields``.
    """

    __slots__ = (
        "_build_fields",
        "_fields",
        "json_fields",
        "kind",
        "message",
        "problems",
        "summary",
        "type",
    )

    def __init__(
        self,
        type: str,
        summary: str,
        *,
        kind: Kind = Kind.OTHER,
        message: object = None,
        problems: tuple[Problem, ...] = (),
        fields: tuple[Field, ...] | Callable[[], tuple[Field, ...]] = (),
        json_fields: Callable[[], dict[str, object]] | None = None,
    ) -> None:
        self.type = type
        """The message type name (``LicenseInfo``, ``DATA``); used by filters and stats."""
        self.summary = summary
        """One line for the message list."""
        self.kind = kind
        self.message = message
        """The protocol's own frozen record (or None)."""
        self.problems = problems
        """Problems visible in this frame alone (bad checksum, bad length)."""
        self.json_fields = json_fields
        if callable(fields):
            self._fields: tuple[Field, ...] | None = None
            self._build_fields: Callable[[], tuple[Field, ...]] | None = fields
        else:
            self._fields = fields
            self._build_fields = None

    @property
    def fields(self) -> tuple[Field, ...]:
        """The detail tree, built on first access."""
        if self._fields is None:
            assert self._build_fields is not None
            self._fields = self._build_fields()
            self._build_fields = None
        return self._fields

    def __repr__(self) -> str:
        return f"Dissection({self.type!r}, {self.summary!r})"


class Framer(Protocol):
    """Cuts one link+direction byte stream into frames. Never raises, never drops a byte.

    ``feed`` yields whatever became complete; incomplete input waits for the next call.
    ``gap`` tells the framer that ``length`` bytes are missing (a TCP hole): it emits any
    partial frame as Junk and resynchronises. ``flush`` ends the stream: leftovers become Junk.

    Optional bulk hook (``dissectors.bulk``): a framer with a ``header_runs`` attribute
    (``RunFramer``), which the pipeline sets to True in bulk mode when the dissector has a
    ``read_run``, may also yield ``FrameRun`` items. Frames, junk and runs still account for
    every byte, in stream order.
    """

    def feed(self, data: bytes, time_ns: int) -> Iterator[Frame | Junk | FrameRun]: ...

    def gap(self, length: int, time_ns: int) -> Iterator[Frame | Junk | FrameRun]: ...

    def flush(self) -> Iterator[Frame | Junk | FrameRun]: ...


@dataclass(slots=True, eq=False)
class Record:
    """One numbered row of a capture: a frame (or junk) with its dissection and match results.

    Matchers annotate records in place (problems, request/response links, latency) while the
    pipeline still holds them; see ``sniffer.pipeline`` for when a record is settled.
    """

    number: int
    """1-based, in order of arrival over the whole capture (Wireshark's frame number)."""
    protocol: str
    item: Frame | Junk
    dissection: Dissection
    problems: list[Problem] = field(default_factory=list)
    request_in: int | None = None
    """For a reply: the number of the request it answers."""
    response_in: int | None = None
    """For a request: the number of its first reply."""
    latency_ns: int | None = None
    """For a reply: time since its request."""

    @property
    def time_ns(self) -> int:
        """Arrival time of the first byte."""
        return self.item.time_ns

    @property
    def link(self) -> Link:
        """The link this record was seen on."""
        return self.item.link

    @property
    def direction(self) -> Direction:
        """Direction relative to the device."""
        return self.item.direction

    @property
    def data(self) -> bytes:
        """The raw bytes of the frame or junk."""
        return self.item.data

    def add_problem(self, severity: Severity, code: str, text: str) -> None:
        """Attach a matcher-level problem."""
        self.problems.append(Problem(severity, code, text))

    @property
    def all_problems(self) -> tuple[Problem, ...]:
        """Frame-level problems from decode, then matcher-level ones."""
        return (*self.dissection.problems, *self.problems)

    @property
    def worst(self) -> Severity | None:
        """The most severe problem, or None."""
        problems = self.all_problems
        if not problems:
            return None
        return max((p.severity for p in problems), key=lambda s: s.rank)


@dataclass(slots=True, eq=False)
class ExtractedObject:
    """A file carried by the protocol (a JPEG picture, a photo or video upload).

    ``data`` holds the bytes received; ``holes`` lists missing byte ranges ``[start, end)``.
    """

    protocol: str
    name: str
    """A suggested file name, not yet made safe (the writer sanitises it)."""
    data: bytes | bytearray
    """The bytes (a bytearray when the dissector hands over the buffer it filled)."""
    frames: tuple[int, ...]
    """Record numbers the bytes came from."""
    complete: bool = True
    holes: tuple[tuple[int, int], ...] = ()
    content_type: str = "application/octet-stream"
    details: dict[str, object] = field(default_factory=dict)
    """Protocol-specific facts for the index (CRC results, metadata, outcome)."""
    extra_files: dict[str, bytes | tuple[memoryview, ...]] = field(default_factory=dict)
    """Derived files written beside the object, by suffix (``.h265`` for a PTMF video): their
    bytes, or the consecutive pieces of ``data`` they are made of, written one after the
    other (joining them would copy most of a video once more)."""


@dataclass(slots=True, eq=False)
class Transfer:
    """Progress of one file transfer, for the transfers view and ``stats``."""

    protocol: str
    link: Link
    name: str
    first_record: int
    last_record: int
    expected_size: int | None
    received: int
    verified: int
    outcome: str
    """``complete``, ``in progress``, ``aborted``, ``never started``, ``device error ...``."""
    retries: int = 0
    crc_failures: int = 0
    missing: tuple[tuple[int, int], ...] = ()
    duration_ns: int = 0
    details: dict[str, object] = field(default_factory=dict)

    @property
    def progress(self) -> float | None:
        """Fraction of the expected size verified, when the size is known."""
        if not self.expected_size:
            return None
        return min(1.0, self.verified / self.expected_size)

    @property
    def throughput_bps(self) -> float | None:
        """Bytes per second over the transfer's duration."""
        if self.duration_ns <= 0:
            return None
        return self.received * 1e9 / self.duration_ns


class Matcher(Protocol):
    """Pairs requests with replies, follows transfers and reports problems for one capture.

    ``observe`` sees every record of its protocol in arrival order and may annotate it and
    any earlier record it still holds. ``expire`` is called as capture time advances (for
    timeouts); ``link_closed`` when a connection ends; ``finish`` once at the end.
    ``take_objects`` hands over the files completed since the last call; ``transfers`` lists
    the file transfers seen (those that ended before a ``forget_transfers`` call excepted:
    commands that never report transfers call it as they go, so that memory stays flat over
    a long capture).
    """

    def observe(self, record: Record) -> None: ...

    def expire(self, now_ns: int) -> None: ...

    def link_closed(self, link: Link, time_ns: int) -> None: ...

    def finish(self) -> None: ...

    def take_objects(self) -> list[ExtractedObject]: ...

    def transfers(self) -> list[Transfer]: ...

    def forget_transfers(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Tcp:
    """The protocol is usually found on this TCP port."""

    port: int


@dataclass(frozen=True, slots=True)
class Udp:
    """The protocol is usually found on this UDP port."""

    port: int


@dataclass(frozen=True, slots=True)
class Serial:
    """Usual serial line settings."""

    baudrate: int
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1


Binding = Tcp | Udp | Serial


@dataclass(frozen=True, slots=True)
class Dissector:
    """One protocol's declaration. Nothing registers itself at import: see ``registry``.

    ``orient(prefix)`` looks at the first bytes one side of a link sent and says which
    direction they travel (None: cannot tell). ``sniff(prefix)`` gives a confidence 0..1 that
    a stream starting with ``prefix`` (either side) is this protocol.
    """

    id: str
    name: str
    description: str
    new_framer: Callable[[Link, Direction], Framer]
    decode: Callable[[Frame], Dissection]
    bindings: tuple[Binding, ...] = ()
    sniff: Callable[[bytes], float] | None = None
    orient: Callable[[bytes], Direction | None] | None = None
    new_matcher: Callable[[], Matcher] | None = None
    device_is_client: bool | None = None
    """On TCP, whether the device opens the connection when ``orient`` cannot tell."""
    doc: str = ""
    """The module docstring: what it is, transports, scope, spec."""
    read_run: RunReader | None = None
    """The bulk hook for ``FrameRun``s (optional; only with a ``RunFramer``)."""
    whole_lane: WholeLaneMaker | None = None
    """Its shortcut for stream chunks of whole frames (optional; only with ``read_run``)."""
    lean_renderer: LeanRendererMaker | None = None
    """Its fast rendering of the LeanRecords its ``read_run`` makes, as JSON objects or text
    lines (optional: without it, ``read`` renders them through the Records they stand for)."""
