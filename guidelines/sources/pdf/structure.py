"""Lines in reading order -> headings, paragraphs, list items, table rows and their kinds.

1. lines -> chunks on vertical gaps wider than line spacing, bullets, font changes and
   column/page changes; a paragraph that runs on mid-sentence into the next column or page
   is rejoined (its block keeps the page it starts on); at a sentence end it stays split,
   so each part keeps its own page;
2. headings: lines larger than the body size, bold lines after a gap, and short body-size
   lines numbered like "2.3 Assessment" or set in capitals; a heading over two lines (even
   when its first line crosses the column gutter) is one heading. Levels come from size,
   then weight, then numbering depth. A line that ends in a page number (a contents entry)
   or a table's header row is never a heading;
3. lists: a line opening with a bullet of any glyph (symbol fonts included, normalised to
   "\u2022") or "1." / "a)" / "(iv)" starts a list item, which keeps its wrapped lines and
   remembers its lead-in sentence;
4. kinds: a section whose heading names contents, references, declarations, a glossary or
   boilerplate gives its blocks that kind (kinds.py); so does licence text anywhere, text
   before the first heading (front matter), and contents lines with page numbers.
Headings are in ``text`` and in ``headings`` but are not blocks: blocks are what a passage
may cite.
"""
from __future__ import annotations

import re
import statistics
from dataclasses import dataclass

from rubricate.guidelines.sources import kinds
from rubricate.guidelines.sources.model import Block
from rubricate.guidelines.sources.pdf.page import Line

HEADING_RATIO = 1.12  # a line this much larger than body text is a heading
TERMINAL = re.compile(r"[.!?][\"'\u201d\u2019)\]]*$")
BULLETS = {"\u2022", "-", "\u2013", "\u25aa", "\u25cf", "\u25e6", "*", "\u2023", "\u25a0",
           "\u25a1", "\u25cb", "\u2043", "\u2219", "\u00b7", "\u27a2", "\u2713", "\u2714",
           "\u25b6", "\u25ba", "\u2756", "\uf0b7", "\uf0a7", "\uf076", "\uf0d8", "\uf0fc"}
_SYMBOL_FONT = re.compile(r"(?i)symbol|dingbat|wingding|webding")
_ORDERED = re.compile(r"^(?:\(?(?:\d{1,2}|[a-z]|[ivx]{1,4})\)|(?:\d{1,2}|[a-z]|[ivx]{1,4})\.)$")
_NUMBERED_HEADING = re.compile(r"^(\d{1,2}(?:\.\d{1,2})+|\d{1,2}|[A-Z])\.?\s+[A-Z]")
_CONTENTS_LINE = re.compile(r"(?:\.\s?){3,}\s*\S{1,6}$|\u2026\s*\S{1,6}$")
_HYPHENS = "-\u00ad\u2010"
MIN_LETTERS = 4  # a block with fewer letters is a stray fragment, not a passage


@dataclass
class Chunk:
    lines: list[Line]
    kind: str  # body | h (larger font) | b (bold at body size) | n (numbered/capitals) | toc | table
    reason: str  # why it starts: first, flow, gap, kind, bullet, size, dedent, table
    text: str = ""
    item: bool = False  # a list item
    preset: bool = False  # text given (a table row), not joined from lines
    caption: str = ""


def bullet_of(line: Line) -> str | None:
    """The list marker opening ``line``, normalised ("\u2022" for any bullet glyph)."""
    first = line.words[0]
    token = first["text"]
    if token in ("-", "*", "\u2013"):
        return token  # typed bullets stay as typed
    if token in BULLETS or (len(token) == 1 and _SYMBOL_FONT.search(first["fontname"])):
        return "\u2022"
    if token[:1] in BULLETS - {"-", "*"} and len(token) > 1:
        return "\u2022"  # a bullet glued to its first word
    if _ORDERED.match(token) and len(line.words) > 1:
        return token
    return None


def _line_kind(line: Line, body: float) -> str:
    if line.words and line.words[0].get("table"):
        return "table"
    if _CONTENTS_LINE.search(line.text) or (
            len(line.words) > 1 and re.fullmatch(r"\d{1,4}|[ivxlc]{1,6}", line.words[-1]["text"])
            and line.words[-1]["x0"] - line.words[-2]["x1"] > 4 * body):
        return "toc"  # a contents entry: dot leaders or a wide gap before a page number
    size = line.size
    if size >= body * HEADING_RATIO:
        return "h"
    return "b" if line.bold and size >= body - 0.5 else "body"


