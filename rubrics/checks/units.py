"""Split a response into units: sentences and list items, each with its discourse flags.

Detectors reason per unit (a step is a sentence or a list item; negation stops at its
edge; a question is a unit ending in "?"). The pipeline's sentencizer splits "1." from
the item it numbers and ignores line breaks, so units are rebuilt here: a new unit starts
after a line break and at each sentence start, except right after a list marker. All
sentences of one list item share the item's line number and its ``list_item`` flag.
"""
from __future__ import annotations

import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import numpy
from spacy.attrs import IS_SPACE, LIKE_NUM, LOWER, ORTH, SENT_START
from spacy.tokens import Doc

BULLETS = frozenset({"*", "-", "•", "–", "·", "+", "▪", "◦"})
NUMBER_CLOSERS = frozenset({".", ")", ":"})
TRAILERS = frozenset({'"', "'", "”", "’", ")", "*", "]", "|"})


@dataclass(frozen=True)
class Unit:
    """Tokens [start, end) of one sentence; ``body`` is the first token after a list marker."""

    start: int
    end: int
    body: int
    line: int
    list_item: bool
    question: bool


@dataclass(frozen=True)
class Segmentation:
    units: tuple[Unit, ...]
    unit_of: tuple[int, ...]        # token index -> unit index (spaces join the unit before)


class _Marks:
    """Hashes of the strings segmentation compares against (one set per vocabulary)."""

    def __init__(self, strings) -> None:
        self.star = strings.add("*")
        self.bullets = {strings.add(b) for b in BULLETS}
        self.closers = {strings.add(c) for c in NUMBER_CLOSERS}
        self.trailers = {strings.add(t) for t in TRAILERS}
        self.question = strings.add("?")
        self.step = strings.add("step")
        self.pipe = strings.add("|")


_MARKS: dict[int, _Marks] = {}


def _marks(doc: Doc) -> _Marks:
    key = id(doc.vocab.strings)
    marks = _MARKS.get(key)
    if marks is None:
        marks = _MARKS[key] = _Marks(doc.vocab.strings)
    return marks


def marker_length(orths: Sequence[int], lowers: Sequence[int], nums: Sequence[int], i: int, end: int,
                  m: _Marks) -> int:
    """Tokens taken by a list marker at ``i``: "1.", "2)", "**3.", "Step 2:", "*", "-", "•", and
    the opening of a markdown table row ("| 2 |", "|"): a table's rows are its entries.
    (Emoji markers, "1️⃣", are found per line by ``segment``.)"""
    if orths[i] == m.pipe:
        if i + 2 < end and nums[i + 1] and orths[i + 2] == m.pipe:
            return 3
        return 1
    j, stars = i, 0
    while j < end and orths[j] == m.star and stars < 2:
        j, stars = j + 1, stars + 1
    if j + 1 < end and nums[j] and orths[j + 1] in m.closers:
        return j + 2 - i
    if j + 2 < end and lowers[j] == m.step and nums[j + 1] and orths[j + 2] in m.closers:
        return j + 3 - i
    if stars == 1 or (stars == 0 and orths[i] in m.bullets):
        return 1                      # a bold "**Heading**" (two stars) is not a bullet
    return 0


def is_pictograph(text: str) -> bool:
    """A keycap digit ("1️⃣") or a pictograph ("📍", "✅") standing alone as a token."""
    return "\u20e3" in text or (bool(text) and all(
        unicodedata.category(c) in ("So", "Sk", "Mn", "Me", "Cf") for c in text))


def _emoji_bullets(doc: Doc, firsts: list[int]) -> set[int]:
    """Of the non-blank lines' first tokens, those that are emoji list markers: a keycap digit
    always; a pictograph when the line before or after opens with one too ("📍 Turn off
    ...\n🚌 Take ..."), since one emoji opening a line is decoration as often as a bullet."""
    picto = [is_pictograph(doc[f].text) for f in firsts]
    return {f for k, f in enumerate(firsts)
            if picto[k] and ("\u20e3" in doc[f].text or (k > 0 and picto[k - 1])
                             or (k + 1 < len(picto) and picto[k + 1]))}


def segment(doc: Doc) -> Segmentation:
    """Units of ``doc``; works with or without sentence boundaries on the doc.

    Per token only numpy work: word forms are read at the few positions that need them
    (list markers, unit ends), and only space tokens are checked for line breaks.
    """
    n = len(doc)
    if n == 0:
        return Segmentation((), ())
    m = _marks(doc)
    has_sents = doc.has_annotation("SENT_START")
    cols = doc.to_array([SENT_START, IS_SPACE, LIKE_NUM])
    spaces = cols[:, 1].tolist()
    nums = cols[:, 2].tolist()
    orths = doc.to_array(ORTH)
    lowers = doc.to_array(LOWER)
    sent_starts = numpy.flatnonzero((cols[:, 0] == 1) & (cols[:, 1] == 0)).tolist() if has_sents else []
    breaks = [i for i in numpy.flatnonzero(cols[:, 1]).tolist() if "\n" in doc[i].text] + [n]
    firsts: list[int] = []   # each line's first token (its end for a blank line)
    line_start = 0
    for i in breaks:
        first = line_start
        while first < i and spaces[first]:
            first += 1
        firsts.append(first)
        line_start = i + 1
    emoji = _emoji_bullets(doc, [f for f, i in zip(firsts, breaks) if f < i])
    units: list[Unit] = []
    line = 0
    for i, first in zip(breaks, firsts):
        if first < i:
            marker = 1 if first in emoji else marker_length(orths, lowers, nums, first, i, m)
            body = first + marker
            bounds = [first] + sent_starts[bisect_right(sent_starts, body):bisect_left(sent_starts, i)]
            for s, e in zip(bounds, bounds[1:] + [i]):
                last = e - 1
                while last > s and (spaces[last] or orths[last] in m.trailers):
                    last -= 1
                units.append(Unit(s, e, body if s == first else s, line, marker > 0,
                                  bool(orths[last] == m.question)))
            line += 1
    unit_of = [0] * n
    current, pos = 0, 0
    for index, u in enumerate(units):
        unit_of[pos:u.start] = [current] * (u.start - pos)
        unit_of[u.start:u.end] = [index] * (u.end - u.start)
        current, pos = index, u.end
    unit_of[pos:n] = [current] * (n - pos)
    return Segmentation(tuple(units), tuple(unit_of))
