"""One matcher per rubric (the kernel's TermMatcher), holding every term and pattern of its checks.

Detectors register what they look for while a rubric is compiled (a lexicon name, inline
terms or patterns) and get back a ``TermRef`` (the match keys it was stored under). Each
response is matched once; detectors then read the spans of their keys. Identical lexicons
are registered once however many checks use them. Folding, spellings and pattern handling
are the kernel's (guidelines/kernel/matcher.py), shared with evidence extraction.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.lexicons import load_lexicon
from rubricate.guidelines.kernel.matcher import PatternError, TermMatcher, longest_first

__all__ = ["EMPTY", "MatcherBank", "TermRef", "longest_first", "merge", "spans_of"]


@dataclass(frozen=True)
class TermRef:
    """Match keys of one term specification (a lexicon, inline terms or inline patterns)."""

    keys: tuple[str, ...]
    exception_keys: tuple[str, ...] = ()
    label: str = ""

    def __bool__(self) -> bool:
        return bool(self.keys)


EMPTY = TermRef(())


class MatcherBank(TermMatcher):
    """The rubric's TermMatcher plus the check vocabulary: lexicons, inline terms, term specs."""

    def __init__(self, nlp) -> None:
        super().__init__(nlp)
        self._registered: set[str] = set()

    # ---- registration --------------------------------------------------------------------

    def _add_patterns(self, key: str, patterns, where: str, greedy: str | None = None) -> None:
        try:
            self.add_patterns(key, patterns, greedy)
        except PatternError as exc:
            raise RubricateError(f"{where}: invalid token pattern: {exc}") from None

    def lexicon(self, name: str, where: str = "") -> TermRef:
        """Register the named lexicon (once) and return its keys."""
        key = f"lex:{name}"
        lex = load_lexicon(name)
        exc_key = f"{key}:except"
        if key not in self._registered:
            self._registered.add(key)
            if lex.terms:
                self.add_terms(key, lex.terms)
            if lex.patterns:
                self._add_patterns(key, lex.patterns, where or f"lexicon {name}")
            if lex.exceptions:
                self.add_terms(exc_key, lex.exceptions)
        return TermRef((key,), (exc_key,) if lex.exceptions else (), name)

    def inline(self, terms=(), patterns=(), where: str = "", greedy: str | None = None) -> TermRef:
        """Register inline terms/patterns under a content-derived key."""
        blob = json.dumps([list(terms), [list(p) for p in patterns], greedy], sort_keys=True)
        key = "inline:" + hashlib.sha1(blob.encode()).hexdigest()[:16]
        if key not in self._registered:
            self._registered.add(key)
            if terms:
                self.add_terms(key, tuple(terms))
            if patterns:
                self._add_patterns(key, patterns, where, greedy)
        return TermRef((key,), (), "inline")

    def spec(self, value, where: str) -> TermRef:
        """Register a term specification given in a check.

        Accepted forms: a lexicon name (str); a list of terms; or a mapping with any of
        ``lexicon`` (str), ``lexicons`` (list), ``terms`` (list) and ``patterns`` (list).
        """
        if value is None:
            return EMPTY
        if isinstance(value, str):
            return self.lexicon(value, where)
        if isinstance(value, list):
            return self.inline(terms=value, where=where)
        if not isinstance(value, dict):
            raise RubricateError(f"{where}: a term specification must be a lexicon name, "
                                 "a list of terms or a mapping")
        refs: list[TermRef] = []
        names = list(value.get("lexicons") or [])
        if value.get("lexicon"):
            names.insert(0, value["lexicon"])
        refs.extend(self.lexicon(n, where) for n in names)
        if value.get("terms") or value.get("patterns"):
            refs.append(self.inline(value.get("terms") or (), value.get("patterns") or (), where))
        return merge(*refs)


def merge(*refs: TermRef) -> TermRef:
    """One reference covering all given ones."""
    keys: list[str] = []
    excs: list[str] = []
    for ref in refs:
        keys.extend(k for k in ref.keys if k not in keys)
        excs.extend(k for k in ref.exception_keys if k not in excs)
    return TermRef(tuple(keys), tuple(excs), "+".join(r.label for r in refs if r.label))


def spans_of(found: dict[str, list[tuple[int, int]]], ref: TermRef) -> list[tuple[int, int]]:
    """Longest non-overlapping spans of ``ref`` in a doc, minus those inside an exception."""
    if not ref.keys:
        return []
    raw: list[tuple[int, int]] = []
    for key in ref.keys:
        raw.extend(found.get(key, ()))
    if not raw:
        return []
    if ref.exception_keys:
        blocked = [s for key in ref.exception_keys for s in found.get(key, ())]
        if blocked:
            raw = [s for s in raw if not any(b0 < s[1] and s[0] < b1 for b0, b1 in blocked)]
    if len(raw) == 1:
        return raw
    return longest_first(raw)
