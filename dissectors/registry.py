"""The one place that knows every protocol, and the rules for picking one for a link.

Selection order (all in ``select``): the user's explicit choice, then a port binding, then
the best ``sniff`` score above ``SNIFF_THRESHOLD`` on the first bytes of either side.
"""

from __future__ import annotations

from dissectors import dualcam, smartlpr
from dissectors.api import Dissector, Tcp, Udp

BUILTIN: tuple[Dissector, ...] = (  # alphabetical; one line per protocol
    dualcam.DISSECTOR,
    smartlpr.DISSECTOR,
)

SNIFF_THRESHOLD = 0.5
"""Minimum heuristic confidence to claim a link without a binding."""


class UnknownProtocolError(ValueError):
    """The user named a protocol that is not registered."""


def by_id(protocol_id: str, dissectors: tuple[Dissector, ...] = BUILTIN) -> Dissector:
    """Return the dissector registered under ``protocol_id``.

    Raises:
        UnknownProtocolError: with the list of known ids, for the CLI to print.
    """
    for dissector in dissectors:
        if dissector.id == protocol_id:
            return dissector
    known = ", ".join(d.id for d in dissectors)
    raise UnknownProtocolError(f"unknown protocol {protocol_id!r} (known: {known})")


def by_port(
    transport: str, ports: tuple[int | None, ...], dissectors: tuple[Dissector, ...] = BUILTIN
) -> Dissector | None:
    """The dissector bound to one of ``ports`` for ``transport`` (``tcp`` or ``udp``)."""
    wanted = Tcp if transport == "tcp" else Udp
    for dissector in dissectors:
        for binding in dissector.bindings:
            if isinstance(binding, wanted) and binding.port in ports:
                return dissector
    return None


def by_sniffing(
    prefixes: tuple[bytes, ...], dissectors: tuple[Dissector, ...] = BUILTIN
) -> tuple[Dissector | None, float]:
    """The dissector whose heuristic is most confident about any of ``prefixes``."""
    best: Dissector | None = None
    best_score = 0.0
    for dissector in dissectors:
        if dissector.sniff is None:
            continue
        for prefix in prefixes:
            if not prefix:
                continue
            score = dissector.sniff(prefix)
            if score > best_score:
                best, best_score = dissector, score
    if best_score < SNIFF_THRESHOLD:
        return None, best_score
    return best, best_score
