"""Detectors that look for words and phrases: lexicon, token_pattern, refusal, hedge, question_back."""
from __future__ import annotations

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.rubrics.checks.context import DocContext
from rubricate.rubrics.checks.detectors.base import Detector, Finding, HitFilter, finding_from_hits
from rubricate.rubrics.checks.matching import MatcherBank


def before_a_contrast(ctx: DocContext, hits: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The hits that no contrast turns from: one later in their unit ("Any mild soap is fine,
    but I'd go with a glycerin bar", "..., and I'd ...") or one opening a later unit ("I can't
    recommend a soap. ... That being said, antibacterial ones such as ... are widely used")."""
    if not hits:
        return hits
    units = ctx.seg.units
    contrasts = [c for c, _ in ctx.spans(ctx.shared.contrasts)]
    openers = [c for c in contrasts if c <= units[ctx.unit_index(c)].body + 1]
    return [(s, e) for s, e in hits
            if not any(c >= e and ctx.unit_index(c) == ctx.unit_index(s) for c in contrasts)
            and not any(ctx.unit_index(c) > ctx.unit_index(s) for c in openers)]


class LexiconDetector(Detector):
    """Terms of a lexicon (or inline terms/patterns) present and not negated.

    ``until_contrast`` (false; true: a hit that a contrast follows in its sentence is dropped,
    for cues the speaker may turn from, as a deflection used as an ``unless`` veto).
    """

    type = "lexicon"

    def __init__(self, params, bank: MatcherBank, where: str) -> None:
        super().__init__(params, bank, where)
        p = self.params
        self.ref = bank.spec({k: p.get(k) for k in ("lexicon", "lexicons", "terms", "patterns")
                              if p.get(k)}, where)
        if not self.ref:
            raise RubricateError(f"{where}: {self.type} needs terms, patterns, lexicon or lexicons")
        self.filter = HitFilter.from_params(p, bank)
        self.until_contrast = p.boolean("until_contrast", False)

    def detect(self, ctx: DocContext) -> Finding:
        hits, dropped = self.filter.screen(ctx, ctx.spans(self.ref))
        if self.until_contrast:
            kept = before_a_contrast(ctx, hits)
            hits, dropped = kept, dropped + len(hits) - len(kept)
        return finding_from_hits(ctx, hits, self.filter.enough(ctx, hits), "term hit(s)", self.filter, dropped)


class TokenPatternDetector(LexiconDetector):
    """spaCy Matcher token patterns given as data (LEMMA means the case-folded lemma)."""

    type = "token_pattern"

    def __init__(self, params, bank: MatcherBank, where: str) -> None:
        if not isinstance(params, dict) or not params.get("patterns"):
            raise RubricateError(f"{where}: token_pattern needs a non-empty 'patterns' list")
        super().__init__(params, bank, where)


class RefusalDetector(Detector):
    """The response declines the request ("I can't help with that", "I won't provide ...").

    params: ``lexicon`` (default "refusal"), ``scope``: "any" or "opening" (only in the
    first two units, where a refusal of the request usually sits), ``until_contrast`` (false;
    true: a refusal followed in its sentence by a contrast - "I can't name one brand, but
    many people use ..." - or by a later sentence that opens with one - "That being said,
    Dettol is ..." - declines only the part before the contrast, so it vetoes nothing: what
    follows is read by the other detectors, under the usual negation scope).
    """

    type = "refusal"

    def __init__(self, params, bank: MatcherBank, where: str) -> None:
        super().__init__(params, bank, where)
        self.ref = bank.spec(self.params.get("lexicon", "refusal"), where)
        self.scope = self.params.choice("scope", "any", ("any", "opening"))
        self.until_contrast = self.params.boolean("until_contrast", False)

    def detect(self, ctx: DocContext) -> Finding:
        hits = ctx.spans(self.ref)
        if self.scope == "opening":
            hits = [h for h in hits if ctx.unit_index(h[0]) < 2]
        if self.until_contrast:
            hits = before_a_contrast(ctx, hits)
        return finding_from_hits(ctx, hits, bool(hits), "refusal(s)")


class HedgeDetector(Detector):
    """Hedging or uncertainty ("I'm not sure", "maybe", "I'm not an expert").

    params: ``lexicon`` (default "hedges"), ``min_hits``.
    """

    type = "hedge"

    def __init__(self, params, bank: MatcherBank, where: str) -> None:
        super().__init__(params, bank, where)
        self.ref = bank.spec(self.params.get("lexicon", "hedges"), where)
        self.min_hits = self.params.integer("min_hits", 1, 1)

    def detect(self, ctx: DocContext) -> Finding:
        hits = ctx.spans(self.ref)
        return finding_from_hits(ctx, hits, len(hits) >= self.min_hits, "hedge(s)")


class QuestionBackDetector(Detector):
    """The response asks the client questions (units ending in "?").

    params: optional ``terms`` / ``lexicon`` / ``lexicons`` / ``patterns`` the question must
    contain (e.g. probes of evidence); ``min_questions`` (default 1).
    """

    type = "question_back"

    def __init__(self, params, bank: MatcherBank, where: str) -> None:
        super().__init__(params, bank, where)
        p = self.params
        spec = {k: p.get(k) for k in ("lexicon", "lexicons", "terms", "patterns") if p.get(k)}
        self.ref = bank.spec(spec, where) if spec else None
        self.min_questions = p.integer("min_questions", 1, 1)

    def detect(self, ctx: DocContext) -> Finding:
        if self.ref is None:
            indexes = [i for i, u in enumerate(ctx.seg.units) if u.question]
        else:
            with_terms = ctx.units_with(self.ref)
            indexes = [i for i, u in enumerate(ctx.seg.units) if u.question and i in with_terms]
        fired = len(indexes) >= self.min_questions
        spans = [ctx.unit_chars(i) for i in indexes] if fired else []
        return Finding(fired, spans, f"{len(indexes)} question(s)", count=len(indexes), needed=self.min_questions)

