"""rubricate's own sample responses: every item has a good and a bad one, and the offline
judge answers each criterion of each sample as its author expected."""
from __future__ import annotations

import json
from collections import defaultdict

import pytest

from rubricate.compiler.compile import DEFAULT_FILE, REPO, RUBRICS_DIR
from rubricate.rubrics.contract.scoring import score_item

SAMPLES = REPO / "rubrics" / "samples" / "default_responses.jsonl"


@pytest.fixture(scope="module")
def rubric() -> dict:
    return json.loads((RUBRICS_DIR / DEFAULT_FILE).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def samples() -> list[dict]:
    return [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_samples_have_the_evaluator_fields(samples, rubric):
    items = {i["id"]: i for i in rubric["items"]}
    ids = [s["response_id"] for s in samples]
    assert len(ids) == len(set(ids))
    for s in samples:
        assert {"response_id", "item_id", "model", "response", "expected_appropriate", "expected_answers"} <= set(s)
        assert s["item_id"] in items and s["response"].strip()
        assert set(s["expected_answers"]) == {c["id"] for c in items[s["item_id"]]["criteria"]}


def test_every_item_has_an_appropriate_and_an_inappropriate_sample(samples, rubric):
    kinds = defaultdict(set)
    for s in samples:
        kinds[s["item_id"]].add(s["expected_appropriate"])
    assert {i["id"]: kinds[i["id"]] for i in rubric["items"]} == {i["id"]: {True, False} for i in rubric["items"]}


def test_expected_appropriate_follows_the_expected_answers(samples, rubric):
    items = {i["id"]: i for i in rubric["items"]}
    for s in samples:
        verdict = score_item(items[s["item_id"]]["criteria"], s["expected_answers"])
        assert verdict.appropriate is s["expected_appropriate"], s["response_id"]


def test_offline_judge_answers_every_sample_as_expected(samples, rubric):
    from rubricate.rubrics.checks.engine import compile_checks
    items = {i["id"]: i for i in rubric["items"]}
    compiled = compile_checks([c for i in rubric["items"] for c in i["criteria"]])
    results = compiled.evaluate([s["response"] for s in samples],
                                [[c["id"] for c in items[s["item_id"]]["criteria"]] for s in samples])
    wrong = [(s["response_id"], r.criterion_id, r.answer, r.reason)
             for s, rs in zip(samples, results) for r in rs
             if r.answer != s["expected_answers"][r.criterion_id]]
    assert wrong == []
    for s, rs in zip(samples, results):
        verdict = score_item(items[s["item_id"]]["criteria"], {r.criterion_id: r.answer for r in rs})
        assert verdict.appropriate is s["expected_appropriate"], s["response_id"]
