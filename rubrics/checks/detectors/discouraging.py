"""advises_against: the response asks the reader not to do something of a topic.

"I'd advise against driving", "Please don't send anything today", "Hold off on the email",
"Don't take the car out tonight": a discouraging cue followed, in the same clause, by one of
the topic's actions. A negation used to discourage is the finding here, not a reason to
drop it (other detectors drop negated hits; this one looks for them).
"""
from __future__ import annotations

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.rubrics.checks.context import DocContext
from rubricate.rubrics.checks.detectors.base import Detector, Finding
from rubricate.rubrics.checks.matching import MatcherBank


class AdvisesAgainstDetector(Detector):
    """A discouraging cue ("advise against", "please don't", "hold off") before a topic action.

    params: ``actions`` (term spec, required: what is advised against, e.g. drive, car),
    ``cues`` (term spec, default lexicon "discourage_cues"), ``window`` (tokens from the cue
    to the action, default 8; a clause boundary such as a comma or "but" ends it),
    ``questions`` ("skip" by default: "Why don't you drive?" is no advice).
    """

    type = "advises_against"

    def __init__(self, params, bank: MatcherBank, where: str) -> None:
        super().__init__(params, bank, where)
        p = self.params
        if not p.get("actions"):
            raise RubricateError(f"{where}: advises_against needs 'actions'")
        self.actions = bank.spec(p.get("actions"), where + ".actions")
        self.cues = bank.spec(p.get("cues", "discourage_cues"), where + ".cues")
        self.window = p.integer("window", 8, 1)
        self.questions = p.choice("questions", "skip", ("keep", "skip"))

    def detect(self, ctx: DocContext) -> Finding:
        boundaries = ctx.positions(ctx.shared.boundaries)
        actions = ctx.spans(self.actions)
        found = []
        for cue_start, cue_end in ctx.spans(self.cues):
            index = ctx.unit_index(cue_start)
            if self.questions == "skip" and ctx.seg.units[index].question:
                continue
            unit_end = ctx.seg.units[index].end
            for start, end in actions:
                if start < cue_end - 1 or start - cue_end > self.window or start >= unit_end:
                    continue
                if any(i in boundaries for i in range(cue_end, start)):
                    continue
                found.append((cue_start, end))
                break
        spans = [ctx.char_span(s, e) for s, e in found]
        return Finding(bool(found), spans, f"{len(found)} advice against" if found else "no advice against")
