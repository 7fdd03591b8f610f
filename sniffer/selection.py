"""Which dissector a link gets, and which way each of its sides travels."""

from __future__ import annotations

from dissectors import registry
from dissectors.api import Direction, Dissector
from sniffer.sources.base import LinkInfo, Transport

Directions = tuple[Direction, Direction]
"""The directions of what sides A and B send."""
UNKNOWN: Directions = (Direction.TO_DEVICE, Direction.FROM_DEVICE)
"""What a link no dissector claimed is shown with."""


def choose_protocol(
    info: LinkInfo,
    prefixes: tuple[bytes, bytes],
    enough: bool,
    forced: Dissector | None,
    dissectors: tuple[Dissector, ...],
) -> tuple[Dissector | None, Directions] | None:
    """The dissector (None: raw data) and directions of a link from the first bytes of each
    side (``prefixes``); None to wait for more bytes, unless there are ``enough``.

    ``forced`` (``--protocol``) wins, then the port, then sniffing. Directions come from the
    dissector's ``orient`` on either side, else from its ``device_is_client``.
    """
    dissector = forced
    if dissector is None and info.link.transport in ("tcp", "udp"):
        transport = "udp" if info.transport is Transport.DATAGRAM else "tcp"
        dissector = registry.by_port(transport, (info.port_a, info.port_b), dissectors)
    if dissector is None:
        dissector, _ = registry.by_sniffing(prefixes, dissectors)
        if dissector is None:
            return None if not enough else (None, UNKNOWN)
    directions = _orient(dissector, prefixes)
    if directions is None:
        if not enough and dissector.orient is not None:
            return None
        device_is_a = bool(dissector.device_is_client)
        direction_a = Direction.FROM_DEVICE if device_is_a else Direction.TO_DEVICE
        directions = (direction_a, direction_a.opposite)
    return dissector, directions


def _orient(dissector: Dissector, prefixes: tuple[bytes, bytes]) -> Directions | None:
    """Directions of sides A and B from what each sent first; None if no side tells."""
    if dissector.orient is None:
        return None
    direction_a: Direction | None = None
    if prefixes[0]:
        direction_a = dissector.orient(prefixes[0])
    if direction_a is None and prefixes[1]:
        direction_b = dissector.orient(prefixes[1])
        if direction_b is not None:
            direction_a = direction_b.opposite
    return None if direction_a is None else (direction_a, direction_a.opposite)
