"""``camshark objects``: write extracted files with safe names and a JSON index.

Objects are written as they complete, so memory holds one file at a time, never the capture.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

from dissectors.api import ExtractedObject
from sniffer.output.json import dumps

INDEX_NAME = "index.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 120
SLICE = 256 * 1024
"""Bytes hashed and written at a time: the write copies them while they are still cached
(hashing all, then writing all, would read every file from memory twice)."""


def safe_name(name: str) -> str:
    """A file name that cannot escape the directory or upset a shell or a file system."""
    cleaned = _UNSAFE.sub("_", name.replace("/", "_").replace("\\", "_")).strip("._")
    if not cleaned:
        cleaned = "object"
    if len(cleaned) > MAX_NAME:
        stem, dot, suffix = cleaned.rpartition(".")
        if dot and len(suffix) <= 8:
            cleaned = stem[: MAX_NAME - len(suffix) - 1] + "." + suffix
        else:
            cleaned = cleaned[:MAX_NAME]
    return cleaned


def _write_hashed(path: Path, pieces: Iterable[bytes | bytearray | memoryview]) -> str:
    """Write the ``pieces`` one after the other to ``path``; return the sha256 (hex)."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for data in pieces:
            with memoryview(data) as view:
                for start in range(0, len(view), SLICE):
                    piece = view[start : start + SLICE]
                    digest.update(piece)
                    out.write(piece)
    return digest.hexdigest()


def _ranges(numbers: tuple[int, ...]) -> list[list[int]]:
    """``(1, 2, 3, 7)`` → ``[[1, 3], [7, 7]]``: frame lists of big files stay short."""
    result: list[list[int]] = []
    for number in numbers:
        if result and number == result[-1][1] + 1:
            result[-1][1] = number
        else:
            result.append([number, number])
    return result


class ObjectsWriter:
    """Writes objects into ``directory`` and keeps the index entries."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.entries: list[dict[str, object]] = []
        self._used: set[str] = {INDEX_NAME}

    def _unique(self, name: str) -> str:
        candidate = safe_name(name)
        stem, dot, suffix = candidate.rpartition(".")
        if not dot:
            stem, suffix = candidate, ""
        counter = 2
        while candidate.lower() in self._used:
            candidate = f"{stem}-{counter}{dot}{suffix}"
            counter += 1
        self._used.add(candidate.lower())
        return candidate

    def write(self, obj: ExtractedObject) -> dict[str, object]:
        """Write one object (and its derived files); return its index entry."""
        name = self._unique(obj.name)
        sha256 = _write_hashed(self.directory / name, (obj.data,))
        extra: dict[str, dict[str, object]] = {}
        for suffix, derived in obj.extra_files.items():
            pieces = (derived,) if isinstance(derived, bytes) else derived
            base = name.rpartition(".")[0] or name
            extra_name = self._unique(base + suffix)
            extra[suffix] = {
                "file": extra_name,
                "size": sum(len(piece) for piece in pieces),
                "sha256": _write_hashed(self.directory / extra_name, pieces),
            }
        entry: dict[str, object] = {
            "file": name,
            "protocol": obj.protocol,
            "content_type": obj.content_type,
            "size": len(obj.data),
            "sha256": sha256,
            "complete": obj.complete,
            "holes": [list(hole) for hole in obj.holes],
            "frames": _ranges(obj.frames),
            "details": obj.details,
            "derived": extra,
        }
        self.entries.append(entry)
        return entry

    def close(self) -> Path:
        """Write the index; return its path."""
        path = self.directory / INDEX_NAME
        index = {"schema": "camshark.objects/1", "objects": self.entries}
        path.write_bytes(dumps(index) + b"\n")
        return path


def write_objects(objects: list[ExtractedObject], directory: Path) -> Path:
    """Write every object and the index in one go (the TUI's export); return the index path."""
    writer = ObjectsWriter(directory)
    for obj in objects:
        writer.write(obj)
    return writer.close()
