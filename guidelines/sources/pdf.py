"""PDF text extraction: words from pdfplumber, laid back out into citable paragraphs.

Guideline PDFs carry running headers and footers, page numbers, two-column pages and
words hyphenated at line ends; a passage cut from ``page.extract_text()`` would quote all of
that. This module rebuilds reading order from word positions, page by page:

1. words -> rows (vertical overlap), as pdfplumber's own layout code does;
2. rows in the top/bottom margin that are a bare page number, repeat verbatim across
   pages, or carry a number that tracks the physical page are dropped as running headers
   and footers; that printed number is the page label when the PDF has no /PageLabels;
3. a gutter found from word x positions splits rows into left and right columns; rows that
   cross it (titles) are read in place, columns are read left then right;
4. lines -> blocks on vertical gaps wider than line spacing, bullets, font changes and
   column/page changes; a paragraph that runs on mid-sentence into the next column or page
   is rejoined (its block keeps the page it starts on); at a sentence end it stays split,
   so each part keeps its own page;
5. lines larger than the body size, or bold lines after a gap, are headings; their size
   ranks them into ``section_path``. Headings are in ``text`` but are not blocks: blocks are
   the body paragraphs a passage may cite.
"""
from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

import pdfminer
import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfplumber.utils.exceptions import PdfminerException

from rubricate.guidelines.kernel.errors import InputError, RubricateError
from rubricate.guidelines.sources.extractors import Extractor
from rubricate.guidelines.sources.model import Block, ParsedDocument

EXTRACTOR = "rubricate.pdf"
LAYOUT_VERSION = 2  # bump whenever the text or blocks this module produces change
EXTRACTOR_VERSION = f"{LAYOUT_VERSION}+pdfplumber.{pdfplumber.__version__}+pdfminer.{pdfminer.__version__}"

MARGIN_ZONE = 0.12  # share of the page height at top and bottom searched for headers/footers
HEADING_RATIO = 1.12  # a line this much larger than body text is a heading
WORD_GAP = 0.15  # a gap wider than this share of the font size separates words (TeX output
# often has no space characters and gaps below pdfplumber's fixed 3 pt default)
_PAGE_NUMBER = re.compile(r"(?i)(?:page\s+)?(\d{1,4}|[ivxlcdm]{1,7})(?:\s*(?:of|/)\s*\d{1,4})?")
_TERMINAL = re.compile(r"[.!?][\"'\u201d\u2019)\]]*$")
_BULLET = {"\u2022", "-", "\u2013", "\u25aa", "\u25cf", "\u25e6", "*", "\u2023"}
_HYPHENS = "-\u00ad\u2010"
_WORD_KEYS = ("text", "x0", "x1", "top", "bottom", "size", "fontname")  # all a page keeps


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
        return _size(self.words)

    @property
    def bold(self) -> bool:
        return all("bold" in w["fontname"].lower() for w in self.words)


def _size(words: list[dict]) -> float:
    """The font size (to half a point) that carries most of the characters."""
    sizes: Counter = Counter()
    for w in words:
        sizes[round(w["size"] * 2) / 2] += len(w["text"])
    return sizes.most_common(1)[0][0] if sizes else 0.0


@dataclass
class _Chunk:
    lines: list[_Line]
    kind: str  # "body", "h" (larger font) or "b" (bold at body size)
    reason: str  # why it starts: "first", "flow", "gap", "kind", "bullet", "size"
    text: str = ""


def parse_pdf(path: Path, doc_id: str, sha256: str) -> ParsedDocument:
    """Extract ``path`` into paragraphs with physical page, printed label and section path."""
    pages, catalog_labels = _read_pages(path)
    warnings = _check_text_layer(path, pages)
    body = _body_size(pages)
    drop = _margin_rows(pages, body)
    labels = catalog_labels or _printed_labels(pages, drop, body)
    lines: list[_Line] = []
    for page in pages:
        rows = [row for i, row in enumerate(page.rows) if (page.number, i) not in drop]
        lines += _reading_order(page.number, rows, body, lines[-1].flow + 1 if lines else 0)
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
        count = len(pdf.pages)
    except Exception as exc:  # pdfminer raises many types on damaged files
        raise _open_error(path, exc) from None
    with pdf:
        if not count:
            raise InputError("PDF has no pages (damaged file?)", path=str(path))
        pages = []
        for page in pdf.pages:
            try:
                words = [{key: w[key] for key in _WORD_KEYS} for w in page.extract_words(
                    extra_attrs=["size", "fontname"], x_tolerance_ratio=WORD_GAP)]
                has_images = bool(page.images)
            except Exception as exc:
                raise InputError(f"cannot read page content ({_describe(exc)})",
                                     path=str(path), page=page.page_number) from None
            pages.append(_Page(page.page_number, float(page.height), _rows(words), has_images))
            page.close()
        return pages, _catalog_labels(pdf, count)


