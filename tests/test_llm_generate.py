"""Sending stimuli to a model under test, the progress line, and the benchmark script."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.openai_server import Fault, FaultRule
from rubricate.rubrics.llm import EndpointConfig, GenerateTask, RunStats, generate_many, generate_many_sync
from rubricate.rubrics.llm.progress import Progress

REPO = Path(__file__).resolve().parents[1]


def endpoint(srv, **kw) -> EndpointConfig:
    return EndpointConfig(**{"model": "under-test", "base_url": srv.base_url, "max_retries": 1,
                             "retry_base_delay": 0.01, **kw})


def test_generate_sends_messages_and_settings(make_server):
    srv = make_server(lambda messages, body: "reply to " + messages[-1]["content"])
    msgs = [{"role": "system", "content": "You are a therapist."}, {"role": "user", "content": "hello"}]
    [g] = generate_many_sync([GenerateTask("s1", msgs)], endpoint(srv, temperature=0.7, max_tokens=64))
    body = srv.completions[0].body
    assert body["messages"] == msgs and body["temperature"] == 0.7 and body["max_tokens"] == 64
    assert "response_format" not in body
    assert (g.key, g.sample, g.text, g.error, g.model) == ("s1", 0, "reply to hello", None, "under-test")
    assert g.usage["completion_tokens"] == 3 and g.finish_reason == "stop"


def test_generate_failures_and_empty_replies_are_marked(make_server):
    srv = make_server(rules=[FaultRule("broken", Fault("500"), times=10**6),
                             FaultRule("silent", Fault("empty"), times=10**6)])
    stats = RunStats()
    out = generate_many_sync([GenerateTask("a", [{"role": "user", "content": "broken"}]),
                              GenerateTask("b", [{"role": "user", "content": "silent"}])],
                             endpoint(srv), stats=stats)
    assert out[0].text is None and "HTTP 500" in out[0].error and "generation-error" in out[0].flags
    assert out[1].text == "" and "empty-response" in out[1].flags
    assert stats.failures == 1 and stats.retries == 1


def test_async_on_result_callback(make_server):
    import asyncio
    srv = make_server(lambda m, b: "ok")
    seen = []

    async def on_result(g):
        await asyncio.sleep(0)
        seen.append((g.key, g.sample))

    tasks = [GenerateTask(f"k{i}", [{"role": "user", "content": str(i)}]) for i in range(3)]
    out = asyncio.run(generate_many(tasks, endpoint(srv), on_result=on_result, samples=2))
    assert sorted(seen) == sorted((g.key, g.sample) for g in out) and len(out) == 6


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal():
    quiet = io.StringIO()
    p = Progress(4, stream=quiet)
    p.update()
    p.close()
    assert quiet.getvalue() == ""
    tty = _Tty()
    p = Progress(4, "judge", stream=tty, min_interval=0)
    p.update(cached=True)
    p.retry()
    p.update(failed=True)
    p.close()
    last = tty.getvalue().rstrip("\n").split("\r")[-1]
    assert "judge 2/4 (50%)" in last and "ETA" in last and "cached 1" in last
    assert "retries 1" in last and "failed 1" in last
    off = _Tty()
    p = Progress(4, stream=off, enabled=False)
    p.update()
    p.close()
    assert off.getvalue() == ""


@pytest.mark.slow  # a benchmark smoke run (the cache's zero re-sends are also tested in test_llm_cache.py)
def test_bench_quick_reports_json():
    run = subprocess.run([sys.executable, str(REPO / "bench" / "llm_judge.py"), "--quick"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert [r["max_concurrency"] for r in data["runs"]] == [1, 8, 32, 128]
    assert data["runs"][0]["sampled"] and data["runs"][0]["judged"] < data["judgements"]
    assert all(r["unknown"] == 0 and r["ratio_to_ideal"] > 0 for r in data["runs"])
    assert data["cache"]["warm_requests_sent"] == 0
    assert data["cache"]["cold"]["requests"] == data["judgements"]


def test_server_lists_models(make_server):
    import asyncio
    from rubricate.rubrics.llm.client import make_client
    srv = make_server(model="served-model")

    async def listing():
        client = make_client(endpoint(srv))
        try:
            return [m.id async for m in client.models.list()]
        finally:
            await client.close()
    assert asyncio.run(listing()) == ["served-model"]
    assert srv.requests[-1].method == "GET" and srv.requests[-1].path == "/v1/models"
