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


# ---- real-world layout patterns ----------------------------------------------------------
# Each builder lays out one pattern that real guideline PDFs show (issue 11) with text
# written for these tests, and returns what a correct reading must give.

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@dataclass
class Pattern:
    path: Path
    body: list[str] = field(default_factory=list)  # paragraphs that must come back whole
    labels: dict[str, str] = field(default_factory=dict)  # paragraph start -> printed label
    absent: list[str] = field(default_factory=list)  # text that must not appear
    kinds: dict[str, str] = field(default_factory=dict)  # passage start -> kind
    sections: dict[str, tuple[str, ...]] = field(default_factory=dict)  # passage start -> section
    table_rows: list[str] = field(default_factory=list)  # rows as "Header: cell; Header: cell"
    items: dict[str, str] = field(default_factory=dict)  # list item start -> its lead-in
    ordered: bool = False  # ``body`` is in reading order


class _Page:
    """A tiny typesetter on one FPDF: a cursor, wrapped paragraphs, headings."""

    def __init__(self, pdf: FPDF, x: float = MARGIN, width: float = PAGE_W - 2 * MARGIN) -> None:
        self.pdf, self.x, self.width, self.y = pdf, x, width, TOP

    def text(self, text: str, size: float = 10, style: str = "", gap: float = 8,
             family: str = "helvetica", indent: float = 0) -> None:
        self.pdf.set_font(family, style, size)
        words, line = text.split(), ""
        for word in words:
            trial = f"{line} {word}" if line else word
            if self.pdf.get_string_width(trial) > self.width - indent and line:
                self._line(line, size, indent)
                line = word
            else:
                line = trial
        if line:
            self._line(line, size, indent)
        self.y += gap

    def _line(self, line: str, size: float, indent: float) -> None:
        self.pdf.text(self.x + indent, self.y + size, line)
        self.y += size * 1.4


def _doc() -> FPDF:
    pdf = FPDF(unit="pt", format="A4")
    pdf.set_auto_page_break(False)
    return pdf


def _para(n: int, words: int = 3) -> str:
    return f"Paragraph {n} begins here. " + " ".join(_SENTENCES[(n + i) % len(_SENTENCES)] for i in range(words))


def footer_pattern(path: Path) -> Pattern:
    """NICE-style: a copyright footer whose printed page number ("Page 7 of 11") sits inside
    it, on the first of two footer lines; a running header; printed numbers start at 7."""
    pdf, out = _doc(), Pattern(path)
    pages = 4
    for p in range(pages):
        pdf.add_page()
        pdf.set_font("helvetica", "", 8)
        pdf.text(MARGIN, 36, "Self-help guidance for anxiety (synthetic) - draft for testing")
        page = _Page(pdf)
        if p == 0:
            page.text("Care for anxiety in adults", size=18, style="B", gap=12)
        for k in range(3):
            text = _para(p * 3 + k)
            page.text(text)
            out.body.append(text)
            out.labels[text[:40]] = str(7 + p)
        pdf.set_font("helvetica", "", 8)
        pdf.text(MARGIN, PAGE_H - 44, f"\u00a9 Example Institute 2023. All rights reserved. Subject to "
                                      f"Notice of rights. Page {7 + p} of {6 + pages}")
        pdf.text(MARGIN, PAGE_H - 34, "Terms: see the conditions of use on the publisher's website.")
    pdf.output(str(path))
    out.absent = ["All rights reserved", "Notice of rights", "Self-help guidance for anxiety", "conditions of use"]
    return out


def watermark_pattern(path: Path) -> Pattern:
    """A journal article: two columns, a full-width heading between column blocks on one page,
    and a download watermark set vertically in the left margin of every page."""
    pdf, out = _doc(), Pattern(path, ordered=True)
    col_w = (PAGE_W - 2 * MARGIN - GUTTER) / 2
    n = 0
    for p in range(2):
        pdf.add_page()
        with pdf.rotation(90, 24, 600):
            pdf.set_font("helvetica", "", 7)
            pdf.text(24, 600, "Downloaded from https://example.org/journal by guest on 6 December 2026")
        page = _Page(pdf, MARGIN, PAGE_W - 2 * MARGIN)
        page.text("Structured care for low mood: a synthetic article" if p == 0 else
                  "Methods and results of the synthetic study", size=15, style="B", gap=10)
        for half in range(2 if p == 0 else 1):
            y_start = page.y
            for c in range(2):
                col = _Page(pdf, MARGIN + c * (col_w + GUTTER), col_w)
                col.y = y_start
                for _ in range(2):
                    text = _para(n, 2)
                    col.text(text)
                    out.body.append(text)
                    n += 1
                page.y = max(page.y, col.y)
            if half == 0 and p == 0:
                page.text("Interpretation across both columns", size=13, style="B", gap=8)
    pdf.output(str(path))
    out.absent = ["Downloaded", "by guest"]
    return out


