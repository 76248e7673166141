"""Text, Markdown and HTML sources -> ParsedDocument.

Markdown is read in the small dialect the digests use: ``#`` headings give the section path,
blank lines separate paragraphs, each ``- `` bullet is its own block, and an
``<!-- evidence: id, id -->`` comment attaches principle ids to the block right below it.
Unpaginated: blocks carry no page, so locators into these files are character spans only.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from rubricate.guidelines.kernel.errors import InputError
from rubricate.guidelines.sources.extractors import Extractor
from rubricate.guidelines.sources.model import Block, ParsedDocument

EXTRACTOR_VERSION = "1"
_EVIDENCE = re.compile(r"<!--\s*evidence:\s*(.*?)\s*-->", re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def decode_utf8(data: bytes, path: Path) -> str:
    """Decode strictly, naming the line of the first bad byte (no silent replacement)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
                             path=str(path), line=line) from None
    return text.removeprefix("\ufeff")


class _Builder:
    """Accumulates text and blocks so offsets stay exact."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.blocks: list[Block] = []

    def add(self, text: str, section: tuple[str, ...], annotations: tuple[str, ...] = (),
            block: bool = True) -> None:
        text = " ".join(text.split())
        if not text:
            return
        if self.parts:
            self.parts.append("\n\n")
            self.length += 2
        start = self.length
        self.parts.append(text)
        self.length += len(text)
        if block:
            self.blocks.append(Block(start, self.length, None, None, section, annotations))

    @property
    def text(self) -> str:
        return "".join(self.parts)


def parse_markdown(source: str) -> _Builder:
    b = _Builder()
    headings: list[tuple[int, str]] = []
    pending: list[str] = []  # annotations waiting for the next block
    para: list[str] = []
    para_ann: tuple[str, ...] = ()
    seen_title = False

    def section() -> tuple[str, ...]:
        return tuple(h for _, h in headings)

    def flush() -> None:
        nonlocal para, para_ann
        if para:
            b.add(" ".join(para), section(), para_ann)
        para, para_ann = [], ()

    # Evidence comments become markers on their own line; other comments vanish.
    source = _EVIDENCE.sub(lambda m: "\n\x00EVIDENCE " + m.group(1).replace("\n", " ") + "\n", source)
    source = _COMMENT.sub("", source)
    for raw in source.splitlines():
        line = raw.strip()
        if line.startswith("\x00EVIDENCE "):
            flush()
            pending += [a.strip() for a in line[len("\x00EVIDENCE "):].split(",") if a.strip()]
            continue
        m = _HEADING.match(line)
        if m and len(m.group(1)) == 1 and not seen_title:
            flush()  # the first top-level heading is the document's title, not a section
            seen_title = True
            b.add(m.group(2), (), block=False)
            continue
        if m:
            flush()
            level = len(m.group(1))
            headings = [h for h in headings if h[0] < level] + [(level, m.group(2))]
            b.add(m.group(2), section()[:-1], block=False)
            pending = []
            continue
        if not line:
            flush()
            continue
        bullet = re.match(r"^[-*+]\s+(.*)$", line) or re.match(r"^\d+[.)]\s+(.*)$", line)
        quote = re.match(r"^>\s?(.*)$", line)
        if bullet:
            flush()
            para, para_ann = [bullet.group(1)], tuple(pending)
            pending = []
            flush()
            continue
        if quote:
            line = quote.group(1)
        if not para:
            para_ann, pending = tuple(pending), []
        para.append(line)
    flush()
    return b


def parse_plain(source: str) -> _Builder:
    b = _Builder()
    for chunk in re.split(r"\n\s*\n", source):
        b.add(chunk, ())
    return b


class _HTMLBlocks(HTMLParser):
    BLOCKS = {"p", "li", "blockquote", "td", "th", "dd", "dt", "pre", "div", "section", "article"}
    SKIP = {"script", "style", "head", "template", "noscript"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.b = _Builder()
        self.headings: list[tuple[int, str]] = []
        self.buf: list[str] = []
        self.heading_level: int | None = None
        self.skip = 0

    def _flush(self) -> None:
        text = "".join(self.buf)
        self.buf = []
        if self.heading_level is not None:
            title = " ".join(text.split())
            if title:
                self.headings = [h for h in self.headings if h[0] < self.heading_level] + [(self.heading_level, title)]
                self.b.add(title, tuple(h for _, h in self.headings[:-1]), block=False)
            self.heading_level = None
        else:
            self.b.add(text, tuple(h for _, h in self.headings))

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self.SKIP:
            self.skip += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self.heading_level = int(tag[1])
        elif tag in self.BLOCKS or tag == "br":
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif re.fullmatch(r"h[1-6]", tag) or tag in self.BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.buf.append(data)


def parse_html(source: str) -> _Builder:
    p = _HTMLBlocks()
    p.feed(source)
    p.close()
    p._flush()
    return p.b


_PARSERS = {"text/markdown": ("rubricate.markdown", parse_markdown),
            "text/plain": ("rubricate.text", parse_plain),
            "text/html": ("rubricate.html", parse_html)}


def parse_text_file(path: Path, doc_id: str, sha256: str, media_type: str) -> ParsedDocument:
    if media_type not in _PARSERS:
        raise InputError(f"unsupported media type {media_type}", path=str(path))
    extractor, parse = _PARSERS[media_type]
    source = decode_utf8(Path(path).read_bytes(), Path(path))
    built = parse(source)
    if not built.blocks:
        raise InputError("no text found", path=str(path))
    return ParsedDocument(doc_id=doc_id, path=str(path), sha256=sha256, media_type=media_type,
                          extractor=extractor, extractor_version=EXTRACTOR_VERSION, text=built.text,
                          blocks=tuple(built.blocks), paginated=False)


# Registered in extractors.py, one per media type this module reads.
MARKDOWN = Extractor("text/markdown", parse_text_file, EXTRACTOR_VERSION)
PLAIN = Extractor("text/plain", parse_text_file, EXTRACTOR_VERSION)
HTML = Extractor("text/html", parse_text_file, EXTRACTOR_VERSION)
