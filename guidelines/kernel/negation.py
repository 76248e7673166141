"""Is a matched term stated, negated or hedged? One cue-scope rule for passages and responses.

A guideline saying "do not hospitalize unless ..." or "X is not recommended" is about the
feature but is not the positive statement, and "may be considered" is weaker than "is
offered"; a response saying "I won't tell you where to buy ..." does not give places. Both
sides ask :func:`governs` whether a cue governs a match, with their own cues, windows and
clause breaks as data (evidence extraction: guidelines/patterns/_settings.yaml; the offline
judge: the negation, clause_boundaries, refusal and contrasts lexicons).

The rule (deliberately simple): a cue governs a match when it lies in the same sentence
(the caller's scope: a spaCy sentence, or a response's unit), within ``window`` tokens before
the match (its last token is one of the ``window`` tokens before it) or, for ``after`` cues,
within ``window`` tokens after it, with no clause break (a comma, ``but``, ``unless`` ...) in
between. A cue overlapping the match belongs to the match itself and is ignored, and so is a
cue covered by a ``pseudo`` pattern ("not only", "not stable"): there the negation attaches
to the next word, not to what follows it (the NegEx notion of pseudo-negation).
"""
from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

from spacy.tokens import Doc, Span

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.matcher import PatternError, TermMatcher

POSITIVE, NEGATED, HEDGED = "positive", "negated", "hedged"
POLARITIES = (POSITIVE, NEGATED, HEDGED)
BEFORE, AFTER = "before", "after"
CUE_PREFIX = "cue:"


def governs(cue_start: int, cue_end: int, start: int, end: int, *, window: int, breaks: Container[int],
            lo: int = 0, hi: int | None = None, side: str = BEFORE) -> bool:
    """Whether a cue at tokens [cue_start, cue_end) governs the match [start, end).

    ``lo``/``hi`` bound the sentence (or unit) both must lie in; ``breaks`` holds the token
    positions of clause breaks; ``window`` counts tokens from the match outwards.
    """
    if cue_start < lo or (hi is not None and cue_end > hi):
        return False
    if cue_start < end and cue_end > start:
        return False  # overlapping the match: part of the matched words
    if side == BEFORE:
        return cue_end <= start and start - cue_end < window and \
            not any(i in breaks for i in range(cue_end, start))
    return cue_start >= end and cue_start - end < window and \
        not any(i in breaks for i in range(end, cue_start))


@dataclass(frozen=True)
class Cue:
    kind: str  # "negation" | "hedging"
    side: str  # "before" | "after"
    start: int  # token indices in the Doc
    end: int
    text: str


@dataclass(frozen=True)
class DocCues:
    """The cues of one doc and the positions of its clause breaks."""

    cues: tuple[Cue, ...]
    breaks: frozenset[int]


@dataclass(frozen=True)
class CueRules:
    """Cue windows and clause breakers; the cue patterns live in the caller's TermMatcher
    (under ``cue:<kind>:<side>`` keys) so one matcher pass finds terms and cues alike."""

    windows: dict[str, int]  # kind -> window in tokens
    breakers: frozenset[str]

    def find(self, doc: Doc, hits: list[tuple[str, int, int]]) -> DocCues:
        """The cues among a doc's matcher ``hits``, minus those inside a pseudo cue."""
        cues, pseudo = [], []
        for key, start, end in sorted(h for h in hits if h[0].startswith(CUE_PREFIX)):
            _, kind, side = key.split(":")
            (pseudo if side == "pseudo" else cues).append(Cue(kind, side, start, end, doc[start:end].text))
        kept = tuple(sorted((c for c in cues
                             if not any(p.kind == c.kind and p.start <= c.start and c.end <= p.end for p in pseudo)),
                            key=lambda c: (c.start, c.end)))
        breaks = frozenset(t.i for t in doc if t.lower_ in self.breakers) if kept else frozenset()
        return DocCues(kept, breaks)


def is_cue(key: str) -> bool:
    return key.startswith(CUE_PREFIX)


def add_cues(matcher: TermMatcher, settings: dict, path: str) -> CueRules:
    """Register the negation and hedging cue patterns of ``settings`` in ``matcher``."""
    windows: dict[str, int] = {}
    for kind in ("negation", "hedging"):
        spec = settings.get(kind) or {}
        windows[kind] = int(spec.get("window", 6))
        for side in (BEFORE, AFTER, "pseudo"):
            try:
                matcher.add_patterns(f"{CUE_PREFIX}{kind}:{side}", spec.get(side) or [])
            except PatternError as exc:
                raise RubricateError(f"bad {kind} {side} cue pattern: {exc}", path=path) from None
    breakers = frozenset(str(b).lower() for b in settings.get("scope_breakers") or [])
    return CueRules(windows, breakers)


def polarity(span: Span, found: DocCues, rules: CueRules) -> tuple[str, str | None]:
    """(polarity, cue text) of a matched span: negation wins over hedging."""
    sent = span.sent
    for kind, label in (("negation", NEGATED), ("hedging", HEDGED)):
        for cue in found.cues:
            if cue.kind == kind and governs(cue.start, cue.end, span.start, span.end, window=rules.windows[kind],
                                            breaks=found.breaks, lo=sent.start, hi=sent.end, side=cue.side):
                return label, cue.text
    return POSITIVE, None
