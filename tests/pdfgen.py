"""Generate real PDFs with fpdf2 and remember where every paragraph went.

The extractor tests need ground truth that a parser never saw: this module lays text out
itself (line breaking, hyphenation, columns, page breaks) so it can record, for each
paragraph, the physical page, the printed page label and the heading path it was written
under. Input is either a digest Markdown file (guidelines/digests/*.md) or any list of
(heading path, paragraphs).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from fpdf import FPDF

Section = tuple[tuple[str, ...], list[str]]  # (heading path, body paragraphs)

PAGE_W, PAGE_H = 595.0, 842.0  # A4 in points
MARGIN, TOP, BOTTOM = 56.0, 64.0, 64.0
GUTTER = 24.0
HEADING_SCALE = (1.6, 1.3, 1.15)  # heading size / body size by depth; deeper use the last
# Core PDF fonts only cover Latin-1: map common typography to plain equivalents.
_LATIN1 = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                         "\u2013": "-", "\u2026": "...", "\u2022": "-",
                         "\u2192": "->", "\u00a0": " ", "\u2011": "-", "\u2010": "-"})


def latin1(text: str) -> str:
    text = re.sub(r"\s*\u2014\s*|\s+\u2013\s+", "--", text)  # a spaced dash never starts a line as "-"
    text = " ".join(text.translate(_LATIN1).split())
    return text.encode("latin-1", "replace").decode("latin-1")


def sections_from_markdown(markdown: str) -> list[Section]:
    """Split a digest into sections: '#' headings, blank-line paragraphs, '- ' bullets (one
    paragraph each), '> ' quote lines as text; HTML comments are dropped."""
    markdown = re.sub(r"<!--.*?-->", "", markdown, flags=re.S)
    sections: list[Section] = []
    path: tuple[str, ...] = ()
    paragraphs: list[str] = []
    current: list[str] = []

    def end_paragraph() -> None:
        if current:
            paragraphs.append(" ".join(current))
            current.clear()

    def end_section() -> None:
        end_paragraph()
        if paragraphs:
            sections.append((path, list(paragraphs)))
            paragraphs.clear()

    for raw in markdown.splitlines():
        line = raw.strip()
        heading = re.match(r"(#{1,6})\s+(.*)", line)
        if heading:
            end_section()
            path = path[:len(heading.group(1)) - 1] + (heading.group(2),)
        elif not line:
            end_paragraph()
        elif line.startswith(("- ", "* ")):
            end_paragraph()
            current.append("- " + line[2:].strip())
        else:
            current.append(line[1:].strip() if line.startswith(">") else line)
    end_section()
    return sections


def roman(number: int) -> str:
    out = ""
    for value, letters in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"),
                           (90, "xc"), (50, "l"), (40, "xl"), (10, "x"), (9, "ix"),
                           (5, "v"), (4, "iv"), (1, "i")):
        while number >= value:
            out, number = out + letters, number - value
    return out


@dataclass(frozen=True)
class Placed:
    """One paragraph as written: the text exactly as laid out and where it starts."""

    text: str
    page: int  # physical, 1-based
    label: str | None  # printed label of that page (None without page numbers)
    section_path: tuple[str, ...]
    column: int  # 0 = left (or the only column), 1 = right


@dataclass
class GeneratedPdf:
    path: Path
    paragraphs: list[Placed] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    hyphenated: list[str] = field(default_factory=list)  # words broken as "treat-" / "ment"
    broken_compounds: list[str] = field(default_factory=list)  # "self-" / "harm"
    labels: list[str | None] = field(default_factory=list)  # printed label per page
    header: str = ""
    page_count: int = 0


@dataclass(frozen=True)
class Layout:
    """How to lay the text out (every option is a case the extractor must handle)."""

    columns: int = 1
    body_size: float = 10
    header: str = "Synthetic care guideline - version 2024"
    roman_pages: int = 0  # printed labels i, ii, ... on the first pages, then 1, 2, ...
    page_numbers: bool = True  # print the label ("Page ii" in the footer)
    number_in_header: bool = False  # print it at the end of the running header instead
    catalog_labels: bool = False  # also write the labels into /PageLabels
    hyphenate: bool = True  # break long words across lines with a hyphen
    break_compounds: bool = False  # let "self-harm" break as "self-" / "harm"
    justify: bool = False  # stretch full lines to the column width
    title_block: bool = True  # first heading level as a centred full-width title on page 1
    page_per_section: bool = False  # start every second-level section on a new page


class _Writer:
    """Own line breaking and column/page flow so every placement is known."""

    def __init__(self, out: GeneratedPdf, layout: Layout) -> None:
        self.out, self.layout, self.size = out, layout, layout.body_size
        self.hyphenate, self.break_compounds = layout.hyphenate, layout.break_compounds
        self.pdf = FPDF(unit="pt", format="A4")
        self.pdf.set_auto_page_break(False)
        self.pdf.set_margins(MARGIN, TOP, MARGIN)
        self.col_w = (PAGE_W - 2 * MARGIN - (layout.columns - 1) * GUTTER) / layout.columns
        self.column, self.y = 0, PAGE_H  # forces a page on the first write
        self.pages = 0
        self.top_of_columns = TOP

    # -- flow ------------------------------------------------------------------------------
    def label(self, page: int) -> str | None:
        if not self.layout.page_numbers:
            return None
        front = self.layout.roman_pages
        return roman(page) if page <= front else str(page - front)

    def new_page(self) -> None:
        font = (self.pdf.font_family, self.pdf.font_style, self.pdf.font_size_pt)
        self.pdf.add_page()
        self.pages += 1
        page, label, layout = self.pages, self.label(self.pages), self.layout
        if layout.catalog_labels and page in (1, layout.roman_pages + 1):
            front = page <= layout.roman_pages
            self.pdf.set_page_label(label_style="r" if front else "D", label_start=1)
        self.pdf.set_font("helvetica", "I", 8)
        self.pdf.set_xy(MARGIN, 28)
        header = f"{layout.header} | {label}" if layout.number_in_header and label else layout.header
        self.pdf.cell(PAGE_W - 2 * MARGIN, 10, header)
        if label is not None and not layout.number_in_header:
            self.pdf.set_xy(MARGIN, PAGE_H - 40)
            self.pdf.cell(PAGE_W - 2 * MARGIN, 10, f"Page {label}", align="C")
        self.out.labels.append(label)
        if font[0]:
            self.pdf.set_font(*font)
        self.column, self.y, self.top_of_columns = 0, TOP, TOP

    def room(self, height: float) -> None:
        if self.y + height <= PAGE_H - BOTTOM:
            return
        if self.column + 1 < self.layout.columns and self.pages:
            self.column, self.y = self.column + 1, self.top_of_columns
        else:
            self.new_page()

    @property
    def x(self) -> float:
        return MARGIN + self.column * (self.col_w + GUTTER)

    # -- text ------------------------------------------------------------------------------
    def wrap(self, text: str, width: float) -> list[str]:
        """Greedy line breaking; long plain words that do not fit are hyphenated."""
        lines, line = [], ""
        for word in text.split():
            trial = f"{line} {word}" if line else word
            if self.pdf.get_string_width(trial) <= width:
                line = trial
                continue
            cut = self.split_point(line, word, width)
            if cut:
                head, tail = word[:cut], word[cut:]
                lines.append(f"{line} {head}-" if line else head + "-")
                if head.endswith("-"):  # broke a compound at its own hyphen
                    lines[-1] = lines[-1][:-1]
                    self.out.broken_compounds.append(word)
                else:
                    self.out.hyphenated.append(re.sub(r"\W+$", "", word))
                line = tail
            else:
                lines.append(line)
                line = word
        return lines + [line] if line else lines

    def split_point(self, line: str, word: str, width: float) -> int:
        if not line:
            return 0
        if self.break_compounds and re.fullmatch(r"[A-Za-z]+-[a-z]+\W?", word):
            cut = word.index("-") + 1
            return cut if self.pdf.get_string_width(f"{line} {word[:cut]}") <= width else 0
        if not self.hyphenate or not re.match(r"[A-Za-z]{7,}", word):
            return 0
        letters = len(re.match(r"[A-Za-z]+", word).group())
        for cut in range(letters - 3, 2, -1):
            if word[cut].islower() and self.pdf.get_string_width(f"{line} {word[:cut]}-") <= width:
                return cut
        return 0

    def heading(self, text: str, depth: int, full_width: bool = False) -> None:
        size = self.size * HEADING_SCALE[min(depth, len(HEADING_SCALE) - 1)]
        self.pdf.set_font("helvetica", "B", size)
        width = PAGE_W - 2 * MARGIN if full_width else self.col_w
        hyphenate, compounds = self.hyphenate, self.break_compounds
        self.hyphenate = self.break_compounds = False
        lines = self.wrap(text, width)
        self.hyphenate, self.break_compounds = hyphenate, compounds
        self.room(size * 1.3 * len(lines) + size * 0.6 + self.size * 2.8)
        self.y += size * 0.6
        for line in lines:
            self.pdf.set_xy(MARGIN if full_width else self.x, self.y)
            self.pdf.cell(width, size * 1.2, line, align="C" if full_width else "L")
            self.y += size * 1.3
        self.out.headings.append(text)

    def paragraph(self, text: str, path: tuple[str, ...]) -> None:
        self.pdf.set_font("helvetica", "", self.size)
        pitch = self.size * 1.4
        self.room(pitch)
        self.out.paragraphs.append(Placed(text, self.pages, self.out.labels[-1], path, self.column))
        lines = self.wrap(text, self.col_w)
        for n, line in enumerate(lines):
            self.room(pitch)
            words = line.split()
            if self.layout.justify and n + 1 < len(lines) and len(words) > 1:
                self.justified(words)
            else:
                self.pdf.set_xy(self.x, self.y)
                self.pdf.cell(self.col_w, self.size * 1.2, line)
            self.y += pitch
        self.y += self.size * 0.9

    def justified(self, words: list[str]) -> None:
        """Place words one by one so the line fills the column (no space characters, as in
        much typeset output)."""
        widths = [self.pdf.get_string_width(w) for w in words]
        gap = (self.col_w - sum(widths)) / (len(words) - 1)
        x = self.x
        for word, width in zip(words, widths):
            self.pdf.text(x, self.y + self.size * 0.95, word)
            x += width + gap

    def write(self, sections: list[Section], path: Path) -> GeneratedPdf:
        previous: tuple[str, ...] = ()
        for heading_path, paragraphs in sections:
            heading_path = tuple(latin1(h) for h in heading_path)
            common = 0
            while common < min(len(previous), len(heading_path)) and \
                    previous[common] == heading_path[common]:
                common += 1
            for depth in range(common, len(heading_path)):
                if self.layout.page_per_section and depth == 1 and self.pages:
                    self.new_page()
                if self.layout.title_block and self.pages == 0 and depth == 0:
                    self.new_page()
                    self.heading(heading_path[0], 0, full_width=True)
                    self.y = self.top_of_columns = self.y + 8
                else:
                    self.heading(heading_path[depth], depth)
            previous = heading_path
            for text in paragraphs:
                self.paragraph(latin1(text), heading_path)
        self.out.page_count = self.pages
        self.pdf.output(str(path))
        return self.out


def write_pdf(sections: list[Section], path: Path, **layout) -> GeneratedPdf:
    """Write ``sections`` to ``path`` laid out as ``Layout(**layout)`` says."""
    options = Layout(**layout)
    return _Writer(GeneratedPdf(path=path, header=options.header), options).write(sections, path)


def write_digest_pdf(digest: Path, path: Path, **options) -> GeneratedPdf:
    return write_pdf(sections_from_markdown(digest.read_text(encoding="utf-8")), path, **options)


_SENTENCES = (
    "The clinician explains the purpose of each session and checks that the person understands it.",
    "Collaboratively agreed goals give both people a shared understanding of progress.",
    "Confidentiality and its limits are discussed before any sensitive disclosure is invited.",
    "Psychoeducation about the condition is offered in plain language and revisited later.",
    "A formulation links current difficulties with maintaining processes and personal history.",
    "Risk of self-harm is assessed at the start and whenever circumstances change.",
    "Homework tasks are reviewed at the beginning of the following appointment.",
    "Individualised adjustments respect culture, language and communication preferences.",
    "Supervision supports the practitioner in maintaining evidence-based and ethical care.",
    "Relapse prevention plans identify early warning signs and agreed responses.",
    "Establishing a trusting relationship precedes demanding therapeutic interventions.",
    "Follow-up appointments are offered when treatment ends so gains can be consolidated.",
    "Shared decision-making supports long-term well-being and self-management after discharge.",
)


def synthetic_sections(chapters: int = 3, subsections: int = 2, paragraphs: int = 3,
                       title: str = "Synthetic Guideline for Testing Extraction") -> list[Section]:
    """Deterministic text written for these tests (not taken from any guideline); each
    paragraph carries a unique tag so it can be located unambiguously."""
    sections: list[Section] = []
    k = 0
    for c in range(1, chapters + 1):
        for s in range(1, subsections + 1):
            body = []
            for p in range(1, paragraphs + 1):
                picked = [_SENTENCES[(k + i * 5) % len(_SENTENCES)] for i in range(3 + p % 3)]
                body.append(f"Item {c}.{s}.{p} opens this paragraph. " + " ".join(picked))
                k += 1
            sections.append(((title, f"Chapter {c}: Topic {c}", f"Part {c}.{s} details"), body))
    return sections
