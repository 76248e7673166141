"""PDF text extraction: words from pdfplumber, laid back out into citable paragraphs.

Guideline PDFs carry running headers and footers, page numbers, two-column pages and
words hyphenated at line ends; a passage cut from ``page.extract_text()`` would quote all of
that. This module rebuilds reading order from word positions, page by page:

1. words -> rows (vertical overlap), as pdfplumber's own layout code does;
2. rows in the top/bottom margin that repeat across pages (digits and roman numerals
   allowed to vary) or are a bare page number are dropped; the printed number is kept as
   the page label when the /PageLabels catalog entry is absent;
3. a gutter found from word x positions splits rows into left and right columns; rows that
   cross it (titles) are read in place, columns are read left then right;
4. lines -> blocks on vertical gaps wider than line spacing, bullets, font changes and
   column/page changes; a paragraph that runs on into the next column or page is rejoined;
5. lines larger than the body size, or bold lines after a gap, are headings; their size
   ranks them into ``section_path``. Headings are in ``text`` but are not blocks: blocks are
   the body paragraphs a passage may cite.
"""
from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pdfminer
import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfplumber.utils.exceptions import PdfminerException

from guidelines.errors import RubricateError
from guidelines.model import Block, ParsedDocument

EXTRACTOR = "rubricate.pdf"
LAYOUT_VERSION = 1  # bump whenever the text or blocks this module produces change
EXTRACTOR_VERSION = f"{LAYOUT_VERSION}+pdfplumber.{pdfplumber.__version__}+pdfminer.{pdfminer.__version__}"

MARGIN_ZONE = 0.12  # share of the page height at top and bottom searched for headers/footers
HEADING_RATIO = 1.12  # a line this much larger than body text is a heading
_PAGE_NUMBER = re.compile(r"(?i)(?:page\s+)?(\d{1,4}|[ivxlcdm]{1,7})(?:\s*(?:of|/)\s*\d{1,4})?")
_TERMINAL = re.compile(r"[.!?:;][\"'\u201d\u2019)\]]*$")
_BULLET = {"\u2022", "-", "\u2013", "\u25aa", "\u25cf", "\u25e6", "*", "\u2023"}
_HYPHENS = "-\u00ad\u2010"


@dataclass
class _Row:
    words: list[dict]
    top: float
    bottom: float

    @property
    def text(self) -> str:
        return " ".join(w["text"] for w in self.words)


@dataclass
class _Page:
    number: int
    height: float
    rows: list[_Row]
    has_images: bool


@dataclass
class _Line:
    page: int
    flow: int  # one id per column run / full-width run; changes mean "text jumped"
    words: list[dict]
    top: float
    bottom: float

    @property
    def text(self) -> str:
        return " ".join(w["text"] for w in self.words)

    @property
    def size(self) -> float:
        sizes = Counter()
        for w in self.words:
            sizes[round(w["size"] * 2) / 2] += len(w["text"])
        return sizes.most_common(1)[0][0]

    @property
    def bold(self) -> bool:
        return all("bold" in w["fontname"].lower() for w in self.words)


@dataclass
class _Chunk:
    lines: list[_Line]
    kind: str  # "body", "h" (larger font) or "b" (bold at body size)
    reason: str  # why it starts: "first", "flow", "gap", "kind", "bullet", "size"
    level: int = 0
    text: str = field(default="")


def parse_pdf(path: Path, doc_id: str, sha256: str) -> ParsedDocument:
    """Extract ``path`` into paragraphs with physical page, printed label and section path."""
    pages, catalog_labels = _read_pages(path)
    warnings = _check_text_layer(path, pages)
    drop = _margin_rows(pages)
    labels = catalog_labels or _printed_labels(pages, drop)
    body = _body_size(pages, drop)
    lines: list[_Line] = []
    for page in pages:
        rows = [row for i, row in enumerate(page.rows) if (page.number, i) not in drop]
        lines += _reading_order(page.number, rows, body, first_flow=len(lines) and lines[-1].flow + 1)
    chunks = _chunks(lines, body)
    text, blocks = _assemble(chunks, labels, _vocabulary(lines))
    return ParsedDocument(
        doc_id=doc_id, path=str(path), sha256=sha256, media_type="application/pdf",
        extractor=EXTRACTOR, extractor_version=EXTRACTOR_VERSION, text=text,
        blocks=tuple(blocks), paginated=True, page_count=len(pages), warnings=tuple(warnings))


