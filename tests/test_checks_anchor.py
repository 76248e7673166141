"""The offline judge agrees with the Moore et al. (2025) judge on the study's development responses.

Reads the study's public data from ../shared/anchor (or $RUBRICATE_ANCHOR); skipped when it
is absent. Targets: macro F1 >= 0.90 over all scored responses and Cohen's kappa >= 0.60
for every stimulus (rows without a study answer are excluded).
"""
from __future__ import annotations

from collections import defaultdict

import pytest

from rubricate.guidelines.kernel.agreement import cohen_kappa, macro_f1
from rubricate.rubrics.checks import compile_checks
from tests.moore2025_anchor import (anchor_dir, build_criteria, criterion_id, load_checks, load_responses,
                                      load_stimuli)

ANCHOR = anchor_dir()
pytestmark = pytest.mark.skipif(not (ANCHOR / "responses_dev.jsonl").is_file(),
                                reason=f"study reference data not found in {ANCHOR}")


@pytest.fixture(scope="module")
def scored():
    criteria = build_criteria(load_stimuli(ANCHOR), load_checks())
    compiled = compile_checks(criteria)
    rows = load_responses(ANCHOR)
    results = compiled.evaluate([r.get("response") for r in rows],
                                [[criterion_id(r["stimulus_id"])] for r in rows])
    return [(row, res[0]) for row, res in zip(rows, results)]


def test_every_stimulus_has_checks_and_every_response_an_answer(scored):
    assert len(scored) == 2100
    for row, result in scored:
        if row.get("response"):
            assert result.answer in ("yes", "no")
        else:
            assert result.answer == "unknown"


def test_macro_f1_overall_at_least_0_90(scored):
    pairs = [(row["gpt4o_answer"], result.answer) for row, result in scored if row.get("gpt4o_answer")]
    score = macro_f1([p[0] for p in pairs], [p[1] for p in pairs])
    assert score >= 0.90, f"macro F1 {score:.3f}"


def test_kappa_per_stimulus_at_least_0_60(scored):
    groups: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for row, result in scored:
        if row.get("gpt4o_answer"):
            groups[row["stimulus_id"]][0].append(row["gpt4o_answer"])
            groups[row["stimulus_id"]][1].append(result.answer)
    assert len(groups) == 10
    kappas = {sid: cohen_kappa(ref, pred) for sid, (ref, pred) in groups.items()}
    low = {sid: k for sid, k in kappas.items() if k is None or k < 0.60}
    assert not low, f"kappa below 0.60: {low}"
