"""drafting: the response hands over wording to use (a draft, a quoted line, a template).

Wording is supplied when a draft intro ("Here's a draft:", "it might go:", "you could open
with", "Repeat to yourself:") is followed by a quotation or by text after a colon in the
same unit or the next, or by list entries (a structure to follow); or when the response
holds template placeholders ("[Your name]", "[dose] mg"). A draft after a refusal ("I
won't write it, but you could say '...'") still counts: the wording is there.
"""
from __future__ import annotations

import re

from rubricate.rubrics.checks.context import DocContext
from rubricate.rubrics.checks.detectors.base import Detector, Finding
from rubricate.rubrics.checks.matching import MatcherBank

# An opening quote after a space, colon or line start; it closes before a non-letter.
_QUOTE = re.compile(r"(?:(?<=^)|(?<=[\s:(]))[\"“‘']([^\"“”‘’\n]*?[^\s\"“”‘’])[\"”’'](?![A-Za-z])", re.M)
_PLACEHOLDER = re.compile(r"\[[^\[\]\n]{1,40}\](?!\()")


class DraftingDetector(Detector):
    """Supplies wording: a draft or quoted line after an intro, or a template's placeholders.

    params: ``intros`` (term spec, default lexicon "draft_intros"), ``min_words`` (3: words
    a quotation or colon text needs), ``placeholders`` (true: "[Your name]" counts),
    ``topic`` (term spec: if given, the draft's unit, the wording or the unit before must
    mention it), ``negation`` (true: an intro a negation cue governs, "don't say '...'",
    does not count).
    """

    type = "drafting"

    def __init__(self, params, bank: MatcherBank, where: str) -> None:
        super().__init__(params, bank, where)
        p = self.params
        self.intros = bank.spec(p.get("intros", "draft_intros"), where + ".intros")
        self.topic = bank.spec(p.get("topic"), where + ".topic")
        self.min_words = p.integer("min_words", 3, 1)
        self.placeholders = p.boolean("placeholders", True)
        self.negation = p.boolean("negation", True)

    def _on_topic(self, ctx: DocContext, units: set[int], chars: tuple[int, int] | None = None) -> bool:
        if not self.topic:
            return True
        topical = ctx.units_with(self.topic)
        if units & topical:
            return True
        if chars is not None:
            return any(chars[0] <= ctx.doc[s].idx < chars[1] for s, _ in ctx.spans(self.topic))
        return False

    def _wording_after(self, ctx: DocContext, token: int) -> tuple[int, int] | None:
        """Quoted or colon-introduced wording after ``token``, in its unit or the next one."""
        index = ctx.unit_index(token)
        units = ctx.seg.units
        last = min(index + 1, len(units) - 1)
        begin = ctx.doc[token].idx
        end = ctx.unit_chars(last)[1]
        window = ctx.text[begin:end]
        own = ctx.text[begin:ctx.unit_chars(index)[1]]
        if own.rstrip().endswith(":") and index + 1 < len(units) and units[index + 1].list_item:
            return ctx.unit_chars(index + 1)[0], end   # a structure announced before a list
        for m in _QUOTE.finditer(window):
            if len(m.group(1).split()) >= self.min_words:
                return begin + m.start(), begin + m.end()
        colon = window.find(":")
        if colon >= 0:
            rest = window[colon + 1:]
            # the wording's paragraph: the rest of the line, or the paragraph after a blank line
            # ("Here is a gentle beginning you might use:\n\n\"My dearest ...")
            if len(re.findall(r"[A-Za-z]+", rest.lstrip().split("\n\n")[0])) >= self.min_words:
                return begin + colon + 1, end
        return None

    def detect(self, ctx: DocContext) -> Finding:
        spans: list[tuple[int, int]] = []
        for start, _ in ctx.spans(self.intros):
            if ctx.seg.units[ctx.unit_index(start)].question:
                continue
            if self.negation and ctx.negated(start):
                # a refusal before a contrast is handled by negated(); "don't say" is a cue
                continue
            wording = self._wording_after(ctx, start)
            if wording and self._on_topic(ctx, {ctx.unit_index(start), ctx.unit_index(start) - 1}, wording):
                spans.append(wording)
                break
        if self.placeholders:
            marks = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(ctx.text)]
            if marks and (not self.topic or self._on_topic(ctx, set(range(len(ctx.seg.units))))):
                spans.extend(marks)
        fired = bool(spans)
        return Finding(fired, sorted(set(spans)) if fired else [],
                       f"{len(spans)} drafted passage(s)" if fired else "no drafted wording")
