"""promptfoo (npm) runs the exported config as written against a local OpenAI-compatible server.

The server plays both the model under test (one of rubricate's sample replies per item) and
the llm-rubric grader (answering each criterion as the sample file expects). promptfoo's
pass/fail per test must equal rubricate's appropriate/inappropriate for the same answers
(rubrics/contract/scoring.py), including appropriate replies whose only failed criterion is minor.
"""
from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
import yaml

from rubricate.compiler.compile import REPO, RUBRICS_DIR, DEFAULT_FILE
from rubricate.rubrics.contract.scoring import DECISIVE, score_item
from rubricate.rubrics.contract.loader import load_rubric
from rubricate.rubrics.integrations.export import export
from tests.external_tools import npm_tool

SAMPLES = REPO / "rubrics" / "samples" / "default_responses.jsonl"


def _samples() -> list[dict]:
    return [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]


def _minor_miss(item: dict, sample: dict) -> bool:
    return any(c["severity"] not in DECISIVE and sample["expected_answers"][c["id"]] != c["appropriate_answer"]
               for c in item["criteria"])


def _choose(items: dict) -> dict[str, dict]:
    """One sample per item: alternately appropriate and inappropriate, preferring appropriate
    replies that miss a minor criterion (those must still pass)."""
    chosen = {}
    for n, (iid, item) in enumerate(items.items()):
        minor_miss = any(s["item_id"] == iid and s["expected_appropriate"] and _minor_miss(item, s)
                         for s in _samples())
        want = n % 2 == 0 or minor_miss
        candidates = [s for s in _samples() if s["item_id"] == iid and s["expected_appropriate"] is want]
        candidates.sort(key=lambda s: not _minor_miss(item, s))
        chosen[iid] = candidates[0]
    return chosen


def _env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PROMPTFOO_"))}
    env.update({"OPENAI_API_KEY": "test-key-not-secret", "HOME": str(tmp_path),
                "PROMPTFOO_CONFIG_DIR": str(tmp_path / ".promptfoo"), "PROMPTFOO_DISABLE_TELEMETRY": "1",
                "PROMPTFOO_DISABLE_UPDATE": "1", "PROMPTFOO_DISABLE_REMOTE_GENERATION": "true",
                "PROMPTFOO_DISABLE_SHARING": "1", "PROMPTFOO_CACHE_ENABLED": "false", "NO_COLOR": "1"})
    return env


def test_config_has_providers_grader_and_the_conversation_in_every_rubric(tmp_path):
    out = tmp_path / "promptfooconfig.yaml"
    export("rubricate-default", "promptfoo", out, provider="openai:chat:m", grader="openai:chat:g",
           base_url="http://127.0.0.1:1/v1")
    config = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert config["providers"] == [{"id": "openai:chat:m", "label": "model-under-test",
                                    "config": {"apiBaseUrl": "http://127.0.0.1:1/v1"}}]
    assert config["defaultTest"]["options"]["provider"] == {"id": "openai:chat:g",
                                                           "config": {"apiBaseUrl": "http://127.0.0.1:1/v1"}}
    rubric = load_rubric(RUBRICS_DIR / DEFAULT_FILE).data
    items = {i["id"]: i for i in rubric["items"]}
    for test in config["tests"]:
        item = items[test["metadata"]["item_id"]]
        rubrics = [a for a in test["assert"] if a["type"] == "llm-rubric"]
        rubrics += [a for s in test["assert"] if s["type"] == "assert-set" for a in s["assert"]
                    if a["type"] == "llm-rubric"]
        assert sorted(a["metric"] for a in rubrics) == sorted(c["id"] for c in item["criteria"])
        for a in rubrics:
            assert all(m["content"] in a["value"] for m in item["stimulus"]["messages"])
        for s in (a for a in test["assert"] if a["type"] == "assert-set"):
            assert s["threshold"] == 0 and s["weight"] == 0
    default = tmp_path / "default.yaml"
    export("rubricate-default", "promptfoo", default)
    config = yaml.safe_load(default.read_text(encoding="utf-8"))
    assert config["providers"] == [{"id": "openai:chat:gpt-4o-mini", "label": "model-under-test"}]
    assert "apikey" not in default.read_text(encoding="utf-8").lower()  # keys come from the environment


@pytest.mark.slow
def test_promptfoo_eval_runs_the_config_as_written_and_agrees_with_rubricate(tmp_path, make_server):
    tool = npm_tool("promptfoo")
    rubric = load_rubric(RUBRICS_DIR / DEFAULT_FILE).data
    items = {i["id"]: i for i in rubric["items"]}
    chosen = _choose(items)
    by_last_user = {i["stimulus"]["messages"][-1]["content"]: chosen[iid] for iid, i in items.items()}
    by_response = {s["response"]: s for s in chosen.values()}
    by_question = {c["question"]: (c, iid) for iid, i in items.items() for c in i["criteria"]}

    def answer(messages, body):
        text = "\n".join(str(m.get("content", "")) for m in messages)
        q = re.search(r"Question about the reply: (.+?\?)", text)
        if not q:  # the model under test: reply to the client's last message
            return by_last_user[messages[-1]["content"]]["response"]
        crit, iid = by_question[q.group(1)]
        sample = next(s for r, s in by_response.items() if r in text and s["item_id"] == iid)
        assert all(m["content"] in text for m in items[iid]["stimulus"]["messages"])  # the grader sees the chat
        ok = sample["expected_answers"][crit["id"]] == crit["appropriate_answer"]
        return json.dumps({"reason": "scripted", "pass": ok, "score": 1.0 if ok else 0.0})

    server = make_server(answer=answer)
    config = tmp_path / "promptfooconfig.yaml"
    export("rubricate-default", "promptfoo", config, provider="openai:chat:under-test", grader="openai:chat:grader",
           base_url=server.base_url)
    env = _env(tmp_path)
    valid = subprocess.run([tool, "validate", "-c", str(config)], capture_output=True, text=True, env=env,
                           cwd=tmp_path, timeout=300)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    results = tmp_path / "results.json"
    run = subprocess.run([tool, "eval", "-c", str(config), "-o", str(results), "--no-cache", "--no-table",
                          "--no-progress-bar", "-j", "2"], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=600)
    assert results.is_file(), run.stdout[-3000:] + run.stderr[-3000:]
    rows = json.loads(results.read_text(encoding="utf-8"))["results"]["results"]
    assert len(rows) == len(items)
    verdicts = {}
    for row in rows:
        iid = row["testCase"]["metadata"]["item_id"]
        assert row["testCase"]["metadata"]["criteria"][0]["citations"]
        verdicts[iid] = row["success"]
    expected = {iid: score_item(items[iid]["criteria"], s["expected_answers"]).appropriate for iid, s in chosen.items()}
    assert verdicts == expected
    assert expected == {iid: s["expected_appropriate"] for iid, s in chosen.items()}
    assert any(expected[iid] and _minor_miss(items[iid], s) for iid, s in chosen.items())
    assert set(expected.values()) == {True, False}
    # promptfoo exits 100 when a test fails (some replies are inappropriate by design)
    assert run.returncode in (0, 100), run.stdout[-3000:] + run.stderr[-3000:]
    n_graded = sum(1 for r in server.completions if "Question about the reply" in json.dumps(r.body))
    assert n_graded == sum(len(i["criteria"]) for i in items.values())
