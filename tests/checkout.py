"""Make ``import rubricate`` mean this checkout, in this process and in child processes.

The repository root is the package (``package-dir = {"rubricate": "."}``), but its folder is
not named ``rubricate``, so a checkout is importable only through an install. Tests and
benchmarks must exercise the tree they stand in (a second worktree, a fresh clone) even when
another checkout is installed, so a link named ``rubricate`` to this root is put first on
``sys.path`` and on ``PYTHONPATH`` for the CLI and worker processes they start.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def use_this_checkout() -> Path:
    """Idempotent; returns the folder put on the path (it holds the ``rubricate`` link)."""
    link_parent = Path(tempfile.gettempdir()) / ("rubricate-checkout-" + hashlib.sha256(str(REPO).encode()).hexdigest()[:12])
    mod = sys.modules.get("rubricate")
    if mod is not None and Path(mod.__file__).resolve().parent == REPO:
        return link_parent  # already imported through the link (not the checkout's own parent folder)
    link = link_parent / "rubricate"
    if not link.exists():
        link_parent.mkdir(parents=True, exist_ok=True)
        try:
            os.symlink(REPO, link, target_is_directory=True)
        except FileExistsError:
            pass
    entry = str(link_parent)
    if entry not in sys.path:
        sys.path.insert(0, entry)
    # The checkout's own folder (pytest puts it on sys.path for the ``tests`` package) goes last:
    # an editable install leaves ``rubricate.egg-info`` there, which importlib.metadata would find
    # before the installed dist-info and its direct_url.json (Inspect then fails to see rubricate
    # as an installed editable package and drops the ``rubricate/`` prefix of its task names).
    own = [p for p in sys.path if p and Path(p).resolve() == REPO]
    for p in own:
        sys.path.remove(p)
    sys.path.extend(own)
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != entry]
    os.environ["PYTHONPATH"] = os.pathsep.join([entry, *parts])
    for name in [m for m in sys.modules if m == "rubricate" or m.startswith("rubricate.")]:
        del sys.modules[name]
    return link_parent


def package_sources() -> list[Path]:
    """The package's own Python files: those of the packages pyproject.toml ships, not tests,
    benchmarks, build output or a virtual environment made inside the checkout (CI's .venv)."""
    import tomllib
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    out: list[Path] = []
    for package in config["tool"]["setuptools"]["packages"]:
        folder = REPO.joinpath(*package.split(".")[1:])
        out += sorted(folder.glob("*.py"))
    return out
