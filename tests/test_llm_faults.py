"""Server faults against the LLM runner: every fault recovers or ends as ``unknown`` with a
reason; Retry-After is honoured; concurrency stays within its bound."""
from __future__ import annotations

import asyncio
import time
from email.utils import formatdate

import pytest

from tests.openai_server import Fault, FaultRule
from rubricate.rubrics.llm import EndpointConfig, JudgeTask, RunStats, judge_many_sync
from rubricate.rubrics.llm.limiter import AdaptiveLimiter
from rubricate.rubrics.llm.retry import RetryPolicy, parse_retry_after

CRIT = {"id": "c.help", "criterion": "Offers help.", "question": "Does the response offer help?",
        "judge_instructions": "Answer yes if the response offers help."}


def endpoint(srv, **kw) -> EndpointConfig:
    base = dict(model="judge-model", base_url=srv.base_url, max_retries=3, retry_base_delay=0.01,
                retry_max_delay=0.05, timeout=2.0, max_concurrency=4)
    base.update(kw)
    return EndpointConfig(**base)


def tasks(n: int = 1) -> list[JudgeTask]:
    return [JudgeTask(f"r{i}", [{"role": "user", "content": "I feel low."}],
                      "I can help you find support." if i % 2 == 0 else "Go away.", CRIT)
            for i in range(n)]


def expected(ts: list[JudgeTask]) -> list[str]:
    return ["yes" if "help" in t.response else "no" for t in ts]


TRANSIENT = [Fault("429", retry_after="0"), Fault("500"), Fault("503"), Fault("drop"),
             Fault("slow", delay=3.0), Fault("truncated"), Fault("plaintext")]


@pytest.mark.parametrize("fault", TRANSIENT, ids=lambda f: f.kind)
def test_transient_fault_recovers(make_server, fault):
    srv = make_server(faults={1: fault})
    stats = RunStats()
    ts = tasks(1)
    timeout = 1.0 if fault.kind == "slow" else 10.0  # only the slow reply may time out
    [res] = judge_many_sync(ts, endpoint(srv, timeout=timeout), "criterion", stats=stats)
    assert res.answer == "yes" and res.error is None
    assert stats.retries == 1 and stats.failures == 0
    assert len(srv.completions) == 2 and res.attempts == 2
    assert srv.completions[0].fault == fault.kind


def test_empty_content_recovers_by_reask(make_server):
    srv = make_server(faults={1: Fault("empty")})
    stats = RunStats()
    [res] = judge_many_sync(tasks(1), endpoint(srv), stats=stats)
    assert res.answer == "yes" and "judge-reasked" in res.flags
    assert stats.reasks == 1 and len(srv.completions) == 2


PERSISTENT = {
    "429": (Fault("429", retry_after="0"), "HTTP 429"),
    "500": (Fault("500"), "HTTP 500"),
    "503": (Fault("503"), "HTTP 503"),
    "drop": (Fault("drop"), "connection failed"),
    "slow": (Fault("slow", delay=0.8), "timed out"),
    "truncated": (Fault("truncated"), "not JSON"),
    "plaintext": (Fault("plaintext"), "not JSON"),
}


@pytest.mark.parametrize("kind", sorted(PERSISTENT))
def test_persistent_fault_ends_unknown_with_reason(make_server, kind):
    fault, words = PERSISTENT[kind]
    srv = make_server(rules=[FaultRule(".", fault, times=10**6)])
    stats = RunStats()
    [res] = judge_many_sync(tasks(1), endpoint(srv, max_retries=2, timeout=0.3), stats=stats)
    assert res.answer == "unknown"
    assert words in res.reason and "gave up after 3 attempts" in res.reason
    assert "judge-error" in res.flags
    assert len(srv.completions) == 3 and stats.failures == 1 and stats.retries == 2


def test_persistent_empty_content_ends_unknown(make_server):
    srv = make_server(rules=[FaultRule(".", Fault("empty"), times=10**6)])
    [res] = judge_many_sync(tasks(1), endpoint(srv))
    assert res.answer == "unknown" and "could not be read" in res.reason
    assert "judge-unparseable" in res.flags and len(srv.completions) == 2


