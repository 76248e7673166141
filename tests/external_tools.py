"""Find the other tools an export is tested in (promptfoo, ajv, check-jsonschema, ...).

npm tools live outside the repository, in ``$RUBRICATE_TOOLS_DIR`` (default
``~/.cache/rubricate-tools``), where .ci/run installs them with ``npm install --prefix``.
A missing tool fails the test in CI (``CI=true``) and skips it, with the reason, elsewhere.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

TOOLS_DIR = Path(os.environ.get("RUBRICATE_TOOLS_DIR") or Path.home() / ".cache" / "rubricate-tools")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str) -> None:
    """Fail in CI, skip elsewhere."""
    if in_ci():
        pytest.fail(f"{reason} (CI must install it: see .ci/run)")
    pytest.skip(reason)


def npm_tool(name: str) -> str:
    """Path of an npm tool's executable installed under TOOLS_DIR (or on PATH)."""
    local = TOOLS_DIR / "node_modules" / ".bin" / name
    if local.is_file():
        return str(local)
    found = shutil.which(name)
    if found:
        return found
    missing(f"{name} not installed (npm install --prefix {TOOLS_DIR} {name}; .ci/run does this)")
    raise AssertionError("unreachable")


def python_tool(name: str) -> str:
    """Path of a console script installed beside this Python (or on PATH)."""
    local = Path(sys.executable).with_name(name)
    if local.is_file():
        return str(local)
    found = shutil.which(name)
    if found:
        return found
    missing(f"{name} not installed (pip install '.[test]')")
    raise AssertionError("unreachable")


def python_module(name: str):
    """Import a module a test needs, failing in CI when it is absent."""
    try:
        return __import__(name, fromlist=["_"])
    except ImportError:
        missing(f"Python module {name} not installed (pip install '.[test]')")
