"""Running headers and footers, and the page numbers printed in them.

A row in the top or bottom band of a page is furniture when it is a bare page number, recurs
verbatim on several pages, recurs with its numbers masked at the same height on several
pages (NICE's "(c) NICE 2023. All rights reserved ... Page 95 of 113"), or carries a number
that tracks the physical page. The printed number in that furniture is the page's label;
it wins over a /PageLabels table that disagrees with it (an article printed as pp. 317-329
whose table says 1-13), and the table only fills pages that print no number when it agrees
with every page that does.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict

from rubricate.guidelines.sources.pdf.page import Page, font_size

MARGIN_ZONE = 0.12  # share of the page height at top and bottom searched for headers/footers
HEADING_RATIO = 1.12
PAGE_NUMBER = re.compile(r"(?i)(?:page\s+)?(\d{1,4}|[ivxlcdm]{1,7})(?:\s*(?:of|/)\s*\d{1,4})?")
_NUMBERS = re.compile(r"\b(?:\d+|[ivxlcdm]+)\b")
_STRIP = " -\u2013\u2014|\u00b7"


def _zone(page: Page, row) -> str | None:
    if row.bottom <= page.height * MARGIN_ZONE:
        return "top"
    if row.top >= page.height * (1 - MARGIN_ZONE):
        return "bottom"
    return None


def margin_rows(pages: list[Page], body: float) -> set[tuple[int, int]]:
    """(page, row index) of running headers and footers (see the module docstring); only
    rows between such furniture and the page's edge count."""
    verbatim: dict[tuple[str, str], set[int]] = defaultdict(set)
    masked: dict[tuple[str, str, int], set[int]] = defaultdict(set)
    candidates = []
    for page in pages:
        for i, row in enumerate(page.rows):
            zone = _zone(page, row)
            if zone is None:
                continue
            low = row.text.lower()
            verbatim[(zone, low)].add(page.number)
            mask = (zone, _NUMBERS.sub("#", low), round(row.top / 3))
            masked[mask].add(page.number)
            candidates.append((page.number, i, zone, row, mask))
    repeats = min(3, max(2, len(pages)))
    drop, varying, shaped = set(), [], set()
    shapes: dict[tuple[str, str], set[int]] = defaultdict(set)

    def often(pages_seen: int) -> bool:
        """Enough pages for furniture: a few when set smaller than body text, else half the
        document (a body line may repeat by chance on a few pages of a long document)."""
        return pages_seen >= repeats and (small or pages_seen >= 0.5 * len(pages))

    for p, i, zone, row, mask in candidates:
        small = font_size(row.words) < body - 0.25
        near = masked[mask] | masked[mask[:2] + (mask[2] - 1,)] | masked[mask[:2] + (mask[2] + 1,)]
        if "#" in mask[1] and len(near) >= 3 and often(len(near)) and \
                font_size(row.words) < body * HEADING_RATIO:
            shaped.add((p, i))
        if often(len(verbatim[(zone, row.text.lower())])) or PAGE_NUMBER.fullmatch(row.text.strip(_STRIP)):
            drop.add((p, i))
        elif font_size(row.words) < body * HEADING_RATIO:
            found = page_numbers(f"{row.words[0]['text']} {row.words[-1]['text']}", p)
            if found:
                shape = (zone, _NUMBERS.sub("#", row.text.lower()))
                shapes[shape].add(p)
                varying.append((p, i, shape, found))
    support = Counter((shape[0], key) for _, _, shape, found in varying
                      for key in {k for _, k in found})
    drop |= {(p, i) for p, i, shape, found in varying if len(shapes[shape]) >= repeats
             or any(support[(shape[0], k)] >= 2 for _, k in found)}
    found = drop | shaped
    edge = set()  # furniture runs from the page edge inwards: a body line that happens to
    for page in pages:  # repeat in the band, below the first line of body text, stays
        for order in (range(len(page.rows)), range(len(page.rows) - 1, -1, -1)):
            for i in order:
                if (page.number, i) not in found:
                    break
                edge.add((page.number, i))
    return edge


def roman_value(token: str) -> int | None:
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


def page_numbers(text: str, page: int) -> list[tuple[str, tuple[str, int]]]:
    """Tokens of a margin row that could be a printed page number, each with its kind and
    offset from the physical page (a real page number keeps its offset across pages)."""
    found = []
    for token in text.split():
        token = token.strip(".,:;()[]|-\u2013\u2014")
        if token.isdigit() and len(token) <= 4:
            found.append((token, ("arabic", int(token) - page)))
        elif (value := roman_value(token)) is not None:
            found.append((token, ("roman", value - page)))
    return found


def printed_labels(pages: list[Page], drop: set[tuple[int, int]], body: float) -> list[str | None]:
    """Printed page numbers from the dropped margin rows. A number counts when another page
    shows one at the same offset from its physical page, so a year or chapter number in a
    running header is never taken for a page number; or, alone, when its row is only a page
    number in body-size type ("ii", "Page 12 of 40") no larger than the page count."""
    candidates: dict[int, list[tuple[str, tuple[str, int], bool]]] = defaultdict(list)
    for page in pages:
        for i, row in enumerate(page.rows):
            if (page.number, i) in drop:
                bare = bool(PAGE_NUMBER.fullmatch(row.text.strip(_STRIP))) \
                    and font_size(row.words) < body * HEADING_RATIO
                candidates[page.number] += [
                    (label, key, bare and (key[0] == "roman" or int(label) <= len(pages)))
                    for label, key in page_numbers(row.text, page.number)]
    support = Counter(key for found in candidates.values() for key in {c[1] for c in found})
    labels: list[str | None] = []
    for page in pages:
        found = candidates.get(page.number, [])
        best = max(found, key=lambda c: (support[c[1]], c[2]), default=None)
        labels.append(best[0] if best and (support[best[1]] >= 2 or best[2]) else None)
    return labels


def page_labels(printed: list[str | None], catalog: list[str | None] | None
                ) -> tuple[list[str | None], str | None]:
    """Printed labels first; the /PageLabels table only where nothing is printed and only when
    it agrees with every printed number. Returns the labels and a warning when they disagree."""
    if not catalog:
        return printed, None
    both = [(p, c) for p, c in zip(printed, catalog) if p is not None]
    if not both:
        return list(catalog), None
    clash = [i + 1 for i, (p, c) in enumerate(zip(printed, catalog)) if p is not None and p != c]
    if not clash:
        return [p if p is not None else c for p, c in zip(printed, catalog)], None
    return printed, (f"the page-label table disagrees with the printed page numbers on "
                     f"{len(clash)} page(s) (first: page {clash[0]}, printed "
                     f"{printed[clash[0] - 1]!r}, table {catalog[clash[0] - 1]!r}); "
                     "the printed numbers are used")
