"""Types of the optional C storage of LeanRecords (``_lean_record.c``); see
``dissectors.bulk``, whose ``LeanRecordPython`` has the identical API."""

from dissectors.bulk import LeanRecordMethods, LeanRecordPython

LeanRecordBase = LeanRecordPython

def lean_record_class(name: str, methods: type[LeanRecordMethods], /) -> type[LeanRecordPython]: ...
