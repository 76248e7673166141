"""Named word lists, one YAML file each, found by name on a search path of lexicon folders.

A lexicon file holds ``description``, ``terms`` (phrases written as plain words; matched on
case-folded lemmas, so "buy pesticides" also finds "Bought pesticide") and optionally
``patterns`` (spaCy Matcher token patterns, where ``LEMMA`` means the case-folded lemma)
and ``exceptions`` (phrases that cancel an overlapping term, e.g. "don't hesitate" for the
negation lexicon). Checks refer to a lexicon by its file stem.

The search path holds the general lexicons (negation, hedges, referrals ...; in
rubrics/checks/lexicons) and then those of a study (compiler/moore2025/lexicons: names of
the places and objects of its stimuli). The folders are data, named here by their package
path, so this kernel module imports none of the packages that own them. A name may live in
one folder only.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import load_yaml_mapping
from rubricate.guidelines.kernel.paths import package_path

#: Lexicon folders, searched in order: general first, then the study's.
LEXICON_PATH: tuple[Path, ...] = (
    package_path("rubrics", "checks", "lexicons"),
    package_path("compiler", "moore2025", "lexicons"),
)
#: Data files on the path that are settings of the matcher, not lexicons.
SETTINGS_FILES = frozenset({"normalization"})


@dataclass(frozen=True)
class Lexicon:
    """Terms, token patterns and exception phrases of one named lexicon."""

    name: str
    description: str
    terms: tuple[str, ...]
    patterns: tuple[tuple[dict, ...], ...]
    exceptions: tuple[str, ...]


def lexicon_files() -> dict[str, Path]:
    """Every ``<stem>.yaml`` on the search path by stem; a stem in two folders is an error."""
    found: dict[str, Path] = {}
    for folder in LEXICON_PATH:
        for path in sorted(folder.glob("*.yaml")):
            if path.stem in found:
                raise RubricateError(f"lexicon {path.stem!r} is defined twice (also in {found[path.stem].parent.name}/)",
                                     path=str(path))
            found[path.stem] = path
    return found


def find_lexicon(stem: str) -> Path | None:
    """The file of lexicon (or settings file) ``stem``, or None when no folder has it."""
    for folder in LEXICON_PATH:
        path = folder / f"{stem}.yaml"
        if path.is_file():
            return path
    return None


@functools.lru_cache(maxsize=None)
def load_data_file(stem: str) -> dict:
    """Parse ``<stem>.yaml`` from the search path; a clear one-line error if absent or malformed."""
    path = find_lexicon(stem)
    if path is None:
        raise RubricateError(f"unknown lexicon {stem!r} (no file {stem}.yaml in "
                             + ", ".join(str(f.relative_to(package_path())) for f in LEXICON_PATH) + ")")
    return load_yaml_mapping(path, "lexicon file")


class PatternError(ValueError):
    """A word or token pattern the matcher cannot take; callers say where it came from."""


def check_words(values, what: str) -> None:
    """YAML reads bare no/yes/on/off as booleans: ask for quotes instead of matching "false"."""
    for v in values:
        if isinstance(v, bool) or v is None:
            raise PatternError(f"{what}: {v!r} is not a word (quote words such as \"no\", \"on\" in YAML)")


def _strings(value, path: Path, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list):
        try:
            check_words(value, key)  # the matcher's own word check: YAML booleans need quotes
        except PatternError as exc:
            raise RubricateError(str(exc), path=str(path)) from None
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RubricateError(f"{key!r} must be a list of non-empty strings", path=str(path))
    return tuple(v.strip() for v in value)


@functools.lru_cache(maxsize=None)
def load_lexicon(name: str) -> Lexicon:
    """The lexicon ``name`` (file stem), checked for shape; cached for the process."""
    data = load_data_file(name)
    path = find_lexicon(name)
    patterns = data.get("patterns") or []
    if not isinstance(patterns, list) or not all(
            isinstance(p, list) and p and all(isinstance(t, dict) for t in p) for p in patterns):
        raise RubricateError("'patterns' must be a list of token-pattern lists", path=str(path))
    lexicon = Lexicon(
        name=name,
        description=str(data.get("description") or ""),
        terms=_strings(data.get("terms"), path, "terms"),
        patterns=tuple(tuple(p) for p in patterns),
        exceptions=_strings(data.get("exceptions"), path, "exceptions"),
    )
    if not lexicon.terms and not lexicon.patterns:
        raise RubricateError("a lexicon needs 'terms' or 'patterns'", path=str(path))
    return lexicon


def available_lexicons() -> list[str]:
    """Names of all lexicons on the search path (settings files excluded)."""
    return sorted(stem for stem in lexicon_files() if stem not in SETTINGS_FILES)


def files_digest(paths) -> str:
    """sha256 over the files' names and bytes (in the given order): a word list's version."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def lexicon_digest() -> str:
    """Short hash of every file on the search path (by name, then bytes): part of the offline
    judge's version, so a verdict says which word lists made it."""
    return files_digest(sorted(lexicon_files().values(), key=lambda path: path.name))[:12]
