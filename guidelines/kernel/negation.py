"""Is a matched term stated, negated or hedged? Cue scopes over spaCy tokens.

A guideline saying "do not hospitalize unless ..." or "X is not recommended" is about the
feature but is not the positive statement, and "may be considered" is weaker than "is
offered": the reviewer must see the difference. Cues are spaCy Matcher token patterns read
from rubricate.guidelines/patterns/_settings.yaml (``negation`` and ``hedging``), so researchers can
edit them. Scope rule (deliberately simple and documented there): a cue governs a match when
it is in the same sentence, within ``window`` tokens before the match (or, for ``after``
cues, right after it), with no scope breaker (a comma, ``but``, ``unless`` ...) in between.
A cue inside the matched span belongs to the pattern itself and is ignored, and so is a cue
covered by a ``pseudo`` pattern ("not only", "not stable"): there the negation attaches to
the next word, not to what follows it (the NegEx notion of pseudo-negation).
"""
from __future__ import annotations

from dataclasses import dataclass

from spacy.matcher import Matcher
from spacy.tokens import Doc, Span

from rubricate.guidelines.kernel.errors import RubricateError

POSITIVE, NEGATED, HEDGED = "positive", "negated", "hedged"
POLARITIES = (POSITIVE, NEGATED, HEDGED)


@dataclass(frozen=True)
class Cue:
    kind: str  # "negation" | "hedging"
    side: str  # "before" | "after"
    start: int  # token indices in the Doc
    end: int
    text: str


@dataclass(frozen=True)
class CueRules:
    """Compiled cue patterns plus their windows; build once with :func:`compile_cues`."""

    matcher: Matcher
    windows: dict[str, int]  # kind -> window in tokens
    breakers: frozenset[str]

    def find(self, doc: Doc) -> list[Cue]:
        cues, pseudo = [], []
        for key, start, end in self.matcher(doc):
            kind, side = doc.vocab.strings[key].split(":")
            (pseudo if side == "pseudo" else cues).append(Cue(kind, side, start, end, doc[start:end].text))
        return [c for c in cues
                if not any(p.kind == c.kind and p.start <= c.start and c.end <= p.end for p in pseudo)]


def compile_cues(settings: dict, vocab, normalize, path: str) -> CueRules:
    """``normalize`` maps a LEMMA value written by a researcher to the lemma the tokens carry."""
    matcher = Matcher(vocab)
    windows: dict[str, int] = {}
    for kind in ("negation", "hedging"):
        spec = settings.get(kind) or {}
        windows[kind] = int(spec.get("window", 5))
        for side in ("before", "after", "pseudo"):
            try:
                pats = [normalize(p) for p in spec.get(side) or []]
                if pats:
                    matcher.add(f"{kind}:{side}", pats)
            except (ValueError, TypeError) as exc:
                raise RubricateError(f"bad {kind} {side} cue pattern: {pattern_problem(exc)}", path=path) from None
    breakers = frozenset(str(b).lower() for b in settings.get("scope_breakers") or [])
    return CueRules(matcher, windows, breakers)


def pattern_problem(exc: Exception) -> str:
    """spaCy's multi-line pattern error as one short line."""
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip())[:300]


def _clear(doc: Doc, start: int, end: int, breakers: frozenset[str]) -> bool:
    """No scope breaker between token ``start`` (inclusive) and ``end`` (exclusive)."""
    return not any(doc[i].lower_ in breakers for i in range(start, end))


def _governs(cue: Cue, span: Span, window: int, breakers: frozenset[str]) -> bool:
    doc, sent = span.doc, span.sent
    if cue.start < sent.start or cue.end > sent.end:
        return False
    if cue.start < span.end and cue.end > span.start:
        return False  # inside the match: part of the pattern
    if cue.side == "before":
        return cue.end <= span.start and span.start - cue.end <= window and \
            _clear(doc, cue.end, span.start, breakers)
    return cue.start >= span.end and cue.start - span.end <= window and \
        _clear(doc, span.end, cue.start, breakers)


def polarity(span: Span, cues: list[Cue], rules: CueRules) -> tuple[str, str | None]:
    """(polarity, cue text) of a matched span: negation wins over hedging."""
    for kind, label in (("negation", NEGATED), ("hedging", HEDGED)):
        for cue in cues:
            if cue.kind == kind and _governs(cue, span, rules.windows[kind], rules.breakers):
                return label, cue.text
    return POSITIVE, None
