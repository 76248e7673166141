"""Bound the requests in flight, and find how many a server takes.

A fixed semaphore keeps hammering a server that answers 429, and a fixed number is a guess:
too low wastes a fast server, too high queues requests inside a slow one or earns 429s.
This limiter halves its effective concurrency on each rate limit and pauses new requests
until the server's Retry-After has passed, then creeps back up (additive increase,
multiplicative decrease, as in TCP congestion control).

With ``--max-concurrency auto`` it also searches for the limit itself, in the manner of TCP
Vegas and Netflix's gradient limiter: it keeps the lowest round-trip time it has seen (the
server's latency with no queue) and, once per window of replies (about one round trip),
compares the window's median latency with it. While latency holds it grows (doubling at
first, "slow start", then by about the square root of the limit per window); when latency
rises past ``TOLERANCE`` times the floor, requests are queueing somewhere (in the server or
in this client's own event loop) and the limit is cut in proportion (floor / current, at
most by half). Growth needs demand: a window in which the limit was never nearly reached
does not raise it.
"""
from __future__ import annotations

import asyncio
import math
import time
from collections import deque

AUTO = "auto"
AUTO_START = 16   # the first limit of an auto run: safe for a hosted API, quickly doubled on a fast server
AUTO_MAX = 512    # the most an auto run puts in flight
AUTO_MIN = 1
AUTO_WAVE = 64    # auto's "requests that may fail at once", for the circuit breaker and the retry budget
TOLERANCE = 1.5   # latency up to 1.5x the floor counts as "holding" (noise, not a queue)
MIN_WINDOW = 8    # replies per window, at least (a median of fewer is noise)
BASE_WINDOWS = 30  # the latency floor is the lowest window median of the last 30 windows


