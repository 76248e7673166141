"""Run many completions against one endpoint: cache, bounded concurrency, retries, totals.

Every call goes: cache lookup -> (limiter slot -> one request) x attempts -> cache store.
A failed call never raises; it returns a ``Completion`` with ``error`` set, so one bad
request ends as one ``unknown`` verdict rather than a crashed run.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Awaitable, Callable

from .cache import Cache, cache_key
from .client import Reply, make_client, send
from .endpoint import EndpointConfig
from .limiter import AdaptiveLimiter
from .progress import Progress
from .retry import CallError, RetryPolicy

log = logging.getLogger("rubricate.llm")


@dataclass
class RunStats:
    """Totals of one run (requests actually sent, cache hits, tokens, cost, faults)."""

    calls: int = 0
    requests: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    retries: int = 0
    failures: int = 0
    rate_limited: int = 0
    structured_fallbacks: int = 0
    reasks: int = 0
    lowest_concurrency: int | None = None
    wall_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Completion:
    """Outcome of one logical call; ``text`` is None when it failed (see ``error``)."""

    text: str | None
    usage: dict[str, int] = field(default_factory=dict)
    latency_s: float = 0.0
    cached: bool = False
    attempts: int = 0
    error: str | None = None
    model: str | None = None
    finish_reason: str | None = None


class Runner:
    """Holds the client, limiter and cache for one run: ``async with Runner(...) as r``."""

    def __init__(self, endpoint: EndpointConfig, cache: Cache | None = None, *,
                 stats: RunStats | None = None, progress: Progress | None = None,
                 rng: random.Random | None = None) -> None:
        self.endpoint = endpoint
        self.cache = cache
        self.stats = stats if stats is not None else RunStats()
        self.progress = progress
        self.policy = RetryPolicy(endpoint.max_retries, endpoint.retry_base_delay,
                                  endpoint.retry_max_delay, endpoint.max_retry_after)
        self.rng = rng or random.Random()
        self.structured_ok = True
        self._fatal: str | None = None
        self._client = None
        self._limiter: AdaptiveLimiter | None = None
        self._t0 = 0.0

    async def __aenter__(self) -> "Runner":
        self._client = make_client(self.endpoint)
        self._limiter = AdaptiveLimiter(self.endpoint.max_concurrency)
        self._t0 = time.monotonic()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stats.wall_s += time.monotonic() - self._t0
        if self._limiter is not None:
            low = self._limiter.lowest
            prev = self.stats.lowest_concurrency
            self.stats.lowest_concurrency = low if prev is None else min(prev, low)
        if self._client is not None:
            await self._client.close()

    def settings(self, temperature: float | None = None, sample: int = 0) -> dict[str, Any]:
        ep = self.endpoint
        return {"temperature": ep.temperature if temperature is None else temperature,
                "seed": None if ep.seed is None else ep.seed + sample,
                "max_tokens": ep.max_tokens, "sample": sample,
                "extra_body": ep.extra_body or None}

    def key(self, messages: list[dict], protocol: str, version: str, settings: dict,
            response_format: dict | None) -> str:
        return cache_key({"base_url": self.endpoint.url, "model": self.endpoint.model,
                          "protocol": protocol, "protocol_version": version,
                          "settings": settings, "response_format": response_format,
                          "messages": messages})

    def _lookup(self, keys: list[str]) -> Completion | None:
        if self.cache is None:
            return None
        for k in keys:
            hit = self.cache.get(k)
            if hit is not None:
                self.stats.cache_hits += 1
                return Completion(hit.text, dict(hit.usage), cached=True, model=hit.model)
        return None

    async def complete(self, messages: list[dict], *, protocol: str, version: str,
                       response_format: dict | None = None, temperature: float | None = None,
                       sample: int = 0) -> Completion:
        """One logical call with cache and retries; never raises for server faults."""
        self.stats.calls += 1
        settings = self.settings(temperature, sample)
        if self.cache is None:  # keys only address the cache: no need to hash every prompt
            return await self._request(messages, protocol, settings, response_format, "", None)
        plain = self.key(messages, protocol, version, settings, None)
        structured = self.key(messages, protocol, version, settings, response_format) \
            if response_format is not None else None
        order = [k for k in ((structured, plain) if self.structured_ok else (plain, structured)) if k]
        hit = self._lookup(order)
        if hit is not None:
            return hit
        return await self._request(messages, protocol, settings, response_format, plain, structured)

    async def _request(self, messages: list[dict], protocol: str, settings: dict,
                       response_format: dict | None, plain: str, structured: str | None) -> Completion:
        assert self._client is not None and self._limiter is not None, "use 'async with Runner'"
        attempts = retries = 0
        while True:
            async with self._limiter:
                if self._fatal:  # checked after the wait for a slot, not before
                    self.stats.failures += 1
                    return Completion(None, attempts=attempts, error=self._fatal)
                rf = response_format if self.structured_ok else None
                attempts += 1
                self.stats.requests += 1
                t0 = time.monotonic()
                try:
                    reply: Reply | None = await send(self._client, self.endpoint, messages, settings, rf)
                    err: CallError | None = None
                except CallError as exc:
                    reply, err = None, exc
                latency = time.monotonic() - t0
            if reply is not None:
                return self._succeeded(reply, latency, attempts, structured if rf else plain, protocol)
            assert err is not None
            if err.status == 400 and rf is not None:
                if self.structured_ok:
                    log.info("server rejected structured output (%s); going on without it", err.reason)
                    self.structured_ok = False
                    self.stats.structured_fallbacks += 1
                continue
            give_up = self._give_up_reason(err, retries)
            if give_up:
                self.stats.failures += 1
                log.warning("call failed: %s", give_up)
                return Completion(None, latency_s=latency, attempts=attempts, error=give_up)
            delay = self.policy.delay(retries, err.retry_after, self.rng)
            if err.status == 429:
                self.stats.rate_limited += 1
            if err.status in (429, 503, 529):  # overloaded: slow the whole run down
                self._limiter.on_rate_limit(delay)
            retries += 1
            self.stats.retries += 1
            if self.progress:
                self.progress.retry()
            log.debug("retry %d in %.2fs after %s", retries, delay, err.reason)
            await asyncio.sleep(delay)

    def _give_up_reason(self, err: CallError, retries: int) -> str | None:
        if err.fatal:
            self._fatal = f"aborted: an earlier call failed with {err.reason}"
            return err.reason
        if not err.retryable:
            return err.reason
        if err.retry_after is not None and err.retry_after > self.policy.max_retry_after:
            return (f"{err.reason}; Retry-After {err.retry_after:.0f}s exceeds the "
                    f"{self.policy.max_retry_after:.0f}s limit")
        if retries >= self.policy.max_retries:
            return f"{err.reason} (gave up after {retries + 1} attempts)"
        return None

    def _succeeded(self, reply: Reply, latency: float, attempts: int, key: str,
                   protocol: str) -> Completion:
        assert self._limiter is not None
        self._limiter.on_success()
        pt, ct = reply.usage.get("prompt_tokens", 0), reply.usage.get("completion_tokens", 0)
        self.stats.prompt_tokens += pt
        self.stats.completion_tokens += ct
        cost = self.endpoint.cost(pt, ct)
        if cost is not None:
            self.stats.cost_usd = (self.stats.cost_usd or 0.0) + cost
        if self.cache is not None:
            self.cache.put(key, reply.text, reply.usage, reply.model, protocol)
        return Completion(reply.text, dict(reply.usage), latency, False, attempts,
                          model=reply.model, finish_reason=reply.finish_reason)


async def run_all(endpoint: EndpointConfig, cache: Any, stats: "RunStats | None", bar: Any, n: int,
                  one: Callable[["Runner", int], Awaitable[None]]) -> None:
    """Run ``one(runner, i)`` for i in range(n) concurrently through one Runner.

    The first failure (e.g. the caller's ``on_result`` raising) is raised as itself rather
    than wrapped in an ExceptionGroup; the progress bar is closed either way.
    """
    try:
        async with Runner(endpoint, cache, stats=stats, progress=bar) as runner:
            async with asyncio.TaskGroup() as tg:
                for i in range(n):
                    tg.create_task(one(runner, i))
    except ExceptionGroup as group_error:
        raise group_error.exceptions[0]
    finally:
        bar.close()


async def emit(on_result: Callable[[Any], Any] | None, result: Any) -> None:
    """Hand a result to the caller's callback, sync or async."""
    if on_result is not None:
        out = on_result(result)
        if inspect.isawaitable(out):
            await out
