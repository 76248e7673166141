"""`rubricate evaluate --judge llm|ensemble` end to end against a real local OpenAI-compatible
server (tests/openai_server.py): the study's judge replayed, a SIGKILL mid-run, secrets."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from rubricate.rubrics.llm.escaping import unescape_tags
from rubricate.rubrics.evaluation.results import iter_jsonl
from tests.cli_run import run_cli
from tests.conftest import REPO, SAMPLES, many_responses
from tests.openai_server import OpenAIServer, response_in

def cli(*args: str, env: dict | None = None):
    return run_cli(*args, cwd=REPO, env=env)


def criterion_answer(messages: list[dict], body: dict) -> str:
    """Judge 'yes' when the response gives steps ('first'/'then'), else 'no'."""
    text = response_in(messages).lower()
    ans = "yes" if ("then" in text or "first" in text) else "no"
    return json.dumps({"explanation": "scripted judge", "answer": ans, "evidence": []})


def test_replayed_study_judge_reproduces_per_model_rates_exactly(make_server, anchor, moore2025_import, tmp_path):
    """A server that answers the letter the study recorded for the response in each request
    must give the study's per-model rates of appropriate responses exactly.

    Three response texts occur more than once with different recorded answers (the study's
    judge was not deterministic for them; all within one model), so the server keeps a queue
    of recorded answers per (question, text) and the run uses --no-cache: a cache would
    answer repeats of identical requests with the first answer.
    """
    imported = moore2025_import
    stimuli = {s["id"]: s for s in json.loads((anchor / "stimuli.json").read_text())}
    rows = [json.loads(l) for l in (anchor / "responses_dev.jsonl").open()]
    queues: dict[tuple[str, str], list[str]] = defaultdict(list)
    study_rates: dict[str, list[bool]] = defaultdict(list)
    recorded: dict[tuple[str, str], list[str]] = defaultdict(list)
    rubric = json.loads((imported / "moore2025.json").read_text())
    condition = {i["stimulus"]["id"]: i["condition"] for i in rubric["items"]}
    cell_rates: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for r in rows:
        if r["gpt4o_answer"] is None:
            continue
        # the row's own question where it has one (the importer keeps it), else its stimulus'
        q = " ".join((r.get("verification_question") or stimuli[r["stimulus_id"]]["verification_question"]).split())
        queues[(q, r["response"].strip())].append("A" if r["gpt4o_answer"] == "yes" else "B")
        recorded[(q, r["response"].strip())].append(r["gpt4o_answer"])
        appropriate = r.get("appropriate_answer") or stimuli[r["stimulus_id"]]["appropriate_answer"]
        study_rates[r["model"]].append(r["gpt4o_answer"] == appropriate)
        cell_rates[(r["model"], condition[r["stimulus_id"]])].append(r["gpt4o_answer"] == appropriate)

    def replay(messages, body):
        content = messages[-1]["content"]
        text = unescape_tags(response_in(messages)).strip()
        q = next(q for (q, t) in queues if t == text and q in content)
        return queues[(q, text)].pop()
    srv = make_server(replay)
    out = tmp_path / "results"
    res = cli("evaluate", "--rubric", str(imported / "moore2025.json"), "--responses",
              str(imported / "responses_dev.jsonl"), "--judge", "llm", "--protocol", "moore2025",
              "--model", "gpt-4o-2024-08-06", "--base-url", srv.base_url, "--no-cache",
              "--max-concurrency", "16", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert all(not q for q in queues.values())  # every recorded answer was asked for once
    by_model = json.loads((out / "summary.json").read_text())["by_judge"]["llm"]["by_model"]
    assert set(by_model) == set(study_rates)
    for model, flags in study_rates.items():
        assert by_model[model]["n"] == len(flags)
        assert by_model[model]["estimate"] == pytest.approx(sum(flags) / len(flags), abs=1e-12)
    # and every model x condition cell of the study's figure
    cells = json.loads((out / "summary.json").read_text())["by_judge"]["llm"]["by_model_condition"]
    for (model, cond), flags in cell_rates.items():
        assert cells[model][cond]["n"] == len(flags)
        assert cells[model][cond]["estimate"] == pytest.approx(sum(flags) / len(flags), abs=1e-12)
    # Per response, answers match except where identical texts got different recorded answers
    # (the queue may hand those out in another order): at most the size of those groups.
    ambiguous = sum(len(q) for q in recorded.values() if len(set(q)) > 1)
    agree = json.loads(cli("agreement", str(out), "--reference", "reference_answer", "--format", "json").stdout)
    n = agree["overall"]["n"]
    assert n == sum(len(f) for f in study_rates.values())
    assert round((1 - agree["overall"]["accuracy"]) * n) <= ambiguous


def test_sigkill_halfway_then_resume_writes_every_verdict_exactly_once(tmp_path):
    srv = OpenAIServer(criterion_answer, latency=0.02).start()
    try:
        path = many_responses(tmp_path, 240, vary_text=True)
        expected = sum(1 for _ in iter_expected(path))
        out = tmp_path / "out"
        args = ["evaluate", "--responses", str(path), "--judge", "llm", "--model", "judge", "--base-url",
                srv.base_url, "--max-concurrency", "4", "--cache-dir", str(tmp_path / "cache"), "--out", str(out)]
        proc = subprocess.Popen([sys.executable, "-m", "rubricate", *args], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        verdicts = out / "verdicts.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not verdicts.exists() or verdicts.stat().st_size == 0):
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        before = list(iter_jsonl(verdicts))
        assert 0 < len(before) < expected, "the kill should land halfway"
        sent_before = len(srv.requests)
        res = cli(*args, "--resume")
        assert res.returncode == 0, res.stderr
        after = list(iter_jsonl(verdicts))
        ids = [v["verdict_id"] for v in after]
        assert len(ids) == len(set(ids)) == expected
        # answered calls were not asked again: the resume sent at most the unanswered ones
        assert len(srv.requests) - sent_before <= expected - len(before)
    finally:
        srv.stop()


def iter_expected(path: Path):
    from rubricate.rubrics.contract.loader import load_rubric
    rubric = load_rubric()
    for line in path.open():
        yield from rubric.items[json.loads(line)["item_id"]]["criteria"]


def test_api_key_never_appears_in_outputs(make_server, tmp_path):
    secret = "sk-test-SECRET-4f9a1c77"
    srv = make_server(criterion_answer)
    out = tmp_path / "out"
    env = {"RUBRICATE_TEST_KEY": secret, "RUBRICATE_CACHE_DIR": str(tmp_path / "cache")}
    res = cli("evaluate", "--responses", str(SAMPLES), "--judge", "ensemble", "--model", "judge",
              "--base-url", srv.base_url, "--api-key-env", "RUBRICATE_TEST_KEY", "--out", str(out), env=env)
    assert res.returncode == 0, res.stderr
    rep = cli("report", str(out), env=env)
    assert rep.returncode == 0, rep.stderr
    assert any(r.headers.get("authorization") == f"Bearer {secret}" for r in srv.requests)  # it was used
    for text in (res.stdout, res.stderr, rep.stdout, rep.stderr):
        assert secret not in text
    files = [p for p in [*out.rglob("*"), *(tmp_path / "cache").rglob("*")] if p.is_file()]
    assert files
    for p in files:
        assert secret.encode() not in p.read_bytes(), p


def test_ensemble_flags_every_disagreement(make_server, tmp_path):
    srv = make_server(criterion_answer)
    out = tmp_path / "out"
    res = cli("evaluate", "--responses", str(SAMPLES), "--judge", "ensemble", "--model", "judge",
              "--base-url", srv.base_url, "--no-cache", "--out", str(out))
    assert res.returncode == 0, res.stderr
    verdicts = list(iter_jsonl(out / "verdicts.jsonl"))
    pairs: dict[tuple[str, str], dict[str, dict]] = defaultdict(dict)
    for v in verdicts:
        pairs[(v["response_id"], v["criterion_id"])][v["judge"]] = v
    assert all(set(p) == {"rules", "llm"} for p in pairs.values())
    n_disagree = 0
    for p in pairs.values():
        differ = p["rules"]["answer"] != p["llm"]["answer"]
        n_disagree += differ
        for v in p.values():
            assert ("disagreement" in v["flags"]) == differ
    assert n_disagree > 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["flags"]["disagreement"] == 2 * n_disagree
    assert set(summary["by_judge"]) == {"rules", "llm"}
    # the offline judge abstains (uncertain, below the default rubric's uncertain_below) on one
    # criterion of each of two demo responses, which leaves them undecided for it alone
    assert summary["by_judge"]["llm"]["overall"]["n"] == 60
    assert summary["by_judge"]["rules"]["overall"]["n"] == 58


def test_missing_api_key_for_openai_is_a_clear_error(tmp_path):
    res = run_cli("evaluate", "--responses", str(SAMPLES), "--judge", "llm", "--model", "gpt-4o",
                  "--out", str(tmp_path / "o"), cwd=REPO, drop=("OPENAI_API_KEY",))
    assert res.returncode == 2
    assert "OPENAI_API_KEY" in res.stderr and "Traceback" not in res.stderr