# ---- reading the file ------------------------------------------------------------------------

def _read_pages(path: Path) -> tuple[list[_Page], list[str | None] | None]:
    _check_complete(path)
    try:
        pdf = pdfplumber.open(path)
    except PdfminerException as exc:
        raise _open_error(path, exc.args[0] if exc.args else exc) from None
    except Exception as exc:  # pdfminer raises many types on damaged files
        raise _open_error(path, exc) from None
    with pdf:
        try:
            count = len(pdf.pages)
        except Exception as exc:
            raise _open_error(path, exc.args[0] if isinstance(exc, PdfminerException) and exc.args else exc) from None
        if not count:
            raise RubricateError("PDF has no pages (damaged file?)", path=str(path))
        pages = []
        for page in pdf.pages:
            try:
                words = page.extract_words(extra_attrs=["size", "fontname"])
                has_images = bool(page.images)
            except Exception as exc:
                raise RubricateError(f"cannot read page content ({_describe(exc)})",
                                     path=str(path), page=page.page_number) from None
            pages.append(_Page(page.page_number, float(page.height), _rows(words), has_images))
            page.close()
        return pages, _catalog_labels(pdf, count)


def _check_complete(path: Path) -> None:
    size = path.stat().st_size
    if size == 0:
        raise RubricateError("file is empty (0 bytes)", path=str(path))
    with path.open("rb") as handle:
        handle.seek(max(0, size - 2048))
        if b"%%EOF" not in handle.read():
            raise RubricateError("PDF is truncated or incomplete (no %%EOF marker at the end); "
                                 "download or export it again", path=str(path))


def _open_error(path: Path, cause: BaseException) -> RubricateError:
    if isinstance(cause, PDFPasswordIncorrect):
        return RubricateError("PDF is encrypted and needs a password; save a decrypted copy "
                              "(e.g. qpdf --decrypt) and add that", path=str(path))
    if isinstance(cause, PDFEncryptionError):
        return RubricateError(f"PDF uses an unsupported encryption ({cause})", path=str(path))
    return RubricateError(f"PDF is damaged or unreadable ({_describe(cause)})", path=str(path))


def _describe(exc: BaseException) -> str:
    detail = " ".join(str(exc).split())[:160]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _catalog_labels(pdf, count: int) -> list[str | None] | None:
    """Labels from the /PageLabels catalog entry, or None when there is none (or it is bad)."""
    try:
        labels = pdf.doc.get_page_labels()
        return [next(labels) or None for _ in range(count)]
    except Exception:
        return None


def _rows(words: list[dict]) -> list[_Row]:
    """Group words whose vertical extents overlap by at least half into rows."""
    rows: list[_Row] = []
    for word in sorted(words, key=lambda w: (w["top"], w["x0"])):
        if rows:
            row = rows[-1]
            anchor = row.words[0]
            overlap = min(anchor["bottom"], word["bottom"]) - max(anchor["top"], word["top"])
            height = min(anchor["bottom"] - anchor["top"], word["bottom"] - word["top"])
            if overlap >= 0.5 * height:
                row.words.append(word)
                row.bottom = max(row.bottom, word["bottom"])
                continue
        rows.append(_Row([word], word["top"], word["bottom"]))
    for row in rows:
        row.words.sort(key=lambda w: w["x0"])
    return rows


