"""The typed rubric contract (rubrics/contract/model.py) agrees with the published JSON Schemas,
and every verdict the evaluator writes validates against schema/verdict.schema.json."""
from __future__ import annotations

import json

import pytest

from rubricate.rubrics.contract import model
from rubricate.rubrics.contract.validation import RUBRIC_SCHEMA, VERDICT_SCHEMA, verdict_errors
from rubricate.rubrics.evaluation.results import iter_jsonl
from tests.cli_run import run_cli
from tests.conftest import REPO, SAMPLES
from tests.openai_server import response_in

RUBRIC = json.loads(RUBRIC_SCHEMA.read_text(encoding="utf-8"))
VERDICT = json.loads(VERDICT_SCHEMA.read_text(encoding="utf-8"))

PAIRS = [
    (model.RubricDocument, RUBRIC),
    (model.Item, RUBRIC["$defs"]["responseItem"]),
    (model.Criterion, RUBRIC["$defs"]["criterion"]),
    (model.Citation, RUBRIC["$defs"]["citation"]),
    (model.StigmaItem, RUBRIC["$defs"]["stigmaItem"]),
    (model.PersonaItem, RUBRIC["$defs"]["personaItem"]),
    (model.ConversationCriterion, RUBRIC["$defs"]["conversationCriterion"]),
    (model.Telling, RUBRIC["$defs"]["telling"]),
    (model.StigmaOption, RUBRIC["$defs"]["stigmaOption"]),
    (model.Instrument, RUBRIC["$defs"]["instrument"]),
    (model.Principle, RUBRIC["$defs"]["principle"]),
    (model.Condition, RUBRIC["$defs"]["condition"]),
    (model.Stimulus, RUBRIC["$defs"]["stimulus"]),
    (model.Message, RUBRIC["$defs"]["message"]),
    (model.Verdict, VERDICT),
    (model.Evidence, VERDICT["properties"]["evidence"]["items"]),
]


@pytest.mark.parametrize("typed, schema", PAIRS, ids=[t.__name__ for t, _ in PAIRS])
def test_typed_model_has_the_schema_keys(typed, schema):
    required = set(schema.get("required", []))
    assert typed.__required_keys__ == required
    assert typed.__optional_keys__ == set(schema["properties"]) - required
    assert schema.get("additionalProperties") is False  # a closed record, like the TypedDict


def test_the_verdict_schema_rejects_a_wrong_record():
    good = next(iter_jsonl(_offline_run()))
    assert verdict_errors(good) == []
    assert any("answer" in e for e in verdict_errors({**good, "answer": "maybe"}))
    assert any("'judge' is a required property" in e for e in verdict_errors({k: v for k, v in good.items() if k != "judge"}))
    assert verdict_errors({**good, "extra": 1})


_OFFLINE: list = []


def _offline_run():
    if not _OFFLINE:
        import tempfile
        from rubricate.rubrics.contract.loader import load_rubric
        from rubricate.rubrics.evaluation.evaluate import evaluate, rules_judge
        out = tempfile.mkdtemp(prefix="verdicts-")
        rubric = load_rubric()
        evaluate(rubric, SAMPLES, out, {"rules": rules_judge(rubric)})
        _OFFLINE.append(f"{out}/verdicts.jsonl")
    return _OFFLINE[0]


def quoting_judge(messages: list[dict], body: dict) -> str:
    """Answers yes with a quote of the response (evidence found) or a made-up quote (flagged)."""
    text = response_in(messages)
    if "help" in text.lower():
        return json.dumps({"explanation": "quotes the reply", "answer": "yes", "evidence": [text[:30]]})
    return json.dumps({"explanation": "quotes nothing real", "answer": "no", "evidence": ["words it never said"]})


def test_every_verdict_line_of_offline_and_llm_judges_validates(make_server, tmp_path):
    srv = make_server(quoting_judge)
    out = tmp_path / "out"
    res = run_cli("evaluate", "--responses", str(SAMPLES), "--judge", "ensemble", "--model", "judge",
                  "--base-url", srv.base_url, "--no-cache", "--out", str(out), cwd=REPO)
    assert res.returncode == 0, res.stderr
    lines = (out / "verdicts.jsonl").read_text(encoding="utf-8").splitlines()
    verdicts = [json.loads(line) for line in lines]
    assert {v["judge"] for v in verdicts} == {"rules", "llm"}
    assert any(v["evidence"] for v in verdicts if v["judge"] == "llm")
    assert any("evidence-not-found" in v["flags"] for v in verdicts)
    assert any(v["usage"] for v in verdicts) and any(v["usage"] is None for v in verdicts)
    for n, v in enumerate(verdicts, start=1):
        assert verdict_errors(v) == [], f"verdicts.jsonl:{n}"
        # written with sorted keys: every required one; the optional repeats/unstable only with --repeats,
        # the offline judge's confidence on its verdicts, its reading (rules_answer) only when uncertain
        optional = ({"confidence"} if v["judge"] == "rules" else set()) | \
            ({"rules_answer"} if v["answer"] == "uncertain" else set())
        assert list(v) == sorted(model.Verdict.__required_keys__ | optional)
