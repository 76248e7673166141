"""Parsed documents cached on disk, so a rebuild with unchanged files parses nothing.

The key is the file's SHA-256, the media type it was parsed as and the extractor version:
new bytes or a new extractor never meet an old entry. Entries are JSON written atomically
(temp file + os.replace), so a crash or a concurrent writer never leaves a torn file; an
unreadable entry is treated as a miss and overwritten.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

from rubricate.guidelines.kernel.fileio import atomic_write_text
from rubricate.guidelines.kernel.workspace import cache_dir as workspace_cache_dir
from rubricate.guidelines.sources.model import Block, ParsedDocument

FORMAT = 1  # layout of the JSON entry itself


def cache_dir() -> Path:
    """$RUBRICATE_CACHE_DIR/parsed, else .cache/parsed in the workspace."""
    return workspace_cache_dir("parsed")


def entry_path(sha256: str, media_type: str, extractor_version: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9.+-]+", "_", f"{media_type}.{extractor_version}")
    return cache_dir() / f"{sha256}.{slug}.json"


def load(sha256: str, media_type: str, extractor_version: str) -> ParsedDocument | None:
    try:
        data = json.loads(entry_path(sha256, media_type, extractor_version).read_text("utf-8"))
        if data.pop("format") != FORMAT:
            return None
        blocks, headings = (tuple(Block(**{**b, "section_path": tuple(b["section_path"]),
                                           "annotations": tuple(b["annotations"])})
                                  for b in data.pop(key, [])) for key in ("blocks", "headings"))
        doc = ParsedDocument(**{**data, "blocks": blocks, "headings": headings,
                                "warnings": tuple(data["warnings"])})
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    ok = (doc.sha256, doc.media_type, doc.extractor_version) == (sha256, media_type, extractor_version)
    return doc if ok else None


def store(doc: ParsedDocument) -> Path:
    target = entry_path(doc.sha256, doc.media_type, doc.extractor_version)
    target.parent.mkdir(parents=True, exist_ok=True)
    # keyed by content: the file's location is not kept (a hit gets the caller's), so no
    # machine path is written into the cache
    record = {**asdict(doc), "path": ""}
    record.pop("from_cache")
    atomic_write_text(target, json.dumps({"format": FORMAT, **record}, ensure_ascii=False))
    return target
