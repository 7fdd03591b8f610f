"""Types of the optional C counting kernel (``_lean_count.c``); see ``sniffer.stats``, whose
``LeanCounting`` protocol it follows (``LeanCounterPython`` is its Python twin)."""

from dissectors.api import Record
from dissectors.bulk import LeanRecord

class LeanCounter:
    def __init__(self, *tables_types_and_constants: object) -> None: ...
    def count(
        self, items: list[Record | LeanRecord], index: int, last_ns: int
    ) -> tuple[int, int]: ...
