"""Batch mode (`evaluate --judge llm --batch`, `respond --batch`) against a local server that
implements OpenAI's files and batches endpoints (tests/openai_server.py BatchAPI): a 500-
request batch completes, a kill during polling resumes without resubmitting, partially
failed and expired batches are completed (as a new batch or online), cost at the discount."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from rubricate.rubrics.evaluation.results import iter_jsonl
from rubricate.rubrics.llm import EndpointConfig, JudgeTask, RunStats, judge_many_sync
from rubricate.rubrics.llm.batch import BatchOptions
from tests.cli_run import run_cli
from tests.conftest import REPO, many_responses
from tests.openai_server import response_in

CRIT = {"id": "c.help", "question": "Does the response offer help?"}


def answer(messages, body) -> str:
    ans = "yes" if "help" in response_in(messages).lower() or "then" in response_in(messages) else "no"
    return json.dumps({"explanation": "scripted", "answer": ans, "evidence": []})


def cli(*args: str):
    return run_cli(*args, cwd=REPO, drop=("OPENAI_BASE_URL",))


def tasks(n: int) -> list[JudgeTask]:
    return [JudgeTask(f"r{i}", [{"role": "user", "content": "I feel low."}],
                      f"I can help you, friend number {i}." if i % 2 else f"Go away, number {i}.", CRIT)
            for i in range(n)]


def test_a_500_request_batch_completes(make_server, tmp_path):
    srv = make_server(answer)
    stats = RunStats()
    ep = EndpointConfig(model="judge", base_url=srv.base_url)
    res = judge_many_sync(tasks(500), ep, stats=stats, progress=False,
                          batch=BatchOptions(tmp_path / "ledger.jsonl", poll_interval=0.01))
    assert len(res) == 500 and [r.answer for r in res] == ["no", "yes"] * 250
    assert srv.batch_api.created == ["batch_1"] and not srv.completions  # nothing sent online
    batch = srv.batch_api.batches["batch_1"]
    lines = [json.loads(l) for l in srv.batch_api.files[batch["input_file_id"]].decode().splitlines()]
    assert len(lines) == 500 and len({l["custom_id"] for l in lines}) == 500
    assert all(l["url"] == "/v1/chat/completions" and l["body"]["model"] == "judge" for l in lines)
    assert stats.batches == 1 and stats.batch_requests == 500 and stats.failures == 0
    ledger = [json.loads(l) for l in (tmp_path / "ledger.jsonl").read_text().splitlines()]
    assert ledger[0]["batch_id"] == "batch_1" and ledger[-1] == {"batch_id": "batch_1", "done": "completed"}


def _eval_args(srv, responses, out, *extra):
    return ["evaluate", "--responses", str(responses), "--judge", "llm", "--model", "judge", "--base-url",
            srv.base_url, "--batch", "--batch-poll-interval", "0.05", "--out", str(out),
            "--no-cache", *extra]


@pytest.mark.slow
def test_kill_during_polling_resumes_without_resubmitting(make_server, tmp_path):
    srv = make_server(answer)
    srv.batch_api.steps_before_done = 10**6  # the batch never finishes while the first process polls
    responses = many_responses(tmp_path, 40, vary_text=True)
    out = tmp_path / "out"
    args = _eval_args(srv, responses, out)
    proc = subprocess.Popen([sys.executable, "-m", "rubricate", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (srv.batch_api.created and
                                                srv.batch_api.batches["batch_1"]["_polls"] >= 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert srv.batch_api.created == ["batch_1"]
    assert not list(iter_jsonl(out / "verdicts.jsonl"))
    srv.batch_api.steps_before_done = 0
    res = cli(*args, "--resume")
    assert res.returncode == 0, res.stderr
    assert "resuming batch batch_1" in res.stderr
    assert srv.batch_api.created == ["batch_1"]  # polled, not resubmitted
    n = srv.batch_api.batches["batch_1"]["request_counts"]["total"]
    verdicts = list(iter_jsonl(out / "verdicts.jsonl"))
    assert len(verdicts) == n and all(v["answer"] in ("yes", "no") for v in verdicts)
    assert not srv.completions


@pytest.mark.parametrize("fallback", ["batch", "online"])
def test_a_partially_failed_batch_is_completed(make_server, tmp_path, fallback):
    srv = make_server(answer)
    srv.batch_api.fail = "variant [0-4]\\b"  # these requests fail in the first batch
    srv.batch_api.fail_times = 5
    responses = many_responses(tmp_path, 12, vary_text=True)
    out = tmp_path / "out"
    res = cli(*_eval_args(srv, responses, out, "--batch-fallback", fallback))
    assert res.returncode == 0, res.stderr
    verdicts = list(iter_jsonl(out / "verdicts.jsonl"))
    first = srv.batch_api.batches["batch_1"]["request_counts"]
    assert first["failed"] == 5 and len(verdicts) == first["total"]
    assert all(v["answer"] in ("yes", "no") for v in verdicts)
    if fallback == "batch":
        assert srv.batch_api.created == ["batch_1", "batch_2"] and not srv.completions
        assert srv.batch_api.batches["batch_2"]["request_counts"]["total"] == 5
    else:
        assert srv.batch_api.created == ["batch_1"] and len(srv.completions) == 5
        assert "asking them online" in res.stderr


def test_an_expired_batch_is_completed_by_a_new_batch(make_server, tmp_path):
    srv = make_server(answer)
    srv.batch_api.expire_after = 10
    stats = RunStats()
    ep = EndpointConfig(model="judge", base_url=srv.base_url)
    opts = BatchOptions(tmp_path / "ledger.jsonl", poll_interval=0.01)

    res = judge_many_sync(tasks(30)[:10], ep, stats=stats, progress=False, batch=opts)
    assert all(r.answer != "unknown" for r in res)
    srv.batch_api.expire_after = 20  # 30 requests: 20 answered, 10 expire, then asked again
    res = judge_many_sync(tasks(40)[10:40], ep, stats=stats, progress=False, batch=opts)
    assert all(r.answer in ("yes", "no") for r in res)
    assert srv.batch_api.batches["batch_2"]["status"] == "expired"
    assert srv.batch_api.batches["batch_2"]["request_counts"] == {"total": 30, "completed": 20, "failed": 10}
    assert srv.batch_api.batches["batch_3"]["request_counts"]["total"] == 10


def test_a_failed_batch_fails_loudly(make_server, tmp_path):
    srv = make_server(answer)
    srv.batch_api.fail_batch = True
    responses = many_responses(tmp_path, 4, vary_text=True)
    res = cli(*_eval_args(srv, responses, tmp_path / "out"))
    assert res.returncode == 1
    assert "batch failed: injected batch failure" in res.stderr and "Traceback" not in res.stderr


def test_batch_cost_and_respond_batch(make_server, tmp_path):
    srv = make_server(lambda m, b: "I hear you. Tell me more.")
    out = tmp_path / "responses.jsonl"
    res = cli("respond", "--model", "under-test", "--base-url", srv.base_url, "--batch",
              "--batch-poll-interval", "0.02", "--no-cache", "--out", str(out))
    assert res.returncode == 0, res.stderr
    rows = [json.loads(l) for l in out.open()]
    assert rows and all(r["response"] == "I hear you. Tell me more." for r in rows)
    assert len(srv.batch_api.created) == 1 and not srv.completions
    assert (tmp_path / "responses.jsonl.batches.jsonl").exists()
    # judged as a batch with a price: cost at half the online price, the saving shown
    results = tmp_path / "results"
    res = cli("evaluate", "--responses", str(out), "--judge", "llm", "--model", "judge", "--base-url",
              srv.base_url, "--batch", "--batch-poll-interval", "0.02", "--no-cache",
              "--price-per-mtok", "2.5,10", "--out", str(results))
    usage = json.loads((results / "run.json").read_text())["llm_judges"]["llm"]["usage"]
    assert usage["batch_requests"] > 0 and usage["cost_usd"] > 0
    online = (usage["prompt_tokens"] * 2.5 + usage["completion_tokens"] * 10) / 1e6
    assert usage["cost_usd"] == pytest.approx(online / 2) and usage["batch_savings_usd"] == pytest.approx(online / 2)
    assert "batch discount" in res.stdout
