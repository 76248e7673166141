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
FLUSH_ROWS = 256      # completions written to SQLite in one transaction
FLUSH_SECONDS = 1.0   # ... or at least this often (another process sharing the file sees them then)

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
    """A completion cache in ``directory``/llm-cache.sqlite3; thread-safe.

    Writes are buffered and committed ``FLUSH_ROWS`` at a time (or every ``FLUSH_SECONDS``,
    and on close): one SQLite commit per completion cost more client CPU than the request
    itself at a few hundred requests in flight. A buffered completion is already served by
    ``get``; a process killed before a flush loses at most those (the next run asks again).
    """

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
        self._pending: dict[str, tuple] = {}  # key -> row, not yet committed
        self._flushed = time.monotonic()

    def get(self, key: str) -> CachedCompletion | None:
        with self._lock:
            row = self._pending.get(key)
            if row is not None:
                return CachedCompletion(row[1], json.loads(row[2]), row[3])
            row = self._db.execute("SELECT text, usage, model FROM completions WHERE key = ?",
                                   (key,)).fetchone()
        if row is None:
            return None
        return CachedCompletion(row[0], json.loads(row[1]), row[2])

    def put(self, key: str, text: str, usage: dict[str, int], model: str | None = None,
            protocol: str | None = None) -> None:
        """Buffer one completion; commits the buffer when it is full or a second old (a
        failed commit raises here, and the caller turns the cache off)."""
        row = (key, redact(text), json.dumps(usage, sort_keys=True), model, protocol, time.time())
        with self._lock:
            self._pending[key] = row
            if len(self._pending) >= FLUSH_ROWS or time.monotonic() - self._flushed >= FLUSH_SECONDS:
                self._flush()

    def flush(self) -> None:
        """Commit the buffered completions now."""
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        rows, self._pending = list(self._pending.values()), {}
        self._flushed = time.monotonic()
        if not rows:
            return
        with self._db:  # one transaction
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO completions (key, text, usage, model, protocol, created)"
                " VALUES (?, ?, ?, ?, ?, ?)", rows)

    def __len__(self) -> int:
        with self._lock:
            self._flush()
            return self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]

    def close(self) -> None:
        """Commit what is buffered (best effort: a full disk loses only cached answers) and close."""
        with self._lock:
            n = len(self._pending)
            try:
                self._flush()
            except (OSError, sqlite3.Error) as exc:
                logging.getLogger("rubricate.llm").warning(
                    "LLM cache: %d answers not saved to %s (%s)", n, self.path, exc)
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
