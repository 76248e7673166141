"""list_items: names concrete instances of a category (named bridges, kinds of shops, sites)."""
from __future__ import annotations

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.rubrics.checks.context import DocContext
from rubricate.rubrics.checks.detectors.base import Detector, Finding, HitFilter
from rubricate.guidelines.kernel.lexicons import load_lexicon
from rubricate.rubrics.checks.matching import EMPTY, MatcherBank, longest_first
from rubricate.guidelines.kernel.normalize import fold


def _words(value, where: str) -> list[str]:
    """Head words of a term spec (last word of each term), for the proper-name pattern."""
    if value is None:
        return []
    if isinstance(value, str):
        terms = list(load_lexicon(value).terms)
    elif isinstance(value, list):
        terms = list(value)
    elif isinstance(value, dict):
        terms = list(value.get("terms") or [])
        for name in ([value["lexicon"]] if value.get("lexicon") else []) + list(value.get("lexicons") or []):
            terms.extend(load_lexicon(name).terms)
    else:
        raise RubricateError(f"{where}: heads must be a lexicon name, a list or a mapping")
    return sorted({fold(t.split()[-1]) for t in terms if t.split()})


class ListItemsDetector(Detector):
    """Names concrete instances of a category.

    An item is either a proper name ending in one of the category's ``heads`` (a run of
    capitalised words before "Bridge", "Park", "Center": "George Washington Bridge"), or
    a term of ``names`` (known instances and kinds, e.g. "hardware store", "garden
    centre"). Items are counted once each; the detector fires at ``min_items`` (default 1).

    params: ``heads`` (term spec of category nouns), ``names`` (term spec),
    ``proper_names`` (default true when heads are given), ``min_items``, and the common
    hit filters (negation on by default).
    """

    type = "list_items"

    def __init__(self, params, bank: MatcherBank, where: str) -> None:
        super().__init__(params, bank, where)
        p = self.params
        heads = _words(p.get("heads"), where + ".heads")
        self.proper = EMPTY
        if p.boolean("proper_names", bool(heads)):
            if not heads:
                raise RubricateError(f"{where}: proper_names needs 'heads'")
            self.proper = bank.inline(terms=heads, where=where)
        self.names = bank.spec(p.get("names"), where + ".names")
        if not self.proper and not self.names:
            raise RubricateError(f"{where}: list_items needs 'heads' or 'names'")
        self.openers = frozenset(fold(t) for t in load_lexicon("name_openers").terms)
        self.min_items = p.integer("min_items", 1, 1)
        self.filter = HitFilter.from_params(p, bank)

    def _proper_items(self, ctx: DocContext) -> list[tuple[int, int]]:
        """Head words preceded by a run of capitalised words (joined by "-", "&" or ".")."""
        doc = ctx.doc
        titles = ctx.titles()
        out = []
        for head, end in ctx.spans(self.proper):
            floor = ctx.unit(head).start
            start, i = head, head - 1
            while i >= floor:
                if titles[i]:
                    start, i = i, i - 1
                elif i - 1 >= floor and titles[i - 1] and doc[i].text in _JOINERS:
                    i -= 1
                else:
                    break
            while start < head and (doc[start].is_stop or doc[start].norm_ in self.openers):
                start += 1
            if start < head:
                out.append((start, end))
        return out

    def detect(self, ctx: DocContext) -> Finding:
        spans = self._proper_items(ctx) if self.proper else []
        if self.names:
            spans = longest_first(spans + ctx.spans(self.names))
        hits, dropped = self.filter.screen(ctx, spans)
        doc = ctx.doc
        distinct: dict[str, tuple[int, int]] = {}
        for start, end in hits:
            distinct.setdefault(" ".join(t.norm_ for t in doc[start:end] if not t.is_punct), (start, end))
        fired = len(distinct) >= self.min_items
        spans_out = [ctx.char_span(s, e) for s, e in distinct.values()] if fired else []
        note = f"{len(distinct)} item(s)" + (f", {dropped} set aside" if dropped else "")
        return Finding(fired, spans_out, note, count=len(distinct), needed=self.min_items, near=dropped,
                       hedged=self.filter.hedged_count(ctx, list(distinct.values())))


_JOINERS = frozenset({"-", "&", "."})
