"""Endpoint conventions and loud failures, as a user meets them, against real local servers
that behave like the real services: a reasoning model rejecting temperature and
max_tokens, a 400 about another parameter, an endpoint that is down and comes back,
OPENAI_BASE_URL, inputs with nothing to judge, options checked before any work."""
from __future__ import annotations

import json
import time

from rubricate.rubrics.evaluation.results import iter_jsonl
from rubricate.rubrics.llm import EndpointConfig, JudgeTask, RunStats, judge_many_sync
from rubricate.rubrics.llm.params import family_of
from tests.cli_run import run_cli
from tests.conftest import REPO, SAMPLES
from tests.openai_server import REASONING_MODEL, OpenAIServer, Rejection, response_in


def cli(*args: str, env: dict | None = None, drop: tuple[str, ...] = ()):
    return run_cli(*args, cwd=REPO, env=env, drop=(*drop, "OPENAI_BASE_URL"))


def judge_answer(messages, body) -> str:
    ans = "yes" if "then" in response_in(messages).lower() else "no"
    return json.dumps({"explanation": "scripted", "answer": ans, "evidence": []})


def llm_eval(url: str | None, out, *extra: str, model: str = "judge", env: dict | None = None):
    args = ["evaluate", "--responses", str(SAMPLES), "--judge", "llm", "--model", model,
            "--no-cache", "--out", str(out), *extra]
    if url:
        args += ["--base-url", url]
    return cli(*args, env=env)


def n_expected() -> int:
    return sum(1 for _ in iter_jsonl(SAMPLES)) and len(list(iter_jsonl(SAMPLES)))


def test_reasoning_model_rejecting_temperature_and_max_tokens_completes(make_server, tmp_path):
    srv = make_server(judge_answer, rejections=REASONING_MODEL)
    out = tmp_path / "out"
    # a model name the family table does not know: the 400s themselves must teach the run
    res = llm_eval(srv.base_url, out, "--max-tokens", "400", "--max-concurrency", "1", model="my-reasoner")
    assert res.returncode == 0, res.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["verdicts_by_judge"]["llm"] == summary["verdicts"] > 0
    assert summary["flags"].get("judge-error", 0) == 0
    assert {v["answer"] for v in iter_jsonl(out / "verdicts.jsonl")} == {"yes", "no"}
    # each change said once, not once per call
    assert res.stderr.count("'temperature' is no longer sent") == 1
    assert res.stderr.count("'max_tokens' is sent as 'max_completion_tokens'") == 1
    ok = [r.body for r in srv.completions if r.status == 200]
    assert all("temperature" not in b and b["max_completion_tokens"] == 400 and "max_tokens" not in b for b in ok)
    assert all("response_format" in b for b in ok)  # structured output stayed on
    assert sum(r.status == 400 for r in srv.completions) == 2
    run = json.loads((out / "run.json").read_text())
    changes = run["llm_judges"]["llm"]["usage"]["param_changes"]
    assert {(c["param"], c["action"]) for c in changes} == {("temperature", "dropped"),
                                                             ("max_tokens", "renamed")}
    assert run["llm_judges"]["llm"]["endpoint"]["base_url"] == srv.base_url


def test_known_reasoning_family_is_sent_what_it_accepts(make_server):
    assert family_of("o3-mini") and family_of("gpt-5-mini") and family_of("openai/o4-mini")
    assert not family_of("gpt-4o-2024-08-06") and not family_of("gpt-5-chat-latest")
    srv = make_server(judge_answer, rejections=REASONING_MODEL)
    ep = EndpointConfig(model="o3-mini", base_url=srv.base_url, max_tokens=300)
    task = JudgeTask("r", [{"role": "user", "content": "hi"}], "first breathe, then call", {
        "id": "c", "question": "Does it give steps?"})
    stats = RunStats()
    [res] = judge_many_sync([task], ep, stats=stats, progress=False)
    assert res.answer == "yes" and len(srv.completions) == 1  # no 400 needed
    body = srv.completions[0].body
    assert "temperature" not in body and body["max_completion_tokens"] == 300


