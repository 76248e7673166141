"""The one text matcher: terms and token patterns under string keys, matched on folded words.

Evidence extraction (guideline passages) and the offline judge (responses) both find their
words through this class, so a term written once matches the same text the same way on both
sides: every token is folded by kernel.normalize (lower case, one apostrophe, lookup lemma:
"Visits" and "visit", "don’t" and "don't" match alike), a term also matches its hyphenated or
spaced form ("face to face" / "face-to-face" / "face–to–face"), and pattern values under
``LEMMA`` (or ``NORM``) are folded the way the text is. A term can instead be matched on its
lower-cased word forms (``form=True``: "housing" is then not "house").

Plain patterns (one LEMMA word or IN-list per token, optional tokens at most) expand into
word sequences for the PhraseMatcher, which is much cheaper than the Matcher. ``match``
returns every hit, overlapping ones included; callers pick (``longest_first``) or score.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

import numpy
from spacy.attrs import NORM
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

from rubricate.guidelines.kernel.lexicons import PatternError, check_words
from rubricate.guidelines.kernel.normalize import Normalizer, fold

__all__ = ["PatternError", "TermMatcher", "check_words", "fold_pattern", "longest_first", "pattern_problem",
           "phrase_expansion", "variants"]

# Token-pattern keys that take folded words (LEMMA is rewritten to NORM).
FOLDED_KEYS = ("LEMMA", "NORM")
# Keys whose values are words, checked for YAML booleans.
_WORD_KEYS = ("LEMMA", "NORM", "LOWER", "ORTH", "TEXT")
# A plain pattern expanding to at most this many word sequences goes to the PhraseMatcher.
MAX_PHRASE_EXPANSION = 512
# Hyphen-like joiners between two words of a term ("self-harm", "self–harm").
_JOINERS = ("-", "–")
_JOINED = re.compile(r"(?<=\w)\s*[-–]\s*(?=\w)")


def variants(term: str) -> set[str]:
    """The spellings a term stands for: "face to face" also "face-to-face" and "face–to–face",
    "in-home" also "in home" (up to four words are joined; spaces inside a term are collapsed)."""
    term = " ".join(str(term).split())
    out = {term}
    spaced = " ".join(_JOINED.sub(" ", term).split())
    words = spaced.split(" ")
    if spaced != term:
        out.add(spaced)
    if 1 < len(words) <= 4 or spaced != term:
        out.update(joiner.join(words) for joiner in _JOINERS)
    return {v for v in out if v.strip()}


def _fold_value(value):
    if isinstance(value, str):
        return fold(value)
    if isinstance(value, dict):
        return {op: [fold(v) if isinstance(v, str) else v for v in vals] if isinstance(vals, list)
                else vals for op, vals in value.items()}
    return value


def fold_pattern(pattern) -> list[dict]:
    """A token pattern with LEMMA/NORM values folded the same way as the text (under NORM) and
    LOWER values lower-cased; raises PatternError on a malformed one."""
    if not isinstance(pattern, (list, tuple)):
        raise PatternError(f"a token pattern must be a list of mappings, got {pattern!r}")
    out = []
    for token in pattern:
        if not isinstance(token, dict):
            raise PatternError(f"token pattern items must be mappings, got {token!r}")
        spec = {}
        for key, value in token.items():
            upper = key.upper() if isinstance(key, str) else key
            if upper in _WORD_KEYS:
                check_words(value.get("IN", []) + value.get("NOT_IN", []) if isinstance(value, dict) else [value],
                            f"{upper} value")
            if upper in FOLDED_KEYS:
                spec["NORM"] = _fold_value(value)
            elif upper == "LOWER":
                spec["LOWER"] = value.lower() if isinstance(value, str) else value
            else:
                spec[key] = value
        out.append(spec)
    return out


def phrase_expansion(pattern) -> list[tuple[str, ...]] | None:
    """The folded word sequences a plain pattern matches, or None if it is not plain.

    Plain means every token has one LEMMA/NORM key with a string or an {"IN": [...]} list
    of strings, and at most an "OP": "?".
    """
    choices: list[list[str | None]] = []
    for token in pattern:
        if not isinstance(token, dict):
            return None
        keys = {str(k).upper(): v for k, v in token.items()}
        op = keys.pop("OP", None)
        if op not in (None, "?") or len(keys) != 1:
            return None
        (key, value), = keys.items()
        if key not in FOLDED_KEYS:
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


def longest_first(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Non-overlapping spans, preferring longer then earlier ones (like spacy's filter_spans)."""
    taken: list[tuple[int, int]] = []
    for start, end in sorted(set(spans), key=lambda s: (s[0] - s[1], s[0])):
        if all(end <= a or start >= b for a, b in taken):
            taken.append((start, end))
    return sorted(taken)


class TermMatcher:
    """Collects terms and patterns under string keys; matches a (normalised) doc once for all."""

    def __init__(self, nlp: Language) -> None:
        self.nlp = nlp
        self.normalize = Normalizer()
        self.phrases = PhraseMatcher(nlp.vocab, attr="NORM")
        self.forms = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.tokens = Matcher(nlp.vocab, validate=True)

    def add_terms(self, key: str, terms: Iterable[str], form: bool = False) -> None:
        """Terms (each with its spellings, see ``variants``) on folded words, or on lower-cased
        word forms when ``form``."""
        spellings = [v for t in terms for v in sorted(variants(t))]
        docs = [self.normalize(self.nlp.make_doc(v)) for v in spellings]
        docs = [d for d in docs if len(d)]
        if docs:
            (self.forms if form else self.phrases).add(key, docs)

    def _add_sequences(self, key: str, sequences: list[tuple[str, ...]]) -> None:
        docs = []
        strings = self.nlp.vocab.strings
        for words in sequences:  # NORM written as one array, not through a Token object per word
            doc = Doc(self.nlp.vocab, words=list(words))
            doc.from_array([NORM], numpy.asarray([strings.add(w) for w in words], dtype="uint64").reshape(-1, 1))
            docs.append(doc)
        if docs:
            self.phrases.add(key, docs)

    def add_patterns(self, key: str, patterns: Iterable, greedy: str | None = None) -> None:
        """Token patterns (LEMMA values folded); plain ones run in the PhraseMatcher.
        Raises PatternError naming spaCy's complaint in one line."""
        rest = []
        for pattern in patterns:
            sequences = phrase_expansion(list(pattern)) if greedy is None and isinstance(pattern, (list, tuple)) \
                else None
            if sequences is None:
                rest.append(fold_pattern(pattern))
            else:
                self._add_sequences(key, sequences)
        if not rest:
            return
        try:
            self.tokens.add(key, rest, greedy=greedy)
        except (ValueError, TypeError, KeyError) as exc:
            raise PatternError(pattern_problem(exc)) from None

    def hits(self, doc: Doc) -> list[tuple[str, int, int]]:
        """(key, start, end) of every hit in a normalised doc: phrases, word forms, then patterns."""
        strings = self.nlp.vocab.strings
        return [(strings[match_id], start, end)
                for m in (self.phrases, self.forms, self.tokens) if len(m)
                for match_id, start, end in m(doc)]

    def match(self, doc: Doc) -> dict[str, list[tuple[int, int]]]:
        """All spans per key for one (already normalised) doc."""
        found: dict[str, list[tuple[int, int]]] = {}
        for key, start, end in self.hits(doc):
            found.setdefault(key, []).append((start, end))
        return found


def pattern_problem(exc: Exception) -> str:
    """spaCy's multi-line pattern error as one short line."""
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip())[:300]
