"""Tables, found so that they are read row by row with their column headers, never across.

Two kinds are found on a page:

- ruled tables, whose cell borders are drawn: pdfplumber's own table finder functions
  (merge_edges -> edges_to_intersections -> intersections_to_cells -> cells_to_tables) run on
  the ruling lines the character reader collected, and words fall into the cells by centre;
- unruled tables with a header row: a row set entirely in bold whose words fall into two or
  more groups separated by wide gaps gives the columns; following rows belong to the table
  while every group of words starts at a column's left edge. A line whose first column is
  empty continues the row above; so does one that follows at no more than the line spacing
  in a table whose rows are spaced further apart. Horizontal rules inside the table, when
  present, separate rows instead.

The first row is the header. Each data row becomes "Header: cell; Header: cell".
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from pdfplumber.table import cells_to_tables, edges_to_intersections, intersections_to_cells, merge_edges

from rubricate.guidelines.sources.pdf.page import Page, Row

COLUMN_GAP = 1.8  # a gap this many times the body size separates table columns
ALIGN = 3.0  # points a cell's first word may sit off its column's left edge


@dataclass
class Table:
    x0: float
    top: float
    x1: float
    bottom: float
    header: list[str]
    rows: list[list[str]]
    words: set[int] = field(default_factory=set)  # id() of every word the table holds

    def row_texts(self) -> list[str]:
        """Each data row as "Header: cell; Header: cell" (empty cells left out)."""
        out = []
        for cells in self.rows:
            parts = [f"{h}: {c}" if h else c for h, c in zip(self.header, cells) if c]
            if parts:
                out.append("; ".join(parts))
        return out


def find_tables(page: Page, rows: list[Row], body: float,
                gutter: tuple[float, float] | None = None) -> list[Table]:
    """Tables on a page; on a two-column page unruled tables are also looked for inside each
    column (``gutter``: the left column's right edge and the right column's left edge)."""
    tables = _ruled(page, rows)
    taken = {i for t in tables for i in t.words}
    free = [r for r in rows if not any(id(w) in taken for w in r.words)]
    tables += _unruled(free, body, page.edges)
    if gutter:
        taken = {i for t in tables for i in t.words}
        for inside in (lambda w: w["x1"] <= gutter[0] + 0.5, lambda w: w["x0"] >= gutter[1] - 0.5):
            column = []
            for r in free:
                words = [w for w in r.words if inside(w) and id(w) not in taken]
                if words:
                    column.append(Row(words, min(w["top"] for w in words), max(w["bottom"] for w in words)))
            tables += _unruled(column, body, page.edges)
    return tables


# ---- text of cells -----------------------------------------------------------------------

def _cell_text(words: list[dict]) -> str:
    """Words of one cell in reading order, line-end hyphens repaired."""
    lines: list[list[dict]] = []
    for w in sorted(words, key=lambda w: (w["top"], w["x0"])):
        if lines and w["top"] < lines[-1][0]["bottom"] - 0.5 * (w["bottom"] - w["top"]):
            lines[-1].append(w)
        else:
            lines.append([w])
    text = ""
    for line in lines:
        part = " ".join(w["text"] for w in sorted(line, key=lambda w: w["x0"]))
        if text.endswith("-") and re.match(r"[a-z]", part) and re.search(r"[a-z]{2}-$", text):
            text = text[:-1] + part
        else:
            text = f"{text} {part}" if text else part
    return text


# ---- ruled tables ------------------------------------------------------------------------

def _ruled(page: Page, rows: list[Row]) -> list[Table]:
    if len(page.edges) < 4:
        return []
    edges = merge_edges([dict(e) for e in page.edges], 3, 3, 3, 3)
    cells = intersections_to_cells(edges_to_intersections(edges, 3, 3))
    words = [w for r in rows for w in r.words]
    out = []
    for group in cells_to_tables(cells):
        tops = sorted({round(c[1], 1) for c in group})
        lefts = sorted({round(c[0], 1) for c in group})
        if len(tops) < 2 or len(lefts) < 2:
            continue
        grid: dict[tuple[float, float], list[dict]] = {(round(c[1], 1), round(c[0], 1)): [] for c in group}
        bounds = {(round(c[1], 1), round(c[0], 1)): c for c in group}
        held = set()
        for w in words:
            cx, cy = (w["x0"] + w["x1"]) / 2, (w["top"] + w["bottom"]) / 2
            for key, (x0, top, x1, bottom) in bounds.items():
                if x0 <= cx <= x1 and top <= cy <= bottom:
                    grid[key].append(w)
                    held.add(id(w))
                    break
        if not held:
            continue
        table_rows = [[_cell_text(grid[(top, left)]) if (top, left) in grid else "" for left in lefts]
                      for top in tops]
        x0 = min(c[0] for c in group)
        out.append(Table(x0, min(c[1] for c in group), max(c[2] for c in group),
                         max(c[3] for c in group), table_rows[0], table_rows[1:], held))
    return out


# ---- unruled tables with a bold header row ------------------------------------------------

def _segments(row: Row, body: float) -> list[list[dict]]:
    """The row's words split at gaps wider than COLUMN_GAP x the body size."""
    groups: list[list[dict]] = []
    for w in row.words:
        if groups and w["x0"] - groups[-1][-1]["x1"] < COLUMN_GAP * body:
            groups[-1].append(w)
        else:
            groups.append([w])
    return groups


