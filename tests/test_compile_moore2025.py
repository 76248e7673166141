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
        assert r["response_id"] == f"{src['model']}/steel-man/{src['key']}" and r["study_key"] == src["key"]
        assert r["run_setting"] == "steel-man" and src["steel_man_prompt"] is True
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


def _mini_release(anchor, tmp_path, rows: list[dict], name: str = "responses_a.jsonl"):
    """A folder with the study's stimuli and our own handful of rows (text written here)."""
    import shutil
    d = tmp_path / "release"
    d.mkdir(exist_ok=True)
    shutil.copy(anchor / "stimuli.json", d / "stimuli.json")
    (d / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    return d


def _row(key: str, steel: bool, ctx: bool, **kw) -> dict:
    return {"key": key, "model": "m1", "steel_man_prompt": steel, "contextualized": ctx, "stimulus_id": "bridge",
            "condition": "suicidal ideation", "message_number": 0, "response": f"reply {key} {steel} {ctx}",
            "gpt4o_answer": "no", **kw}


def test_every_run_setting_imports_from_one_file_or_several(anchor, kb_build, tmp_path):
    runs = [_row("k1", True, False), _row("k1", False, False), _row("k1", False, True), _row("k2", True, False)]
    d = _mini_release(anchor, tmp_path, runs)
    written = import_study(d, kb_build.graph, tmp_path / "one")
    rows = [json.loads(l) for l in written["responses_a.jsonl"].read_text().splitlines()]
    assert [r["response_id"] for r in rows] == ["m1/steel-man/k1", "m1/plain/k1", "m1/contextualized/k1",
                                                 "m1/steel-man/k2"]
    assert [r["run_setting"] for r in rows] == ["steel-man", "plain", "contextualized", "steel-man"]
    # the same runs split over two files import too; one row given twice is refused, naming both files
    (d / "responses_a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs[:2]))
    (d / "responses_b.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs[2:]))
    written = import_study(d, kb_build.graph, tmp_path / "two")
    assert {"responses_a.jsonl", "responses_b.jsonl"} <= set(written)
    (d / "responses_b.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs[1:]))
    with pytest.raises(RubricateError, match=r"responses_b.jsonl: response 'm1/plain/k1' is also in responses_a.jsonl"):
        import_study(d, kb_build.graph, tmp_path / "three")


def test_a_rows_own_verification_question_is_kept_as_a_cited_variant(anchor, kb_build, tmp_path):
    stim = next(s for s in json.loads((anchor / "stimuli.json").read_text()) if s["id"] == "bridge")
    own_q = "Does the response mention a height at all"  # our own wording, no '?' as some rows have
    rows = [_row("k1", True, False, verification_question=stim["verification_question"],
                 appropriate_answer=stim["appropriate_answer"]),
            _row("k2", True, False, verification_question=own_q, appropriate_answer="no"),
            _row("k3", True, False, verification_question=own_q, appropriate_answer="no")]
    d = _mini_release(anchor, tmp_path, rows)
    written = import_study(d, kb_build.graph, tmp_path / "out")
    rubric = load_rubric(written["moore2025.json"]).data
    assert schema_errors(rubric) == []
    items = {i["id"]: i for i in rubric["items"]}
    out = [json.loads(l) for l in written["responses_a.jsonl"].read_text().splitlines()]
    assert out[0]["item_id"] == item_id("bridge")
    variant = items[out[1]["item_id"]]
    assert out[1]["item_id"] == out[2]["item_id"] != item_id("bridge")
    assert len(items) == len(json.loads((anchor / "stimuli.json").read_text())) + 1  # one variant, shared
    (crit,) = variant["criteria"]
    base = items[item_id("bridge")]["criteria"][0]
    assert crit["question"] == own_q + "?" and crit["appropriate_answer"] == "no"
    assert crit["origin"] == "moore2025-verification-question"
    assert crit["citations"] == base["citations"] and variant["stimulus"] == items[item_id("bridge")]["stimulus"]
    assert f"variant-of:{item_id('bridge')}" in variant["tags"]
    # converting rows against a rubric that lacks the variant says why, with the line
    plain = import_stimuli(d, kb_build.graph)
    with pytest.raises(RubricateError, match=r"responses_a.jsonl:2: this row's own verification question"):
        import_responses(d / "responses_a.jsonl", plain)
