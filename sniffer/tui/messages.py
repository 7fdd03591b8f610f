"""Messages posted from worker threads to the app."""

from __future__ import annotations

from textual.message import Message


class CaptureGrew(Message):
    """New records (or updates) are in the capture. Bursts collapse into one message."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CaptureGrew)


class LoadFinished(Message):
    """The source ended (``error`` is set when it failed)."""

    def __init__(self, error: str | None) -> None:
        super().__init__()
        self.error = error


class FilterProgress(Message):
    """A filter worker tested more rows."""

    def __init__(self, done: bool) -> None:
        super().__init__()
        self.done = done

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FilterProgress) and not message.done
