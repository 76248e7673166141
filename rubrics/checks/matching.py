"""One PhraseMatcher and one Matcher per rubric, holding every term and pattern of its checks.

Detectors register what they look for while a rubric is compiled and get back a ``TermRef``
(the match keys it was stored under). Each response is matched once; detectors then read
the spans of their keys. Identical lexicons are registered once however many checks use them.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass

from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.lexicons import load_lexicon
from rubricate.guidelines.kernel.normalize import Normalizer, fold

# Token-pattern keys that take case-folded lemmas (LEMMA is rewritten to NORM).
_FOLDED_KEYS = ("LEMMA", "NORM")
# A plain pattern expanding to at most this many word sequences goes to the PhraseMatcher.
MAX_PHRASE_EXPANSION = 512


@dataclass(frozen=True)
class TermRef:
    """Match keys of one term specification (a lexicon, inline terms or inline patterns)."""

    keys: tuple[str, ...]
    exception_keys: tuple[str, ...] = ()
    label: str = ""

    def __bool__(self) -> bool:
        return bool(self.keys)


EMPTY = TermRef(())


def _fold_value(value):
    if isinstance(value, str):
        return fold(value)
    if isinstance(value, dict):
        return {op: [fold(v) if isinstance(v, str) else v for v in vals] if isinstance(vals, list)
                else vals for op, vals in value.items()}
    return value


def fold_pattern(pattern: list[dict]) -> list[dict]:
    """A token pattern with LEMMA/NORM values folded the same way as the text."""
    out = []
    for token in pattern:
        spec = {}
        for key, value in token.items():
            upper = key.upper() if isinstance(key, str) else key
            if upper in _FOLDED_KEYS:
                spec["NORM"] = _fold_value(value)
            elif upper == "LOWER":
                spec["LOWER"] = value.lower() if isinstance(value, str) else value
            else:
                spec[key] = value
        out.append(spec)
    return out


def phrase_expansion(pattern: list[dict]) -> list[tuple[str, ...]] | None:
    """The folded word sequences a plain pattern matches, or None if it is not plain.

    Plain means every token has one LEMMA/NORM key with a string or an {"IN": [...]} list
    of strings, and at most an "OP": "?". Such patterns run in the (much cheaper)
    PhraseMatcher; everything else stays in the Matcher.
    """
    choices: list[list[str | None]] = []
    for token in pattern:
        keys = {str(k).upper(): v for k, v in token.items()}
        op = keys.pop("OP", None)
        if op not in (None, "?") or len(keys) != 1:
            return None
        (key, value), = keys.items()
        if key not in _FOLDED_KEYS:
            return None
        if isinstance(value, str):
            words = [value]
        elif isinstance(value, dict) and set(value) == {"IN"} and isinstance(value["IN"], list) \
                and all(isinstance(v, str) for v in value["IN"]):
            words = list(value["IN"])
        else:
            return None
        words = [fold(w) for w in words]
        choices.append(words + [None] if op == "?" else words)
    total = 1
    for c in choices:
        total *= len(c)
    if total > MAX_PHRASE_EXPANSION:
        return None
    out = {tuple(w for w in combo if w is not None) for combo in itertools.product(*choices)}
    return sorted(seq for seq in out if seq)


class MatcherBank:
    """Collects terms and patterns under string keys; matches a doc once for all of them."""

    def __init__(self, nlp: Language) -> None:
        self.nlp = nlp
        self.normalize = Normalizer()
        self.phrases = PhraseMatcher(nlp.vocab, attr="NORM")
        self.tokens = Matcher(nlp.vocab, validate=True)
        self._registered: set[str] = set()

    # ---- registration --------------------------------------------------------------------

    def _add_terms(self, key: str, terms: tuple[str, ...] | list[str]) -> None:
        docs = [self.normalize(self.nlp.make_doc(t)) for t in terms]
        docs = [d for d in docs if len(d)]
        if docs:
            self.phrases.add(key, docs)

    def _add_sequences(self, key: str, sequences: list[tuple[str, ...]]) -> None:
        docs = []
        for words in sequences:
            doc = Doc(self.nlp.vocab, words=list(words))
            for token, word in zip(doc, words):
                token.norm_ = word
            docs.append(doc)
        if docs:
            self.phrases.add(key, docs)

    def _add_patterns(self, key: str, patterns, where: str, greedy: str | None = None) -> None:
        rest = []
        for pattern in patterns:
            sequences = phrase_expansion(list(pattern)) if greedy is None else None
            if sequences is None:
                rest.append(pattern)
            else:
                self._add_sequences(key, sequences)
        if not rest:
            return
        try:
            self.tokens.add(key, [fold_pattern(list(p)) for p in rest], greedy=greedy)
        except (ValueError, TypeError, KeyError) as exc:
            message = " ".join(str(exc).split())[:300]
            raise RubricateError(f"{where}: invalid token pattern: {message}") from None

    def lexicon(self, name: str, where: str = "") -> TermRef:
        """Register the named lexicon (once) and return its keys."""
        key = f"lex:{name}"
        lex = load_lexicon(name)
        exc_key = f"{key}:except"
        if key not in self._registered:
            self._registered.add(key)
            if lex.terms:
                self._add_terms(key, lex.terms)
            if lex.patterns:
                self._add_patterns(key, lex.patterns, where or f"lexicon {name}")
            if lex.exceptions:
                self._add_terms(exc_key, lex.exceptions)
        return TermRef((key,), (exc_key,) if lex.exceptions else (), name)

    def inline(self, terms=(), patterns=(), where: str = "", greedy: str | None = None) -> TermRef:
        """Register inline terms/patterns under a content-derived key."""
        blob = json.dumps([list(terms), [list(p) for p in patterns], greedy], sort_keys=True)
        key = "inline:" + hashlib.sha1(blob.encode()).hexdigest()[:16]
        if key not in self._registered:
            self._registered.add(key)
            if terms:
                self._add_terms(key, tuple(terms))
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

    # ---- matching ------------------------------------------------------------------------

    def match(self, doc: Doc) -> dict[str, list[tuple[int, int]]]:
        """All spans per key for one (already normalised) doc."""
        found: dict[str, list[tuple[int, int]]] = {}
        strings = self.nlp.vocab.strings
        if len(self.phrases):
            for match_id, start, end in self.phrases(doc):
                found.setdefault(strings[match_id], []).append((start, end))
        if len(self.tokens):
            for match_id, start, end in self.tokens(doc):
                found.setdefault(strings[match_id], []).append((start, end))
        return found


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


def longest_first(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Non-overlapping spans, preferring longer then earlier ones (like spacy's filter_spans)."""
    taken: list[tuple[int, int]] = []
    for start, end in sorted(set(spans), key=lambda s: (s[0] - s[1], s[0])):
        if all(end <= a or start >= b for a, b in taken):
            taken.append((start, end))
    return sorted(taken)
