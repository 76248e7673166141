"""What a PDF page is once its characters are read: words, ruling lines and what was dropped.

Both character readers (pypdfium2, the fast default, and pdfplumber, the old path kept for
comparison) produce these, so every layout step after reading is shared.
A word is a dict with ``text x0 x1 top bottom size fontname bold`` (top-down coordinates in
points, like pdfplumber's), cheap to build and to copy.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

UNMAPPED = "\ufffd"  # stands in for a run of characters whose font has no Unicode map


@dataclass
class Row:
    words: list[dict]
    top: float
    bottom: float

    @property
    def text(self) -> str:
        return " ".join(w["text"] for w in self.words)


@dataclass
class Page:
    number: int  # physical, 1-based
    width: float
    height: float
    words: list[dict]
    edges: list[dict] = field(default_factory=list)  # ruling lines: x0 x1 top bottom orientation
    has_images: bool = False
    rotated: int = 0  # characters dropped because they are rotated or vertical (watermarks)
    unmapped: int = 0  # character runs with no Unicode mapping, replaced by UNMAPPED
    rows: list[Row] = field(default_factory=list)


@dataclass
class Line:
    """One line of text in reading order; ``flow`` changes when the text jumps (column,
    page, a full-width row between columns)."""

    page: int
    flow: int
    words: list[dict]
    top: float
    bottom: float

    @property
    def text(self) -> str:
        return " ".join(w["text"] for w in self.words)

    @property
    def size(self) -> float:
        return font_size(self.words)

    @property
    def bold(self) -> bool:
        return all(w["bold"] for w in self.words)

    @property
    def x0(self) -> float:
        return self.words[0]["x0"]

    @property
    def x1(self) -> float:
        return self.words[-1]["x1"]


def font_size(words: list[dict]) -> float:
    """The font size (to half a point) that carries most of the characters."""
    if len(words) == 1:
        return round(words[0]["size"] * 2) / 2
    sizes: Counter = Counter()
    for w in words:
        sizes[round(w["size"] * 2) / 2] += len(w["text"])
    return sizes.most_common(1)[0][0] if sizes else 0.0


def rows_of(words: list[dict]) -> list[Row]:
    """Group words whose vertical extents overlap by at least half into rows."""
    rows: list[Row] = []
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
        rows.append(Row([word], word["top"], word["bottom"]))
    for row in rows:
        row.words.sort(key=lambda w: w["x0"])
    return rows
