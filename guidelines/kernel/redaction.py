"""Keep secrets (API keys) out of every text rubricate writes or prints.

A server may echo the key back: whole in a successful completion, or in part ("...key
ending in 3f9a2c1d7") in an error. The key is registered once, when it is read from the
environment, and every writer (results, reports, caches, error lines) passes its text
through ``redact``, which removes the key and any fragment of 8 or more of its characters.
"""
from __future__ import annotations

import re
from functools import lru_cache

MASK = "[redacted]"
MIN_FRAGMENT = 8
_SECRETS: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Remember ``secret`` for this process (placeholders and very short values are ignored)."""
    if secret and len(secret) >= MIN_FRAGMENT:
        _SECRETS.add(secret)
        _pattern.cache_clear()


def registered() -> bool:
    return bool(_SECRETS)


@lru_cache(maxsize=8)
def _pattern(secrets: frozenset[str]) -> re.Pattern | None:
    grams = {s[i:i + MIN_FRAGMENT] for s in secrets for i in range(len(s) - MIN_FRAGMENT + 1)}
    if not grams:
        return None
    # a lookahead finds overlapping fragments, so a run of them is masked as one span
    return re.compile("(?=(" + "|".join(re.escape(g) for g in sorted(grams)) + "))")


def redact(text: str, *secrets: str) -> str:
    """``text`` without the registered secrets (and ``secrets``), whole or in 8+ char fragments."""
    pool = frozenset(s for s in (*_SECRETS, *secrets) if s and len(s) >= MIN_FRAGMENT)
    if not pool or not text:
        return text
    pattern = _pattern(pool)
    spans: list[list[int]] = []
    for m in pattern.finditer(text):
        start, end = m.start(), m.start() + MIN_FRAGMENT
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    if not spans:
        return text
    out, last = [], 0
    for start, end in spans:
        out += [text[last:start], MASK]
        last = end
    out.append(text[last:])
    return "".join(out)
