"""The common case of SmartLPR pairing: the C kernel ``_smartlpr_pairing`` or its Python twin.

A ``Pairing`` works on the matcher's own tables (pending, answered, Triggers, NAK 6 refusals)
and decides the common case of every rule: an opener with the right Id parity whose key is
free, a reply that finds its request and has the right Type, a Trigger remembered, the
Trigger a plate read answers, a unit clock within bounds. Whenever a rule has more to say
(a problem to report, a table to prune), the method returns False/None *without touching
anything* and ``SmartLprMatcher`` takes the message through its Python rules, which use the
same primitives. Both paths call it: ``observe`` one message at a time (``read``, TUI) and
``take_run`` a whole ``FrameRun`` of the ``stats``/``objects`` path (classify, pair, make
the ``LeanRecord``s), stopping at the first frame it cannot take, which ``runs.read_run``
then takes one message in Python before calling ``take_run`` again.

``PairingPython`` is the reference and the fallback without a compiler; the C version has
the identical API and behaviour (``tests/dissectors/test_smartlpr_pairing.py``). So do the
tables: ``AgeTablePython`` over an OrderedDict, the C ``AgeTable`` its own hash table, which
the C ``Pairing`` reads and writes without building a key object.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Generic, NamedTuple, Protocol, TypeVar

from dissectors.api import Kind, Record, Severity
from dissectors.bulk import Annotatable, LeanRecord, LinkSide
from dissectors.smartlpr.codec import (
    MAX_QUALITY,
    kind_of,
    plain_image,
    type_name,
    unit_healthy,
    valid_timestamp,
)
from dissectors.smartlpr.records import CurrentFrame, GetPicture
from dissectors.smartlpr.tables import (
    LEN_HEADER,
    LEN_OVERHEAD,
    RESPONSE_OFFSET,
    MessageType,
)
from dissectors.smartlpr.wire import IMAGE_HEAD

MAX_ENTRIES = 100_000
"""Hard cap on each table, whatever the timestamps do."""
CLOCK_DRIFT_NS = 2_000_000_000
"""A unit timestamp this far from capture time is noted (``smartlpr.clock_drift``)."""

Hosts = tuple[str, str]
Key = tuple[Hosts, int, int]
"""(hosts, UnitId, Id): Id is a Type in the refusals table, a TriggerId in the Triggers'."""
V = TypeVar("V")
INT64_BOUND = 1 << 63


class Pending(NamedTuple):
    """An event or request waiting for its reply."""

    target: Annotatable
    kind: Kind
    type: int
    id: int
    unit_id: int
    version: int
    bcc_ok: bool
    request_body: GetPicture | CurrentFrame | None
    """Kept for the pictures table: what the response's picture was asked for."""
    time_ns: int
    """Time of the latest (re)transmission: the reply's latency counts from it."""
    retries: int


Answered = tuple[int, int, int, int]
"""(request number, request Type, reply number, reply time)."""


class AgeTable(Protocol[V]):
    """A table of the matcher, keyed by (hosts, unit, id) and kept in insertion order (setting
    a known key keeps its place): pruned from the oldest end, whose entry is found in O(1).
    Units and ids are ints that fit 64 bits signed (OverflowError if not)."""

    def get(self, hosts: Hosts, unit: int, key: int, /) -> V | None: ...

    def contains(self, hosts: Hosts, unit: int, key: int, /) -> bool: ...

    def pop(self, hosts: Hosts, unit: int, key: int, /) -> V | None: ...

    def set(self, hosts: Hosts, unit: int, key: int, value: V, /) -> None: ...

    def oldest(self) -> V | None: ...

    def pop_oldest(self) -> V | None: ...

    def items(self) -> list[tuple[Key, V]]:
        """A snapshot, oldest first."""
        ...

    def prune(self, field: int, horizon: int, /) -> int:
        """Forget the oldest entries while their item ``field`` (a time) is at or before
        ``horizon``; how many went."""
        ...

    def __len__(self) -> int: ...


