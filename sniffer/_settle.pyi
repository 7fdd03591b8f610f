"""Types of the optional C settle buffer (``_settle.c``); see ``sniffer.settle``, whose
``HeldItems`` protocol it follows (``HeldItemsPython`` is its Python twin)."""

from typing import Protocol, TypeVar

class _Timed(Protocol):
    @property
    def time_ns(self) -> int: ...

T = TypeVar("T", bound=_Timed)

class HeldItems:
    count: int
    max_held: int
    released_early: int
    def __init__(self, max_held: int, keep_released: int) -> None: ...
    def settle(self, batch: list[T], bound: int, horizon: int) -> list[T]: ...
    def release_all(self) -> list[_Timed]: ...