def _check_text_layer(path: Path, pages: list[_Page]) -> list[str]:
    empty = [p.number for p in pages if not p.rows]
    if len(empty) == len(pages):
        raise RubricateError(f"PDF has no text layer on any of its {len(pages)} page(s) "
                             "(scanned or image-only); run OCR on it first", path=str(path))
    warnings = []
    scanned = [p.number for p in pages if not p.rows and p.has_images]
    blank = [p.number for p in pages if not p.rows and not p.has_images]
    if scanned:
        warnings.append(f"{path}: no text layer on page(s) {_ranges(scanned)} (image only; "
                        "their text is missing)")
    if blank:
        warnings.append(f"{path}: page(s) {_ranges(blank)} have no text")
    unmapped = [p.number for p in pages if any("(cid:" in w["text"] for r in p.rows for w in r.words)]
    if unmapped:
        warnings.append(f"{path}: page(s) {_ranges(unmapped)} use fonts without a Unicode "
                        "mapping; some text is '(cid:N)' codes")
    return warnings


def _ranges(numbers: list[int]) -> str:
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


# ---- running headers, footers and page labels --------------------------------------------

def _shape(text: str) -> str:
    """A margin row with its page numbers blanked, so "Page 3" and "Page 4" compare equal."""
    text = re.sub(r"\d+", "#", text.lower())
    return re.sub(r"\b[ivxlcdm]+\b", "#", text)


def _margin_rows(pages: list[_Page]) -> set[tuple[int, int]]:
    """(page, row index) of headers and footers: rows in the top or bottom margin zone that
    repeat on several pages up to their digits, or that are only a page number."""
    seen: dict[tuple[str, str], set[int]] = defaultdict(set)
    candidates = []
    for page in pages:
        for i, row in enumerate(page.rows):
            if row.bottom <= page.height * MARGIN_ZONE:
                zone = "top"
            elif row.top >= page.height * (1 - MARGIN_ZONE):
                zone = "bottom"
            else:
                continue
            key = (zone, _shape(row.text))
            seen[key].add(page.number)
            candidates.append((page.number, i, key, row.text))
    repeats = min(3, max(2, len(pages)))
    return {(p, i) for p, i, key, text in candidates
            if len(seen[key]) >= repeats or _PAGE_NUMBER.fullmatch(text.strip(" -\u2013\u2014|\u00b7"))}