def _key(hosts: Hosts, unit: int, key: int) -> Key:
    """The key of an ``AgeTablePython``; its ints limited as in the C table (the hosts and
    int types are left to the type checker: the C table's TypeErrors are not repeated)."""
    if -INT64_BOUND <= unit < INT64_BOUND and -INT64_BOUND <= key < INT64_BOUND:
        return (hosts, unit, key)
    raise OverflowError("table keys fit 64 bits")


class AgeTablePython(Generic[V]):
    """The reference ``AgeTable``: an OrderedDict, whose first key is found in O(1) (a plain
    dict's next(iter(dict)) skips every slot deleted since its last resize)."""

    def __init__(self) -> None:
        self._items: OrderedDict[Key, V] = OrderedDict()

    def get(self, hosts: Hosts, unit: int, key: int, /) -> V | None:
        return self._items.get(_key(hosts, unit, key))

    def contains(self, hosts: Hosts, unit: int, key: int, /) -> bool:
        return _key(hosts, unit, key) in self._items

    def pop(self, hosts: Hosts, unit: int, key: int, /) -> V | None:
        return self._items.pop(_key(hosts, unit, key), None)

    def set(self, hosts: Hosts, unit: int, key: int, value: V, /) -> None:
        self._items[_key(hosts, unit, key)] = value

    def oldest(self) -> V | None:
        return next(iter(self._items.values()), None)

    def pop_oldest(self) -> V | None:
        return self._items.popitem(last=False)[1] if self._items else None

    def items(self) -> list[tuple[Key, V]]:
        return list(self._items.items())

    def prune(self, field: int, horizon: int, /) -> int:
        items = self._items
        dropped = 0
        while items:
            if next(iter(items.values()))[field] > horizon:  # type: ignore[index]
                break
            items.popitem(last=False)
            dropped += 1
        return dropped

    def __len__(self) -> int:
        return len(self._items)


class Tables(NamedTuple):
    """The matcher's state."""

    pending: AgeTable[Pending]
    answered: AgeTable[Answered]
    triggers: AgeTable[tuple[int, int]]
    """(hosts, unit, TriggerId) → (Trigger record number, time)."""
    refused: AgeTable[tuple[int, int, int]]
    """(hosts, unit, Type) → (refused Version, record number, time) after a NAK 6."""


TRIGGER_LATENCY = ("smartlpr.trigger_latency", Severity.NOTE)
"""Noted on nearly every plate read (its text: ``trigger_latency_text``)."""


def _stats_key(message_type: int) -> tuple[str, str, Kind]:
    return "smartlpr", type_name(message_type), kind_of(message_type)


PictureSeen = Callable[[LeanRecord, int, Pending], None]
"""``picture_seen(row, unit_id, entry)``: the matcher's rules for a GetPictureResponse taken
lean, after it was paired with ``entry``."""


class Shapes(NamedTuple):
    """The Python objects ``take_run`` builds rows from (given to the C kernel once)."""

    pending_type: type[Pending]
    lean_type: type[LeanRecord]
    event: Kind
    response: Kind
    ack_key: tuple[str, str, Kind]
    status_key: tuple[str, str, Kind]
    status_response_key: tuple[str, str, Kind]
    trigger_key: tuple[str, str, Kind]
    license_info_key: tuple[str, str, Kind]
    trigger_latency: tuple[str, Severity]
    """The (code, severity) of ``smartlpr.trigger_latency``, shared by the LeanRecords."""
    types: tuple[int, int, int, int, int, int, int]
    """Type codes of ACK, Status, StatusResponse, Trigger, LicenseInfo, GetPicture and
    GetPictureResponse."""
    get_picture_key: tuple[str, str, Kind]
    picture_key: tuple[str, str, Kind]
    get_picture: type[GetPicture]
    """A lean GetPicture's pending entry keeps its body (``Pending.request_body``)."""
    picture_seen: PictureSeen | None
    """Called on every GetPictureResponse ``take_run`` takes; without it, it takes none."""