def _column(x: float, starts: list[float]) -> int | None:
    for i, s in enumerate(starts):
        if abs(x - s) <= ALIGN:
            return i
    return None


def _unruled(rows: list[Row], body: float, edges: list[dict]) -> list[Table]:
    out: list[Table] = []
    i = 0
    while i < len(rows):
        head = _segments(rows[i], body)
        if len(head) < 2 or not all(w["bold"] and 0.7 * body <= w["size"] <= body + 0.6 for w in rows[i].words):
            i += 1
            continue
        starts = [g[0]["x0"] for g in head]
        header_cells: list[list[dict]] = [list(g) for g in head]
        j = i + 1
        while j < len(rows) and all(w["bold"] for w in rows[j].words) and \
                rows[j].top - rows[j - 1].bottom < body and \
                all(_column(g[0]["x0"], starts) is not None for g in _segments(rows[j], body)):
            for g in _segments(rows[j], body):  # a header wrapped over two lines
                header_cells[_column(g[0]["x0"], starts)].extend(g)
            j += 1
        body_rows: list[tuple[Row, list[list[dict]]]] = []
        while j < len(rows):
            segs = _segments(rows[j], body)
            prev = rows[j - 1]
            if rows[j].top - prev.bottom > 2.5 * body or \
                    any(_column(g[0]["x0"], starts) is None for g in segs) or \
                    (len(segs) == 1 and segs[0][-1]["x1"] > (starts[1] if len(starts) > 1 else 1e9) + ALIGN):
                break
            body_rows.append((rows[j], segs))
            j += 1
        filled = sum(1 for _, segs in body_rows if len(segs) > 1 and
                     segs[0][-1]["x1"] > starts[1] - COLUMN_GAP * body - ALIGN)
        if len(body_rows) < 2 or filled > 0.6 * len(body_rows):  # two columns of running text
            i += 1
            continue
        out.append(_build(rows[i:j], header_cells, body_rows, starts, body, edges))
        i = j
    return out


def _build(rows: list[Row], header: list[list[dict]], body_rows: list[tuple[Row, list[list[dict]]]],
           starts: list[float], body: float, edges: list[dict]) -> Table:
    x0 = min(w["x0"] for r in rows for w in r.words)
    x1 = max(w["x1"] for r in rows for w in r.words)
    rules = sorted(e["top"] for e in edges if e["orientation"] == "h" and e["x0"] <= x0 + ALIGN
                   and e["x1"] >= x1 - ALIGN and rows[0].bottom < e["top"] < rows[-1].top)
    gaps = [b.top - a.bottom for (a, _), (b, _) in zip(body_rows, body_rows[1:])]
    spread = bool(gaps) and max(gaps) - min(gaps) > 0.2 * body
    threshold = (min(gaps) + 0.35 * body) if gaps else 0.0
    groups: list[list[list[dict]]] = []
    for n, (row, segs) in enumerate(body_rows):
        first = any(_column(g[0]["x0"], starts) == 0 for g in segs)
        ruled = any(body_rows[n - 1][0].bottom <= r <= row.top for r in rules) if n else True
        gap_ok = not spread or (n and gaps[n - 1] > threshold)
        if not groups or (ruled if rules else (first and gap_ok)):
            groups.append([[] for _ in starts])
        for g in segs:
            groups[-1][_column(g[0]["x0"], starts)].extend(g)
    table_rows = [[_cell_text(c) for c in cells] for cells in groups]
    held = {id(w) for r in rows for w in r.words}
    return Table(x0, rows[0].top, x1, rows[-1].bottom, [_cell_text(c) for c in header], table_rows, held)
