"""Detectors of how-to content: instruction_giving (directive steps about a topic), enumeration."""
from __future__ import annotations

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.rubrics.checks.context import DocContext
from rubricate.rubrics.checks.detectors.base import Detector, Finding, HitFilter
from rubricate.rubrics.checks.matching import MatcherBank, merge
from rubricate.rubrics.checks.units import is_pictograph

#: Helpers whose referral frames the topic as its subject ("Talk to your psychiatrist before
#: you reduce the dose" is a safety referral, not a tapering step).
REFERRAL_FRAME_GROUPS = ("professional", "crisis", "trusted_person")

# A colon this close to the start of a unit ends a heading ("**Sort by colour**: Start ...").
HEADING_REACH = 12
# Punctuation after which an imperative opens a further clause of a step ("..., then rinse").
CLAUSE_BREAKS = (",", ";", ":", "-", "–", "—")


def _first_word(ctx: DocContext, t: int, end: int) -> int:
    """The first token from ``t`` that can open a step: past sequence markers ("first", "in the
    meantime"), punctuation, spaces and pictographs ("1. 📹 Set up ...")."""
    skip = ctx.positions(ctx.shared.sequence)
    doc = ctx.doc
    while t < end and (t in skip or doc[t].is_punct or doc[t].is_space or is_pictograph(doc[t].text)):
        t += 1
    return t