def test_moore2025_on_a_model_that_forces_temperature_says_so_once(make_server, moore2025_import, tmp_path):
    imported = moore2025_import
    responses = tmp_path / "few.jsonl"
    lines = (imported / "responses_dev.jsonl").read_text().splitlines()[:12]
    responses.write_text("\n".join(lines) + "\n")
    srv = make_server(lambda m, b: "A", rejections=REASONING_MODEL[:1])
    out = tmp_path / "out"
    res = cli("evaluate", "--rubric", str(imported / "moore2025.json"), "--responses", str(responses),
              "--judge", "llm", "--protocol", "moore2025", "--model", "reasoner", "--base-url", srv.base_url,
              "--no-cache", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert res.stderr.count("not the study's protocol") == 1
    verdicts = list(iter_jsonl(out / "verdicts.jsonl"))
    assert len(verdicts) == 12 and all("not-study-protocol" in v["flags"] for v in verdicts)
    # where temperature 0 is accepted it is sent and nothing is flagged
    srv2 = make_server(lambda m, b: "A")
    res = cli("evaluate", "--rubric", str(imported / "moore2025.json"), "--responses", str(responses),
              "--judge", "llm", "--protocol", "moore2025", "--model", "gpt-4o", "--base-url", srv2.base_url,
              "--no-cache", "--out", str(tmp_path / "out2"))
    assert res.returncode == 0 and "study's protocol" not in res.stderr
    assert all(r.body["temperature"] == 0 for r in srv2.completions)


def test_a_400_about_another_parameter_keeps_structured_output(make_server, tmp_path):
    rej = Rejection("seed", "Unrecognized request argument supplied: seed", param_field=False)
    srv = make_server(judge_answer, rejections=[rej])
    out = tmp_path / "out"
    res = llm_eval(srv.base_url, out, "--max-concurrency", "2")
    assert res.returncode == 0, res.stderr
    ok = [r.body for r in srv.completions if r.status == 200]
    assert ok and all("response_format" in b and "seed" not in b for b in ok)
    assert "'seed' is no longer sent" in res.stderr
    run = json.loads((out / "run.json").read_text())
    assert run["llm_judges"]["llm"]["usage"]["structured_fallbacks"] == 0


def test_down_endpoint_fails_loudly_then_resume_completes(tmp_path):
    srv = OpenAIServer(judge_answer).start()
    port = int(srv.base_url.rsplit(":", 1)[1].split("/")[0])
    url = srv.base_url
    srv.stop()  # nothing listens on the port now
    out = tmp_path / "out"
    res = llm_eval(url, out, "--max-retries", "1")
    assert res.returncode == 1
    err = res.stderr.strip().splitlines()
    assert sum("connection refused by 127.0.0.1" in l for l in err) == 1, res.stderr  # once, with a count
    assert any(l.startswith("error: all ") and "LLM judgements failed" in l and "--resume" in l for l in err)
    assert "timed out" not in res.stderr and "Traceback" not in res.stderr
    failures = list(iter_jsonl(out / "failures.jsonl"))
    n = len(failures)
    assert n > 0 and not (out / "verdicts.jsonl").read_text().strip()
    # the endpoint comes back: --resume asks exactly the failed calls and completes
    back = OpenAIServer(judge_answer, port=port).start()
    try:
        res = llm_eval(url, out, "--resume")
        assert res.returncode == 0, res.stderr
        assert len(back.completions) == n
        verdicts = list(iter_jsonl(out / "verdicts.jsonl"))
        assert len(verdicts) == n and all(v["answer"] in ("yes", "no") for v in verdicts)
        summary = json.loads((out / "summary.json").read_text())
        assert summary["failed"]["count"] == 0
    finally:
        back.stop()


def test_retry_errors_asks_only_the_failed_and_failure_rate_threshold(make_server, tmp_path):
    from tests.openai_server import Fault, FaultRule
    # every request whose response mentions "then" fails with a 500 (not retried: --max-retries 0)
    srv = make_server(judge_answer, rules=[FaultRule(r"then", Fault("500", message="upstream overloaded"),
                                                     times=10**6)])
    out = tmp_path / "out"
    res = llm_eval(srv.base_url, out, "--max-retries", "0", "--max-failure-rate", "0.9")
    assert res.returncode == 0, res.stderr  # some failed, fewer than 90%
    failed = json.loads((out / "summary.json").read_text())["failed"]
    assert failed["count"] > 0 and "HTTP 500: upstream overloaded" in next(iter(failed["by_cause"]))
    assert f"error: {failed['count']} LLM judgement(s) failed: HTTP 500: upstream overloaded" in res.stderr
    assert "--retry-errors" in res.stderr
    n_verdicts = sum(1 for _ in iter_jsonl(out / "verdicts.jsonl"))
    strict = llm_eval(srv.base_url, tmp_path / "strict", "--max-retries", "0", "--max-failure-rate", "0.01")
    assert strict.returncode == 1 and "more than 1%" in strict.stderr
    srv.rules.clear()
    before = len(srv.completions)
    res = llm_eval(srv.base_url, out, "--retry-errors")
    assert res.returncode == 0, res.stderr
    assert len(srv.completions) - before == failed["count"]  # only the failed ones were asked
    assert sum(1 for _ in iter_jsonl(out / "verdicts.jsonl")) == n_verdicts + failed["count"]
    again = llm_eval(srv.base_url, out, "--retry-errors")
    assert again.returncode == 2 and "no failed judgements to retry" in again.stderr


def test_openai_base_url_alone_routes_the_run(make_server, tmp_path):
    srv = make_server(judge_answer)
    out = tmp_path / "out"
    res = llm_eval(None, out, env={"OPENAI_BASE_URL": srv.base_url})
    assert res.returncode == 0, res.stderr
    assert len(srv.completions) > 0
    assert res.stderr.count(f"endpoint: {srv.base_url} (from $OPENAI_BASE_URL)") == 1
    run = json.loads((out / "run.json").read_text())
    assert run["llm_judges"]["llm"]["endpoint"]["base_url"] == srv.base_url
    assert run["llm_judges"]["llm"]["endpoint"]["base_url_source"] == "OPENAI_BASE_URL"


def test_nothing_to_judge_exits_1(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"item_id": "no-such-item", "model": "m", "response": "hi"}\nnot json\n')
    res = cli("evaluate", "--responses", str(bad), "--out", str(tmp_path / "o"))
    assert res.returncode == 1
    assert "no valid response line" in res.stderr and "2 line(s) skipped" in res.stderr
    assert "Traceback" not in res.stderr
    run = cli("run", "--rubric", str(REPO / "rubrics" / "rubricate-default.json"), "--responses", str(bad),
              "--out", str(tmp_path / "run"))
    assert run.returncode == 1 and not (tmp_path / "run" / "report").exists()


def test_options_and_files_checked_before_any_work(tmp_path):
    res = cli("evaluate", "--responses", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and "does not exist" in res.stderr
    assert len(res.stderr.strip().splitlines()) <= 3 and "Traceback" not in res.stderr
    res = cli("run", "--judge", "llm", "--out", str(tmp_path / "r"))
    assert res.returncode == 2 and "--model is required" in res.stderr
    assert not (tmp_path / "r").exists()  # refused before building anything
    for bad, words in ((["--extra-body", "{oops"], "--extra-body is not valid JSON"),
                       (["--extra-body", "[1]"], "must be a JSON object"),
                       (["--price-per-mtok", "2.5"], "--price-per-mtok wants IN,OUT")):
        res = cli("evaluate", "--responses", str(SAMPLES), "--judge", "llm", "--model", "m",
                  "--base-url", "http://127.0.0.1:9/v1", "--out", str(tmp_path / "x"), *bad)
        assert res.returncode == 2 and words in res.stderr, res.stderr
        assert not (tmp_path / "x").exists()
    res = cli("respond", "--model", "m", "--out", str(tmp_path / "r.jsonl"), drop=("OPENAI_API_KEY",))
    assert res.returncode == 2 and "OPENAI_API_KEY" in res.stderr


def test_extra_body_and_reasoning_effort_reach_the_server(make_server, tmp_path):
    srv = make_server(judge_answer)
    res = llm_eval(srv.base_url, tmp_path / "o", "--extra-body", '{"top_p": 0.5}',
                   "--reasoning-effort", "low", "--temperature", "0.3")
    assert res.returncode == 0, res.stderr
    body = srv.completions[0].body
    assert body["top_p"] == 0.5 and body["reasoning_effort"] == "low" and body["temperature"] == 0.3
