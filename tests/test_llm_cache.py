"""The completion cache: re-runs send nothing, keys separate what must differ, and two
processes can share one cache file."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from rubricate.rubrics.llm import (Cache, EndpointConfig, GenerateTask, JudgeTask, RunStats, generate_many_sync,
                         judge_many_sync, open_cache)

REPO = Path(__file__).resolve().parents[1]
CRIT = {"id": "c.help", "question": "Does the response offer help?"}


def endpoint(srv, **kw) -> EndpointConfig:
    return EndpointConfig(**{"model": "judge", "base_url": srv.base_url, "max_concurrency": 8,
                             "retry_base_delay": 0.01, **kw})


def tasks(n: int) -> list[JudgeTask]:
    return [JudgeTask(f"r{i}", [{"role": "user", "content": f"msg {i}"}],
                      f"response {i}" + (" help" if i % 3 else ""), CRIT) for i in range(n)]


def test_second_run_sends_zero_requests(make_server, tmp_path):
    srv = make_server()
    cache = open_cache(tmp_path)
    first, second = RunStats(), RunStats()
    a = judge_many_sync(tasks(20), endpoint(srv), cache=cache, stats=first)
    sent = len(srv.completions)
    b = judge_many_sync(tasks(20), endpoint(srv), cache=cache, stats=second)
    assert sent == 20 and first.requests == 20 and first.cache_hits == 0
    assert len(srv.completions) == sent and second.requests == 0 and second.cache_hits == 20
    assert [r.answer for r in a] == [r.answer for r in b]
    assert all(r.cached for r in b) and not any(r.cached for r in a)
    assert b[0].usage["prompt_tokens"] == a[0].usage["prompt_tokens"]


def test_no_cache_always_sends(make_server, tmp_path):
    srv = make_server()
    assert open_cache(tmp_path, no_cache=True) is None
    judge_many_sync(tasks(3), endpoint(srv), cache=None)
    judge_many_sync(tasks(3), endpoint(srv), cache=None)
    assert len(srv.completions) == 6


def test_key_separates_model_protocol_and_settings(make_server, tmp_path):
    srv = make_server(lambda m, b: "A")
    cache = open_cache(tmp_path)
    ts = tasks(2)
    judge_many_sync(ts, endpoint(srv), "moore2025", cache=cache)
    judge_many_sync(ts, endpoint(srv, model="other"), "moore2025", cache=cache)
    judge_many_sync(ts, endpoint(srv, seed=7), "moore2025", cache=cache)
    judge_many_sync(ts, endpoint(srv), "moore2025", cache=cache)  # all cached
    assert len(srv.completions) == 6 and len(cache) == 6


def test_cache_in_wal_mode(tmp_path):
    cache = Cache(tmp_path)
    cache.put("k", "text", {"prompt_tokens": 1})
    mode = cache._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal" and cache.get("k").text == "text" and cache.get("nope") is None
    cache.close()


def test_generate_samples_are_distinct_calls_and_cached(make_server, tmp_path):
    srv = make_server(lambda messages, body: f"reply seed={body.get('seed')}")
    cache = open_cache(tmp_path)
    gts = [GenerateTask(f"s{i}", [{"role": "system", "content": "Be a therapist."},
                                  {"role": "user", "content": f"stimulus {i}"}]) for i in range(4)]
    stats = RunStats()
    out = generate_many_sync(gts, endpoint(srv, seed=100), cache=cache, samples=3, stats=stats)
    assert [(g.key, g.sample) for g in out] == [(f"s{i}", k) for i in range(4) for k in range(3)]
    assert {g.text for g in out} == {"reply seed=100", "reply seed=101", "reply seed=102"}
    assert stats.requests == 12 and all(g.error is None for g in out)
    again = RunStats()
    out2 = generate_many_sync(gts, endpoint(srv, seed=100), cache=cache, samples=3, stats=again)
    assert again.requests == 0 and [g.text for g in out2] == [g.text for g in out]


SCRIPT = textwrap.dedent("""
    import json, sys
    from rubricate.rubrics.llm import EndpointConfig, JudgeTask, RunStats, judge_many_sync, open_cache
    url, cache_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    crit = {"id": "c.help", "question": "Does the response offer help?"}
    tasks = [JudgeTask(f"r{i}", [{"role": "user", "content": "hi"}], f"resp {i} help", crit)
             for i in range(n)]
    stats = RunStats()
    res = judge_many_sync(tasks, EndpointConfig(model="judge", base_url=url, max_concurrency=8),
                          cache=open_cache(cache_dir), stats=stats, progress=False)
    print(json.dumps({"answers": [r.answer for r in res], "requests": stats.requests,
                      "hits": stats.cache_hits}))
""")


def test_two_processes_share_one_cache(make_server, tmp_path):
    srv = make_server(latency=0.01)
    n = 60
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, srv.base_url, str(tmp_path), str(n)],
                              cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(json.loads(out))
    assert all(o["answers"] == ["yes"] * n for o in outs)
    assert n <= len(srv.completions) <= 2 * n
    assert sum(o["requests"] + o["hits"] for o in outs) == 2 * n
    with Cache(tmp_path) as cache:
        assert len(cache) == n
    third = subprocess.run([sys.executable, "-c", SCRIPT, srv.base_url, str(tmp_path), str(n)],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert json.loads(third.stdout)["requests"] == 0


def test_writes_are_buffered_then_committed(tmp_path):
    """Buffered rows are served at once, and committed in batches, at flush and at close."""
    from rubricate.rubrics.llm.cache import FLUSH_ROWS, Cache
    writer, reader = Cache(tmp_path), Cache(tmp_path)
    writer.put("k0", "an answer", {"prompt_tokens": 3})
    assert writer.get("k0").text == "an answer"  # served from the buffer
    writer.flush()
    assert reader.get("k0").usage == {"prompt_tokens": 3}
    for i in range(1, FLUSH_ROWS + 1):
        writer.put(f"k{i}", "x", {})
    assert reader.get(f"k{FLUSH_ROWS}") is not None  # a full buffer is committed in one go
    writer.put("last", "y", {})
    writer.close()
    assert reader.get("last").text == "y" and len(reader) == FLUSH_ROWS + 2
    reader.close()
