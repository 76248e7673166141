"""When to retry a failed call and how long to wait first.

Transient faults (rate limits, 5xx, timeouts, dropped connections, garbled bodies) are
retried with exponential back-off and jitter, so many clients hitting the same server do
not retry in lock-step; a server's Retry-After is a floor on the wait, never shortened.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 522, 524, 529})
FATAL_STATUS = frozenset({401, 403, 404})  # same answer for every call: stop the run
# Why a call failed, as the user should read it: refused (nothing listens), dns (no such
# host), tls (handshake or certificate), timeout, connection (dropped mid-request), http
# (a status with the server's message), bad-body (a reply that is not a completion).
KINDS = ("refused", "dns", "tls", "timeout", "connection", "http", "bad-body", "batch")
UNREACHABLE_FATAL = frozenset({"dns", "tls"})  # retrying cannot help: stop the run
REFUSED_RETRIES = 2  # a refused connection may be a server restarting: retry a little, not 6x


@dataclass(eq=False)
class CallError(Exception):
    """A failed request, classified. ``reason`` is already free of secrets."""

    kind: str  # one of KINDS
    reason: str
    status: int | None = None
    retry_after: float | None = None
    param: str | None = None  # the parameter a 400 names (its ``error.param`` field)
    server_message: str = ""  # the server's own message (redacted)

    def __str__(self) -> str:
        return self.reason

    @property
    def retryable(self) -> bool:
        if self.kind == "http":
            return self.status in RETRYABLE_STATUS
        return self.kind not in UNREACHABLE_FATAL

    @property
    def unreachable(self) -> bool:
        """The endpoint cannot be reached at all: every other call would fail the same way."""
        return self.kind in UNREACHABLE_FATAL or self.kind == "refused"

    @property
    def rate_limited(self) -> bool:
        return self.status == 429

    @property
    def fatal(self) -> bool:
        return (self.kind == "http" and self.status in FATAL_STATUS) or self.kind in UNREACHABLE_FATAL


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryPolicy:
    """Back-off settings; ``max_retries`` counts retries after the first attempt."""

    max_retries: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def delay(self, retry: int, retry_after: float | None = None,
              rng: random.Random | None = None) -> float:
        """Wait before retry number ``retry`` (0-based): jittered exponential, at least
        Retry-After (plus up to 10% jitter so a crowd does not return at once)."""
        rng = rng or random
        backoff = min(self.max_delay, self.base_delay * (2 ** retry))
        wait = backoff * (0.5 + rng.random() / 2)  # "equal jitter"
        if retry_after is not None:
            wait = max(wait, retry_after * (1 + rng.random() / 10))
        return wait
