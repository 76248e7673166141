"""When to retry a failed call and how long to wait first.

Transient faults (rate limits, 5xx, timeouts, dropped connections, garbled bodies) are
retried with exponential back-off and jitter, so many clients hitting the same server do
not retry in lock-step; a server's Retry-After is a floor on the wait, never shortened.
"""
from __future__ import annotations

import random
import time
from collections import deque
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 522, 524, 529})
FATAL_STATUS = frozenset({401, 403, 404})  # same answer for every call: stop the run
# Why a call failed, as the user should read it: refused (nothing listens), dns (no such
# host), tls (handshake or certificate), timeout, connection (dropped mid-request), http
# (a status with the server's message), bad-body (a reply that is not a completion).
KINDS = ("refused", "dns", "tls", "timeout", "connection", "http", "bad-body", "batch")
UNREACHABLE_FATAL = frozenset({"dns", "tls"})  # retrying cannot help: stop the run
RETRY_BUDGET_SHARE = 0.1  # retries allowed per call across a run (plus 2 x concurrency)
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
        """Same answer for every call: stop the run (auth, wrong path, any redirect, no such host, TLS)."""
        return (self.kind == "http" and self.status is not None
                and (self.status in FATAL_STATUS or 300 <= self.status < 400)) or self.kind in UNREACHABLE_FATAL


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

    @staticmethod
    def budget_spent(run_retries: int, run_calls: int, concurrency: int) -> bool:
        """A retry budget for the whole run: retries stay a bounded share of the calls (plus
        one wave per connection), so a failing endpoint cannot multiply the requests sent
        per judgement however many retries each call may take."""
        return run_retries >= RETRY_BUDGET_SHARE * run_calls + 2 * concurrency


class CircuitBreaker:
    """Stop a run against an endpoint that keeps failing, with one line saying why.

    Opens after ``consecutive`` failed requests in a row (more than one full wave of
    concurrent requests, so a single blip does not trip it), or when over the last
    ``window`` requests more than ``max_rate`` failed. A success resets the run of
    failures. Once open it stays open: the caller stops sending.
    """

    def __init__(self, concurrency: int, consecutive: int | None = None, window: int = 100,
                 max_rate: float = 0.5) -> None:
        self.consecutive = consecutive or max(10, 2 * concurrency)
        self.window, self.max_rate = window, max_rate
        self._recent: deque[bool] = deque(maxlen=window)
        self._run = 0
        self.opened: str | None = None

    def record(self, ok: bool, reason: str = "") -> str | None:
        """Note one request's outcome; return the reason when this opens the breaker."""
        self._recent.append(ok)
        self._run = 0 if ok else self._run + 1
        if self.opened or ok:
            return None
        failed = self._recent.count(False)
        if self._run >= self.consecutive:
            self.opened = (f"circuit breaker: stopped after {self._run} failed requests in a row "
                           f"(last: {reason})")
        elif len(self._recent) == self.window and failed > self.max_rate * self.window:
            self.opened = (f"circuit breaker: stopped, {failed} of the last {self.window} requests "
                           f"failed (last: {reason})")
        return self.opened