def nomap_pattern(path: Path) -> Pattern:
    """Doses set in an embedded TrueType font whose ToUnicode map has been removed (the PDF no
    longer says which characters those glyphs are) inside body text in a standard font."""
    pdf, out = _doc(), Pattern(path)
    pdf.add_font("dejavu", "", str(DEJAVU))
    pdf.add_page()
    page = _Page(pdf)
    page.text("Dosing notes", size=16, style="B", gap=10)
    lines = [("Start with", "2.5", "mg each evening and review the dose after two weeks."),
             ("Increase to", "5.0", "mg only when the first dose was tolerated well.")]
    for before, dose, after in lines:
        x = MARGIN
        for text, family in ((before, "helvetica"), (dose, "dejavu"), (after, "helvetica")):
            pdf.set_font(family, "", 10)
            pdf.text(x, page.y + 10, text)
            x += pdf.get_string_width(text + " ")
        page.y += 22
        out.body.append(f"{before} \ufffd {after}")
    pdf.output(str(path))
    path.write_bytes(path.read_bytes().replace(b"/ToUnicode", b"/XoUnicode"))  # same length
    out.absent = ["(cid:", "2.5", "5.0"]
    return out


def _grid_table(pdf: FPDF, x: float, y: float, widths: list[float], rows: list[list[str]],
                borders: bool) -> float:
    """Draw a table (first row bold), cells wrapped; returns the y below it."""
    for r, cells in enumerate(rows):
        style = "B" if r == 0 else ""
        pdf.set_font("helvetica", style, 9)
        wrapped = []
        for w, cell in zip(widths, cells):
            lines, line = [], ""
            for word in cell.split():
                trial = f"{line} {word}" if line else word
                if pdf.get_string_width(trial) > w - 8 and line:
                    lines.append(line)
                    line = word
                else:
                    line = trial
            wrapped.append(lines + [line] if line else lines)
        height = max(len(l) for l in wrapped) * 12 + 8
        cx = x
        for w, lines in zip(widths, wrapped):
            if borders:
                pdf.rect(cx, y, w, height)
            for k, line in enumerate(lines):
                pdf.text(cx + 4, y + 4 + 9 + k * 12, line)
            cx += w
        y += height
    return y


TABLE_ROWS = [["Intervention", "What it involves", "Who delivers it"],
              ["Guided self-help", "Workbook sessions with brief support calls every week", "Trained practitioner"],
              ["Group therapy", "Weekly meetings in a small group with shared exercises", "Therapist"],
              ["Individual therapy", "One-to-one structured sessions with homework", "Therapist"]]
TABLE_ROWS_2 = [["Strength", "Certainty", "Recommendation"],
                ["Strong", "Moderate", "Offer structured follow-up after discharge"],
                ["Weak", "Low", "Consider peer support groups for carers"],
                ["Strong", "High", "Assess risk at every contact"]]


def tables_pattern(path: Path) -> Pattern:
    """A bordered table and an unbordered one, each with a bold header row and a caption."""
    pdf, out = _doc(), Pattern(path)
    pdf.add_page()
    page = _Page(pdf)
    page.text("Treatment options", size=16, style="B", gap=10)
    intro = "The options below are offered in order of intensity and are reviewed with the person."
    page.text(intro)
    page.text("Table 1: Treatment options for mild symptoms", size=10, style="B", gap=4)
    page.y = _grid_table(pdf, MARGIN, page.y, [130, 230, 120], TABLE_ROWS, borders=True) + 14
    after = "Each option is reviewed after six weeks and stepped up when symptoms persist."
    page.text(after)
    page.text("Grading of the recommendations", size=13, style="B", gap=8)
    page.text("Table 2: Graded recommendations", size=10, style="B", gap=4)
    page.y = _grid_table(pdf, MARGIN, page.y, [110, 110, 260], TABLE_ROWS_2, borders=False) + 14
    closing = "Recommendations marked weak depend on the preferences of the person and their carers."
    page.text(closing)
    pdf.output(str(path))
    out.body = [intro, after, closing]
    for rows in (TABLE_ROWS, TABLE_ROWS_2):
        out.table_rows += ["; ".join(f"{h}: {c}" for h, c in zip(rows[0], r)) for r in rows[1:]]
    out.sections[f"{TABLE_ROWS[0][0]}: {TABLE_ROWS[1][0]}"] = ("Treatment options", "Table 1: Treatment options for mild symptoms")
    out.absent = ["Provides", "Intervention What it involves"]
    return out


