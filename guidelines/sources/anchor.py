"""Anchor a passage in its source file itself, not only in rubricate's extracted text.

A W3C Web Annotation TextQuoteSelector selects text of the resource its SpecificResource
names as ``oa:hasSource``: the file. rubricate's extracted text differs from the file's own
text (markdown markup and comments dropped, lines joined; in PDFs running headers removed,
hyphenated line breaks repaired, columns reordered), so a quote taken from it need not occur
in the file. This module finds the passage in the file's text and returns the exact source
span with its context:

- text, markdown: the decoded file;
- HTML: the document's text content (what a browser's ``textContent`` holds; scripts and
  styles left out);
- PDF: each page's text layer as pdfminer lays it out (``pdfminer.high_level.extract_text(path,
  page_numbers=[page - 1])``, default layout analysis, reading order by text boxes), so a
  quote is anchored within its page and refines the page ``FragmentSelector``. A paragraph
  that runs on to the next page has no single-page quote (``anchor`` returns None).

Matching ignores how whitespace is laid out (and, in PDFs, words hyphenated at line ends and
spaces the text layer leaves out); the returned ``exact`` is the file's own text, newlines and
hyphens included.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from pdfminer.high_level import extract_text
from pdfminer.pdfpage import PDFPage

CONTEXT = 32  # characters of prefix/suffix, as for the extracted-text quote
_HYPHEN_BREAK = r"(?:[-\u00ad\u2010][ \t]*\r?\n[ \t]*)?"


@dataclass(frozen=True)
class SourceAnchor:
    """Where a passage's text sits in its source file's text (offsets into ``page``'s text for PDFs)."""

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


def _pattern(passage_text: str, paginated: bool) -> re.Pattern:
    """Words of the passage in order, any whitespace (or a markdown quote marker) between them."""
    words = passage_text.split()
    if paginated:
        gap = r"\s*"
        parts = [_HYPHEN_BREAK.join(re.escape(ch) for ch in w) for w in words]
    else:
        gap = r"(?:\s|(?<=\n)[ \t]*>)+"
        parts = [re.escape(w) for w in words]
    return re.compile(gap.join(parts))


def anchor(passage_text: str, texts: dict[int | None, str], page: int | None,
           occurrence: int = 0) -> SourceAnchor | None:
    """The passage's span in the file's text (on its own page for PDFs); None when not found.
    ``occurrence``: which match to take when the same words occur several times (the passage's
    rank among equal texts in the extracted text, so repeated sentences anchor in order)."""
    key = page if page is not None else None
    text = texts.get(key)
    if text is None:
        return None
    matches = list(_pattern(passage_text, key is not None).finditer(text))
    if not matches:
        return None
    m = matches[min(occurrence, len(matches) - 1)]
    start, end = m.span()
    return SourceAnchor(exact=m.group(0), prefix=text[max(0, start - CONTEXT):start],
                        suffix=text[end:end + CONTEXT], start=start, end=end, page=key)
