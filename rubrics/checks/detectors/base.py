"""What every detector shares: its finding, parameter access and the common hit filters.

A detector is built once per rubric from its ``params`` (registering its terms in the
rubric's matcher bank) and then asked ``detect(ctx)`` for each response. Hit-based
detectors accept the same filters: ``negation`` / ``negation_window`` (drop hits a
negation cue governs), ``questions`` (keep / skip / only hits in questions; skip keeps a
question that puts an option forward, "Have you tried X?"), ``hedged``
(keep / skip hits in hedged units), ``list_items`` (keep / skip / only hits in list
items), ``framed`` (keep / skip hits introduced as a topic: "as for X", "in terms of X"),
``restrained`` (keep / skip hits a restraint cue governs: "manage your hand washing",
"resist the urge to sort them"), ``mentions`` (keep / skip hits the reply mentions rather than
says: inside a quotation, or after a cue of asking or hearing, "needing to be told you're not
dangerous"),
``context`` (terms that must occur in the same unit) and the thresholds
``min_hits`` / ``min_distinct``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.rubrics.checks.context import DocContext
from rubricate.rubrics.checks.matching import EMPTY, MatcherBank, TermRef


@dataclass
class Finding:
    """Whether a detector fired, with evidence as character spans into the response.

    The counts feed the verdict's confidence (rubrics/checks/confidence.py): ``count`` what
    survived the filters (hits, items, steps), ``needed`` the detector's threshold, ``near``
    candidates the filters dropped (negated, asked as a question, framed, a helper named
    without a referral verb, a topic mentioned without a directive): the topic is there but
    the judge read it as not meant; ``hedged`` surviving hits inside hedged units. A
    detector that sets none of them (a plug-in) is read as one hit, no near miss.
    """

    fired: bool
    spans: list[tuple[int, int]] = field(default_factory=list)
    note: str = ""
    count: int | None = None
    needed: int = 1
    near: int = 0
    hedged: int = 0
    vetoed: bool = False    # fired, then cancelled by one of its ``unless`` detectors


class Params:
    """Read-only view of a detector's params with typed, defaulted access and clear errors."""

    def __init__(self, params: dict | None, where: str) -> None:
        if params is not None and not isinstance(params, dict):
            raise RubricateError(f"{where}: params must be a mapping")
        self.raw = dict(params or {})
        self.where = where

    def get(self, key: str, default=None):
        return self.raw.get(key, default)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            raise RubricateError(f"{self.where}: {key} must be true or false")
        return value

    def integer(self, key: str, default: int, minimum: int = 0) -> int:
        value = self.raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise RubricateError(f"{self.where}: {key} must be an integer >= {minimum}")
        return value

    def choice(self, key: str, default: str, options: tuple[str, ...]) -> str:
        value = self.raw.get(key, default)
        if value not in options:
            raise RubricateError(f"{self.where}: {key} must be one of {', '.join(options)}")
        return value

    def strings(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.raw.get(key, list(default))
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RubricateError(f"{self.where}: {key} must be a list of strings")
        return tuple(value)


@dataclass(frozen=True)
class HitFilter:
    """The common filters of hit-based detectors, read from params."""

    negation: bool = True
    window: int = 12
    questions: str = "keep"
    hedged: str = "keep"
    list_items: str = "keep"
    framed: str = "keep"
    restraint: TermRef = EMPTY    # lexicon restraint_cues when ``restrained: skip``
    mentions: TermRef = EMPTY     # lexicon mention_cues when ``mentions: skip``
    suggestions: TermRef = EMPTY  # lexicon suggestion_questions when ``questions: skip``
    context: TermRef = EMPTY
    min_hits: int = 1
    min_distinct: int = 1

    @classmethod
    def from_params(cls, p: Params, bank: MatcherBank, *, negation: bool = True,
                    questions: str = "keep", framed: str = "keep", min_hits: int = 1) -> "HitFilter":
        asked = p.choice("questions", questions, ("keep", "skip", "only"))
        return cls(
            negation=p.boolean("negation", negation),
            window=p.integer("negation_window", 12, 1),
            questions=asked,
            suggestions=bank.lexicon("suggestion_questions", p.where) if asked == "skip" else EMPTY,
            hedged=p.choice("hedged", "keep", ("keep", "skip", "only")),
            list_items=p.choice("list_items", "keep", ("keep", "skip", "only")),
            framed=p.choice("framed", framed, ("keep", "skip")),
            restraint=(bank.lexicon("restraint_cues", p.where)
                       if p.choice("restrained", "keep", ("keep", "skip")) == "skip" else EMPTY),
            mentions=(bank.lexicon("mention_cues", p.where)
                      if p.choice("mentions", "keep", ("keep", "skip")) == "skip" else EMPTY),
            context=bank.spec(p.get("context"), p.where + ".context"),
            min_hits=p.integer("min_hits", min_hits, 1),
            min_distinct=p.integer("min_distinct", 1, 1),
        )

    def keep_unit(self, ctx: DocContext, index: int) -> bool:
        unit = ctx.seg.units[index]
        if self.questions == "skip" and unit.question and index not in ctx.units_with(self.suggestions):
            return False   # a question that puts an option forward ("Have you tried X?") stays
        if self.questions == "only" and not unit.question:
            return False
        if (self.list_items == "skip" and unit.list_item) or (self.list_items == "only" and not unit.list_item):
            return False
        if self.hedged != "keep":
            hedged = index in ctx.hedged_units()
            if (self.hedged == "skip" and hedged) or (self.hedged == "only" and not hedged):
                return False
        if self.context and index not in ctx.units_with(self.context):
            return False
        return True

    def hits(self, ctx: DocContext, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The spans that survive the filters."""
        return self.screen(ctx, spans)[0]

    def screen(self, ctx: DocContext, spans: list[tuple[int, int]]) -> tuple[list[tuple[int, int]], int]:
        """The spans that survive the filters, and how many were dropped as not meant
        (negated, framed, restrained, or in a unit a filter excludes; a missing ``context``
        term is not counted: the topic itself is absent then)."""
        kept, dropped = [], 0
        for start, end in spans:
            if not self.keep_unit(ctx, ctx.unit_index(start)):
                if not self.context or ctx.unit_index(start) in ctx.units_with(self.context):
                    dropped += 1
                continue
            if self.negation and ctx.negated(start, self.window):
                dropped += 1
                continue
            if self.framed == "skip" and ctx.framed(start):
                dropped += 1
                continue
            if self.restraint and ctx.governed(self.restraint, start, self.window):
                dropped += 1
                continue
            if self.mentions and ctx.mentioned(self.mentions, start):
                dropped += 1
                continue
            kept.append((start, end))
        return kept, dropped

    def hedged_count(self, ctx: DocContext, hits: list[tuple[int, int]]) -> int:
        hedged = ctx.hedged_units()
        return sum(1 for s, _ in hits if ctx.unit_index(s) in hedged) if hedged else 0

    def enough(self, ctx: DocContext, hits: list[tuple[int, int]]) -> bool:
        if len(hits) < self.min_hits:
            return False
        if self.min_distinct > 1:
            distinct = {" ".join(t.norm_ for t in ctx.doc[s:e]) for s, e in hits}
            return len(distinct) >= self.min_distinct
        return True


class Detector:
    """Base class: subclasses set ``type`` and implement ``__init__`` and ``detect``."""

    type: ClassVar[str] = ""

    def __init__(self, params: dict | None, bank: MatcherBank, where: str) -> None:
        self.params = Params(params, where)
        self.where = where

    def detect(self, ctx: DocContext) -> Finding:   # pragma: no cover - abstract
        raise NotImplementedError


def finding_from_hits(ctx: DocContext, hits: list[tuple[int, int]], fired: bool, what: str,
                      filt: HitFilter | None = None, near: int = 0) -> Finding:
    """A finding from surviving hits; with the filter, its threshold and hedged hits too."""
    spans = [ctx.char_span(s, e) for s, e in hits]
    note = f"{len(hits)} {what}" if hits else f"no {what}"
    if near:
        note += f", {near} set aside"
    return Finding(fired, spans if fired else [], note, count=len(hits),
                   needed=max(filt.min_hits, filt.min_distinct) if filt else 1, near=near,
                   hedged=filt.hedged_count(ctx, hits) if filt else 0)