def parse_concurrency(value: object) -> int | str:
    """``auto`` or a whole number >= 1 (the CLI option, the endpoint YAML key); else ValueError."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text == AUTO:
            return AUTO
        if not text.isdigit():
            raise ValueError(f"max_concurrency must be 'auto' or a whole number >= 1, got {value!r}")
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_concurrency must be 'auto' or a whole number >= 1, got {value!r}")
    return value


def concurrency_bound(setting: int | str) -> int:
    """The most requests a setting may put in flight (connection pools are sized to it)."""
    return AUTO_MAX if setting == AUTO else int(setting)


def concurrency_wave(setting: int | str) -> int:
    """How many requests may fail together (one wave in flight): sizes the circuit breaker's
    run of failures and the retry budget's allowance. Auto's ceiling (512) would let a dead
    server take a thousand requests before the breaker opens; auto's limit is usually far
    below it."""
    return AUTO_WAVE if setting == AUTO else int(setting)


class AdaptiveLimiter:
    """``async with limiter:`` around each request.

    Waiters queue in FIFO order and a release wakes only as many as there are free
    slots, so thousands of queued calls cost O(1) each rather than a wake-up storm.
    ``limit`` is a float (additive steps are fractional); ``int(limit)`` slots are open.
    """

    def __init__(self, max_concurrency: int, *, start: int | None = None, latency_aware: bool = False) -> None:
        self.max = max(1, int(max_concurrency))
        self.limit: float = float(min(self.max, start or self.max))
        self.lowest = self.peak = int(self.limit)
        self.auto = latency_aware
        self.in_flight = 0
        self.paused_until = 0.0
        self.rate_limits = 0    # cuts for 429/503 (once per cool-down)
        self.latency_cuts = 0   # cuts for rising latency (auto)
        self.base_rtt: float | None = None  # the latency floor (auto)
        self._clean = 0
        self._slow_start = latency_aware
        self._window: list[float] = []
        self._busy = 0          # most requests in flight during the current window
        self._changed = 0.0     # when the limit last changed: replies to older requests are not counted
        self._medians: deque[float] = deque(maxlen=BASE_WINDOWS)
        self._waiters: deque[asyncio.Future[None]] = deque()

    @classmethod
    def for_setting(cls, setting: int | str) -> "AdaptiveLimiter":
        """The limiter of a ``max_concurrency`` setting: a fixed cap, or ``auto``."""
        if setting == AUTO:
            return cls(AUTO_MAX, start=AUTO_START, latency_aware=True)
        return cls(int(setting))

    @property
    def slots(self) -> int:
        return max(1, int(self.limit))

    async def acquire(self) -> None:
        while True:
            wait = self.paused_until - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            if self.in_flight < self.slots:
                self.in_flight += 1
                if self.in_flight > self._busy:
                    self._busy = self.in_flight
                return
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            try:
                await fut
            except asyncio.CancelledError:
                if fut in self._waiters:
                    self._waiters.remove(fut)
                else:  # woken, then cancelled: pass the wake-up on
                    self._wake()
                raise

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        free = self.slots - self.in_flight
        while free > 0 and self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                free -= 1

    async def __aenter__(self) -> "AdaptiveLimiter":
        await self.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def on_success(self, latency: float | None = None, now: float | None = None) -> None:
        """One clean reply (``latency``: its round trip in seconds).

        Fixed: after ``limit`` clean replies in a row, one more in flight, up to the cap.
        Auto: the reply's latency joins the current window (unless the request was sent
        before the limit last changed: it tells of the old limit), judged when full."""
        if not self.auto:
            if self.limit >= self.max:
                return
            self._clean += 1
            if self._clean >= self.limit:
                self._clean = 0
                self._set(self.limit + 1)
            return
        if latency is None:
            return
        now = time.monotonic() if now is None else now
        if now - latency < self._changed:
            return
        self._window.append(latency)
        if len(self._window) >= max(MIN_WINDOW, self.slots):
            self._judge_window(now)

    def _judge_window(self, now: float) -> None:
        window = sorted(self._window)
        median = window[len(window) // 2]
        busy, self._window, self._busy = self._busy, [], self.in_flight
        self._medians.append(median)
        self.base_rtt = min(self._medians)
        if median > TOLERANCE * self.base_rtt:  # a queue is forming: cut in proportion
            self._slow_start = False
            self.latency_cuts += 1
            self._set(self.limit * max(0.5, self.base_rtt / median), now)
        elif busy >= 0.8 * self.slots and self.limit < self.max:  # holding, and wanted: grow
            step = self.limit if self._slow_start else max(1.0, math.sqrt(self.limit))
            self._set(self.limit + step, now)

    def on_rate_limit(self, pause: float) -> None:
        """Halve concurrency (once per cool-down, not once per failed request in flight)
        and hold new requests for ``pause`` seconds."""
        self._clean = 0
        now = time.monotonic()
        if now >= self.paused_until:
            self._slow_start = False
            self.rate_limits += 1
            self._window = []
            self._set(self.limit / 2, now)
        self.paused_until = max(self.paused_until, now + pause)

    def _set(self, limit: float, now: float | None = None) -> None:
        before = self.slots
        self.limit = min(float(self.max), max(float(AUTO_MIN), limit))
        if self.auto:  # integral steps in fixed mode (the AIMD of a fixed cap), fractional in auto
            self._changed = time.monotonic() if now is None else now
        else:
            self.limit = float(int(self.limit))
        self.lowest = min(self.lowest, self.slots)
        self.peak = max(self.peak, self.slots)
        if self.slots > before:
            self._wake()

    def describe(self) -> dict:
        """The limiter's course, for the run's stats: where it ended and how far it went."""
        return {"mode": AUTO if self.auto else "fixed", "final": self.slots, "lowest": self.lowest,
                "peak": self.peak, "cap": self.max, "rate_limit_cuts": self.rate_limits,
                "latency_cuts": self.latency_cuts,
                "latency_floor_ms": round(1000 * self.base_rtt, 1) if self.base_rtt is not None else None}


def concurrency_note(course: dict | None) -> str:
    """The limiter's course in words, for a run's summary line ('' when it never moved)."""
    if not course:
        return ""
    if course.get("mode") == AUTO:
        note = (f"concurrency auto: settled at {course['final']} (range {course['lowest']}-{course['peak']}"
                + (f", latency floor {course['latency_floor_ms']:g} ms" if course.get("latency_floor_ms") else ""))
    elif course.get("lowest", course.get("cap")) < course.get("cap"):
        return (f"concurrency {course['cap']}: cut to {course['lowest']} by {course.get('rate_limit_cuts', 0)} "
                f"rate limit(s), ended at {course['final']}")
    else:
        return ""
    cuts = [f"{course[k]} {what}" for k, what in (("rate_limit_cuts", "rate-limit cuts"),
                                                  ("latency_cuts", "latency cuts")) if course.get(k)]
    return note + ("; " + ", ".join(cuts) if cuts else "") + ")"