def new_shapes(picture_seen: PictureSeen | None = None) -> Shapes:
    """The ``Shapes`` of SmartLPR's lean records; ``picture_seen`` as in ``Shapes``."""
    return Shapes(
        Pending,
        LeanRecord,
        Kind.EVENT,
        Kind.RESPONSE,
        _stats_key(MessageType.ACK),
        _stats_key(MessageType.STATUS),
        _stats_key(MessageType.STATUS_RESPONSE),
        _stats_key(MessageType.TRIGGER),
        _stats_key(MessageType.LICENSE_INFO),
        TRIGGER_LATENCY,
        (_ACK, _STATUS, _STATUS_RESPONSE, _TRIGGER, _LICENSE_INFO, _GET_PICTURE, _PICTURE),
        _stats_key(MessageType.GET_PICTURE),
        _stats_key(MessageType.GET_PICTURE_RESPONSE),
        GetPicture,
        picture_seen,
    )


_ACK = int(MessageType.ACK)
_STATUS = int(MessageType.STATUS)
_STATUS_RESPONSE = int(MessageType.STATUS_RESPONSE)
_TRIGGER = int(MessageType.TRIGGER)
_LICENSE_INFO = int(MessageType.LICENSE_INFO)
_GET_PICTURE = int(MessageType.GET_PICTURE)
_PICTURE = int(MessageType.GET_PICTURE_RESPONSE)
_PICTURE_HEAD = LEN_HEADER + IMAGE_HEAD.size
"""Frame offset of a GetPictureResponse's image (after the ROI and ImageSize)."""
_LICENSE_INFO_LENGTH = LEN_OVERHEAD + 169
_QUALITIES = (LEN_HEADER + 56, LEN_HEADER + 96)
"""Frame offsets of LicenseInfo's 40 quality bytes."""
_ACTIVE = LEN_HEADER
_CAMERA = LEN_HEADER + 2
"""Frame offsets of StatusResponse's Actv and Cam bytes."""

# what a frame's lean record does in the matcher
REPLY, OPENER, TRIGGER_OPENER, PLATE_OPENER, PICTURE_OPENER, PICTURE_REPLY = range(6)


class Lean(NamedTuple):
    """How a frame is taken without a decode: its role, its stats key and the body integers
    the matcher needs (TriggerId; plate reads: Timestamp and TimestampUsec too; GetPicture:
    CarId)."""

    role: int
    key: tuple[str, str, Kind]
    trigger_id: int = -1
    timestamp: int = 0
    usec: int = 0
    car_id: int = 0


