"""Both request paths behave alike: the direct aiohttp transport (the default) and the
openai client's httpx path (used when a proxy is configured: aiohttp would ignore it).

Same answers, same retries after transient faults, same classified errors, against a real
server on 127.0.0.1."""
from __future__ import annotations

import asyncio

import pytest

from tests.openai_server import Fault, Rejection
from rubricate.rubrics.llm import EndpointConfig, JudgeTask, RunStats, judge_many_sync
from rubricate.rubrics.llm.client import make_client, make_transport

CRIT = {"id": "c.help", "criterion": "Offers help.", "question": "Does the response offer help?",
        "judge_instructions": "Answer yes if the response offers help."}


@pytest.fixture(params=["aiohttp", "httpx"])
def transport(request, monkeypatch):
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    if request.param == "httpx":  # a proxy that is never used (127.0.0.1 is exempt): only the path changes
        monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return request.param


def endpoint(srv, **kw) -> EndpointConfig:
    return EndpointConfig(**{"model": "judge", "base_url": srv.base_url, "max_retries": 3, "retry_base_delay": 0.01,
                             "retry_max_delay": 0.05, "timeout": 5.0, "max_concurrency": 4, **kw})


def test_the_path_taken(transport, make_server):
    srv = make_server()

    async def which():
        client = make_client(endpoint(srv))
        t = make_transport(endpoint(srv), client)
        try:
            return t
        finally:
            if t is not None:
                await t.close()
            await client.close()
    assert (asyncio.run(which()) is not None) == (transport == "aiohttp")


def test_answers_retries_and_errors_alike(transport, make_server):
    faults = {1: Fault("429", retry_after="0"), 2: Fault("500"), 3: Fault("drop"), 4: Fault("plaintext")}
    srv = make_server(faults=faults)
    tasks = [JudgeTask(f"r{i}", [{"role": "user", "content": "I feel low."}],
                       "I can help." if i % 2 == 0 else "No.", CRIT) for i in range(6)]
    stats = RunStats()
    res = judge_many_sync(tasks, endpoint(srv), stats=stats, progress=False)
    assert [r.answer for r in res] == ["yes", "no"] * 3
    assert stats.retries == 4 and stats.rate_limited == 1
    assert srv.completions[0].headers["authorization"] == "Bearer not-needed"
    assert srv.completions[0].headers["content-type"] == "application/json"

    bad = make_server(rejections=[Rejection("seed", "Unsupported parameter: 'seed'.", param_field=True)])
    res = judge_many_sync(tasks[:1], endpoint(bad), stats=RunStats(), progress=False)
    assert res[0].answer == "yes"  # the 400 named the parameter: dropped and re-sent
    assert "seed" not in bad.completions[-1].body

    denied = make_server(faults={1: Fault("401", message="Incorrect API key")})
    [r] = judge_many_sync(tasks[:1], endpoint(denied), stats=RunStats(), progress=False)
    assert r.answer == "unknown" and r.reason == "judge call failed: HTTP 401: Incorrect API key"
