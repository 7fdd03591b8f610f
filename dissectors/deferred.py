"""Functions imported at their first call.

The registry lists every protocol, and picking one for a link needs only its bindings,
``sniff`` and ``orient``; a protocol's decoders, framers and matchers (construct specs
compiled at import, tens of milliseconds each) load when a link first needs them.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any


def deferred(module: str, name: str) -> Callable[..., Any]:
    """``module.name``, imported when the returned function is first called."""
    target: Callable[..., Any] | None = None

    def call(*args: Any) -> Any:
        nonlocal target
        if target is None:
            target = getattr(import_module(module), name)
        return target(*args)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"``{module}.{name}``, imported at the first call."
    return call
