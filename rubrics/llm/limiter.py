"""Bound the requests in flight, and back off as a whole when the server rate-limits.

A fixed semaphore keeps hammering a server that answers 429. This limiter halves its
effective concurrency on each rate limit and pauses new requests until the server's
Retry-After has passed, then creeps back up (one slot per window of clean replies):
additive increase, multiplicative decrease, as in TCP congestion control.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque


class AdaptiveLimiter:
    """``async with limiter:`` around each request.

    Waiters queue in FIFO order and a release wakes only as many as there are free
    slots, so thousands of queued calls cost O(1) each rather than a wake-up storm.
    """

    def __init__(self, max_concurrency: int) -> None:
        self.max = max(1, int(max_concurrency))
        self.limit = self.max
        self.lowest = self.max
        self.in_flight = 0
        self.paused_until = 0.0
        self._clean = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        while True:
            wait = self.paused_until - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            if self.in_flight < self.limit:
                self.in_flight += 1
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
        free = self.limit - self.in_flight
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

    def on_success(self) -> None:
        """One clean reply; after ``limit`` of them in a row, allow one more in flight."""
        if self.limit >= self.max:
            return
        self._clean += 1
        if self._clean >= self.limit:
            self._clean = 0
            self.limit += 1
            self._wake()

    def on_rate_limit(self, pause: float) -> None:
        """Halve concurrency (once per cool-down, not once per failed request in flight)
        and hold new requests for ``pause`` seconds."""
        self._clean = 0
        if time.monotonic() >= self.paused_until:
            self.limit = max(1, self.limit // 2)
            self.lowest = min(self.lowest, self.limit)
        self.paused_until = max(self.paused_until, time.monotonic() + pause)
