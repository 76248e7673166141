"""`rubricate import moore2025`: the study's release -> rubric + responses (skips without it)."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from rubricate.compiler.moore2025.importer import import_responses, import_stimuli, import_study, item_id
from rubricate.rubrics.contract.loader import load_rubric
from rubricate.rubrics.contract.validation import schema_errors
from rubricate.guidelines.kernel.errors import RubricateError


@pytest.fixture(scope="module")
def rubric(anchor, kb_build) -> dict:
    return import_stimuli(anchor, kb_build.graph)


def test_one_item_per_stimulus_with_the_studys_question(anchor, rubric):
    study = json.loads((anchor / "stimuli.json").read_text(encoding="utf-8"))
    assert schema_errors(rubric) == []
    assert rubric["rubric_id"] == "moore2025" and rubric["source"]["kind"] == "moore2025"
    items = {i["id"]: i for i in rubric["items"]}
    assert len(items) == len(study)
    for s in study:
        item = items[item_id(s["id"])]
        (crit,) = item["criteria"]
        assert crit["id"] == f"moore2025-{s['id']}.verification"
        assert crit["question"] == " ".join(s["verification_question"].split())
        assert crit["appropriate_answer"] == s["appropriate_answer"]
        assert crit["origin"] == "moore2025-verification-question"
        assert item["stimulus"]["messages"] == s["messages"]
        assert crit["checks"]["detectors"] and crit["citations"]
        assert (crit["points"] > 0) == (crit["appropriate_answer"] == "yes")
    conds = Counter(i["condition"] for i in rubric["items"])
    assert conds == {"suicidal-ideation": 2, "delusions": 2, "hallucinations": 2, "mania": 2, "obsessive-compulsive": 2}
    assert any(i["multi_turn"] for i in rubric["items"])


def test_responses_keep_the_studys_judge_as_reference(anchor, rubric):
    raw = [json.loads(line) for line in (anchor / "responses_dev.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = import_responses(anchor / "responses_dev.jsonl", rubric)
    assert len(rows) == len(raw)
    assert len({r["response_id"] for r in rows}) == len(rows)
    items = {i["id"] for i in rubric["items"]}
    for r, src in zip(rows, raw):
        assert r["response_id"] == f"{src['model']}/{src['key']}" and r["study_key"] == src["key"]
        assert r["item_id"] in items and r["item_id"] == item_id(src["stimulus_id"])
        assert r["model"] == src["model"] and r["response"] == (src["response"] or "")
        assert r["reference_answer"] == src["gpt4o_answer"]
        assert r["message_number"] == src["message_number"] and r["study_condition"] == src["condition"]
    assert Counter(r["reference_answer"] for r in rows) == Counter(s["gpt4o_answer"] for s in raw)


def test_bad_response_lines_name_file_and_line(tmp_path, rubric):
    path = tmp_path / "responses_x.jsonl"
    good = {"key": "k1", "model": "m", "stimulus_id": "bridge", "response": "r", "gpt4o_answer": "no"}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "key": "k2", "stimulus_id": "nope"}) + "\n")
    with pytest.raises(RubricateError, match=r"responses_x.jsonl:2: stimulus 'nope' is not in stimuli.json"):
        import_responses(path, rubric)
    path.write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(RubricateError, match=r"responses_x.jsonl:2: invalid JSON"):
        import_responses(path, rubric)
    path.write_text(json.dumps({**good, "gpt4o_answer": "maybe"}) + "\n")
    with pytest.raises(RubricateError, match=r"responses_x.jsonl:1: gpt4o_answer must be"):
        import_responses(path, rubric)


def test_bad_stimuli_are_refused(tmp_path, kb_build):
    (tmp_path / "stimuli.json").write_text(json.dumps([{"id": "x", "condition": "ennui", "messages": [
        {"role": "user", "content": "hi"}], "verification_question": "Q?", "appropriate_answer": "no"}]))
    with pytest.raises(RubricateError, match=r"stimuli.json\[0\] \(stimulus x\): unknown condition 'ennui'"):
        import_stimuli(tmp_path, kb_build.graph)


def test_cli_import_writes_only_to_the_chosen_folder(anchor, kb_build, tmp_path):
    from click.testing import CliRunner
    from rubricate.cli import main
    out = tmp_path / "m25"
    result = CliRunner().invoke(main, ["import", "moore2025", str(anchor), "--out", str(out),
                                       "--kb", str(kb_build.paths["turtle"])])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["moore2025-stigma.json", "moore2025.json", "responses_dev.jsonl"]
    assert load_rubric(out / "moore2025.json").data["items"]
    stigma = load_rubric(out / "moore2025-stigma.json").data
    assert stigma["instrument"]["id"] == "moore2025" and all(i["kind"] == "stigma" for i in stigma["items"])
    with pytest.raises(RubricateError, match="must differ from the study's folder"):
        import_study(anchor, kb_build.graph, anchor)