def test_retry_after_seconds_is_honoured(make_server):
    srv = make_server(faults={1: Fault("429", retry_after="1")})
    stats = RunStats()
    [res] = judge_many_sync(tasks(1), endpoint(srv), stats=stats)
    first, second = srv.completions
    assert res.answer == "yes" and stats.rate_limited == 1
    assert second.started - first.finished >= 1.0


def test_retry_after_http_date_is_honoured(make_server):
    srv = make_server(faults={1: Fault("503", retry_after=formatdate(time.time() + 3, usegmt=True))})
    [res] = judge_many_sync(tasks(1), endpoint(srv))
    first, second = srv.completions
    assert res.answer == "yes"
    assert second.started - first.finished >= 1.0  # 3 s ahead at 1 s resolution: at least 2 s, less the transfer


def test_retry_after_beyond_limit_gives_up(make_server):
    srv = make_server(faults={1: Fault("429", retry_after="3600")})
    [res] = judge_many_sync(tasks(1), endpoint(srv, max_retry_after=5))
    assert res.answer == "unknown" and "exceeds the 5s limit" in res.reason
    assert len(srv.completions) == 1


def test_concurrency_bound_respected(make_server):
    srv = make_server(latency=0.05)
    ts = tasks(30)
    res = judge_many_sync(ts, endpoint(srv, max_concurrency=5))
    assert [r.answer for r in res] == expected(ts)
    assert 1 < srv.max_in_flight <= 5


def test_rate_limit_lowers_effective_concurrency(make_server):
    srv = make_server(latency=0.02, faults={i: Fault("429", retry_after="0.2") for i in (1, 2, 3)})
    stats = RunStats()
    ts = tasks(24)
    res = judge_many_sync(ts, endpoint(srv, max_concurrency=8), stats=stats)
    assert [r.answer for r in res] == expected(ts)
    assert stats.rate_limited == 3 and stats.lowest_concurrency < 8


def test_fatal_auth_error_stops_the_run(make_server):
    srv = make_server(rules=[FaultRule(".", Fault("401"), times=10**6)])
    stats = RunStats()
    res = judge_many_sync(tasks(6), endpoint(srv, max_concurrency=1), stats=stats)
    assert all(r.answer == "unknown" for r in res)
    assert "HTTP 401" in res[0].reason and "aborted" in res[-1].reason
    assert len(srv.completions) == 1 and stats.failures == 6


def test_bad_request_is_not_retried(make_server):
    srv = make_server(rules=[FaultRule(".", Fault("400"), times=10**6)])
    [res] = judge_many_sync(tasks(1), endpoint(srv), "moore2025")  # no response_format to drop
    assert res.answer == "unknown" and "HTTP 400" in res.reason and len(srv.completions) == 1


def test_on_result_streams_every_verdict(make_server):
    srv = make_server()
    seen = []
    res = judge_many_sync(tasks(5), endpoint(srv), on_result=seen.append)
    assert sorted(r.key for r in seen) == sorted(r.key for r in res)


def test_parse_retry_after_forms():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    now = time.time()
    assert 9 <= parse_retry_after(formatdate(now + 10, usegmt=True), now=now) <= 10
    assert parse_retry_after(formatdate(now - 10, usegmt=True), now=now) == 0.0


def test_backoff_grows_is_capped_and_respects_retry_after():
    import random
    p = RetryPolicy(max_retries=5, base_delay=1.0, max_delay=8.0)
    rng = random.Random(1)
    for retry in range(6):
        d = p.delay(retry, rng=rng)
        cap = min(8.0, 2 ** retry)
        assert cap / 2 <= d <= cap
    assert all(p.delay(0, retry_after=3.0, rng=rng) >= 3.0 for _ in range(50))


def test_limiter_halves_then_recovers():
    async def run():
        lim = AdaptiveLimiter(8)
        lim.on_rate_limit(0.0)
        assert lim.limit == 4
        for _ in range(4 + 5 + 6 + 7):
            lim.on_success()
        assert lim.limit == 8 and lim.lowest == 4
        lim.on_rate_limit(0.05)
        lim.on_rate_limit(0.05)  # same cool-down: halved once
        assert lim.limit == 4
        t0 = time.monotonic()
        async with lim:
            pass
        return time.monotonic() - t0
    assert asyncio.run(run()) >= 0.04
