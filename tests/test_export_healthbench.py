"""simple-evals' own HealthBench code loads, grades and scores rubricate's HealthBench export.

openai/simple-evals is not on PyPI; ``nvidia-simple-evals`` (NVIDIA's MIT packaging of it,
``simple_evals.evals.healthbench_eval``) is, and .ci/run installs it. Its ``HealthBenchEval``
reads our JSONL through its own loader (``INPUT_PATH`` pointed at the file), samples the model
under test and asks its grader (simple-evals' grader prompt, one call per criterion) through
its own chat-completions sampler, both on a real local OpenAI-compatible server. The scripted
grader answers each criterion as rubricate's sample file expects, so simple-evals' scores
must equal rubricate's HealthBench points for the same answers.
"""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from rubricate.compiler.compile import REPO, RUBRICS_DIR, DEFAULT_FILE
from rubricate.rubrics.contract.scoring import score_item
from rubricate.rubrics.contract.loader import load_rubric
from rubricate.rubrics.integrations.export import export
from tests.external_tools import python_module

SAMPLES = REPO / "rubrics" / "samples" / "default_responses.jsonl"


class _InOrder:
    """``asyncio`` as seen by healthbench_eval, with an order-keeping ``as_completed``."""

    def __getattr__(self, name):
        import asyncio
        return getattr(asyncio, name)

    @staticmethod
    def as_completed(aws):
        return list(aws)


def _samples() -> list[dict]:
    return [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_example_and_rubric_tags_never_collide(tmp_path):
    out = tmp_path / "hb.jsonl"
    export("rubricate-default", "healthbench", out)
    for line in out.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        assert "ideal_completions_data" in row and row["ideal_completions_data"] is None
        example = set(row["example_tags"])
        assert len(example) == len(row["example_tags"])
        for rb in row["rubrics"]:
            assert len(set(rb["tags"])) == len(rb["tags"])  # simple-evals asserts this
            assert not example & set(rb["tags"]), (row["prompt_id"], example & set(rb["tags"]))
        assert any(t.startswith("item_condition:") for t in example)
        assert all(any(t.startswith("axis:") for t in rb["tags"]) for rb in row["rubrics"])


@pytest.mark.slow
def test_simple_evals_healthbench_grades_the_export(tmp_path, make_server, monkeypatch):
    hb = python_module("simple_evals.evals.healthbench_eval")
    rubric = load_rubric(RUBRICS_DIR / DEFAULT_FILE).data
    items = {i["id"]: i for i in rubric["items"]}
    # one sample per item, alternating appropriate and inappropriate replies
    chosen: dict[str, dict] = {}
    for n, item_id in enumerate(items):
        want = n % 2 == 0
        chosen[item_id] = next(s for s in _samples() if s["item_id"] == item_id and s["expected_appropriate"] is want)
    by_last_user = {i["stimulus"]["messages"][-1]["content"]: chosen[iid] for iid, i in items.items()}
    by_response = {s["response"]: s for s in chosen.values()}

    def answer(messages, body):
        prompt = messages[-1]["content"]
        if "# Rubric item" not in prompt:  # the model under test
            return by_last_user[messages[-1]["content"]]["response"]
        convo = prompt.split("# Conversation", 1)[1].split("# Rubric item", 1)[0]
        reply = convo.rsplit("\n\nassistant: ", 1)[1].strip()
        rubric_item = prompt.split("# Rubric item", 1)[1].split("# Instructions", 1)[0].strip()
        text = re.sub(r"^\[-?[0-9.]+\] ", "", rubric_item)
        sample = by_response[reply]
        (crit,) = [c for c in items[sample["item_id"]]["criteria"] if c["criterion"] == text]
        met = sample["expected_answers"][crit["id"]] == "yes"
        return json.dumps({"explanation": "scripted", "criteria_met": met})

    server = make_server(answer=answer)
    out = tmp_path / "healthbench.jsonl"
    export("rubricate-default", "healthbench", out)
    monkeypatch.setattr(hb, "INPUT_PATH", out.resolve().as_uri())
    # NVIDIA's packaging collects an example's grades with asyncio.as_completed, which returns
    # them in completion order and then zips them with the rubric items (upstream simple-evals
    # maps in order). Keep the order so each grade meets its own criterion.
    monkeypatch.setattr(hb, "asyncio", _InOrder())
    monkeypatch.chdir(tmp_path)
    url = f"{server.base_url}/chat/completions"
    evaluation = hb.HealthBenchEval(
        grader_config={"backend": "generic", "model": "grader", "url": url, "max_concurrent_requests": 1},
        num_threads=1, cache_dir=str(tmp_path / "cache"))
    from simple_evals.sampler.chat_completion_sampler import ChatCompletionSampler
    sampler = ChatCompletionSampler(model="under-test", url=url, system_message=None, max_concurrent_requests=1)
    import asyncio
    result = asyncio.run(evaluation(sampler))

    expected = {iid: score_item(items[iid]["criteria"], s["expected_answers"]) for iid, s in chosen.items()}
    assert {e.appropriate for e in expected.values()} == {True, False}
    overall = float(np.clip(np.mean([e.healthbench for e in expected.values()]), 0, 1))
    assert result.metrics["overall_score"] == pytest.approx(overall)
    assert result.metrics["overall_score:n_samples"] == len(items)
    # per-tag scores: an example-level tag averages the items that carry it
    for cond in {i["condition"] for i in items.values()}:
        ids = [iid for iid, i in items.items() if i["condition"] == cond]
        want = float(np.clip(np.mean([expected[i].healthbench for i in ids]), 0, 1))
        assert result.metrics[f"item_condition:{cond}"] == pytest.approx(want)
    graded = [r for r in server.completions if "# Rubric item" in r.body["messages"][-1]["content"]]
    assert len(graded) == sum(len(i["criteria"]) for i in items.values())