def lean_form(shapes: Shapes, data: bytes, header: tuple[int, ...]) -> Lean | None:
    """How a frame of a run is taken in bulk, or None when it must be decoded in full.

    Lean only when ``codec.decode`` would report no problem and the matcher needs nothing
    but header facts and a few body integers: Bcc good, Size counting the whole frame, and
    one of Status, ACK, Trigger, a healthy StatusResponse, a LicenseInfo v2 with a valid
    timestamp and qualities up to 100, GetPicture, or a GetPictureResponse whose ImageSize
    (1-``MAX_IMAGE``) counts the bytes that follow, which start as a JPEG (``plain_image``).
    """
    offset, length, _unit, size, message_type, version, _id, bcc_ok = header
    if not bcc_ok or size != length or offset < 0 or length < LEN_OVERHEAD:
        return None
    if offset > len(data) - length:
        return None
    if message_type == _ACK:
        return Lean(REPLY, shapes.ack_key) if length == LEN_OVERHEAD else None
    if message_type == _STATUS:
        return Lean(OPENER, shapes.status_key) if length == LEN_OVERHEAD else None
    if message_type == _STATUS_RESPONSE:
        if length == LEN_OVERHEAD + 3 and unit_healthy(
            data[offset + _ACTIVE], data[offset + _CAMERA]
        ):
            return Lean(REPLY, shapes.status_response_key)
        return None
    if message_type == _TRIGGER:
        if length == LEN_OVERHEAD + 4:
            body = offset + LEN_HEADER
            trigger_id = int.from_bytes(data[body : body + 4], "little", signed=True)
            return Lean(TRIGGER_OPENER, shapes.trigger_key, trigger_id)
        return None
    if message_type == _LICENSE_INFO and version == 2 and length == _LICENSE_INFO_LENGTH:
        body = offset + LEN_HEADER
        trigger_id = int.from_bytes(data[body + 4 : body + 8], "little", signed=True)
        timestamp = int.from_bytes(data[body + 8 : body + 12], "little")
        usec = int.from_bytes(data[body + 12 : body + 16], "little")
        if (
            valid_timestamp(timestamp, usec)
            and max(data[offset + _QUALITIES[0] : offset + _QUALITIES[1]]) <= MAX_QUALITY
        ):
            return Lean(PLATE_OPENER, shapes.license_info_key, trigger_id, timestamp, usec)
        return None
    if message_type == _GET_PICTURE:
        if length == LEN_OVERHEAD + 4:
            body = offset + LEN_HEADER
            car_id = int.from_bytes(data[body : body + 4], "little")
            return Lean(PICTURE_OPENER, shapes.get_picture_key, car_id=car_id)
        return None
    if message_type == _PICTURE and length >= LEN_OVERHEAD + IMAGE_HEAD.size + 2:
        # at least two image bytes: its start is read within the image, not in the Bcc
        image = offset + _PICTURE_HEAD
        image_size = int.from_bytes(data[image - 4 : image], "little")
        received = length - LEN_OVERHEAD - IMAGE_HEAD.size
        if plain_image(image_size, received, data[image : image + 2]):
            return Lean(PICTURE_REPLY, shapes.picture_key)
    return None


def trigger_latency_text(time_ns: int, number: int, trigger_ns: int, trigger_id: int) -> str:
    """The text of ``smartlpr.trigger_latency``: a plate read at ``time_ns`` answering Trigger
    ``trigger_id``, frame ``number`` seen at ``trigger_ns``."""
    return (
        f"plate read {(time_ns - trigger_ns) / 1e6:.1f} ms after Trigger {trigger_id} (#{number})"
    )


def time_at(
    start: int, offset: int, offsets: Sequence[int] | None, times: Sequence[int], index: int
) -> int:
    """Arrival time of the frame at run ``offset`` (``index`` of the run's headers)."""
    if offsets is None:
        return times[index]
    if not times:
        return 0
    return times[max(bisect_right(offsets, start + offset) - 1, 0)]


def link_reply(target: Annotatable, entry: Pending, time_ns: int) -> int:
    """Link a reply and the request ``entry`` it answers both ways, with the latency; the
    request's number."""
    request = entry.target
    number = request.number
    target.request_in = number
    target.latency_ns = time_ns - entry.time_ns
    if request.response_in is None:
        request.response_in = target.number
    return number


class PairingAPI(Protocol):
    """What both versions offer (see the module docstring)."""

    @property
    def tables(self) -> Tables: ...

    def parity_ok(self, conv_id: int, kind: Kind) -> bool: ...

    def clock_drift(self, timestamp: int, usec: int, time_ns: int) -> int | None: ...

    def opened(
        self,
        target: Annotatable,
        time_ns: int,
        kind: Kind,
        hosts: Hosts,
        unit_id: int,
        conv_id: int,
        message_type: int,
        version: int,
        bcc_ok: bool,
        request_body: GetPicture | CurrentFrame | None,
    ) -> bool: ...

    def replied(
        self,
        target: Annotatable,
        time_ns: int,
        kind: Kind,
        hosts: Hosts,
        unit_id: int,
        conv_id: int,
        message_type: int,
    ) -> Pending | None: ...

    def trigger_seen(
        self, hosts: Hosts, unit_id: int, trigger_id: int, number: int, time_ns: int
    ) -> bool: ...

    def trigger_of(self, hosts: Hosts, unit_id: int, trigger_id: int) -> tuple[int, int] | None: ...

    def take_run(
        self,
        side: LinkSide,
        data: bytes,
        start: int,
        headers: Sequence[tuple[int, ...]],
        offsets: Sequence[int] | None,
        times: Sequence[int],
        hosts: Hosts,
        number: int,
        out: list[Record | LeanRecord],
        rows: bool,
        index: int,
    ) -> tuple[int, int, int]: ...