def chunks_of(lines: list[Line], body: float) -> list[Chunk]:
    """Group lines into headings and paragraphs (see the module docstring)."""
    kinds_ = [_line_kind(line, body) for line in lines]
    gaps = [b.top - a.bottom for a, b, ka, kb in zip(lines, lines[1:], kinds_, kinds_[1:])
            if a.flow == b.flow and ka == kb == "body" and b.top > a.bottom - body]
    spacing = statistics.quantiles(gaps, n=4)[0] if len(gaps) > 1 else 0.3 * body
    threshold = spacing + 0.4 * body
    chunks: list[Chunk] = []
    for i, (line, kind) in enumerate(zip(lines, kinds_)):
        prev = lines[i - 1] if i else None
        gap = line.top - prev.bottom if prev else 0.0
        last = chunks[-1] if chunks else None
        if kind == "table":
            chunks.extend(line.words[0]["table"])
            continue
        if kind == "b" and prev and prev.flow == line.flow and last.kind == "body" and gap <= threshold:
            kind = "body"  # a bold line inside a paragraph, not a heading
        marker = bullet_of(line) if kind in ("body", "b") else None
        if marker:
            kind = "body"
        if prev is None or last is None or last.kind == "table":
            reason = "first" if prev is None else "table"
        elif kind in ("h", "b") and last.kind == kind and prev.page == line.page and \
                abs(line.size - prev.size) < 0.5 and -body < gap <= 0.8 * line.size and \
                line.flow != prev.flow and line.x0 < prev.x1:
            reason = ""  # a heading's second line, below a first line that crossed the gutter
        elif line.flow != prev.flow:
            reason = "flow"
        elif kind != last.kind:
            reason = "kind"
        elif kind == "body":
            reason = ("gap" if gap > threshold else
                      "bullet" if marker else
                      "size" if abs(line.size - prev.size) > 1 else
                      "dedent" if last.item and line.x0 < last.lines[0].x0 - 2 else "")
        elif kind == "toc":
            reason = "gap" if gap > threshold else ""
        else:
            reason = "gap" if gap > 0.8 * line.size or line.size != prev.size else ""
        if marker and not reason:
            reason = "bullet"
        if reason:
            chunks.append(Chunk([line], kind, reason, item=bool(marker)))
        else:
            last.lines.append(line)
    return chunks


def vocabulary(lines: list[Line]) -> tuple[set[str], set[str]]:
    """Words and hyphenated compounds seen inside lines: a break "self-" / "harm" keeps its
    hyphen when "self-harm" occurs elsewhere and "selfharm" does not."""
    words, compounds = set(), set()
    strip = ".,;:!?()[]\"'\u201c\u201d\u2018\u2019"
    for line in lines:
        tokens = [w["text"] for w in line.words]
        if tokens and tokens[-1] and tokens[-1][-1] in _HYPHENS:
            tokens.pop()
        for token in tokens:
            token = token.strip(strip).lower()
            words.add(token)
            if "-" in token and re.fullmatch(r"[^\W\d_]+(?:-[^\W\d_]+)+", token):
                compounds.add(token)
    return words, compounds


_HEAD = re.compile(r"([^\W\d_]+(?:-[^\W\d_]+)*)([-\u00ad\u2010])$")
_TAIL = re.compile(r"[a-z][^\W\d_]*")


def join_lines(lines: list[Line], vocab: tuple[set[str], set[str]], item: bool = False) -> str:
    """Lines -> one paragraph string, repairing words hyphenated at line ends."""
    words, compounds = vocab
    text = ""
    for n, line in enumerate(lines):
        part = line.text
        if item and n == 0:
            marker = bullet_of(line)
            part = " ".join([marker] + [w["text"] for w in line.words[1:]]) if marker else part
        head = _HEAD.search(text[-80:]) if text else None
        tail = _TAIL.match(part)
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


def _looks_like_heading(chunk: Chunk, text: str) -> bool:
    return len(chunk.lines) <= 3 and len(text.split()) <= 25 and not re.search(r"[.;,:]$", text) \
        and not re.search(r"\s\d{1,4}$", text)


def _short_title(text: str) -> bool:
    """A body-size line that is a numbered or capitalised subheading."""
    if len(text.split()) > 14 or re.search(r"[.;,:]$", text) or sum(c.isalpha() for c in text) < 3:
        return False
    if _NUMBERED_HEADING.match(text) and not re.match(r"^\d{1,2}\.\s", text):
        return True
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 4 and all(c.isupper() for c in letters)


def _split_titles(chunks: list[Chunk]) -> list[Chunk]:
    """Body-size numbered or capitalised subheadings: alone, or as the short first line of
    the paragraph they head."""
    out: list[Chunk] = []
    for chunk in chunks:
        if chunk.kind == "body" and not chunk.item and chunk.lines:
            first = chunk.lines[0]
            widest = max(line.x1 - line.x0 for line in chunk.lines)
            alone = len(chunk.lines) == 1
            short = alone or (first.x1 - first.x0) < 0.7 * widest
            if short and _short_title(first.text) and (not alone or chunk is not chunks[-1]):
                out.append(Chunk([first], "n", chunk.reason))
                if not alone:
                    out.append(Chunk(chunk.lines[1:], "body", "kind"))
                continue
        out.append(chunk)
    return out


def _numbering(text: str) -> int | None:
    """Depth of a heading's section number: "3" -> 1, "3.1" -> 2, "3.1.2" -> 3."""
    found = re.match(r"^(\d{1,2}(?:\.\d{1,2})*)\.?\s+\S", text)
    return found.group(1).count(".") + 1 if found else None


