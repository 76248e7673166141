"""One entry point for turning any registered guideline file into a ParsedDocument.

It hashes the bytes, checks what the file really is, answers from the on-disk cache when
the same bytes were already parsed by the same extractor version, and otherwise hands the
file to the extractor registered for its media type (extractors.py: PDF, Markdown, text,
HTML, and any plug-in). ``parse_many`` does the same for many files in
parallel and reports a bad file as its own error instead of stopping the run.
"""
from __future__ import annotations

import hashlib
import inspect
import os
from dataclasses import replace
from pathlib import Path
from typing import Callable

from rubricate.guidelines.sources import filetype, parse_cache
from rubricate.guidelines.kernel.errors import InputError, RubricateError
from rubricate.guidelines.kernel.workers import worker_pool
from rubricate.guidelines.sources.extractors import EXTRACTORS, plugin_extensions
from rubricate.guidelines.sources.model import ParsedDocument


def parse_document(path: Path, doc_id: str, *, cache: bool = True,
                   progress: Callable[[int, int], None] | None = None) -> ParsedDocument:
    """``progress(pages done, page count)`` is called while the file is read, by an extractor
    whose ``parse`` takes a ``progress`` keyword (the PDF one); never on a cache hit."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", path=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})", path=str(path)) from None
    media = filetype.media_type(path, data, plugin_extensions())
    extractor = EXTRACTORS.get(media)
    sha256 = hashlib.sha256(data).hexdigest()
    version = extractor.version if cache else None
    if version:
        hit = parse_cache.load(sha256, media, version)
        if hit is not None:
            return replace(hit, doc_id=doc_id, path=str(path), from_cache=True)
    if progress is not None and "progress" in inspect.signature(extractor.parse).parameters:
        doc = extractor.parse(path, doc_id, sha256, media, progress=progress)
    else:
        doc = extractor.parse(path, doc_id, sha256, media)
    if version:
        try:
            parse_cache.store(doc)
        except OSError:  # an unwritable cache only costs a re-parse next time
            pass
    return doc


def _parse_one(item: tuple[Path, str], cache: bool) -> ParsedDocument | RubricateError:
    path, doc_id = item
    try:
        return parse_document(path, doc_id, cache=cache)
    except RubricateError as exc:
        return exc


def parse_many(items: list[tuple[Path, str]], workers: int | None = None, *,
               cache: bool = True) -> list[ParsedDocument | RubricateError]:
    """Parse ``(path, doc_id)`` pairs in worker processes; results keep the input order and
    a file that fails yields its RubricateError in its slot. ``workers=1`` stays in-process."""
    workers = min(workers or os.cpu_count() or 1, len(items))
    if workers <= 1:
        return [_parse_one(item, cache) for item in items]
    results: list[ParsedDocument | RubricateError] = []
    with worker_pool(workers) as pool:
        futures = [pool.submit(_parse_one, item, cache) for item in items]
        for (path, _), future in zip(items, futures):
            try:
                results.append(future.result())
            except Exception as exc:  # a worker died (out of memory, crash in a C library)
                results.append(RubricateError(f"parser process failed ({type(exc).__name__}: "
                                              f"{exc})", path=str(path)))
    return results
