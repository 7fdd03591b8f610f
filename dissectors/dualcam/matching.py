"""DualCam transfer tracker (placeholder until the full tracker lands)."""

from __future__ import annotations

from dissectors.api import ExtractedObject, Link, Record, Transfer


class DualCamMatcher:
    """Follows DualCam sessions and transfers."""

    def observe(self, record: Record) -> None:
        """See one record."""

    def expire(self, now_ns: int) -> None:
        """Capture time advanced."""

    def link_closed(self, link: Link, time_ns: int) -> None:
        """A connection ended."""

    def finish(self) -> None:
        """End of capture."""

    def take_objects(self) -> list[ExtractedObject]:
        """Files completed since the last call."""
        return []

    def transfers(self) -> list[Transfer]:
        """Every transfer seen."""
        return []


def new_matcher() -> DualCamMatcher:
    """A tracker for one capture."""
    return DualCamMatcher()