def _level_key(chunk: Chunk, body: float) -> tuple:
    """Larger type ranks higher, then bold at body size, then numbered or capitalised body
    text, whose numbering depth ("2" > "2.3" > "2.3.1") ranks it among its kind."""
    if chunk.kind == "h":
        return (-chunk.lines[0].size, 0, 0)
    if chunk.kind == "b":
        return (-body, 1, 0)
    numbered = re.match(r"^(\d{1,2}(?:\.\d{1,2})*)\.?\s", chunk.text)
    return (-body, 2, numbered.group(1).count(".") + 1 if numbered else 0)


def assemble(chunks: list[Chunk], labels: list[str | None], vocab: tuple[set[str], set[str]],
             body: float) -> tuple[str, list[Block], list[Block]]:
    """Chunks -> (document text, blocks, headings)."""
    merged: list[Chunk] = []
    for chunk in _split_titles(chunks):
        if not chunk.preset:
            chunk.text = join_lines(chunk.lines, vocab, chunk.item)
        if chunk.kind == "b" and not _looks_like_heading(chunk, chunk.text):
            chunk.kind = "body"
        last = merged[-1] if merged else None
        if (last and chunk.reason == "flow" and chunk.kind == "body" and last.kind == "body"
                and not last.preset and not TERMINAL.search(last.text) and not chunk.item):
            last.lines += chunk.lines  # the paragraph runs on into the next column or page
            last.text = join_lines(last.lines, vocab, last.item)
        else:
            merged.append(chunk)
    _captions(merged)
    keys = sorted({_level_key(c, body) for c in merged if c.kind in ("h", "b", "n")})
    sectioned = bool(keys)
    parts: list[str] = []
    blocks: list[Block] = []
    headings: list[Block] = []
    stack: list[tuple[tuple, str, str | None, int | None]] = []  # (key, title, kind, numbering depth)
    end = 0
    lead_in = ""
    for n, chunk in enumerate(merged):
        text = chunk.text
        if not text or sum(c.isalpha() for c in text) < MIN_LETTERS:
            continue
        start = end + 2 if parts else 0
        parts.append(text)
        end = start + len(text)
        page = chunk.lines[0].page
        if chunk.kind in ("h", "b", "n"):
            key, depth = _level_key(chunk, body), _numbering(text)
            deeper = [i for i, entry in enumerate(stack) if depth and entry[3] and entry[3] >= depth]
            if deeper:  # "3.2" closes "3.1" and everything under it, whatever their type
                del stack[deeper[0]:]
            while stack and stack[-1][0] >= key:
                stack.pop()
            headings.append(Block(start, end, page, labels[page - 1], tuple(e[1] for e in stack),
                                  kind="heading"))
            stack.append((key, text, kinds.heading_kind(text), depth))
            lead_in = ""
            continue
        section = tuple(e[1] for e in stack)
        kind = _kind(chunk, text, stack, sectioned)
        if kind == "table" and chunk.caption:
            section += (chunk.caption,)
        item_lead = lead_in if chunk.item else ""
        if not chunk.item:
            lead_in = _last_sentence(text) if text.endswith(":") else ""
        blocks.append(Block(start, end, page, labels[page - 1], section, kind=kind, lead_in=item_lead))
    return "\n\n".join(parts), blocks, headings


_CAPTION = re.compile(r"^(?:Table|Figure|Fig\.|Box|Exhibit)\s*[A-Z]?\d+[A-Za-z]?\b")


def _captions(chunks: list[Chunk]) -> None:
    """"Table 2: ..." next to a table is its caption (never a heading); the table's rows
    carry it. Any other "Figure 3 ..." paragraph is a caption too."""
    for i, chunk in enumerate(chunks):
        if chunk.preset or not _CAPTION.match(chunk.text):
            continue
        after = chunks[i + 1] if i + 1 < len(chunks) else None
        before = chunks[i - 1] if i else None
        table = after if after and after.kind == "table" else before if before and before.kind == "table" else None
        if table is None and chunk.kind != "body":
            continue
        chunk.kind = "caption"
        if table is not None:
            j = i + 1 if table is after else i - 1
            while 0 <= j < len(chunks) and chunks[j].kind == "table" and not chunks[j].caption:
                chunks[j].caption = chunk.text
                j += 1 if table is after else -1


def _kind(chunk: Chunk, text: str, stack: list, sectioned: bool) -> str:
    section_kind = next((e[2] for e in reversed(stack) if e[2]), None)
    if section_kind:
        return section_kind
    if not stack and sectioned:
        return "front_matter"
    if chunk.kind == "toc":
        return "contents"
    if kinds.is_boilerplate(text):
        return "boilerplate"
    if chunk.kind == "table":
        return "table"
    if chunk.kind == "caption":
        return "caption"
    return "list" if chunk.item else "body"


def _last_sentence(text: str) -> str:
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z])", text)
    return parts[-1]
