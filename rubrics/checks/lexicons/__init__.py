"""Named word lists of the offline judge, one YAML file each, loaded once and validated.

A lexicon file holds ``description``, ``terms`` (phrases written as plain words; matched on
case-folded lemmas, so "buy pesticides" also finds "Bought pesticide") and optionally
``patterns`` (spaCy Matcher token patterns, where ``LEMMA`` means the case-folded lemma)
and ``exceptions`` (phrases that cancel an overlapping term, e.g. "don't hesitate" for the
negation lexicon). Checks refer to a lexicon by its file stem.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path


from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import load_yaml_mapping

LEXICON_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Lexicon:
    """Terms, token patterns and exception phrases of one named lexicon."""

    name: str
    description: str
    terms: tuple[str, ...]
    patterns: tuple[tuple[dict, ...], ...]
    exceptions: tuple[str, ...]


@functools.lru_cache(maxsize=None)
def load_data_file(stem: str) -> dict:
    """Parse ``<stem>.yaml`` of this folder; a clear one-line error if absent or malformed."""
    path = LEXICON_DIR / f"{stem}.yaml"
    if not path.is_file():
        raise RubricateError(f"unknown lexicon {stem!r} (no file {path.name} in {LEXICON_DIR})")
    return load_yaml_mapping(path, "lexicon file")


def _strings(value, path: Path, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RubricateError(f"{key!r} must be a list of non-empty strings", path=str(path))
    return tuple(v.strip() for v in value)


@functools.lru_cache(maxsize=None)
def load_lexicon(name: str) -> Lexicon:
    """The lexicon ``name`` (file stem), checked for shape; cached for the process."""
    data = load_data_file(name)
    path = LEXICON_DIR / f"{name}.yaml"
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
    """Stems of all lexicon files (the normalisation settings file excluded)."""
    return sorted(p.stem for p in LEXICON_DIR.glob("*.yaml") if p.stem != "normalization")
