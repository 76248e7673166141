"""PDF text extraction: characters laid back out into citable, classified paragraphs.

Guideline PDFs carry running headers and footers, page numbers, watermarks, two-column
pages, tables, lists and words hyphenated at line ends; a passage cut from a plain text
dump would quote all of that. Page by page:

1. characters and their boxes are read with pypdfium2 (``chars.py``; pdfplumber's reader is
   kept as the old path for comparison), rotated text dropped, unmapped glyphs marked;
2. words -> rows; running headers and footers are dropped and their printed page numbers
   become page labels (``furniture.py``);
3. tables are found and set aside as row-by-row units (``tables.py``);
4. columns and reading order (``layout.py``);
5. headings, paragraphs, list items, kinds and the document text (``structure.py``).
"""
from __future__ import annotations

from pathlib import Path

import pypdfium2

from rubricate.guidelines.kernel.errors import InputError
from rubricate.guidelines.sources.extractors import Extractor
from rubricate.guidelines.sources.model import ParsedDocument
from rubricate.guidelines.sources.pdf import furniture, layout, structure, tables
from rubricate.guidelines.sources.pdf.chars import Progress, read_pages
from rubricate.guidelines.sources.pdf.page import Line, Page, Row, rows_of

EXTRACTOR = "rubricate.pdf"
LAYOUT_VERSION = 3  # bump whenever the text or blocks this module produces change
EXTRACTOR_VERSION = f"{LAYOUT_VERSION}+pypdfium2.{pypdfium2.version.PYPDFIUM_INFO}"

__all__ = ["EXTRACTOR", "EXTRACTOR_VERSION", "PDF", "parse_pdf"]


def parse_pdf(path: Path, doc_id: str, sha256: str, *, reader: str = "pdfium",
              progress: Progress | None = None) -> ParsedDocument:
    """Extract ``path`` into paragraphs with physical page, printed label, section path and
    kind. ``reader="pdfplumber"`` reads characters the old, slower way (same layout code)."""
    path = Path(path)
    pages, catalog = read_pages(path, reader, progress)
    for page in pages:
        page.rows = rows_of(page.words)
    warnings = _check_text_layer(path, pages)
    body = layout.body_size(pages)
    drop = furniture.margin_rows(pages, body)
    labels, clash = furniture.page_labels(furniture.printed_labels(pages, drop, body), catalog)
    if clash:
        warnings.append(f"{path}: {clash}")
    lines: list[Line] = []
    for page in pages:
        rows = [row for i, row in enumerate(page.rows) if (page.number, i) not in drop]
        rows = _set_tables_aside(page, rows, body)
        lines += layout.reading_order(page.number, rows, body, lines[-1].flow + 1 if lines else 0)
    vocab = structure.vocabulary(lines)
    text, blocks, headings = structure.assemble(structure.chunks_of(lines, body), labels, vocab, body)
    return ParsedDocument(
        doc_id=doc_id, path=str(path), sha256=sha256, media_type="application/pdf",
        extractor=EXTRACTOR, extractor_version=EXTRACTOR_VERSION, text=text,
        blocks=tuple(blocks), paginated=True, page_count=len(pages), warnings=tuple(warnings),
        headings=tuple(headings))


def _set_tables_aside(page: Page, rows: list[Row], body: float) -> list[Row]:
    """Rows with each table's words replaced by one row holding the table's chunks, placed
    where the table stands so reading order puts it between the right paragraphs."""
    found = tables.find_tables(page, rows, body, layout.gutter(rows, body))
    if not found:
        return rows
    held = set().union(*(t.words for t in found))
    kept = []
    for row in rows:
        words = [w for w in row.words if id(w) not in held]
        if words:
            kept.append(Row(words, min(w["top"] for w in words), max(w["bottom"] for w in words)))
    for table in found:
        line = Line(page.number, 0, [], table.top, table.bottom)
        chunk_rows = [structure.Chunk([line], "table", "table", text, preset=True)
                      for text in table.row_texts()]
        marker = {"text": "", "x0": table.x0, "x1": table.x1, "top": table.top, "bottom": table.bottom,
                  "size": body, "fontname": "", "bold": False, "table": chunk_rows}
        line.words = [marker]
        kept.append(Row([marker], table.top, table.bottom))
    kept.sort(key=lambda r: r.top)
    return kept


def _check_text_layer(path: Path, pages: list[Page]) -> list[str]:
    empty = [p.number for p in pages if not p.words]
    if len(empty) == len(pages):
        raise InputError(f"PDF has no text layer on any of its {len(pages)} page(s) "
                             "(scanned or image-only); run OCR on it first", path=str(path))
    warnings = []
    scanned = [p.number for p in pages if not p.words and p.has_images]
    blank = [p.number for p in pages if not p.words and not p.has_images]
    if scanned:
        warnings.append(f"{path}: no text layer on page(s) {_ranges(scanned)} (image only; "
                        "their text is missing)")
    if blank:
        warnings.append(f"{path}: page(s) {_ranges(blank)} have no text")
    rotated = [p.number for p in pages if p.rotated]
    if rotated:
        warnings.append(f"{path}: rotated or vertical text (watermarks, margin notes) dropped on "
                        f"page(s) {_ranges(rotated)}: {sum(p.rotated for p in pages)} characters")
    unmapped = [p.number for p in pages if p.unmapped]
    if unmapped:
        per_page = ", ".join(f"p.{p.number}: {p.unmapped}" for p in pages if p.unmapped)
        warnings.append(f"{path}: fonts without a Unicode map on page(s) {_ranges(unmapped)}; "
                        f"unreadable characters replaced by \ufffd ({per_page})")
    return warnings


def _ranges(numbers: list[int]) -> str:
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def _parse(path: Path, doc_id: str, sha256: str, media_type: str, *,
           progress: Progress | None = None) -> ParsedDocument:
    return parse_pdf(path, doc_id, sha256, progress=progress)


PDF = Extractor("application/pdf", _parse, EXTRACTOR_VERSION)  # registered in extractors.py
