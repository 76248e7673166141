"""rubricate: clinical therapy guidelines -> machine-checkable rubrics -> traceable verdicts.

The repository root is the package (``package-dir = {"rubricate": "."}``), so the one import
name is ``rubricate``: ``rubricate.guidelines``, ``rubricate.ontology``, ``rubricate.compiler``,
``rubricate.rubrics`` and ``rubricate.cli``. Layers, lowest first, are declared in
``rubricate.guidelines.kernel.layers`` and enforced by tests/test_layers.py.
"""
from __future__ import annotations

import importlib.util as _util
import sys as _sys
from pathlib import Path as _Path

def __getattr__(name: str):
    """``rubricate.__version__``, read on first use: importing importlib.metadata costs ~0.1 s."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version  # start-up time
    try:  # the installed distribution's version; a bare checkout has none
        return version("rubricate")
    except PackageNotFoundError:  # pragma: no cover - only in an uninstalled checkout
        return "0+unknown"


# `python -m rubricate` runs cli.py. The repository's top level is fixed (no __main__.py may
# stand beside this file), so a last-resort finder answers for ``rubricate.__main__`` alone,
# with cli.py's file; nothing is imported or executed until runpy asks for it.
class _MainFinder:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name != __name__ + ".__main__":
            return None
        return _util.spec_from_file_location(name, _Path(__file__).with_name("cli.py"))


if not any(f is _MainFinder or getattr(f, "__qualname__", "") == "_MainFinder" for f in _sys.meta_path):
    _sys.meta_path.append(_MainFinder)
