"""What kind of text a block is: guidance (body, list, table, caption) or text about the
document (front matter, contents, references, declarations, glossary, boilerplate).

Why: a declaration of interest or a reference title that mentions "suicidal students" is
not guidance about suicidal ideation; proposing it as evidence wastes a reviewer's time.
Section titles and boilerplate patterns are data (section_kinds.yaml); this module only
applies them, for any extractor.
"""
from __future__ import annotations

import functools
import re

from rubricate.guidelines.kernel.errors import ConfigurationError
from rubricate.guidelines.kernel.fileio import load_yaml_mapping
from rubricate.guidelines.kernel.paths import package_path

KINDS = ("body", "heading", "list", "table", "caption", "front_matter", "contents",
         "references", "declarations", "glossary", "boilerplate")
EVIDENCE_KINDS = frozenset({"body", "list", "table", "caption"})  # proposed as evidence
NON_BODY_KINDS = tuple(k for k in KINDS if k not in EVIDENCE_KINDS and k != "heading")
_DATA = ("guidelines", "sources", "section_kinds.yaml")


@functools.lru_cache(maxsize=1)
def _rules() -> tuple[dict[str, str], list[re.Pattern], int]:
    data = load_yaml_mapping(package_path(*_DATA), "section kinds")
    titles = {_title_key(t): kind for kind, ts in (data.get("headings") or {}).items() for t in ts}
    patterns = [re.compile(p, re.I) for p in data.get("boilerplate_patterns") or []]
    return titles, patterns, int(data.get("boilerplate_max_words", 80))


_NUMBERING = re.compile(r"^\s*(?:(?:section|chapter|part|appendix|annex)\s+\w+[.:)]?\s*[-\u2013:]?\s*"
                        r"|[\divx]+(?:\.\d+)*[.)]?\s+|[a-z][.)]\s+)", re.I)


def _title_key(title: str) -> str:
    """"3.2 Declarations of Interest:" -> "declarations of interest"."""
    return " ".join(re.sub(r"[^\w\s]", " ", _NUMBERING.sub("", title).lower()).split())


def heading_kind(title: str) -> str | None:
    """The kind a section takes from its heading, or None for guidance sections."""
    titles, _, _ = _rules()
    key = _title_key(title)
    if key in titles:
        return titles[key]
    for phrase, kind in titles.items():
        if key.startswith(phrase + " ") and len(key.split()) <= len(phrase.split()) + 4:
            return kind
    return None


def is_boilerplate(text: str) -> bool:
    _, patterns, max_words = _rules()
    return len(text.split()) <= max_words and any(p.search(text) for p in patterns)


def check_kinds(kinds) -> tuple[str, ...]:
    """Validate user-given kinds (``--include``)."""
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ConfigurationError(f"unknown passage kind(s) {', '.join(bad)}; known: {', '.join(KINDS)}")
    return tuple(kinds)
