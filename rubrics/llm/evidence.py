"""Map the judge's quoted evidence back to character offsets in the judged response.

A verdict is only traceable if its evidence points into the text it is about. Judges quote
loosely (changed spacing or case, elisions with "..."), so matching tries exact, then
case-insensitive, then whitespace-insensitive, and splits elided quotes into fragments.
"""
from __future__ import annotations

import re

from .escaping import unescape_tags

_ELISION = re.compile(r"\s*(?:\.\.\.|…|\[\.\.\.\])\s*")
_MIN_FRAGMENT = 3


def locate(quote: str, text: str) -> tuple[int, int] | None:
    """(start, end) of ``quote`` in ``text``, or None."""
    quote = quote.strip()
    if not quote:
        return None
    i = text.find(quote)
    if i >= 0:
        return i, i + len(quote)
    i = text.lower().find(quote.lower())
    if i >= 0:
        return i, i + len(quote)
    words = quote.split()
    pattern = r"\s+".join(re.escape(w) for w in words)
    m = re.search(pattern, text, re.I)
    if m:
        return m.start(), m.end()
    return None


def map_quotes(quotes: list[str], response: str) -> tuple[list[dict], list[str]]:
    """Evidence spans ``{start, end, text, source}`` and the quotes that were not found."""
    spans: list[dict] = []
    missing: list[str] = []
    for raw in quotes:
        quote = unescape_tags(raw).strip().strip("\"'“”‘’").strip()
        parts = [p for p in _ELISION.split(quote) if len(p.strip()) >= _MIN_FRAGMENT] or [quote]
        found = [locate(p, response) for p in parts]
        if not quote or not all(found):
            missing.append(raw)
            continue
        for start, end in found:  # type: ignore[misc]
            span = {"start": start, "end": end, "text": response[start:end], "source": "judge quote"}
            if span not in spans:
                spans.append(span)
    spans.sort(key=lambda s: (s["start"], s["end"]))
    return spans, missing