def headings_pattern(path: Path) -> Pattern:
    """A heading over two lines, body-size bold subheadings and numbered body-size ones."""
    pdf, out = _doc(), Pattern(path)
    pdf.add_page()
    page = _Page(pdf)
    long_heading = ("3.1 Alcohol use disorders in people who also have anxiety: what helps and "
                    "what is safe")
    page.text(long_heading, size=15, style="B", gap=10)
    first = _para(1)
    page.text(first)
    page.text("Assessment in primary care", size=10, style="B", gap=4)
    second = _para(2)
    page.text(second)
    page.text("Planning treatment together", size=10, style="B", gap=4)
    third = _para(3)
    page.text(third)
    page.text("3.2 Follow-up after treatment", size=10, gap=4)
    fourth = _para(4)
    page.text(fourth)
    page.text("3.2.1 Contact after discharge", size=10, gap=4)
    fifth = _para(5)
    page.text(fifth)
    pdf.output(str(path))
    out.body = [first, second, third, fourth, fifth]
    out.sections = {first[:40]: (long_heading,),
                    second[:40]: (long_heading, "Assessment in primary care"),
                    third[:40]: (long_heading, "Planning treatment together"),
                    fourth[:40]: ("3.2 Follow-up after treatment",),  # numbering: a sibling of 3.1
                    fifth[:40]: ("3.2 Follow-up after treatment", "3.2.1 Contact after discharge")}
    return out


def lists_pattern(path: Path) -> Pattern:
    """Bullets drawn in symbol fonts (a Dingbats disc, a Symbol bullet) under lead-in sentences."""
    pdf, out = _doc(), Pattern(path)
    pdf.add_page()
    page = _Page(pdf)
    page.text("Supporting self-management", size=16, style="B", gap=10)
    lead = "When planning care, practitioners should make sure that the person:"
    page.text(lead, gap=4)
    items = ["knows how to reach the team between appointments and out of hours",
             "has a written plan that names early warning signs and what to do about them",
             "can bring a family member or friend to appointments if they wish"]
    for n, item in enumerate(items):
        font = ("zapfdingbats", "l") if n % 2 == 0 else ("symbol", chr(183))
        pdf.set_font(font[0], "", 8)
        pdf.text(MARGIN + 6, page.y + 10, font[1])
        page.text(item, indent=20, gap=3)
    page.y += 6
    closing = "These points are reviewed at every appointment and recorded in the care plan."
    page.text(closing)
    pdf.output(str(path))
    out.body = [closing]
    out.items = {f"\u2022 {item}"[:40]: lead for item in items}
    out.absent = ["l knows", "\u00b7 has"]
    return out


def front_back_pattern(path: Path) -> Pattern:
    """Contents page with dot leaders, guidance, then declarations, a glossary, references
    and licence text: only the guidance is body."""
    pdf, out = _doc(), Pattern(path)
    pdf.add_page()
    page = _Page(pdf)
    page.text("Contents", size=16, style="B", gap=10)
    for title, number in (("Recommendations", 2), ("Declarations of interest", 2), ("Glossary", 3),
                          ("References", 3)):
        pdf.set_font("helvetica", "", 10)
        pdf.text(MARGIN, page.y + 10, title + " " + "." * 60 + f" {number}")
        page.y += 16
    pdf.add_page()
    page = _Page(pdf)
    page.text("Recommendations", size=16, style="B", gap=10)
    guidance = "Ask about thoughts of suicide directly and calmly when a person seems hopeless."
    page.text(guidance)
    licence = "\u00a9 Example Institute 2024. All rights reserved. Reuse needs written permission."
    page.text(licence)
    page.text("Declarations of interest", size=16, style="B", gap=10)
    declaration = ("One author received fees for lectures on suicidal students from a university; "
                   "no other interests were declared.")
    page.text(declaration)
    pdf.add_page()
    page = _Page(pdf)
    page.text("Glossary", size=16, style="B", gap=10)
    glossary = "Safety plan: a written list of coping steps and contacts agreed with the person."
    page.text(glossary)
    page.text("References", size=16, style="B", gap=10)
    reference = "Author A, Author B. Talking about suicide in primary care. Synthetic Journal 2020;1:1-9."
    page.text(reference)
    pdf.output(str(path))
    out.body = [guidance]
    out.kinds = {guidance[:40]: "body", declaration[:40]: "declarations", licence[:40]: "boilerplate",
                 glossary[:40]: "glossary", reference[:40]: "references"}
    return out


