"""Evidence spans of a verdict placed back onto the response text, and rendered as escaped HTML.

Why the checks: offsets index the text the judge read. If the responses file changed since,
an offset may now point at other words; a span is only highlighted where the recorded
evidence text is found, and anything that cannot be placed is reported, never guessed.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

from rubricate.guidelines.kernel.textsafe import mark_unsafe

MAX_SHOWN_CHARS = 20_000


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    source: str


def place_evidence(text: str, evidence: list[dict]) -> tuple[list[Span], list[str]]:
    """Spans to highlight and notes about evidence that had to be moved or could not be placed."""
    spans: list[Span] = []
    notes: list[str] = []
    for ev in evidence or []:
        start, end, quote = ev.get("start"), ev.get("end"), ev.get("text")
        source = str(ev.get("source") or "evidence")
        valid = isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)
        if valid and (not quote or text[start:end] == quote):
            spans.append(Span(start, end, source))
            continue
        if quote and quote in text:
            at = text.index(quote)
            spans.append(Span(at, at + len(quote), source))
            notes.append(f"evidence {quote!r} ({source}) was recorded at {start}-{end} and found at "
                         f"{at}-{at + len(quote)} in the current text")
        else:
            notes.append(f"evidence {quote!r} ({source}) at {start}-{end} is not in the current text")
    return spans, notes


def highlight_html(text: str, spans: list[Span], limit: int = MAX_SHOWN_CHARS) -> tuple[str, int]:
    """Escaped HTML of ``text[:limit]`` with <mark> around evidence; returns (html, chars cut)."""
    shown = text[:limit]
    cuts = {0, len(shown)}
    for s in spans:
        cuts.update(x for x in (s.start, s.end) if x <= len(shown))
    bounds = sorted(cuts)
    parts: list[str] = []
    for a, b in zip(bounds, bounds[1:]):
        chunk = escape(mark_unsafe(shown[a:b]), quote=True)
        cover = sorted({s.source for s in spans if s.start <= a and b <= s.end})
        if cover:
            parts.append(f'<mark title="{escape(", ".join(cover), quote=True)}">{chunk}</mark>')
        else:
            parts.append(chunk)
    return "".join(parts), len(text) - len(shown)
