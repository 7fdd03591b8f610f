"""Search by text (summaries, any case) or by bytes (``02 01 00``, ``hex:0201``, ``0x0201``)."""

from __future__ import annotations

import re
from collections.abc import Callable

from sniffer.capture import Capture

_HEX_QUERY = re.compile(r"(?:[0-9a-fA-F]{2})(?:[\s:]+[0-9a-fA-F]{2})+")
_SEPARATORS = re.compile(r"[\s:]")


def parse_hex_query(text: str) -> bytes | None:
    """Bytes to search for: ``hex:0201``, ``0x0201`` or ``02 01 00`` (two or more pairs)."""
    text = text.strip()
    lowered = text.lower()
    for prefix in ("hex:", "0x"):
        if lowered.startswith(prefix):
            try:
                return bytes.fromhex(_SEPARATORS.sub("", text[len(prefix) :]))
            except ValueError:
                return None
    if _HEX_QUERY.fullmatch(text):
        return bytes.fromhex(_SEPARATORS.sub("", text))
    return None


def find_next(
    capture: Capture,
    text: str,
    start: int,
    *,
    forward: bool,
    shown: Callable[[int], bool],
) -> int | None:
    """The next row from ``start`` (wrapping) that matches ``text`` and is ``shown``."""
    text = text.strip()
    if not text or not len(capture):
        return None
    needle = parse_hex_query(text)
    step = 1 if forward else -1
    first: int | None = None
    while True:
        if needle is not None:
            found = capture.find_bytes(needle, start, backwards=not forward)
        else:
            found = capture.find_text(text, start, backwards=not forward)
        if found is None or found == first:
            return None  # no match, or we went all the way round
        if shown(found):
            return found
        if first is None:
            first = found
        start = (found + step) % len(capture)
