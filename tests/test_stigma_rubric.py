"""The stigma experiment probes and scores from a stigma rubric's kind "stigma" items
(rubrics/stigma/rubric.py), not from a second reading of the instrument YAML."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rubricate.cli import main
from rubricate.compiler.compile import RUBRICS_DIR, STIGMA_FILE
from rubricate.compiler.stigma import default_instrument, import_instrument, stigma_items
from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.rubrics.stigma.probe import output_record, probe_requests
from rubricate.rubrics.stigma.report import score_and_write
from rubricate.rubrics.stigma.rubric import from_rubric, load_stigma_rubric

CODING = ("id", "label", "group", "text", "options", "agree", "disagree", "dont_know", "stigma_when",
          "baseline_match")


def _coding(instrument):
    return [tuple(getattr(q, f) for f in CODING) for q in instrument.questions]


def test_the_default_is_the_compiled_rubric_and_codes_as_the_instrument():
    stigma = load_stigma_rubric("default")
    assert stigma.id == "rubricate-stigma" and stigma.source.endswith(STIGMA_FILE)
    inst = default_instrument()
    uncited = [{k: v for k, v in item.items() if k != "citations"} for item in stigma.items]
    assert uncited == stigma_items(inst)
    assert _coding(stigma.instrument) == _coding(inst)
    assert stigma.instrument.conditions == inst.conditions
    assert (stigma.instrument.id, stigma.instrument.version, stigma.instrument.title) == (inst.id, inst.version, inst.title)
    # what is sent and recorded is the same whether built from the rubric or the instrument
    from_rubric_reqs, from_yaml_reqs = probe_requests(stigma, "sys", 2), probe_requests(inst, "sys", 2)
    assert [(r.item_id, r.sample, r.messages, r.record) for r in from_rubric_reqs] == \
        [(r.item_id, r.sample, r.messages, r.record) for r in from_yaml_reqs]


def test_probe_and_score_read_the_rubric_not_the_yaml(make_server, tmp_path):
    """An edited copy of the compiled rubric: its prompt is what the model gets, its coding
    is what the scorer applies."""
    data = json.loads((RUBRICS_DIR / STIGMA_FILE).read_text(encoding="utf-8"))
    item = data["items"][0]
    item["prompt"] = item["stimulus"]["messages"][0]["content"] = item["prompt"] + " (edited copy)"
    qid = item["question"]["id"]
    for q in data["instrument"]["questions"]:
        if q["id"] == qid:  # code the first two options as agreeing instead of the last two
            q["agree"], q["disagree"] = [0, 1], [2, 3]
    for it in data["items"]:
        if it["question"]["id"] == qid:
            for o in it["options"]:
                o["code"] = {0: 1, 1: 1, 2: 0, 3: 0}.get(["A", "B", "C", "D", "E"].index(o["letter"]))
            it["coding"]["agree"], it["coding"]["disagree"] = [0, 1], [2, 3]
    edited = tmp_path / "edited-stigma.json"
    edited.write_text(json.dumps(data), encoding="utf-8")

    srv = make_server(answer=lambda messages, body: "A")
    out = tmp_path / "outputs.jsonl"
    r = CliRunner().invoke(main, ["stigma", "probe", "--instrument", str(edited), "--model", "m", "--base-url",
                                  srv.base_url, "--out", str(out), "--no-cache"])
    assert r.exit_code == 0, r.output
    assert len(srv.completions) == len(data["items"])
    sent = [c.body["messages"][-1]["content"] for c in srv.completions]
    assert sum(s.endswith(" (edited copy)") for s in sent) == 1

    summary, _, _ = score_and_write(out, None, instrument=str(edited), n_resamples=20)
    agree = {c["agree"]["estimate"] for c in summary["cells"] if c["question"] == qid}
    assert agree == {1.0}  # every "A" is agreeing under the edited coding
    default, _, _ = score_and_write(out, None, instrument="default", n_resamples=20)
    assert {c["agree"]["estimate"] for c in default["cells"] if c["question"] == qid} == {0.0}


def test_a_rubric_whose_items_disagree_with_its_instrument_block_is_refused(tmp_path):
    data = json.loads((RUBRICS_DIR / STIGMA_FILE).read_text(encoding="utf-8"))
    data["items"][3]["options"][0]["text"] = "Something else"
    with pytest.raises(RubricateError, match=r"differ from the rubric's instrument block"):
        from_rubric(data, "edited.json")
    with pytest.raises(RubricateError, match="not a stigma rubric"):
        load_stigma_rubric(str(RUBRICS_DIR / "rubricate-default.json"))
    with pytest.raises(RubricateError, match="unknown instrument 'nonesuch'"):
        load_stigma_rubric("nonesuch")


def test_the_study_instrument_through_its_items_codes_as_imported(anchor):
    if not (anchor / "stigma_questions.jsonl").exists():
        pytest.skip("the study's stigma files are not in the release folder")
    stigma = load_stigma_rubric("moore2025", anchor)
    inst = import_instrument(anchor)
    assert _coding(stigma.instrument) == _coding(inst)
    assert stigma.instrument.conditions == inst.conditions
    # a record probed from the items carries the study's question text and options
    req = probe_requests(stigma)[0]
    rec = output_record(req, "m", "A")
    q = inst.question(rec["question_id"])
    assert rec["question"] == q.text and rec["options"] == list(q.options)
    assert req.messages[-1]["content"] == stigma.items[0]["prompt"]


def test_scoring_from_a_compiled_study_rubric_equals_scoring_from_the_release(anchor, kb_build, tmp_path):
    """`rubricate import moore2025` writes moore2025-stigma.json; scoring the study's outputs
    with it gives the same summary as reading the release itself."""
    outputs = anchor / "stigma_outputs_dev.jsonl"
    if not outputs.exists():
        pytest.skip("the study's stigma outputs are not in the release folder")
    from rubricate.compiler.compile import compile_stigma_rubric, dumps
    rubric = tmp_path / "moore2025-stigma.json"
    rubric.write_bytes(dumps(compile_stigma_rubric(kb_build.graph, import_instrument(anchor))))
    from_file, _, _ = score_and_write(outputs, None, instrument=str(rubric), parser="moore2025", n_resamples=50)
    from_release, _, _ = score_and_write(outputs, None, instrument="moore2025", anchor=anchor,
                                         parser="moore2025", n_resamples=50)
    assert from_file == from_release
