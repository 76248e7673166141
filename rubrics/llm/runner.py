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
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from .cache import Cache, cache_key
from .client import Reply, make_client, make_transport, send
from .endpoint import BATCH_DISCOUNT, EndpointConfig
from .limiter import AdaptiveLimiter
from .params import ParamPolicy
from .progress import Progress
from .retry import REFUSED_RETRIES, CallError, CircuitBreaker, RetryPolicy

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
    concurrency: dict[str, Any] | None = None  # the limiter's course: mode, final (settled) limit, lowest, peak
    wall_s: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)  # cause -> failed calls
    batches: int = 0  # batch mode: batches submitted
    batch_requests: int = 0  # answers that came back through a batch (at the batch discount)
    batch_savings_usd: float | None = None  # what those answers would have cost online, less
    param_changes: list[dict] = field(default_factory=list)
    cache_disabled: str | None = None  # why the cache was turned off mid-run (a full disk), if it was
    refusals: int = 0  # replies where the model declined (message.refusal)
    breaker: str | None = None  # why the circuit breaker stopped the run, if it did

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["requests_per_call"] = round(self.requests / self.calls, 4) if self.calls else None
        return out

    def failed(self, cause: str) -> None:
        self.failures += 1
        self.errors[cause] = self.errors.get(cause, 0) + 1


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
    cause: str | None = None  # the error's cause, the same for every call that hit it
    batch: bool = False  # answered through a batch (billed at the batch discount)
    refusal: str | None = None  # the model declined: its text (``text`` is then "")