class InstructionGivingDetector(Detector):
    """Gives concrete how-to steps, options or places about a topic.

    A *step* is a unit (sentence or list item) that mentions the ``topic`` (not negated,
    not a question by default), also mentions one of the ``actions`` if those are given,
    and is directive: a list item, a unit with a directive cue ("you can", "start by",
    "try", "I'd suggest"), a unit that gives the content indirectly ("hypothetically",
    "some people use", "holds best": lexicon "indirect_advice") or a unit opening with an
    imperative verb ("Sort them by colour.", also after a leading condition: "If you must,
    group them by colour."). A list introduced by an intro cue ("here are
    some steps to ...") in a unit that names the topic, or right after one, counts item by
    item even if the items do not repeat the topic. A step written as one sentence of several
    imperative clauses ("Wet your hands, lather for twenty seconds, then rinse and dry": it
    opens with an imperative, or holds two more) counts each clause that opens with an
    imperative verb after a comma, semicolon, colon, dash or "then" (when ``min_steps`` is
    above 1); one such clause makes a sentence directive ("Pile them up, then sort by colour").
    The detector fires at ``min_steps`` steps (default 1); items of one list entry count once.

    params: ``topic`` (term spec, required), ``actions`` (term spec), ``directive``
    ("required" | "any", default required), ``directive_cues`` (term spec, default lexicon
    "directive_cues"), ``indirect_cues`` (term spec, default lexicon "indirect_advice"),
    ``indirect`` (true; false counts no indirect advice), ``imperatives`` (term spec of
    verbs that make an imperative opening;
    default the actions plus lexicon "imperative_verbs"), ``intros`` (term spec, default
    lexicon "instruction_intros"), ``min_steps``, ``referral_frame`` (true: a unit whose
    topic only follows a referral, "talk to your doctor before you reduce the dose", is a
    safety referral, not a step), and the common hit filters (questions and framed
    default "skip").
    """

    type = "instruction_giving"

    def __init__(self, params, bank: MatcherBank, where: str) -> None:
        super().__init__(params, bank, where)
        p = self.params
        if not p.get("topic"):
            raise RubricateError(f"{where}: instruction_giving needs a 'topic'")
        self.topic = bank.spec(p.get("topic"), where + ".topic")
        self.actions = bank.spec(p.get("actions"), where + ".actions")
        self.directive = p.choice("directive", "required", ("required", "any"))
        self.cues = bank.spec(p.get("directive_cues", "directive_cues"), where + ".directive_cues")
        self.indirect = (bank.spec(p.get("indirect_cues", "indirect_advice"), where + ".indirect_cues")
                         if p.boolean("indirect", True) else None)
        imperatives = bank.spec(p.get("imperatives", "imperative_verbs"), where + ".imperatives")
        self.imperatives = merge(imperatives, self.actions) if self.actions else imperatives
        self.intros = bank.spec(p.get("intros", "instruction_intros"), where + ".intros")
        self.min_steps = p.integer("min_steps", 1, 1)
        self.filter = HitFilter.from_params(p, bank, questions="skip", framed="skip")
        self.referral_frame = p.boolean("referral_frame", True)
        if self.referral_frame:
            self.helpers = merge(*(bank.lexicon(f"referral_{g}", where) for g in REFERRAL_FRAME_GROUPS))
            self.referral_actions = bank.lexicon("referral_actions", where)
            self.breaks = merge(bank.lexicon("clause_boundaries", where), bank.lexicon("step_breaks", where))
            self.commas = bank.lexicon("clause_boundaries", where)
        self.conditions = bank.lexicon("condition_openers", where)

    # ---- helpers -----------------------------------------------------------------------

    def _units_with_hits(self, ctx: DocContext, ref) -> set[int]:
        return {ctx.unit_index(s) for s, _ in self.filter.hits(ctx, ctx.spans(ref))}

    def _topic_units(self, ctx: DocContext) -> tuple[set[int], int]:
        """Units mentioning the topic (filtered), and how many topic hits the filters dropped."""
        kept, dropped = self.filter.screen(ctx, ctx.spans(self.topic))
        return {ctx.unit_index(s) for s, _ in kept}, dropped

    def _imperative_openings(self, ctx: DocContext) -> set[int]:
        """Units opening with an imperative verb, also right after a "Heading:" colon."""
        starts = {s for s, _ in ctx.spans(self.imperatives)}
        if not starts:
            return set()
        conditional = {s for s, _ in ctx.spans(self.conditions)}
        doc = ctx.doc
        out = set()
        for index, unit in enumerate(ctx.seg.units):
            openings = [unit.body]
            for t in range(unit.body, min(unit.end, unit.body + HEADING_REACH)):
                if doc[t].text == ":":
                    openings.append(t + 1)
                    break
            if unit.body in conditional:  # "If you must do it now, just group them by colour."
                comma = next((t for t in range(unit.body, unit.end) if doc[t].text == ","), None)
                if comma is not None:
                    openings.append(comma + 1)
            for t in openings:
                t = _first_word(ctx, t, unit.end)
                if t < unit.end and t in starts and doc[t].lower_ == doc[t].norm_:
                    out.add(index)
                    break
        return out

    def _inline_steps(self, ctx: DocContext, index: int) -> list[int]:
        """Tokens opening a further imperative clause inside a step unit ("..., then rinse")."""
        unit = ctx.seg.units[index]
        doc = ctx.doc
        opening = _first_word(ctx, unit.body, unit.end)  # "In the meantime, try ...": no further clause
        out = []
        for t in sorted({s for s, _ in ctx.spans(self.imperatives) if opening < s < unit.end}):
            k = t - 1  # back over "and then", "then", "and" to the clause break
            while k > unit.body and doc[k].lower_ in ("then", "and", "next", "finally", "just"):
                k -= 1
            opened = doc[k].text in CLAUSE_BREAKS or any(doc[j].lower_ == "then" for j in range(k + 1, t))
            if opened and doc[t].lower_ == doc[t].norm_:
                out.append(t)
        return out

    def _in_leading_condition(self, ctx: DocContext, index: int, token: int, helper: int) -> bool:
        """The token sits in a condition that opens the unit ("If you keep washing, ...") and
        the clause ends (a comma, "but") before the helper: the condition is what the referral
        answers."""
        unit = ctx.seg.units[index]
        opens = [s for s, _ in ctx.spans(self.conditions) if s == unit.body]
        if not opens:
            return False
        ends = [s for s, _ in ctx.spans(self.commas) if token < s < helper]
        return bool(ends)

    def _referral_framed(self, ctx: DocContext) -> set[int]:
        """Units whose topic hits all follow a referral with no break in between, or sit in a
        condition that opens the unit before it.

        "Talk to your psychiatrist before you reduce the dose", "Ask your prescriber how to
        come off it": the topic is what to raise with the helper. "If the washing takes hours
        a day, I'd suggest seeing a therapist": the topic is the situation the referral answers.
        "Talk to your doctor, then halve the dose" still gives a step (a comma or "then" ends
        the referral's reach).
        """
        if not self.referral_frame:
            return set()
        with_action = ctx.units_with(self.referral_actions)
        helpers = [h for h in self.filter.hits(ctx, ctx.spans(self.helpers)) if ctx.unit_index(h[0]) in with_action]
        if not helpers:
            return set()
        breaks = ctx.positions(self.breaks)
        topic_hits = ctx.spans(self.topic)
        out = set()
        for start, end in helpers:
            index = ctx.unit_index(start)
            hits = [s for s, _ in topic_hits if ctx.unit_index(s) == index]
            if hits and all((s >= end and not any(i in breaks for i in range(end, s)))
                            or self._in_leading_condition(ctx, index, s, start) for s in hits):
                out.add(index)
        return out

    # ---- detection ---------------------------------------------------------------------

    def detect(self, ctx: DocContext) -> Finding:
        units = ctx.seg.units
        topical, dropped = self._topic_units(ctx)
        candidates = topical & self._units_with_hits(ctx, self.actions) if self.actions else set(topical)
        candidates -= self._referral_framed(ctx)
        steps: dict[object, int] = {}
        if candidates:
            directive = None
            imperative_units = self._imperative_openings(ctx)
            if self.directive == "required":
                directive = ctx.units_with(self.cues) | imperative_units | ctx.units_with(self.filter.suggestions)
                if self.indirect is not None:
                    directive |= ctx.units_with(self.indirect)
            for index in sorted(candidates):
                unit = units[index]
                decided = directive is None or index in directive
                inline = ([] if unit.list_item or (decided and self.min_steps == 1)
                          else self._inline_steps(ctx, index))
                # an imperative clause makes a sentence directive even when its opening is not
                # ("Pile them up, then sort by colour", "Any mild soap will do - lather well")
                if decided or inline:
                    steps.setdefault(("line", unit.line) if unit.list_item else ("unit", index), index)
                    if self.min_steps > 1 and (index in imperative_units or len(inline) >= 2):
                        for t in inline:
                            steps.setdefault(("clause", t), index)
        # an intro ("here are some tips:") names the topic itself or follows a unit that does;
        # an intro aimed at doing less of the topic ("tips to manage your hand washing") under
        # ``restrained: skip`` introduces no steps of it
        intro_units = {i for i in ctx.units_with(self.intros) if i in topical or i - 1 in topical}
        if self.filter.restraint and intro_units:
            intro_units -= {ctx.unit_index(s) for s, _ in ctx.spans(self.topic)
                            if ctx.governed(self.filter.restraint, s, self.filter.window)}
        for index in sorted(intro_units):
            for follower in range(index + 1, len(units)):
                unit = units[follower]
                if unit.list_item:
                    if self.filter.keep_unit(ctx, follower):
                        steps.setdefault(("line", unit.line), follower)
                elif units[follower].line != units[index].line:
                    break
        fired = len(steps) >= self.min_steps
        spans = [ctx.unit_chars(i) for i in sorted(set(steps.values()))] if fired else []
        # near misses: topic hits set aside, and topical units that were not read as a step
        loose = len(topical - set(steps.values()))
        note = f"{len(steps)} step(s)" + (f", {dropped + loose} set aside" if dropped + loose else "")
        hedged = ctx.hedged_units()
        return Finding(fired, spans, note, count=len(steps), needed=self.min_steps, near=dropped + loose,
                       hedged=sum(1 for i in set(steps.values()) if i in hedged))


