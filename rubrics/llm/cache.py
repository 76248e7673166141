"""On-disk cache of completions, so re-running a judgement or a probe sends no request.

SQLite in WAL mode with a busy timeout: several processes (e.g. two evaluation runs) can
read and write the same file at once. The key is the SHA-256 of everything that shapes a
completion (endpoint URL, model, protocol and version, generation settings, full
messages); the API key is never part of it, nor stored.
"""
from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.workspace import cache_dir as workspace_cache_dir
from rubricate.guidelines.kernel.redaction import redact

CACHE_FILENAME = "llm-cache.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    usage TEXT NOT NULL,
    model TEXT,
    protocol TEXT,
    created REAL NOT NULL
)
"""


@dataclass(frozen=True)
class CachedCompletion:
    text: str
    usage: dict[str, int]
    model: str | None


def cache_key(material: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``material``."""
    blob = json.dumps(material, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


def default_cache_dir() -> Path:
    """$RUBRICATE_CACHE_DIR/llm, else .cache/llm in the workspace (user data never goes into the package)."""
    return workspace_cache_dir("llm")


class Cache:
    """A completion cache in ``directory``/llm-cache.sqlite3; thread-safe."""

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory) / CACHE_FILENAME
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA busy_timeout = 60000")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise RubricateError(f"cannot open LLM cache: {exc}", path=str(self.path)) from None
        self._lock = threading.Lock()

    def get(self, key: str) -> CachedCompletion | None:
        with self._lock:
            row = self._db.execute("SELECT text, usage, model FROM completions WHERE key = ?",
                                   (key,)).fetchone()
        if row is None:
            return None
        return CachedCompletion(row[0], json.loads(row[1]), row[2])

    def put(self, key: str, text: str, usage: dict[str, int], model: str | None = None,
            protocol: str | None = None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO completions (key, text, usage, model, protocol, created)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key, redact(text), json.dumps(usage, sort_keys=True), model, protocol, time.time()))

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "Cache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_cache(cache_dir: str | Path | None = None, no_cache: bool = False) -> Cache | None:
    """What ``--cache-dir DIR`` / ``--no-cache`` resolve to.

    The cache is best effort: when it cannot be opened (a full disk, a read-only folder)
    the run goes on without it after one warning.
    """
    if no_cache:
        return None
    try:
        return Cache(cache_dir if cache_dir is not None else default_cache_dir())
    except (RubricateError, OSError) as exc:
        logging.getLogger("rubricate.llm").warning("running without the LLM cache: %s", exc)
        return None