def _check_complete(path: Path) -> None:
    size = path.stat().st_size
    if size == 0:
        raise InputError("file is empty (0 bytes)", path=str(path))
    with path.open("rb") as handle:
        handle.seek(max(0, size - 2048))
        if b"%%EOF" not in handle.read():
            raise InputError("PDF is truncated or incomplete (no %%EOF marker at the end); "
                                 "download or export it again", path=str(path))


def _open_error(path: Path, cause: BaseException) -> RubricateError:
    if isinstance(cause, PdfminerException) and cause.args:  # pdfplumber's wrapper
        cause = cause.args[0]
    if isinstance(cause, PDFPasswordIncorrect):
        return InputError("PDF is encrypted and needs a password; save a decrypted copy "
                              "(e.g. qpdf --decrypt) and add that", path=str(path))
    if isinstance(cause, PDFEncryptionError):
        return InputError(f"PDF uses an unsupported encryption ({cause})", path=str(path))
    return InputError(f"PDF is damaged or unreadable ({_describe(cause)})", path=str(path))


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
        raise InputError(f"PDF has no text layer on any of its {len(pages)} page(s) "
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

def _margin_rows(pages: list[_Page], body: float) -> set[tuple[int, int]]:
    """(page, row index) of running headers and footers: rows in the top or bottom margin zone
    that are a bare page number, recur verbatim on several pages, or (when not larger than
    body text) start or end with a number and either recur on several pages up to their
    numbers or carry a number that tracks the physical page ("Guideline 2024 | 17")."""
    verbatim: dict[tuple[str, str], set[int]] = defaultdict(set)
    candidates = []
    for page in pages:
        for i, row in enumerate(page.rows):
            if row.bottom <= page.height * MARGIN_ZONE:
                zone = "top"
            elif row.top >= page.height * (1 - MARGIN_ZONE):
                zone = "bottom"
            else:
                continue
            verbatim[(zone, row.text.lower())].add(page.number)
            candidates.append((page.number, i, zone, row))
    repeats = min(3, max(2, len(pages)))
    drop, varying = set(), []
    shapes: dict[tuple[str, str], set[int]] = defaultdict(set)
    for p, i, zone, row in candidates:
        if len(verbatim[(zone, row.text.lower())]) >= repeats or \
                _PAGE_NUMBER.fullmatch(row.text.strip(" -\u2013\u2014|\u00b7")):
            drop.add((p, i))
        elif _size(row.words) < body * HEADING_RATIO:
            found = _page_numbers(f"{row.words[0]['text']} {row.words[-1]['text']}", p)
            if found:
                shape = (zone, re.sub(r"\b(?:\d+|[ivxlcdm]+)\b", "#", row.text.lower()))
                shapes[shape].add(p)
                varying.append((p, i, shape, found))
    support = Counter((shape[0], key) for _, _, shape, found in varying
                      for key in {k for _, k in found})
    drop |= {(p, i) for p, i, shape, found in varying if len(shapes[shape]) >= repeats
             or any(support[(shape[0], k)] >= 2 for _, k in found)}
    return drop


def _roman_value(token: str) -> int | None:
    values = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}
    low = token.lower()
    if not low or any(c not in values for c in low) or token not in (low, low.upper()):
        return None
    total = sum(-values[a] if values[a] < values[b] else values[a] for a, b in zip(low, low[1:]))
    total += values[low[-1]]
    canonical, n = "", total  # accept canonical numerals up to 60 only ("iv", not "iiii", "mix")
    for value, letters in ((50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        while n >= value:
            canonical, n = canonical + letters, n - value
    return total if canonical == low and total <= 60 else None


def _page_numbers(text: str, page: int) -> list[tuple[str, tuple[str, int]]]:
    """Tokens of a margin row that could be a printed page number, each with its kind and
    offset from the physical page (a real page number keeps its offset across pages)."""
    found = []
    for token in text.split():
        token = token.strip(".,:;()[]|-\u2013\u2014")
        if token.isdigit() and len(token) <= 4:
            found.append((token, ("arabic", int(token) - page)))
        elif (value := _roman_value(token)) is not None:
            found.append((token, ("roman", value - page)))
    return found


def _printed_labels(pages: list[_Page], drop: set[tuple[int, int]], body: float) -> list[str | None]:
    """Printed page numbers from the dropped margin rows. A number counts when another page
    shows one at the same offset from its physical page, so a year or chapter number in a
    running header is never taken for a page number; or, alone, when its row is only a page
    number in body-size type ("ii", "Page 12 of 40") no larger than the page count."""
    candidates: dict[int, list[tuple[str, tuple[str, int], bool]]] = defaultdict(list)
    for page in pages:
        for i, row in enumerate(page.rows):
            if (page.number, i) in drop:
                bare = bool(_PAGE_NUMBER.fullmatch(row.text.strip(" -\u2013\u2014|\u00b7"))) \
                    and _size(row.words) < body * HEADING_RATIO
                candidates[page.number] += [
                    (label, key, bare and (key[0] == "roman" or int(label) <= len(pages)))
                    for label, key in _page_numbers(row.text, page.number)]
    support = Counter(key for found in candidates.values() for key in {c[1] for c in found})
    labels: list[str | None] = []
    for page in pages:
        found = candidates.get(page.number, [])
        best = max(found, key=lambda c: (support[c[1]], c[2]), default=None)
        labels.append(best[0] if best and (support[best[1]] >= 2 or best[2]) else None)
    return labels


# ---- columns and reading order -----------------------------------------------------------

def _body_size(pages: list[_Page]) -> float:
    return _size([w for page in pages for row in page.rows for w in row.words]) or 10.0


def _gutter(rows: list[_Row], body: float) -> tuple[float, float] | None:
    """(left column's right edge, right column's left edge), or None on one-column pages.

    The right edge of the gutter is where the widest band in the middle half of the text
    ends that (nearly) the fewest rows cross and more rows jump over (words to its right,
    none on it) than cross: in one column nearly every row crosses every middle x. The left
    edge is the furthest that rows not crossing the right edge reach with their left part
    (ragged or justified)."""
    if len(rows) < 3:
        return None
    left = int(min(w["x0"] for r in rows for w in r.words))
    width = int(max(w["x1"] for r in rows for w in r.words)) - left + 2
    ends, cover = [0] * (width + 1), [0] * (width + 1)
    for row in rows:
        ends[int(row.words[-1]["x0"]) - left] += 1  # rows reaching right of x: last word's x0 > x
        for w in row.words:
            cover[int(w["x0"]) - left] += 1
            cover[int(w["x1"]) - left + 1] -= 1
    covered = list(accumulate(cover))
    reaching = [len(rows) - n for n in accumulate(ends)]
    lo, hi = width // 4, 3 * width // 4
    fewest = min(covered[lo:hi + 1]) + max(1, len(rows) // 10)  # titles may cross the gutter
    best, start = (0, 0), None
    for x in range(lo, hi + 2):
        jumped = reaching[x] - covered[x]
        inside = x <= hi and covered[x] <= fewest and jumped >= 2 and covered[x] < jumped
        if inside and start is None:
            start = x
        elif not inside and start is not None:
            best, start = max(best, (start, x), key=lambda run: run[1] - run[0]), None
    if best[1] - best[0] < 0.8 * body:
        return None
    g1 = left + best[1]
    lefts = [w["x1"] for row in rows if not any(w["x0"] < g1 - 1 < w["x1"] for w in row.words)
             for w in row.words if w["x1"] < g1 - 0.5 * body]  # nearer g1: a full row's space
    return (max(lefts), g1) if lefts else None


def _reading_order(page: int, rows: list[_Row], body: float, first_flow: int) -> list[_Line]:
    """Lines of one page in reading order. Rows crossing the gutter are read in place; the
    column rows between them are read left column first. Each run gets its own flow id."""
    gutter = _gutter(rows, body)
    if gutter is None:
        return [_Line(page, first_flow, r.words, r.top, r.bottom) for r in rows]
    g0, g1 = gutter[0] + 0.5, gutter[1] - 0.5
    ordered: list[tuple[str, list[dict]]] = []
    pending: dict[str, list[list[dict]]] = {"left": [], "right": []}

    def flush() -> None:
        for side in ("left", "right"):
            ordered.extend((side, words) for words in pending[side])
            pending[side].clear()

    for row in rows:
        if any(w["x0"] < g1 and w["x1"] > g0 for w in row.words):
            flush()
            ordered.append(("full", row.words))
        else:
            for side, words in (("left", [w for w in row.words if w["x1"] <= g0]),
                                ("right", [w for w in row.words if w["x0"] >= g1])):
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
        elif head and head.group(2) == "-" and part[:1].isalnum():
            text += part  # a break at a real hyphen: "COVID-" / "19", "non-" / "Hispanic"
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


def _parse(path: Path, doc_id: str, sha256: str, media_type: str) -> ParsedDocument:
    return parse_pdf(path, doc_id, sha256)


PDF = Extractor("application/pdf", _parse, EXTRACTOR_VERSION)  # registered in extractors.py