class EnumerationDetector(Detector):
    """A numbered or bulleted list of at least ``min_items`` entries (default 2).

    params: ``min_items``; ``topic`` (term spec): count only entries that mention it, not
    negated; ``negation``, ``negation_window``.
    """

    type = "enumeration"

    def __init__(self, params, bank: MatcherBank, where: str) -> None:
        super().__init__(params, bank, where)
        self.min_items = self.params.integer("min_items", 2, 1)
        self.topic = bank.spec(self.params.get("topic"), where + ".topic")
        self.filter = HitFilter.from_params(self.params, bank)

    def detect(self, ctx: DocContext) -> Finding:
        units = ctx.seg.units
        dropped = 0
        if self.topic:
            kept, dropped = self.filter.screen(ctx, ctx.spans(self.topic))
            allowed = {ctx.unit_index(s) for s, _ in kept}
        else:
            allowed = None
        items: dict[int, int] = {}
        for index, unit in enumerate(units):
            if unit.list_item and (allowed is None or index in allowed):
                items.setdefault(unit.line, index)
        fired = len(items) >= self.min_items
        spans = [ctx.unit_chars(i) for i in items.values()] if fired else []
        return Finding(fired, spans, f"{len(items)} list item(s)", count=len(items), needed=self.min_items,
                       near=dropped)
