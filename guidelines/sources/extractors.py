"""Extractors: one per media type, turning a guideline file into a ParsedDocument.

``EXTRACTORS`` maps a media type to an :class:`Extractor` (guidelines/kernel/plugins.py).
The built-ins are PDF (pdf/) and Markdown, plain text and HTML (text.py), whose file
extensions and byte checks live in filetype.py. A plug-in extractor (a module with an
``Extractor`` plus one ``EXTRACTORS.add`` line below, or an entry point in the group
``rubricate.extractors`` of a separate package) names the extensions it reads; a file with
such an extension is handed to it, and checking its bytes is then the extractor's job.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rubricate.guidelines.kernel.plugins import Registry, instances
from rubricate.guidelines.sources.model import ParsedDocument


@dataclass(frozen=True)
class Extractor:
    """How to read files of one media type.

    ``parse(path, doc_id, sha256, media_type)`` returns the document; ``version`` enters
    the parse-cache key (bump it when the output changes; None: never cached).
    """

    media_type: str
    parse: Callable[[Path, str, str, str], ParsedDocument]
    version: str | None = None
    extensions: tuple[str, ...] = ()  # ".docx"; only plug-ins need them (filetype.py knows ours)


EXTRACTORS: Registry[Extractor] = Registry("extractor", "rubricate.extractors",
                                           instances("extractor", Extractor, "media_type"))
EXTRACTORS.add("application/pdf", "rubricate.guidelines.sources.pdf:PDF")
EXTRACTORS.add("text/markdown", "rubricate.guidelines.sources.text:MARKDOWN")
EXTRACTORS.add("text/plain", "rubricate.guidelines.sources.text:PLAIN")
EXTRACTORS.add("text/html", "rubricate.guidelines.sources.text:HTML")
BUILTIN = frozenset(EXTRACTORS.code_names())  # filetype.py checks these; no entry point read at import


def plugin_extensions() -> dict[str, str]:
    """File extension -> media type, for the registered plug-in extractors."""
    out: dict[str, str] = {}
    for name in EXTRACTORS.names():
        if name not in BUILTIN:
            for ext in EXTRACTORS.get(name).extensions:
                out.setdefault(ext.lower(), name)
    return out