def _roman_value(token: str) -> int | None:
    values = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}
    low = token.lower()
    if not low or any(c not in values for c in low) or token not in (low, low.upper()):
        return None
    total = sum(-values[a] if values[a] < values[b] else values[a] for a, b in zip(low, low[1:]))
    total += values[low[-1]]
    from_value, n = "", total  # accept canonical numerals only ("iv", not "iiii" or "mix")
    for value, letters in ((50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        while n >= value:
            from_value, n = from_value + letters, n - value
    return total if from_value == low and total <= 60 else None


def _printed_labels(pages: list[_Page], drop: set[tuple[int, int]]) -> list[str | None]:
    """Printed page numbers from the dropped margin rows. A number counts only when another
    page shows one at the same offset from its physical page, so a year or chapter number in
    a running header is never taken for a page number."""
    candidates: dict[int, list[tuple[str, tuple[str, int]]]] = defaultdict(list)
    for page in pages:
        for i, row in enumerate(page.rows):
            if (page.number, i) not in drop:
                continue
            for token in row.text.split():
                token = token.strip(".,:;()[]|-\u2013\u2014")
                if token.isdigit() and len(token) <= 4:
                    candidates[page.number].append((token, ("arabic", int(token) - page.number)))
                elif (value := _roman_value(token)) is not None:
                    candidates[page.number].append((token, ("roman", value - page.number)))
    support = Counter(key for found in candidates.values() for key in {k for _, k in found})
    labels: list[str | None] = []
    for page in pages:
        best = max(candidates.get(page.number, []), key=lambda c: support[c[1]], default=None)
        labels.append(best[0] if best and support[best[1]] >= 2 else None)
    return labels


# ---- columns and reading order -----------------------------------------------------------

def _body_size(pages: list[_Page], drop: set[tuple[int, int]]) -> float:
    sizes: Counter = Counter()
    for page in pages:
        for i, row in enumerate(page.rows):
            if (page.number, i) not in drop:
                for w in row.words:
                    sizes[round(w["size"] * 2) / 2] += len(w["text"])
    return sizes.most_common(1)[0][0] if sizes else 10.0


def _gutter(rows: list[_Row], body: float) -> tuple[float, float] | None:
    """The widest empty vertical band in the middle half of the text that many rows have
    words on both sides of, and fewer rows cross; None on one-column pages."""
    if len(rows) < 3:
        return None
    left = int(min(w["x0"] for r in rows for w in r.words))
    width = int(max(w["x1"] for r in rows for w in r.words)) - left + 2
    span, cover = [0] * (width + 1), [0] * (width + 1)
    for row in rows:
        span[int(row.words[0]["x0"]) - left] += 1
        span[int(max(w["x1"] for w in row.words)) - left + 1] -= 1
        for w in row.words:
            cover[int(w["x0"]) - left] += 1
            cover[int(w["x1"]) - left + 1] -= 1
    best, start, spanned, covered = None, None, 0, 0
    for x in range(width):
        spanned, covered = spanned + span[x], covered + cover[x]
        split = spanned - covered
        inside = width * 0.25 <= x <= width * 0.75 and split >= 3 and covered < split
        if inside and start is None:
            start = x
        if not inside and start is not None:
            if best is None or x - start > best[1] - best[0]:
                best = (start, x)
            start = None
    if best is None or best[1] - best[0] < 0.8 * body:
        return None
    return left + best[0], left + best[1]


def _reading_order(page: int, rows: list[_Row], body: float, first_flow: int) -> list[_Line]:
    """Lines of one page in reading order. Rows crossing the gutter are read in place; the
    column rows between them are read left column first. Each run gets its own flow id."""
    gutter = _gutter(rows, body)
    if gutter is None:
        return [_Line(page, first_flow, r.words, r.top, r.bottom) for r in rows]
    mid, slack = (gutter[0] + gutter[1]) / 2, (gutter[1] - gutter[0]) / 4
    ordered: list[tuple[str, list[dict]]] = []
    pending: dict[str, list[list[dict]]] = {"left": [], "right": []}

    def flush() -> None:
        for side in ("left", "right"):
            ordered.extend((side, words) for words in pending[side])
            pending[side].clear()

    for row in rows:
        if any(w["x0"] < mid + slack and w["x1"] > mid - slack for w in row.words):
            flush()
            ordered.append(("full", row.words))
        else:
            for side, words in (("left", [w for w in row.words if w["x1"] < mid]),
                                ("right", [w for w in row.words if w["x0"] > mid])):
                if words:
                    pending[side].append(words)
    flush()
    lines, flow = [], first_flow
    for i, (side, words) in enumerate(ordered):
        flow += 1 if i and side != ordered[i - 1][0] else 0
        lines.append(_Line(page, flow, words, min(w["top"] for w in words),
                           max(w["bottom"] for w in words)))
    return lines


# ---- paragraphs, headings and the document text -------------------------------------------

def _line_kind(line: _Line, body: float) -> str:
    size = line.size
    if size >= body * HEADING_RATIO:
        return "h"
    return "b" if line.bold and size >= body - 0.5 else "body"


def _chunks(lines: list[_Line], body: float) -> list[_Chunk]:
    """Group lines into headings and paragraphs (see the module docstring)."""
    kinds = [_line_kind(line, body) for line in lines]
    gaps = [b.top - a.bottom for a, b, ka, kb in zip(lines, lines[1:], kinds, kinds[1:])
            if a.flow == b.flow and ka == kb == "body" and b.top > a.bottom - body]
    spacing = statistics.quantiles(gaps, n=4)[0] if len(gaps) > 1 else 0.3 * body
    threshold = spacing + 0.4 * body
    chunks: list[_Chunk] = []
    for i, (line, kind) in enumerate(zip(lines, kinds)):
        prev = lines[i - 1] if i else None
        gap = line.top - prev.bottom if prev else 0.0
        if kind == "b" and prev and prev.flow == line.flow and chunks[-1].kind == "body" \
                and gap <= threshold:
            kind = "body"  # a bold line inside a paragraph, not a heading
        if prev is None:
            reason = "first"
        elif line.flow != prev.flow:
            reason = "flow"
        elif kind != chunks[-1].kind:
            reason = "kind"
        elif kind == "body":
            reason = ("gap" if gap > threshold else
                      "bullet" if line.words[0]["text"] in _BULLET else
                      "size" if abs(line.size - prev.size) > 1 else "")
        else:
            reason = "gap" if gap > 0.8 * line.size or line.size != prev.size else ""
        if reason:
            chunks.append(_Chunk([line], kind, reason))
        else:
            chunks[-1].lines.append(line)
    return chunks


def _vocabulary(lines: list[_Line]) -> tuple[set[str], set[str]]:
    """Words and hyphenated compounds seen inside lines: a break "self-" / "harm" keeps its
    hyphen when "self-harm" occurs elsewhere and "selfharm" does not."""
    words, compounds = set(), set()
    for line in lines:
        tokens = line.text.split()
        if tokens and tokens[-1][-1] in _HYPHENS:
            tokens.pop()
        for token in tokens:
            token = token.strip(".,;:!?()[]\"'\u201c\u201d\u2018\u2019").lower()
            words.add(token)
            if re.fullmatch(r"[^\W\d_]+(?:-[^\W\d_]+)+", token):
                compounds.add(token)
    return words, compounds


def _join(lines: list[_Line], vocabulary: tuple[set[str], set[str]]) -> str:
    """Lines -> one paragraph string, repairing words hyphenated at line ends."""
    words, compounds = vocabulary
    text = ""
    for line in lines:
        part = line.text
        head = re.search(r"([^\W\d_]+(?:-[^\W\d_]+)*)([-\u00ad\u2010])$", text)
        tail = re.match(r"[a-z][^\W\d_]*", part)
        if not text:
            text = part
        elif head and tail:
            keep = head.group(2) == "-" and f"{head.group(1)}-{tail.group()}".lower() in compounds \
                and f"{head.group(1)}{tail.group()}".lower() not in words
            text = (text if keep else text[:-1]) + part
        elif text[-1] in "\u2013\u2014" and text[-2:-1] != " ":
            text += part
        else:
            text += " " + part
    return text.replace("\u00ad", "")


def _looks_like_heading(chunk: _Chunk, text: str) -> bool:
    return len(chunk.lines) <= 3 and len(text.split()) <= 25 and not re.search(r"[.;,]$", text)


def _assemble(chunks: list[_Chunk], labels: list[str | None],
              vocabulary: tuple[set[str], set[str]]) -> tuple[str, list[Block]]:
    merged: list[_Chunk] = []
    for chunk in chunks:
        chunk.text = _join(chunk.lines, vocabulary)
        if chunk.kind == "b" and not _looks_like_heading(chunk, chunk.text):
            chunk.kind = "body"
        last = merged[-1] if merged else None
        if (last and chunk.reason == "flow" and chunk.kind == last.kind == "body"
                and not _TERMINAL.search(last.text)
                and chunk.lines[0].words[0]["text"] not in _BULLET):
            last.lines += chunk.lines  # the paragraph runs on into the next column or page
            last.text = _join(last.lines, vocabulary)
        else:
            merged.append(chunk)
    sizes = sorted({c.lines[0].size for c in merged if c.kind == "h"}, reverse=True)
    parts: list[str] = []
    blocks: list[Block] = []
    stack: list[tuple[int, str]] = []
    end = 0
    for chunk in merged:
        if not chunk.text:
            continue
        start = end + 2 if parts else 0
        parts.append(chunk.text)
        end = start + len(chunk.text)
        if chunk.kind == "body":
            page = chunk.lines[0].page
            blocks.append(Block(start, end, page, labels[page - 1], tuple(h for _, h in stack)))
        else:
            level = sizes.index(chunk.lines[0].size) if chunk.kind == "h" else len(sizes)
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, chunk.text))
    return "\n\n".join(parts), blocks
