"""Plain data shared by every extractor: what a parsed document and its passages look like.

Offsets always index into ``ParsedDocument.text`` so that a W3C TextPositionSelector
(start, end) and TextQuoteSelector (exact, prefix, suffix) can be checked against the very
text the build read.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Block:
    """A paragraph-like run of text as laid out in the source (one heading's body paragraph,
    one list item, one PDF text block)."""

    start: int  # character offset into ParsedDocument.text
    end: int
    page: int | None  # physical page, 1-based; None for unpaginated sources
    page_label: str | None  # printed page label ("iv", "12"); None when not printed/known
    section_path: tuple[str, ...]  # headings from the outermost down
    annotations: tuple[str, ...] = ()  # principle ids a digest author attached to the block
    kind: str = "body"  # see guidelines/sources/kinds.py: body, list, table, references ...
    lead_in: str = ""  # for a list item: the sentence that introduces the list


@dataclass(frozen=True)
class ParsedDocument:
    doc_id: str
    path: str  # as registered (relative to the registry when bundled)
    sha256: str  # of the file's bytes
    media_type: str  # application/pdf, text/markdown, text/plain, text/html
    extractor: str  # e.g. "rubricate.pdf" / "rubricate.markdown"
    extractor_version: str
    text: str
    blocks: tuple[Block, ...]
    paginated: bool
    page_count: int | None = None
    warnings: tuple[str, ...] = ()
    headings: tuple[Block, ...] = ()  # each heading's span (kind "heading"), section = its parents
    # answered by the parse cache, not read now (never stored; not part of equality)
    from_cache: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Passage:
    """A citable, paragraph-sized unit: one or more whole sentences inside one block."""

    id: str  # stable: derived from the file hash and the character span
    doc_id: str
    sha256: str
    start: int
    end: int
    text: str
    prefix: str
    suffix: str
    page: int | None
    page_label: str | None
    section_path: tuple[str, ...]
    extractor: str
    extractor_version: str
    verified: bool  # True when the locator was read from the source document itself
    annotations: tuple[str, ...] = field(default=())
    kind: str = "body"
    lead_in: str = ""
