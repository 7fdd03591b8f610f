"""Every optional C kernel that ``setup.py`` declares is built where ``make test`` runs.

``make test`` sets CAMSHARK_REQUIRE_C: a silent fallback to the pure-Python twins (a missing
compiler, a build error swallowed by ``optional=True``) must fail CI, not just run slower.
"""

from __future__ import annotations

import ast
import importlib
import os
from pathlib import Path

import pytest

SETUP = Path(__file__).resolve().parents[1] / "setup.py"


def declared_extensions() -> list[str]:
    """The module names of the ``Extension(...)`` calls in setup.py."""
    return [
        node.args[0].value
        for node in ast.walk(ast.parse(SETUP.read_text()))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "Extension"
        and isinstance(node.args[0], ast.Constant)
    ]


def test_setup_declares_the_kernels() -> None:
    assert "sniffer._settle" in declared_extensions()
    assert len(declared_extensions()) == len(set(declared_extensions())) >= 6


@pytest.mark.parametrize("module", declared_extensions())
def test_the_c_kernel_is_built_when_required(module: str) -> None:
    if not os.environ.get("CAMSHARK_REQUIRE_C"):
        pytest.skip("CAMSHARK_REQUIRE_C is not set (make test sets it)")
    try:
        importlib.import_module(module)
    except ImportError as error:
        pytest.fail(f"{module} was not built (is a C compiler installed?): {error}")
