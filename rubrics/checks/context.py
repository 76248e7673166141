"""Per-response state shared by all detectors: matches, units, negation and hedge cues.

Built once per response after the single matcher pass; detectors of every criterion read
from it, so work such as finding negation cues is done once however many checks ask.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from spacy.attrs import IS_TITLE
from spacy.tokens import Doc

from rubricate.guidelines.kernel.negation import governs
from rubricate.rubrics.checks.matching import TermRef, spans_of
from rubricate.rubrics.checks.units import Segmentation, Unit, segment


@dataclass(frozen=True)
class SharedRefs:
    """Term references every response needs (registered once per rubric)."""

    negation: TermRef        # "not", "never", "instead of" ...
    boundaries: TermRef      # where a negation's scope ends (comma, "but") ...
    contrasts: TermRef       # where a refusal's scope ends ("but", "however") ...
    refusals: TermRef        # "I can't help with that" ...
    hedges: TermRef          # "I'm not sure", "maybe" ...
    sequence: TermRef        # "first", "then" before an imperative verb
    frames: TermRef          # "as for", "in terms of" introducing a topic


# A quotation within one line: double or curly quotes (a straight single quote is too often an
# apostrophe to pair reliably). Written by hand: no library pairs quotes inside spaCy tokens' chars.
_QUOTED = re.compile(r'"[^"\n]{1,400}"|\u201c[^\u201d\n]{1,400}\u201d|\u2018[^\u2019\n]{1,400}\u2019')


class DocContext:
    """Matches and units of one response, with lazily computed cue positions."""

    def __init__(self, doc: Doc, found: dict[str, list[tuple[int, int]]], shared: SharedRefs,
                 text: str | None = None) -> None:
        self.doc = doc
        self.text = doc.text if text is None else text
        self.found = found
        self.shared = shared
        self.seg: Segmentation = segment(doc)
        self._spans: dict[TermRef, list[tuple[int, int]]] = {}
        self._positions: dict[TermRef, set[int]] = {}
        self._unit_sets: dict[TermRef, set[int]] = {}
        self._titles: list[int] | None = None
        self._quotes: list[tuple[int, int]] | None = None

    # ---- spans -------------------------------------------------------------------------

    def spans(self, ref: TermRef) -> list[tuple[int, int]]:
        """Token spans of ``ref`` (longest, non-overlapping), cached per response."""
        cached = self._spans.get(ref)
        if cached is None:
            cached = spans_of(self.found, ref)
            self._spans[ref] = cached
        return cached

    def units_with(self, ref: TermRef) -> set[int]:
        """Indexes of units containing at least one span of ``ref``."""
        cached = self._unit_sets.get(ref)
        if cached is None:
            unit_of = self.seg.unit_of
            cached = {unit_of[s] for s, _ in self.spans(ref)}
            self._unit_sets[ref] = cached
        return cached

    def titles(self) -> list[int]:
        """IS_TITLE per token (1 for "Brooklyn", "F."), computed once per response."""
        if self._titles is None:
            self._titles = self.doc.to_array(IS_TITLE).tolist()
        return self._titles

    def unit(self, token: int) -> Unit:
        return self.seg.units[self.seg.unit_of[token]]

    def unit_index(self, token: int) -> int:
        return self.seg.unit_of[token]

    def char_span(self, start: int, end: int) -> tuple[int, int]:
        doc = self.doc
        return doc[start].idx, doc[end - 1].idx + len(doc[end - 1].text)

    def unit_chars(self, index: int) -> tuple[int, int]:
        u = self.seg.units[index]
        end = u.end
        while end - 1 > u.body and self.doc[end - 1].is_space:
            end -= 1
        return self.char_span(u.body if u.body < end else u.start, end)

    # ---- negation ----------------------------------------------------------------------

    def positions(self, ref: TermRef) -> set[int]:
        """Token positions covered by ``ref``'s spans (clause breaks), cached per response."""
        positions = self._positions.get(ref)
        if positions is None:
            positions = self._positions[ref] = {t for s, e in self.spans(ref) for t in range(s, e)}
        return positions

    def negated(self, start: int, window: int = 12) -> bool:
        """Whether a negation cue or a refusal governs the span starting at token ``start``.

        The kernel's scope rule (guidelines/kernel/negation.py, shared with evidence
        extraction) within the span's unit: a negation cue within ``window`` tokens before
        ``start`` with no clause boundary (comma, "but", ...) in between. A refusal ("I
        can't provide ...") earlier in the unit counts unless a contrast ("but",
        "however") separates it from the span: "I can't give advice on X, including Y"
        negates Y as well.
        """
        if self.governed(self.shared.negation, start, window):
            return True
        lo = self.unit(start).start
        contrasts = self.positions(self.shared.contrasts)
        return any(governs(s, e, start, start + 1, window=start - lo, breaks=contrasts, lo=lo)
                   for s, e in self.spans(self.shared.refusals) if s < start)

    def governed(self, cues: TermRef, start: int, window: int = 12) -> bool:
        """Whether a cue of ``cues`` governs the span at ``start`` by the negation scope rule
        (before it in its unit, within ``window`` tokens, no clause boundary between): negation
        cues, and the restraint cues of the ``restrained`` filter."""
        lo = self.unit(start).start
        boundaries = self.positions(self.shared.boundaries)
        return any(governs(s, e, start, start + 1, window=window, breaks=boundaries, lo=lo)
                   for s, e in self.spans(cues) if s < start)

    def introduced(self, cues: TermRef, start: int, reach: int = 6) -> bool:
        """Whether a cue of ``cues`` ends at most ``reach`` tokens before the span, in its unit."""
        unit_start = self.unit(start).start
        return any(unit_start <= s and e <= start and start - e <= reach for s, e in self.spans(cues))

    def framed(self, start: int, reach: int = 6) -> bool:
        """Whether the span is introduced as a topic ("As for bridges, ...", "In terms of X")."""
        return self.introduced(self.shared.frames, start, reach)

    def quoted(self, start: int) -> bool:
        """Whether the token sits inside a quotation ("Hearing \u201cyou're not dangerous\u201d helps
        for a minute"): words mentioned, not said to the client."""
        if self._quotes is None:
            self._quotes = [m.span() for m in _QUOTED.finditer(self.text)]
        at = self.doc[start].idx
        return any(a < at < b for a, b in self._quotes)

    def mentioned(self, cues: TermRef, start: int, reach: int = 6) -> bool:
        """Whether the span is quoted, or follows within ``reach`` tokens a cue of ``cues`` in its
        unit ("Asking to be told you're not dangerous", "you want me to say you'd never ...")."""
        return self.quoted(start) or self.introduced(cues, start, reach)

    def hedged_units(self) -> set[int]:
        return self.units_with(self.shared.hedges)
