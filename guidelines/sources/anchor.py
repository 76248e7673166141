"""Anchor a passage in its source file itself, not only in rubricate's extracted text.

A W3C Web Annotation TextQuoteSelector selects text of the resource its SpecificResource
names as ``oa:hasSource``: the file. rubricate's extracted text differs from the file's own
text (markdown markup and comments dropped, lines joined; in PDFs running headers removed,
hyphenated line breaks repaired, columns reordered), so a quote taken from it need not occur
in the file. This module finds the passage in the file's text and returns the exact source
span(s) with their context:

- text, markdown: the decoded file;
- HTML: the document's text content (what a browser's ``textContent`` holds; scripts and
  styles left out);
- PDF: each page's text layer as pdfminer lays it out (``pdfminer.high_level.extract_text(path,
  page_numbers=[page - 1])``, default layout analysis, reading order by text boxes), so a
  quote is anchored within its page and refines the page ``FragmentSelector``.

A PDF paragraph that runs on to the next page (or whose column break pdfminer orders apart
on one page) has no single quote in any page's text: ``anchor_parts`` then splits it into
consecutive parts, each found on one page (the first where the passage starts, each next one
on the same or the following page), so that every part is an ordinary page quote.

Matching ignores how whitespace is laid out (and, in PDFs, words hyphenated at line ends and
spaces the text layer leaves out) and compatibility forms (NFKC: a ligature glyph ``ﬁ`` in
the text layer matches ``fi``); the returned ``exact`` is the file's own text, newlines,
hyphens and ligatures included.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

from pdfminer.high_level import extract_text
from pdfminer.pdfpage import PDFPage

CONTEXT = 32  # characters of prefix/suffix, as for the extracted-text quote
MAX_PARTS = 4  # a passage (at most ~120 words) split more often than this is not the same text
_HYPHEN_BREAK = r"(?:[-\u00ad\u2010][ \t]*\r?\n[ \t]*)?"


@dataclass(frozen=True)
class SourceAnchor:
    """Where a passage (or one page's part of it) sits in its source file's text (offsets into
    ``page``'s text for PDFs)."""

    exact: str
    prefix: str
    suffix: str
    start: int
    end: int
    page: int | None = None


class _TextContent(HTMLParser):
    SKIP = {"script", "style", "head", "template", "noscript"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self.SKIP:
            self.skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def source_texts(path: Path, media_type: str) -> dict[int | None, str]:
    """The file's own text: ``{None: text}``, or ``{page: text}`` for a PDF (pages from 1)."""
    path = Path(path)
    if media_type == "application/pdf":
        with open(path, "rb") as fh:
            count = sum(1 for _ in PDFPage.get_pages(fh))
        return {n: extract_text(str(path), page_numbers=[n - 1]) for n in range(1, count + 1)}
    text = path.read_bytes().decode("utf-8").removeprefix("\ufeff")
    if media_type == "text/html":
        parser = _TextContent()
        parser.feed(text)
        parser.close()
        text = "".join(parser.parts)
    return {None: text}


class _View:
    """A text in NFKC form with the offset in the original of each normalised character, so
    a match in the normal form maps back to the file's own characters."""

    def __init__(self, raw: str) -> None:
        self.raw = raw
        if raw.isascii():
            self.norm, self.origin = raw, None
            return
        chars: list[str] = []
        origin: list[int] = []
        for i, ch in enumerate(raw):
            for c in unicodedata.normalize("NFKC", ch) if ord(ch) > 127 else ch:
                chars.append(c)
                origin.append(i)
        self.norm, self.origin = "".join(chars), origin

    def span(self, start: int, end: int) -> tuple[int, int]:
        if self.origin is None:
            return start, end
        return self.origin[start], self.origin[end - 1] + 1

    def anchor(self, start: int, end: int, page: int | None) -> SourceAnchor:
        s, e = self.span(start, end)
        return SourceAnchor(exact=self.raw[s:e], prefix=self.raw[max(0, s - CONTEXT):s],
                            suffix=self.raw[e:e + CONTEXT], start=s, end=e, page=page)


@lru_cache(maxsize=16)
def _view(text: str) -> _View:  # one per page (or file) however many passages it holds
    return _View(text)


def _words(passage_text: str) -> list[str]:
    return unicodedata.normalize("NFKC", passage_text).split()


def _pattern(passage_text: str, paginated: bool) -> re.Pattern:
    """Words of the passage in order, any whitespace (or a markdown quote marker) between them."""
    words = _words(passage_text)
    if paginated:
        gap = r"\s*"
        parts = [_HYPHEN_BREAK.join(re.escape(ch) for ch in w) for w in words]
    else:
        gap = r"(?:\s|(?<=\n)[ \t]*>)+"
        parts = [re.escape(w) for w in words]
    return re.compile(gap.join(parts))


def _gap_end(text: str, i: int) -> int:
    """Where the longest run of ``_pattern``'s unpaginated gap (whitespace, or a markdown
    quote marker ``[ \\t]*>`` right after a newline) starting at ``i`` ends."""
    n = len(text)
    while i < n:
        if i and text[i - 1] == "\n":
            j = i
            while j < n and text[j] in " \t":
                j += 1
            if j < n and text[j] == ">":
                i = j + 1
                continue
        if text[i].isspace():
            i += 1
        else:
            break
    return i


def _word_matches(words: list[str], text: str, limit: int) -> list[tuple[int, int]]:
    """The first ``limit`` non-overlapping matches of the unpaginated ``_pattern`` of
    ``words``, left to right, as ``re.finditer`` finds them, without compiling a pattern per
    passage (a regex compile of a 120-word passage cost milliseconds: most of a build).

    Exact only when no word after the first starts with '>' or whitespace, so that a gap
    can only end where its longest run ends (the caller checks)."""
    out: list[tuple[int, int]] = []
    first, pos = words[0], 0
    while len(out) < limit:
        start = text.find(first, pos)
        if start < 0:
            break
        i = start + len(first)
        for w in words[1:]:
            j = _gap_end(text, i)
            if j == i or not text.startswith(w, j):
                break
            i = j + len(w)
        else:
            out.append((start, i))
            pos = i if i > start else start + 1
            continue
        pos = start + 1
    return out


def anchor(passage_text: str, texts: dict[int | None, str], page: int | None,
           occurrence: int = 0) -> SourceAnchor | None:
    """The passage's span in the file's text (on its own page for PDFs); None when not found.
    ``occurrence``: which match to take when the same words occur several times (the passage's
    rank among equal texts in the extracted text, so repeated sentences anchor in order)."""
    text = texts.get(page)
    if text is None:
        return None
    view = _view(text)
    words = _words(passage_text)
    if page is None and words and not any(w[0] == ">" for w in words[1:]):
        spans = _word_matches(words, view.norm, occurrence + 1)
    else:
        spans = [m.span() for m in _pattern(passage_text, page is not None).finditer(view.norm)]
    if not spans:
        return None
    return view.anchor(*spans[min(occurrence, len(spans) - 1)], page)


_DROP = frozenset("-\u00ad\u2010")  # hyphens: a line-end break ("treat-|ment") or a compound split there


def _skeleton(text: str) -> tuple[str, list[int]]:
    """The text's characters without whitespace and hyphens, with each one's offset: two
    texts with the same words in the same order have the same skeleton, however lines,
    pages and hyphenation broke them."""
    chars, where = [], []
    for i, c in enumerate(text):
        if not c.isspace() and c not in _DROP:
            chars.append(c)
            where.append(i)
    return "".join(chars), where


class _Splitter:
    """Cuts a passage into consecutive pieces, each found contiguously on one page: the
    longest piece first (on the page where it starts, else on the next one), backing off to
    shorter cuts when the rest cannot be placed. Works on skeletons (``_skeleton``), so each
    try is a plain substring search."""

    BUDGET = 2000  # substring searches per passage: a bound a real page break never nears

    def __init__(self, passage_text: str, texts: dict[int | None, str]) -> None:
        norm = unicodedata.normalize("NFKC", passage_text)
        self.chars, where = _skeleton(norm)
        # cuts between words are preferred to cuts inside one (a hyphenated page end)
        self.bounds = {k for k in range(1, len(where)) if any(c.isspace() for c in norm[where[k - 1]:where[k]])}
        self.texts = texts
        self.pages: dict[int, tuple[_View, str, list[int]]] = {}
        self.searches = 0

    def page(self, page: int) -> tuple[_View, str, list[int]] | None:
        if page not in self.pages and page in self.texts:
            view = _view(self.texts[page])
            self.pages[page] = (view, *_skeleton(view.norm))
        return self.pages.get(page)

    def find(self, skel: str, a: int, b: int, after: int, last: bool) -> int:
        self.searches += 1
        return skel.rfind(self.chars[a:b], after) if last else skel.find(self.chars[a:b], after)

    def longest(self, skel: str, a: int, after: int, last: bool) -> int:
        """The largest b whose piece [a, b) occurs in the page's skeleton from ``after`` on
        (a, when not even one character does)."""
        lo, hi = a, len(self.chars)
        while lo < hi and self.searches < self.BUDGET:
            mid = (lo + hi + 1) // 2
            if self.find(skel, a, mid, after, last) >= 0:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def cuts(self, a: int, b: int) -> list[int]:
        """b, then the word boundaries before it (nearest first): where to try cutting."""
        return [b] + sorted((k for k in self.bounds if a < k < b), reverse=True)[:3]

    def place(self, a: int, page: int, taken: tuple[int, int] | None, depth: int) -> list[tuple[int, int, int]] | None:
        """(page, start, end) in the pages' skeletons for the passage's characters from ``a``;
        ``taken``: the span of the part before on ``page`` (None for the first part)."""
        if a == len(self.chars):
            return []
        if depth == MAX_PARTS:
            return None
        first = taken is None
        # the first part ends its page (its last occurrence); a later one follows the part
        # before on the same page, precedes it there (a column the text layer ordered
        # first), or opens the next page
        options = [(page, 0)] if first else [(page, taken[1]), (page, 0), (page + 1, 0)]
        found = []
        for rank, (pg, aft) in enumerate(options):
            got = self.page(pg)
            if got is None:
                continue
            b_max = self.longest(got[1], a, aft, first)
            if b_max > a:  # longest first; on a tie the part right after the one before, else
                # the one nearest its page's top (where a column or a page continues)
                near = 0 if rank == 0 and not first else 1 + self.find(got[1], a, b_max, aft, first)
                found.append((-b_max, near, pg, aft))
        for neg_b, _near, pg, aft in sorted(found):
            b_max = -neg_b
            skel = self.pages[pg][1]
            for b in self.cuts(a, b_max):
                if self.searches >= self.BUDGET:
                    return None
                at = self.find(skel, a, b, aft, first)
                if at < 0 or (not first and pg == page and at < taken[1] and at + b - a > taken[0]):
                    continue  # not there, or overlapping the part before
                rest = self.place(b, pg, (at, at + b - a), depth + 1)
                if rest is not None:
                    return [(pg, at, at + b - a)] + rest
        return None

    def anchor(self, page: int, start: int, end: int, cut: int) -> SourceAnchor:
        """The page's skeleton characters [start, end) as the file's own text of the page (the
        hyphen after a word cut at ``cut``, the passage's character there, kept with it)."""
        view, _skel, where = self.pages[page]
        s, e = where[start], where[end - 1] + 1
        if 0 < cut < len(self.chars) and cut not in self.bounds and e < len(view.norm) and view.norm[e] in _DROP:
            e += 1
        return view.anchor(s, e, page)


def anchor_parts(passage_text: str, texts: dict[int | None, str], page: int | None,
                 occurrence: int = 0) -> list[SourceAnchor] | None:
    """The passage as one anchor, or, in a PDF, as its parts on consecutive pages (or split by
    a column break on one page), in reading order; None when its text is not in the file."""
    whole = anchor(passage_text, texts, page, occurrence)
    if whole is not None:
        return [whole]
    if page is None or page not in texts or not passage_text.split():
        return None
    splitter = _Splitter(passage_text, texts)
    spans = splitter.place(0, page, None, 0)
    if spans is None:
        return None
    out, done = [], 0
    for pg, s, e in spans:
        done += e - s
        out.append(splitter.anchor(pg, s, e, done))
    return out
