"""Confine every path derived from data (ids, item ids, model names, reviewer names).

An id read from a shared registry or a responses file is data, not a path: ``../x`` or an
absolute name must never decide where rubricate writes. Identifiers are checked against a
safe pattern where they name a file, and every such file is resolved (symlinks followed)
and checked to lie inside the output folder the user chose before anything is written.
"""
from __future__ import annotations

import re
from pathlib import Path

from rubricate.guidelines.kernel.errors import RubricateError

#: Letters, digits, '.', '_', '-', ':' and '+'; starts with a letter or digit; at most 128.
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}")


def check_identifier(value: object, what: str = "id", *, path: str | None = None,
                     line: int | None = None) -> str:
    """``value`` when it is a safe identifier (no separator, no '..', no control character)."""
    text = value if isinstance(value, str) else ""
    if not SAFE_ID.fullmatch(text) or ".." in text:
        shown = ascii(value)[:80]
        raise RubricateError(f"{what} {shown} is not a safe identifier (1-128 letters, digits, "
                             "'.', '_', '-', ':', '+'; no '..', no '/' or '\\')", path=path, line=line)
    return text


def safe_name(value: str, fallback: str = "x") -> str:
    """A file-name fragment made from free text (e.g. a model name): unsafe runs become '-'."""
    name = re.sub(r"[^A-Za-z0-9._+-]+", "-", value).strip("-.")
    name = re.sub(r"\.{2,}", ".", name)[:100]
    return name or fallback


def confined(base: Path | str, *parts: str) -> Path:
    """``base/parts...`` resolved; a RubricateError when it would leave ``base``.

    ``base`` is resolved too (it may not exist yet), so a symlink inside the output folder
    that points elsewhere is caught as well.
    """
    root = Path(base).resolve()
    target = root.joinpath(*parts).resolve()
    if target != root and root not in target.parents:
        raise RubricateError(f"refusing to write outside the output folder: {'/'.join(parts)!r} "
                             f"resolves outside {base}", path=str(base))
    return target
