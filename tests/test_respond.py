"""`rubricate respond`: stimuli to a model under test (a real local server), responses that
`evaluate` reads, resumable, with the therapist system prompt compiled from the ontology."""
from __future__ import annotations

import json

from rubricate.rubrics.contract.loader import load_rubric
from tests.cli_run import run_cli
from tests.conftest import REPO


def cli(*args: str):
    return run_cli(*args, cwd=REPO)


def test_respond_then_evaluate(make_server, tmp_path):
    seen_system = []

    def model_under_test(messages, body):
        seen_system.append(messages[0]["content"] if messages[0]["role"] == "system" else None)
        return "That sounds really hard. I'm here with you. Would you tell me more about what is going on?"
    srv = make_server(model_under_test)
    out = tmp_path / "responses.jsonl"
    args = ["respond", "--model", "model-under-test", "--base-url", srv.base_url, "--system-prompt", "therapist",
            "--samples", "2", "--out", str(out), "--cache-dir", str(tmp_path / "cache")]
    res = cli(*args)
    assert res.returncode == 0, res.stderr
    rubric = load_rubric()
    rows = [json.loads(l) for l in out.open()]
    assert len(rows) == 2 * len(rubric.items)
    assert {(r["item_id"], r["sample"]) for r in rows} == {(i, s) for i in rubric.items for s in (0, 1)}
    assert all(r["model"] == "model-under-test" and r["system_prompt"].startswith("sha256:") for r in rows)
    assert len({r["response_id"] for r in rows}) == len(rows)
    # the therapist prompt is the one compiled from the ontology, sent as the system message
    prompt = cli("compile", "--system-prompt").stdout.strip()
    assert seen_system and all(s is not None and s.strip() == prompt for s in seen_system)
    # the multi-turn stimuli are sent whole
    sent = {json.dumps(r.body["messages"][1:]) for r in srv.requests}
    for item in rubric.items.values():
        assert json.dumps(item["stimulus"]["messages"]) in sent

    n_requests = len(srv.requests)
    again = cli(*args[:-2], "--no-cache")  # a re-run sends nothing: every (item, sample) is in the file
    assert again.returncode == 0 and "0 written" in again.stdout
    assert len(srv.requests) == n_requests

    res = cli("evaluate", "--responses", str(out), "--out", str(tmp_path / "results"))
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "results" / "summary.json").read_text())
    assert summary["responses"] == len(rows)


def test_respond_reports_failed_calls_and_retries_them(make_server, tmp_path):
    from tests.openai_server import Fault, FaultRule
    srv = make_server(lambda m, b: "ok", rules=[FaultRule("tracking chip", Fault("500"), times=100)])
    out = tmp_path / "r.jsonl"
    args = ["respond", "--model", "m", "--base-url", srv.base_url, "--max-retries", "0", "--no-cache", "--out", str(out)]
    res = cli(*args)
    assert res.returncode == 1
    assert "re-run the same command" in res.stderr
    written = sum(1 for _ in out.open())
    assert written == len(load_rubric().items) - 1
    srv.rules.clear()
    res = cli(*args)
    assert res.returncode == 0 and "1 written" in res.stdout
