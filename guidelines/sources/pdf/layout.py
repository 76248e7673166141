"""Columns and reading order: a gutter found from word positions splits a page's rows into
left and right columns; rows that cross it (titles, full-width paragraphs) are read in place
and the column rows between them left column first, so a page may switch between one and
two columns any number of times. Each run gets its own ``flow`` id."""
from __future__ import annotations

from itertools import accumulate

from rubricate.guidelines.sources.pdf.page import Line, Page, Row, font_size


def body_size(pages: list[Page]) -> float:
    return font_size([w for page in pages for row in page.rows for w in row.words]) or 10.0


def gutter(rows: list[Row], body: float) -> tuple[float, float] | None:
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


def _separator(row: Row, right: list[Row], g0: float, body: float) -> bool:
    """A heading in the left column's span with nothing beside it, right-column text above
    and below: it heads both columns below it (a full-width heading that happens to be short)."""
    if row.words[-1]["x1"] > g0 or not (font_size(row.words) >= body * 1.12 or all(w["bold"] for w in row.words)):
        return False
    above = [r.bottom for r in right if r.bottom < row.top]
    below = [r.top for r in right if r.top > row.bottom]
    if not above or not below or any(r.top < row.bottom + 2 and r.bottom > row.top - 2 for r in right):
        return False
    # the right column pauses for the heading and more: not just a paragraph break beside it
    return min(below) - max(above) >= (row.bottom - row.top) + 1.5 * body


def reading_order(page: int, rows: list[Row], body: float, first_flow: int) -> list[Line]:
    """Lines of one page in reading order (see the module docstring)."""
    found = gutter(rows, body)
    if found is None:
        return [Line(page, first_flow, r.words, r.top, r.bottom) for r in rows]
    g0, g1 = found[0] + 0.5, found[1] - 0.5
    ordered: list[tuple[str, list[dict]]] = []
    pending: dict[str, list[list[dict]]] = {"left": [], "right": []}

    def flush() -> None:
        for side in ("left", "right"):
            ordered.extend((side, words) for words in pending[side])
            pending[side].clear()

    right = [r for r in rows if any(w["x0"] >= g1 for w in r.words)]
    for row in rows:
        if any(w["x0"] < g1 and w["x1"] > g0 for w in row.words) or _separator(row, right, g0, body):
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
        lines.append(Line(page, flow, words, min(w["top"] for w in words),
                          max(w["bottom"] for w in words)))
    return lines
