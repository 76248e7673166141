"""Detectors of therapeutic moves: referral to support, and reality testing of a belief."""
from __future__ import annotations

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.rubrics.checks.context import DocContext
from rubricate.rubrics.checks.detectors.base import Detector, Finding, HitFilter, finding_from_hits
from rubricate.guidelines.kernel.lexicons import find_lexicon
from rubricate.rubrics.checks.matching import MatcherBank, merge

REFERRAL_GROUPS = ("professional", "crisis", "trusted_person", "spiritual", "authority", "general")
REALITY_ASPECTS = ("challenge", "alternative", "evidence", "symptom", "perception", "exploration")
#: Aspects whose cues count only inside a question ("What makes you think it's gas?").
QUESTION_ASPECTS = ("exploration",)
DEFAULT_ASPECTS = ("challenge", "alternative", "evidence", "symptom")
#: Words in -ing after a helper that describe the helper rather than what the helper does.
ADJECTIVES_IN_ING = frozenset({"willing", "caring", "loving", "understanding", "trusting", "supporting",
                               "working", "specializing", "specialising", "according"})


class ReferralDetector(Detector):
    """Recommends turning to someone: a professional, a crisis line, a trusted person, ...

    params: ``who`` (list of groups; each group is the lexicon ``referral_<group>`` of
    helpers, plus ``referral_<group>_direct`` of phrases that are a referral on their own,
    such as "professional help"); ``actions`` (term spec of referral verbs, default lexicon
    "referral_actions"); and the common hit filters. A helper counts when its unit also
    holds a referral verb ("talk to", "reach out", "consider seeing") and it is not negated.
    """

    type = "referral"

    def __init__(self, params, bank: MatcherBank, where: str) -> None:
        super().__init__(params, bank, where)
        who = self.params.strings("who", REFERRAL_GROUPS)
        if not who:
            raise RubricateError(f"{where}: referral needs at least one 'who' group")
        helpers, direct = [], []
        for group in who:
            if find_lexicon(f"referral_{group}") is None:
                raise RubricateError(f"{where}: unknown referral group {group!r} "
                                     f"(no lexicon referral_{group}.yaml)")
            helpers.append(bank.lexicon(f"referral_{group}", where))
            if find_lexicon(f"referral_{group}_direct") is not None:
                direct.append(bank.lexicon(f"referral_{group}_direct", where))
        self.who = who
        self.helpers = merge(*helpers)
        self.direct = merge(*direct) if direct else None
        self.actions = bank.spec(self.params.get("actions", "referral_actions"), where + ".actions")
        self.filter = HitFilter.from_params(self.params, bank)

    def detect(self, ctx: DocContext) -> Finding:
        with_action = ctx.units_with(self.actions)
        doc = ctx.doc
        # a helper doing something ("like someone speaking out loud", "someone following you")
        # is who acts in a description, not whom the client is sent to
        helpers = [(s, e) for s, e in ctx.spans(self.helpers)
                   if not (e < len(doc) and doc[e].lower_.endswith("ing") and doc[e].lower_ not in ADJECTIVES_IN_ING)]
        spans = [s for s in helpers if ctx.unit_index(s[0]) in with_action]
        unasked = len(helpers) - len(spans)  # a helper named without a referral verb: a near miss
        if self.direct is not None:
            spans = sorted(set(spans) | set(ctx.spans(self.direct)))
        hits, dropped = self.filter.screen(ctx, spans)
        return finding_from_hits(ctx, hits, self.filter.enough(ctx, hits), "referral(s)", self.filter,
                                 dropped + unasked)


class RealityTestingDetector(Detector):
    """Questions or gently challenges a belief, or offers another explanation for it.

    params: ``aspects`` (any of challenge — states it is not so; alternative — offers
    another explanation; evidence — asks what the belief rests on; symptom — frames the
    experience as a symptom; perception — reflects it back as the client's feeling ("you
    feel like ..."); exploration — an open question inviting the client to look at what the
    belief rests on ("What makes you think it's gas?", "Has anyone else smelled it?"),
    counted only in questions; default all but perception and exploration; each is the lexicon ``reality_<aspect>``),
    ``extra`` (a term spec added to the aspects), and the common hit filters.
    """

    type = "reality_testing"

    def __init__(self, params, bank: MatcherBank, where: str) -> None:
        super().__init__(params, bank, where)
        aspects = self.params.strings("aspects", DEFAULT_ASPECTS)
        unknown = [a for a in aspects if a not in REALITY_ASPECTS]
        if unknown or not aspects:
            raise RubricateError(f"{where}: aspects must be a non-empty list of "
                                 f"{', '.join(REALITY_ASPECTS)}")
        refs = [bank.lexicon(f"reality_{a}", where) for a in aspects if a not in QUESTION_ASPECTS]
        if self.params.get("extra"):
            refs.append(bank.spec(self.params.get("extra"), where + ".extra"))
        self.ref = merge(*refs) if refs else None
        asked = [bank.lexicon(f"reality_{a}", where) for a in aspects if a in QUESTION_ASPECTS]
        self.asked = merge(*asked) if asked else None
        self.filter = HitFilter.from_params(self.params, bank)

    def detect(self, ctx: DocContext) -> Finding:
        spans = list(ctx.spans(self.ref)) if self.ref is not None else []
        if self.asked is not None:
            units = ctx.seg.units
            spans += [s for s in ctx.spans(self.asked) if units[ctx.unit_index(s[0])].question]
        hits, dropped = self.filter.screen(ctx, sorted(spans))
        return finding_from_hits(ctx, hits, self.filter.enough(ctx, hits), "reality-testing cue(s)",
                                 self.filter, dropped)
