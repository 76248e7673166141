"""The API key never leaves the request header: not in results, logs, exceptions, the
cache file, the endpoint description or anything printed, even when the server echoes it."""
from __future__ import annotations

import io
import json
import logging

import pytest

from tests.openai_server import Fault, FaultRule
from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.rubrics.llm import (EndpointConfig, GenerateTask, JudgeTask, RunStats, generate_many_sync,
                         judge_many_sync, open_cache, redact)
from rubricate.rubrics.llm.progress import Progress

SECRET = "sk-test-SECRET123"
ECHO = f"Incorrect API key provided: {SECRET}. You can find your API key at ..."
CRIT = {"id": "c.help", "question": "Does the response offer help?"}


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_key_never_leaks(make_server, tmp_path, monkeypatch, caplog, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    for name in ("openai", "httpx", "httpx2", "httpcore", "rubricate"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    srv = make_server(faults={1: Fault("429", retry_after="0", message=ECHO),
                              2: Fault("500", message=ECHO), 3: Fault("plaintext"),
                              4: Fault("503", message=ECHO)})
    ep = EndpointConfig(model="judge", base_url=srv.base_url, retry_base_delay=0.01, max_retries=4)
    cache = open_cache(tmp_path / "cache")
    stats = RunStats()
    tasks = [JudgeTask(f"r{i}", [{"role": "user", "content": "hi"}], "help", CRIT) for i in range(3)]
    res = judge_many_sync(tasks, ep, cache=cache, stats=stats)
    gen = generate_many_sync([GenerateTask("g", [{"role": "user", "content": "hi"}])], ep, cache=cache)

    bad = make_server(rules=[FaultRule(".", Fault("401", message=ECHO), times=10**6)])
    ep_bad = EndpointConfig(model="judge", base_url=bad.base_url)
    failed = judge_many_sync(tasks, ep_bad, cache=cache)
    bar = Progress(3, enabled=True, stream=_Tty())
    bar.update()
    bar.close()
    cache.close()

    # the key was really used ...
    assert srv.completions[0].headers.get("authorization") == f"Bearer {SECRET}"
    assert all(r.answer == "yes" for r in res) and all(r.answer == "unknown" for r in failed)
    assert "HTTP 401" in failed[0].reason and "[redacted]" in failed[0].reason
    # ... and appears nowhere else
    out = capsys.readouterr()
    texts = [json.dumps([r.to_dict() for r in res + failed]), json.dumps([g.to_dict() for g in gen]),
             json.dumps(stats.to_dict()), json.dumps(ep.describe()), repr(ep), caplog.text,
             out.out, out.err, bar.stream.getvalue()]
    texts += [rec.getMessage() for rec in caplog.records]
    for t in texts:
        assert SECRET not in t
    files = list((tmp_path / "cache").iterdir())
    assert files
    for f in files:
        assert SECRET.encode() not in f.read_bytes()


def test_missing_key_error_names_the_variable_not_a_value(monkeypatch):
    monkeypatch.delenv("MY_JUDGE_KEY", raising=False)
    ep = EndpointConfig(model="gpt-x", api_key_env="MY_JUDGE_KEY")
    with pytest.raises(RubricateError, match="MY_JUDGE_KEY is not set"):
        ep.api_key()
    local = EndpointConfig(model="llama", base_url="http://127.0.0.1:1/v1", api_key_env="MY_JUDGE_KEY")
    assert local.api_key() == "not-needed"


def test_redact_masks_key_shapes():
    assert SECRET not in redact(f"bad key {SECRET}")
    assert "sk-other-777" not in redact("key sk-other-777 rejected")
    assert "abc.def" not in redact("Authorization: Bearer abc.def")
    assert redact("a task-based plan") == "a task-based plan"


def test_endpoint_from_dict_and_cost(make_server):
    srv = make_server(lambda m, b: "A")
    ep = EndpointConfig.from_dict({"model": "judge", "base_url": srv.base_url,
                                   "price": {"input_per_million": 2.0, "output_per_million": 8.0}})
    stats = RunStats()
    [r] = judge_many_sync([JudgeTask("r", [], "x", CRIT)], ep, "moore2025", stats=stats)
    expect = (r.usage["prompt_tokens"] * 2.0 + r.usage["completion_tokens"] * 8.0) / 1e6
    assert stats.cost_usd == pytest.approx(expect) and r.usage["cost_usd"] == pytest.approx(expect)
    with pytest.raises(RubricateError, match="unknown setting") as exc:
        EndpointConfig.from_dict({"model": "m", "api_key": SECRET})
    assert SECRET not in str(exc.value)


def test_price_accepts_short_keys():
    from rubricate.rubrics.llm import Price
    assert Price.from_dict({"input": 1, "output": 4}).cost(1_000_000, 500_000) == pytest.approx(3.0)
    with pytest.raises(RubricateError, match="numeric"):
        Price.from_dict({"input": "cheap"})
