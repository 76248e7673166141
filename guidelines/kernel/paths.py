"""Where bundled, read-only package data lives (every data path is derived from here)."""
from __future__ import annotations

from pathlib import Path

#: The installed ``rubricate`` package: the repository root in a checkout or editable install.
PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def package_path(*parts: str) -> Path:
    """A bundled data file or folder, e.g. ``package_path("guidelines", "registry.yaml")``."""
    return PACKAGE_ROOT.joinpath(*parts)
