"""The one hex/ASCII formatter, used by the CLI, the TUI and error messages."""

from __future__ import annotations

from collections.abc import Iterator

_PRINTABLE = bytes(b if 0x20 <= b < 0x7F else 0x2E for b in range(256))


def hexdump(data: bytes, width: int = 16, start: int = 0) -> Iterator[str]:
    """``0000  02 01 00 00 00 13 00 00  00 44 00 00 00 02 00 00  .........D......``."""
    half = width // 2
    for offset in range(0, len(data), width):
        row = data[offset : offset + width]
        left = row[:half].hex(" ")
        right = row[half:].hex(" ")
        hex_part = f"{left:<{half * 3 - 1}}  {right}"
        yield f"{start + offset:04x}  {hex_part:<{width * 3}} {row.translate(_PRINTABLE).decode()}"