def labels_pattern(path: Path) -> Pattern:
    """An article printed as pp. 317-319 whose /PageLabels table says 1-3."""
    pdf, out = _doc(), Pattern(path)
    for p in range(3):
        pdf.add_page()
        if p == 0:
            pdf.set_page_label(label_style="D", label_start=1)
        pdf.set_font("helvetica", "", 8)
        pdf.text(MARGIN, 36, f"Synthetic Journal of Care 12(3) | {317 + p}")
        page = _Page(pdf)
        if p == 0:
            page.text("Brief interventions after self-harm", size=16, style="B", gap=10)
        for k in range(2):
            text = _para(10 + p * 2 + k)
            page.text(text)
            out.body.append(text)
            out.labels[text[:40]] = str(317 + p)
    pdf.output(str(path))
    out.absent = ["Synthetic Journal of Care"]
    return out


def column_switch_pattern(path: Path) -> Pattern:
    """One page that switches from one column to two, back to one and to two again."""
    pdf, out = _doc(), Pattern(path, ordered=True)
    col_w = (PAGE_W - 2 * MARGIN - GUTTER) / 2
    pdf.add_page()
    page = _Page(pdf)
    page.text("Switching layouts on one page", size=16, style="B", gap=10)
    n = 20
    for block in range(2):
        text = _para(n, 2)
        page.text(text)
        out.body.append(text)
        n += 1
        y_start, bottom = page.y, page.y
        for c in range(2):
            col = _Page(pdf, MARGIN + c * (col_w + GUTTER), col_w)
            col.y = y_start
            text = _para(n, 2)
            col.text(text)
            out.body.append(text)
            n += 1
            bottom = max(bottom, col.y)
        page.y = bottom + 6
    pdf.output(str(path))
    return out


def column_table_pattern(path: Path) -> Pattern:
    """Two columns; the left one holds an unbordered table with a bold header row."""
    pdf, out = _doc(), Pattern(path)
    col_w = (PAGE_W - 2 * MARGIN - GUTTER) / 2
    pdf.add_page()
    page = _Page(pdf)
    page.text("Options at a glance", size=16, style="B", gap=10)
    y0 = page.y
    left = _Page(pdf, MARGIN, col_w)
    left.y = y0
    first = _para(30, 2)
    left.text(first)
    rows = [["Option", "Typical length"], ["Guided self-help", "Six to eight weeks"],
            ["Group sessions", "Ten weeks"], ["Individual therapy", "Up to twenty sessions"]]
    left.y = _grid_table(pdf, MARGIN, left.y, [110, col_w - 110], rows, borders=False) + 10
    after = _para(31, 2)
    left.text(after)
    right = _Page(pdf, MARGIN + col_w + GUTTER, col_w)
    right.y = y0
    texts = [_para(32, 3), _para(33, 3), _para(34, 2)]
    for text in texts:
        right.text(text)
    pdf.output(str(path))
    out.body = [first, after] + texts
    out.table_rows = ["; ".join(f"{h}: {c}" for h, c in zip(rows[0], r)) for r in rows[1:]]
    out.absent = ["Option Typical length"]
    return out


PATTERNS = {"column_table": column_table_pattern, "column_switch": column_switch_pattern, "footer": footer_pattern, "watermark": watermark_pattern, "nomap": nomap_pattern,
            "tables": tables_pattern, "headings": headings_pattern, "lists": lists_pattern,
            "front_back": front_back_pattern, "labels": labels_pattern}