class PairingPython:
    """The reference ``Pairing``."""

    def __init__(self, tables: Tables, shapes: Shapes, max_entries: int) -> None:
        self.tables = tables
        self._max_entries = max_entries
        self._pending = tables.pending
        self._answered = tables.answered
        self._triggers = tables.triggers
        self._refused = tables.refused
        self._shapes = shapes

    def parity_ok(self, conv_id: int, kind: Kind) -> bool:
        """Unit-opened conversations (events) use odd Ids, the central system's even (B.4)."""
        return (conv_id & 1) == (kind is self._shapes.event)

    def clock_drift(self, timestamp: int, usec: int, time_ns: int) -> int | None:
        """How far a LicenseInfo's unit time is ahead of capture time, when over the bound."""
        if timestamp and usec < 1_000_000:
            drift = timestamp * 1_000_000_000 + usec * 1000 - time_ns
            if abs(drift) > CLOCK_DRIFT_NS:
                return drift
        return None

    def opened(
        self,
        target: Annotatable,
        time_ns: int,
        kind: Kind,
        hosts: Hosts,
        unit_id: int,
        conv_id: int,
        message_type: int,
        version: int,
        bcc_ok: bool,
        request_body: GetPicture | CurrentFrame | None,
    ) -> bool:
        """Record an opener as pending, if nothing is to be said about it."""
        if not self.parity_ok(conv_id, kind) or self._refused:
            return False
        if self._pending.contains(hosts, unit_id, conv_id):
            return False
        answered = self._answered.get(hosts, unit_id, conv_id)
        if answered is not None and answered[1] == message_type:
            return False
        self._pending.set(hosts, unit_id, conv_id, Pending(
            target, kind, message_type, conv_id, unit_id, version, bcc_ok, request_body,
            time_ns, 0,
        ))  # fmt: skip
        return True

    def replied(
        self,
        target: Annotatable,
        time_ns: int,
        kind: Kind,
        hosts: Hosts,
        unit_id: int,
        conv_id: int,
        message_type: int,
    ) -> Pending | None:
        """Pair a reply with its request and link both; the request's entry, or None."""
        entry = self._pending.get(hosts, unit_id, conv_id)
        if entry is None:
            return None
        asked = entry.type
        if kind is self._shapes.response and message_type != asked + RESPONSE_OFFSET:
            return None
        answered = self._answered
        if len(answered) >= self._max_entries and not answered.contains(hosts, unit_id, conv_id):
            return None
        self._pending.pop(hosts, unit_id, conv_id)
        number = link_reply(target, entry, time_ns)
        answered.set(hosts, unit_id, conv_id, (number, asked, target.number, time_ns))
        return entry

    def trigger_seen(
        self, hosts: Hosts, unit_id: int, trigger_id: int, number: int, time_ns: int
    ) -> bool:
        """Remember a Trigger for the plate read that answers it, if no pruning is due."""
        if not self._trigger_room(hosts, unit_id, trigger_id):
            return False
        self._triggers.set(hosts, unit_id, trigger_id, (number, time_ns))
        return True

    def trigger_of(self, hosts: Hosts, unit_id: int, trigger_id: int) -> tuple[int, int] | None:
        """(number, time) of the Trigger a plate read with ``trigger_id`` answers."""
        if trigger_id == -1:
            return None
        return self._triggers.get(hosts, unit_id, trigger_id)

    def take_run(
        self,
        side: LinkSide,
        data: bytes,
        start: int,
        headers: Sequence[tuple[int, ...]],
        offsets: Sequence[int] | None,
        times: Sequence[int],
        hosts: Hosts,
        number: int,
        out: list[Record | LeanRecord],
        rows: bool,
        index: int,
    ) -> tuple[int, int, int]:
        """Frames ``index`` onwards of a run, numbered from ``number + 1``, while each has a
        lean form and the common case of every rule: (index of the first frame not taken,
        last number used, latest time seen; 0 when none)."""
        shapes = self._shapes
        latest = 0
        count = len(headers)
        while index < count:
            header = headers[index]
            lean = lean_form(shapes, data, header)
            if lean is None:
                break
            _offset, length, unit_id, _size, message_type, version, conv_id, _bcc = header
            time_ns = time_at(start, header[0], offsets, times, index)
            row = shapes.lean_type(
                number + 1, side, time_ns, length, lean.key, data, header[0], start
            )
            role = lean.role
            kind = lean.key[2]
            if role in (REPLY, PICTURE_REPLY):
                picture_seen = shapes.picture_seen
                if role == PICTURE_REPLY and picture_seen is None:
                    break
                entry = self.replied(row, time_ns, kind, hosts, unit_id, conv_id, message_type)
                if entry is None:
                    break
                if picture_seen is not None and role == PICTURE_REPLY:
                    picture_seen(row, unit_id, entry)
            else:
                # every check before anything changes: a frame is taken whole or not at all
                if role == TRIGGER_OPENER and not self._trigger_room(
                    hosts, unit_id, lean.trigger_id
                ):
                    break
                if (
                    role == PLATE_OPENER
                    and self.clock_drift(lean.timestamp, lean.usec, time_ns) is not None
                ):
                    break
                request_body = shapes.get_picture(lean.car_id) if role == PICTURE_OPENER else None
                if not self.opened(
                    row, time_ns, kind, hosts, unit_id, conv_id, message_type, version, True,
                    request_body,
                ):  # fmt: skip
                    break
                if role == TRIGGER_OPENER:
                    self.trigger_seen(hosts, unit_id, lean.trigger_id, number + 1, time_ns)
                elif role == PLATE_OPENER:
                    trigger = self.trigger_of(hosts, unit_id, lean.trigger_id)
                    if trigger is not None:
                        code, severity = shapes.trigger_latency
                        row.add_problem(
                            severity,
                            code,
                            trigger_latency_text(time_ns, *trigger, lean.trigger_id),
                        )
            number += 1
            if time_ns > latest:
                latest = time_ns
            if rows:
                out.append(row)
            index += 1
        return index, number, latest

    def _trigger_room(self, hosts: Hosts, unit_id: int, trigger_id: int) -> bool:
        triggers = self._triggers
        return len(triggers) < self._max_entries or triggers.contains(hosts, unit_id, trigger_id)


