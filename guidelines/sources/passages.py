"""Blocks -> citable passages: whole spaCy sentences grouped to about a paragraph.

A passage never crosses a block (so never a page or section boundary). Its id hashes the
file's SHA-256 with the character span, so the same file always yields the same ids and a
changed file yields new ones (old citations then visibly stop resolving).
"""
from __future__ import annotations

import hashlib

from rubricate.guidelines.sources.model import ParsedDocument, Passage
from rubricate.guidelines.kernel.nlp import get_nlp

MAX_WORDS = 120  # a passage grows sentence by sentence until it would pass this
CONTEXT = 32  # characters of prefix/suffix in the TextQuoteSelector


def passage_id(sha256: str, start: int, end: int) -> str:
    return "p-" + hashlib.sha256(f"{sha256}:{start}:{end}".encode()).hexdigest()[:16]


def _group(sentences: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """(start, end, words) sentences -> spans of consecutive sentences up to MAX_WORDS."""
    spans: list[tuple[int, int]] = []
    cur_start, cur_end, cur_words = None, None, 0
    for start, end, words in sentences:
        if cur_start is not None and cur_words + words > MAX_WORDS:
            spans.append((cur_start, cur_end))
            cur_start, cur_words = None, 0
        if cur_start is None:
            cur_start = start
        cur_end, cur_words = end, cur_words + words
    if cur_start is not None:
        spans.append((cur_start, cur_end))
    return spans


def make_passages(doc: ParsedDocument, verified: bool) -> list[Passage]:
    nlp = get_nlp()
    texts = [doc.text[b.start:b.end] for b in doc.blocks]
    out: list[Passage] = []
    for block, sdoc in zip(doc.blocks, nlp.pipe(texts, batch_size=64)):
        sents = [(block.start + s.start_char, block.start + s.end_char, sum(not t.is_punct for t in s))
                 for s in sdoc.sents if s.text.strip()]
        for start, end in _group(sents):
            out.append(Passage(
                id=passage_id(doc.sha256, start, end), doc_id=doc.doc_id, sha256=doc.sha256,
                start=start, end=end, text=doc.text[start:end],
                prefix=doc.text[max(0, start - CONTEXT):start], suffix=doc.text[end:end + CONTEXT],
                page=block.page, page_label=block.page_label, section_path=block.section_path,
                extractor=doc.extractor, extractor_version=doc.extractor_version, verified=verified,
                annotations=block.annotations, kind=block.kind, lead_in=block.lead_in))
    return out


def listing(doc: ParsedDocument, passages: list[Passage]) -> list[dict]:
    """Every passage and heading of ``doc`` in text order, as the ``guidelines passages``
    command shows them: page, printed label, section (headings, outermost first), kind, text."""
    rows = [{"doc_id": doc.doc_id, "passage_id": p.id, "page": p.page, "page_label": p.page_label,
             "section": list(p.section_path), "kind": p.kind, "text": p.text,
             **({"lead_in": p.lead_in} if p.lead_in else {}), "start": p.start, "end": p.end}
            for p in passages]
    rows += [{"doc_id": doc.doc_id, "passage_id": None, "page": h.page, "page_label": h.page_label,
              "section": list(h.section_path), "kind": "heading", "text": doc.text[h.start:h.end],
              "start": h.start, "end": h.end} for h in doc.headings]
    return sorted(rows, key=lambda r: r["start"])
