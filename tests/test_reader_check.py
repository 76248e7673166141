"""The second reading of the study's responses (tests/data/moore2025_readers.jsonl).

Independent readers answered each scored response's verification question blind to both
judges. The file must be a label file `rubricate calibrate` reads, cover every scored
response, and give the figures bench/reader_check.py reports; and the README's reading of
them (the study's judge itself falls below the project's kappa goal against the readers on
some stimuli) is kept true by a test rather than by a number copied into it.
"""
from __future__ import annotations

import json
from collections import Counter

import pytest

from bench.reader_check import READERS, reader_check
from rubricate.compiler.moore2025.importer import study_response_id
from rubricate.rubrics.contract.validation import label_errors
from rubricate.rubrics.evaluation.labels import sources_from_file
from tests.cli_run import run_cli
from tests.moore2025_anchor import HELD_OUT_MODELS, criterion_id, load_responses


def test_the_readers_file_is_a_label_file_of_reference_readers():
    rows = [json.loads(line) for line in READERS.read_text(encoding="utf-8").splitlines()]
    assert rows and all(not label_errors(r) for r in rows)
    assert {r["source"] for r in rows} == {"judge"}          # not people: never a ceiling of people
    assert {r["label"] for r in rows} == {"yes", "no"}
    per_unit = Counter((r["response_id"], r["criterion_id"]) for r in rows)
    assert min(per_unit.values()) >= 2                       # every response read at least twice
    assert max(Counter((r["response_id"], r["criterion_id"], r["labeller"]) for r in rows).values()) == 1
    for rid, cid in per_unit:                                # the criterion is the response's stimulus'
        stimulus = cid.removeprefix("moore2025-").removesuffix(".verification")
        assert f"_{stimulus}_" in rid.rsplit("/", 1)[1]
    sources = sources_from_file(READERS)
    assert all(s.kind == "judge" for s in sources) and len(sources) >= 2


def test_every_scored_response_was_read(anchor):
    scored = {(study_response_id(r), criterion_id(r["stimulus_id"])) for r in load_responses(anchor)
              if r.get("gpt4o_answer") is not None}
    read = {(r["response_id"], r["criterion_id"])
            for r in map(json.loads, READERS.read_text(encoding="utf-8").splitlines())}
    assert read == scored


@pytest.fixture(scope="module")
def check(anchor):
    return reader_check(anchor)


@pytest.mark.parametrize("split", ["unseen", "dev"])
def test_the_comparison_is_over_every_scored_response_and_the_readers_majority(check, split):
    s = check[split]
    assert s["without_reader_labels"] == 0
    assert s["overall"]["responses"] == s["responses"] == sum(x["responses"] for x in s["per_stimulus"].values())
    assert s["overall"]["reader_majority"] == sum(x["reader_majority"] for x in s["per_stimulus"].values())
    for x in s["per_stimulus"].values():
        assert x["reader_majority"] <= x["responses"]
        assert x["study_judge_vs_readers"]["n"] == x["rules_vs_readers"]["n"] == x["reader_majority"]
        statistic = x["readers"]["statistic"]
        assert statistic == ("cohen_kappa" if len(x["readers"]["sources"]) == 2 else "krippendorff_alpha")
    units = {(r["response_id"], r["criterion_id"]) for r in map(json.loads, READERS.read_text().splitlines())}
    assert check["unseen"]["responses"] + check["dev"]["responses"] == len(units)


def test_the_goal_asks_more_of_the_rules_than_the_study_judge_gives_against_readers(check):
    """The README's reading: on some stimuli of the unseen split the study's own judge agrees
    with the readers below the kappa the goal asks of the rules against it, and overall the
    rules agree with the readers no less than the study's judge does (within its 95% CI)."""
    unseen = check["unseen"]
    goal = unseen["below_kappa_goal"]["kappa_goal"]
    below = unseen["below_kappa_goal"]["study_judge_vs_readers"]
    assert below and all(unseen["per_stimulus"][sid]["study_judge_vs_readers"]["kappa"] < goal for sid in below)
    rules, study = unseen["overall"]["rules_vs_readers"], unseen["overall"]["study_judge_vs_readers"]
    assert rules["macro_f1"] >= study["macro_f1_ci"][0]


@pytest.mark.slow
def test_calibrate_reads_the_readers_file_and_agrees_with_the_bench(moore2025_import, check, tmp_path):
    """`rubricate calibrate --labels` on the readers' file, for a rules run over the unseen
    responses: per criterion, the same figures as bench/reader_check.py's rules_abstaining_vs_readers
    (the run's verdicts abstain; an uncertain verdict counts as a disagreement), and the
    readers' agreement with each other as references_agree."""
    lines = [json.loads(x) for x in (moore2025_import / "responses_dev.jsonl").read_text().splitlines()]
    unseen = tmp_path / "unseen.jsonl"
    unseen.write_text("".join(json.dumps(r) + "\n" for r in lines
                              if r["model"] in HELD_OUT_MODELS and r.get("reference_answer") is not None))
    rubric = str(moore2025_import / "moore2025.json")
    res = run_cli("--workspace", tmp_path, "evaluate", "--rubric", rubric, "--responses", unseen,
                  "--out", tmp_path / "results")
    assert res.returncode == 0, res.stderr
    cal = tmp_path / "cal.json"
    res = run_cli("--workspace", tmp_path, "calibrate", "--rubric", rubric, "--labels", READERS,
                  "--results", tmp_path / "results", "--out", cal)
    assert res.returncode == 0, res.stderr
    doc = json.loads(cal.read_text())
    assert doc["reference"].startswith("majority of reader-")
    assert "ceiling" not in doc["overall"]                     # readers are not people
    for sid, s in check["unseen"]["per_stimulus"].items():
        got = doc["criteria"][criterion_id(sid)]["judges"]["rules"]
        want = s["rules_abstaining_vs_readers"]
        assert got["n"] == want["n"]
        assert got["kappa"] == pytest.approx(want["kappa"]), (sid, got["kappa"], want["kappa"])