_kernel: ModuleType | None
try:
    from dissectors import _smartlpr_pairing as _kernel
except ImportError:  # pragma: no cover - exercised where no compiler was available
    _kernel = None

c_pairing: type[PairingAPI] | None = _kernel.Pairing if _kernel is not None else None
"""The C ``Pairing`` when it was built."""
c_age_table: type[AgeTable[object]] | None = _kernel.AgeTable if _kernel is not None else None
"""The C ``AgeTable`` (the one the C ``Pairing`` works on) when it was built."""
HAVE_C = c_pairing is not None
"""Whether the C kernel was built (``setup.py``, optional)."""
Pairing: type[PairingAPI] = c_pairing if c_pairing is not None else PairingPython
"""The version new matchers use (tests switch it to compare both)."""


def new_tables(table: type[AgeTable[object]]) -> Tables:
    """Empty ``Tables`` of one ``AgeTable`` type."""
    return Tables(table(), table(), table(), table())  # type: ignore[arg-type]


def new_pairing(picture_seen: PictureSeen | None = None) -> PairingAPI:
    """A ``Pairing`` (the C one when built) over tables of its own, C ones for the C kernel;
    ``picture_seen`` as in ``Shapes``."""
    table = c_age_table if Pairing is c_pairing and c_age_table is not None else AgeTablePython
    shapes = new_shapes(picture_seen)
    return Pairing(new_tables(table), shapes, MAX_ENTRIES)  # type: ignore[call-arg]