class Runner:
    """Holds the client, limiter and cache for one run: ``async with Runner(...) as r``."""

    def __init__(self, endpoint: EndpointConfig, cache: Cache | None = None, *,
                 stats: RunStats | None = None, progress: Progress | None = None,
                 rng: random.Random | None = None, params: ParamPolicy | None = None) -> None:
        self.endpoint = endpoint
        self.cache = cache
        self.stats = stats if stats is not None else RunStats()
        self.progress = progress
        self.policy = RetryPolicy(endpoint.max_retries, endpoint.retry_base_delay,
                                  endpoint.retry_max_delay, endpoint.max_retry_after)
        self.rng = rng or random.Random()
        self.structured_ok = True
        # What this model accepts, learned from 400s; a caller that runs in several batches
        # (the evaluator) passes one policy for all of them, so each change is said once.
        self.params = params or ParamPolicy.for_model(endpoint.model, endpoint.explicit_params())
        if self.params.breaker is None:  # one breaker per run, like the policy
            self.params.breaker = CircuitBreaker(endpoint.concurrency_wave)
        self._client = None
        self._transport = None
        self._limiter: AdaptiveLimiter | None = None
        self._t0 = 0.0

    async def __aenter__(self) -> "Runner":
        self._client = make_client(self.endpoint)
        self._transport = make_transport(self.endpoint, self._client)
        if self.params.limiter is None:  # one limiter per run: what it learnt holds for every batch
            self.params.limiter = AdaptiveLimiter.for_setting(self.endpoint.max_concurrency)
        self._limiter = self.params.limiter
        if self.progress is not None:
            self.progress.limiter = self._limiter
        self._t0 = time.monotonic()
        return self

    def say_once(self, key: str, message: str) -> None:
        """A warning shown once per run however many calls hit it."""
        if key not in self.params.said:
            self.params.said.add(key)
            log.warning("%s", message)

    async def __aexit__(self, *exc: object) -> None:
        self.stats.wall_s += time.monotonic() - self._t0
        self.stats.param_changes = [c.to_dict() for c in self.params.changes]
        if self._limiter is not None:
            low = self._limiter.lowest
            prev = self.stats.lowest_concurrency
            self.stats.lowest_concurrency = low if prev is None else min(prev, low)
            self.stats.concurrency = self._limiter.describe()
        if self.cache is not None:  # what this run buffered is committed when it ends (another
            try:                    # process, or the next run of a caller that never closes, sees it)
                self.cache.flush()
            except (OSError, sqlite3.Error) as err:  # not "exc": that would unbind __aexit__'s argument
                log.warning("LLM cache: cannot write %s (%s)", self.cache.path, err)
                self.stats.cache_disabled = str(err)
        if self._transport is not None:
            await self._transport.close()
        if self._client is not None:
            await self._client.close()

    def settings(self, temperature: float | None = None, sample: int = 0,
                 max_tokens: int | None = None) -> dict[str, Any]:
        """What the caller asks for: a protocol's fixed temperature (moore2025: 0), else the
        user's, else 0; ``max_tokens`` is the caller's default cap on a reply (a judge
        protocol's), used when the user set no length limit and the model's family does not
        count reasoning tokens in it (there a cap would cut the answer, not bound it).

        These settings (not what a model's rules later drop) address the cache, so keys stay
        the same whatever the server turned out to accept.
        """
        ep = self.endpoint
        temp = temperature if temperature is not None else (ep.temperature if ep.temperature is not None else 0.0)
        cap = ep.max_tokens
        if cap is None and ep.max_completion_tokens is None and "max_tokens" not in self.params.rename:
            cap = max_tokens
        out = {"temperature": temp, "seed": None if ep.seed is None else ep.seed + sample,
               "max_tokens": cap, "sample": sample, "extra_body": ep.extra_body or None}
        for name in ("max_completion_tokens", "reasoning_effort"):  # in the key only when set
            if getattr(ep, name) is not None:
                out[name] = getattr(ep, name)
        return out

    def sends(self, name: str) -> bool:
        """Whether requests still carry parameter ``name`` (not omitted for this model)."""
        return name not in self.params.omit

    def key(self, messages: list[dict], protocol: str, version: str, settings: dict,
            response_format: dict | None) -> str:
        return cache_key({"base_url": self.endpoint.url, "model": self.endpoint.model,
                          "protocol": protocol, "protocol_version": version,
                          "settings": settings, "response_format": response_format,
                          "messages": messages})

    def _cached(self, messages: list[dict], protocol: str, version: str, settings: dict,
                response_format: dict | None) -> tuple[str, str | None, Completion | None]:
        """The plain and structured-output cache keys of a call, and a cached completion under
        either (the one this run is using first)."""
        plain = self.key(messages, protocol, version, settings, None)
        structured = self.key(messages, protocol, version, settings, response_format) \
            if response_format is not None else None
        order = [k for k in ((structured, plain) if self.structured_ok else (plain, structured)) if k]
        return plain, structured, self._lookup(order)

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
                       sample: int = 0, accept: Callable[[str], bool] | None = None,
                       max_tokens: int | None = None) -> Completion:
        """One logical call with cache and retries; never raises for server faults.

        ``accept`` says whether a reply is usable (a judge: it can be read as an answer);
        only usable, non-empty replies are cached, so a re-run asks again for the others.
        """
        self.stats.calls += 1
        settings = self.settings(temperature, sample, max_tokens)
        if self.cache is None:  # keys only address the cache: no need to hash every prompt
            return await self._request(messages, protocol, settings, response_format, "", None, accept)
        plain, structured, hit = self._cached(messages, protocol, version, settings, response_format)
        if hit is not None:
            return hit
        return await self._request(messages, protocol, settings, response_format, plain, structured, accept)

    async def _request(self, messages: list[dict], protocol: str, settings: dict,
                       response_format: dict | None, plain: str, structured: str | None,
                       accept: Callable[[str], bool] | None = None) -> Completion:
        assert self._client is not None and self._limiter is not None, "use 'async with Runner'"
        attempts = retries = 0
        while True:
            async with self._limiter:
                if self.params.fatal:  # checked after the wait for a slot, not before
                    self.stats.failed(self.params.fatal_cause)
                    return Completion(None, attempts=attempts, error=self.params.fatal, cause=self.params.fatal_cause)
                rf = response_format if self.structured_ok else None
                body = self.params.body(self.endpoint.model, messages, settings, rf, self.endpoint.extra_body)
                attempts += 1
                self.stats.requests += 1
                t0 = time.monotonic()
                try:
                    reply: Reply | None = await send(self._client, self.endpoint, body, self._transport)
                    err: CallError | None = None
                except CallError as exc:
                    reply, err = None, exc
                latency = time.monotonic() - t0
            if reply is not None:
                self.params.breaker.record(True)
                self._limiter.on_success(latency)
                return self._succeeded(reply, latency, attempts, structured if rf else plain, protocol,
                                       accept=accept)
            assert err is not None
            if err.status in (400, 422) and self._adapt(err, body):
                continue
            give_up = self._give_up_reason(err, retries)
            # the breaker watches an endpoint that answers badly; one that cannot be reached
            # (refused, DNS, TLS) is stopped by its own rule above, with its own message
            tripped = None if err.unreachable else self.params.breaker.record(False, err.reason)
            if tripped and not self.params.fatal:  # the rest of the run is not sent
                self.params.fatal = self.stats.breaker = tripped
                self.params.fatal_cause = _cause(err)  # counted under the error that tripped it
                log.warning("%s", tripped)
            if give_up:
                self.stats.failed(_cause(err))
                return Completion(None, latency_s=latency, attempts=attempts, error=give_up, cause=_cause(err))
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

    def _adapt(self, err: CallError, body: dict) -> bool:
        """A 400 naming one parameter: stop sending it (or rename it) and re-send. Only a
        400 about response_format turns structured output off. Another call may already
        have adapted (requests in flight): then re-send as the policy now says."""
        if body.get("response_format") is not None and not self.structured_ok:
            return True
        already = [k for k in body if k not in ("model", "messages")
                   and (k in self.params.omit or k in self.params.rename)]
        if already:
            return True
        change = self.params.learn(err, body)
        if change is None:
            return False
        if change.action == "structured-output-off":
            self.structured_ok = False
            self.stats.structured_fallbacks += 1
        return True

    def _give_up_reason(self, err: CallError, retries: int) -> str | None:
        if err.fatal or (err.kind == "refused" and retries >= min(REFUSED_RETRIES, self.policy.max_retries)):
            self.params.fatal = f"aborted (not sent): an earlier call failed with {err.reason}"
            self.params.fatal_cause = _cause(err)
            return err.reason + (f" (gave up after {retries + 1} attempts)" if retries else "")
        if not err.retryable:
            return err.reason
        if err.retry_after is not None and err.retry_after > self.policy.max_retry_after:
            return (f"{err.reason}; Retry-After {err.retry_after:.0f}s exceeds the "
                    f"{self.policy.max_retry_after:.0f}s limit")
        if retries >= self.policy.max_retries:
            return f"{err.reason} (gave up after {retries + 1} attempts)"
        if self.policy.budget_spent(self.stats.retries, self.stats.calls, self.endpoint.concurrency_wave):
            return f"{err.reason} (run's retry budget spent: {self.stats.retries} retries for {self.stats.calls} calls)"
        return None

    def _succeeded(self, reply: Reply, latency: float, attempts: int, key: str,
                   protocol: str, batch: bool = False, accept: Callable[[str], bool] | None = None) -> Completion:
        pt, ct = reply.usage.get("prompt_tokens", 0), reply.usage.get("completion_tokens", 0)
        self.stats.prompt_tokens += pt
        self.stats.completion_tokens += ct
        cost = self.endpoint.cost(pt, ct)
        if batch:
            self.stats.batch_requests += 1
            if cost is not None:
                self.stats.batch_savings_usd = (self.stats.batch_savings_usd or 0.0) + cost * BATCH_DISCOUNT
                cost *= 1 - BATCH_DISCOUNT
        if cost is not None:
            self.stats.cost_usd = (self.stats.cost_usd or 0.0) + cost
        if reply.refusal is not None:
            self.stats.refusals += 1
        # only a usable reply is cached (not a refusal, not empty, readable by the caller), so
        # a re-run asks again for the others instead of replaying them
        usable = reply.refusal is None and reply.text.strip() and (accept is None or accept(reply.text))
        if self.cache is not None and usable:
            self._cache_put(key, reply, protocol)
        return Completion(reply.text, dict(reply.usage), latency, False, attempts, model=reply.model,
                          finish_reason=reply.finish_reason, batch=batch, refusal=reply.refusal)

    def _cache_put(self, key: str, reply: Reply, protocol: str) -> None:
        """Best effort: a full disk or a locked file disables the cache with one warning; the
        verdicts (the reason for the run) are never lost for it."""
        assert self.cache is not None
        try:
            self.cache.put(key, reply.text, reply.usage, reply.model, protocol)
        except (OSError, sqlite3.Error) as exc:
            log.warning("LLM cache disabled for the rest of the run: cannot write %s (%s)",
                        self.cache.path, exc)
            self.stats.cache_disabled = str(exc)
            self.cache = None


def _cause(err: CallError) -> str:
    """The error as counted per cause: its reason without per-call detail."""
    return err.reason


async def emit(on_result: Callable[[Any], Any] | None, result: Any) -> None:
    """Hand a result to the caller's callback, sync or async."""
    if on_result is not None:
        out = on_result(result)
        if inspect.isawaitable(out):
            await out
