"""SmartLPR matcher (placeholder, being written)."""

from __future__ import annotations

from dissectors.api import ExtractedObject, Link, Record, Transfer


class SmartLprMatcher:
    """Pairs requests and replies by (link, unit, Id)."""

    def observe(self, record: Record) -> None:
        """See one record."""

    def expire(self, now_ns: int) -> None:
        """Time passed."""

    def link_closed(self, link: Link, time_ns: int) -> None:
        """A link ended."""

    def finish(self) -> None:
        """End of capture."""

    def take_objects(self) -> list[ExtractedObject]:
        """Extracted pictures."""
        return []

    def transfers(self) -> list[Transfer]:
        """Picture transfers."""
        return []


def new_matcher() -> SmartLprMatcher:
    """A fresh matcher for one capture."""
    return SmartLprMatcher()
