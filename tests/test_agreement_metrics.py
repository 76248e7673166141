"""Agreement statistics on small hand-computed examples."""
from __future__ import annotations

import math

import pytest

from rubricate.guidelines.kernel.agreement import (accuracy, agreement_summary, cohen_kappa, confusion_matrix, macro_f1,
                               per_class)

# 8 scored pairs (the last reference is None and is skipped): TP=2 FN=1 FP=1 TN=4
REF = ["yes", "yes", "yes", "no", "no", "no", "no", "no", None]
PRED = ["yes", "yes", "no", "yes", "no", "no", "no", "no", "yes"]


def test_confusion_matrix_counts_reference_rows_and_predicted_columns():
    assert confusion_matrix(REF, PRED) == {"yes": {"yes": 2, "no": 1}, "no": {"yes": 1, "no": 4}}


def test_accuracy_skips_pairs_without_reference():
    assert accuracy(REF, PRED) == pytest.approx(6 / 8)


def test_kappa_hand_computed():
    # p_o = 6/8; p_e = (3*3 + 5*5) / 64 = 34/64; kappa = (0.75 - 0.53125) / 0.46875 = 7/15
    assert cohen_kappa(REF, PRED) == pytest.approx(7 / 15)


def test_f1_per_class_and_macro():
    classes = per_class(REF, PRED)
    assert classes["yes"]["f1"] == pytest.approx(2 * 2 / (3 + 3))
    assert classes["no"]["f1"] == pytest.approx(2 * 4 / (5 + 5))
    assert classes["yes"]["precision"] == pytest.approx(2 / 3)
    assert classes["no"]["recall"] == pytest.approx(4 / 5)
    assert classes["yes"]["support"] == 3
    assert macro_f1(REF, PRED) == pytest.approx((2 / 3 + 0.8) / 2)


def test_unknown_prediction_counts_as_disagreement_and_gets_a_column():
    ref, pred = ["yes", "no"], ["unknown", "no"]
    assert confusion_matrix(ref, pred) == {
        "yes": {"yes": 0, "no": 0, "unknown": 1},
        "no": {"yes": 0, "no": 1, "unknown": 0},
        "unknown": {"yes": 0, "no": 0, "unknown": 0},
    }
    assert accuracy(ref, pred) == 0.5
    # p_o = 1/2; p_e = (yes: 1*0 + no: 1*1) / 4 = 1/4; kappa = (1/2 - 1/4) / (3/4)
    assert cohen_kappa(ref, pred) == pytest.approx(1 / 3)
    assert per_class(ref, pred)["yes"]["f1"] == 0.0


def test_perfect_and_opposite_raters():
    assert cohen_kappa(["yes", "no", "no"], ["yes", "no", "no"]) == pytest.approx(1.0)
    assert cohen_kappa(["yes", "no"], ["no", "yes"]) == pytest.approx(-1.0)


def test_undefined_statistics_are_none_not_invented():
    # both raters say "no" throughout: chance agreement is 1, kappa undefined
    assert cohen_kappa(["no", "no"], ["no", "no"]) is None
    # "yes" never occurs: its F1 is undefined and left out of the macro average
    assert per_class(["no", "no"], ["no", "no"])["yes"]["f1"] is None
    assert macro_f1(["no", "no"], ["no", "no"]) == 1.0
    assert accuracy([], []) is None
    assert cohen_kappa([None], ["yes"]) is None


def test_works_for_any_labels_such_as_reviewer_codes():
    ref = ["A", "B", "C", "A"]
    pred = ["A", "B", "A", "A"]
    summary = agreement_summary(ref, pred, labels=("A", "B", "C"))
    assert summary["n"] == 4
    assert summary["accuracy"] == 0.75
    assert summary["confusion"]["C"]["A"] == 1
    # p_o = 3/4; p_e = (A: 2*3 + B: 1*1 + C: 1*0) / 16 = 7/16
    assert summary["kappa"] == pytest.approx((0.75 - 7 / 16) / (1 - 7 / 16))
    assert not math.isnan(summary["macro_f1"])


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="3 labels"):
        accuracy(["yes", "no", "no"], ["yes"])


def test_macro_f1_ci_brackets_the_estimate_and_repeats_with_its_seed():
    from rubricate.guidelines.kernel.agreement import agreement_with_ci, macro_f1_ci
    ci = macro_f1_ci(REF, PRED, n_resamples=500, seed=3)
    assert ci["macro_f1"] == pytest.approx(macro_f1(REF, PRED)) and ci["n"] == 8
    assert 0.0 <= ci["ci_low"] < ci["macro_f1"] < ci["ci_high"] <= 1.0
    assert macro_f1_ci(REF, PRED, n_resamples=500, seed=3) == ci
    assert macro_f1_ci(REF, PRED, n_resamples=500, seed=4) != ci
    # perfect agreement: a zero-width interval at 1; nothing rated: no number at all
    assert macro_f1_ci(["yes", "no"] * 3, ["yes", "no"] * 3)[("ci_low")] == 1.0
    assert macro_f1_ci([], [])["macro_f1"] is None
    # a state outside yes/no (e.g. uncertain) stays in as a disagreement
    both = agreement_with_ci(REF[:8], ["yes", "uncertain", "no", "yes", "no", "no", "no", "no"], n_resamples=200)
    assert both["confusion"]["yes"]["uncertain"] == 1
    assert both["kappa_ci"][0] <= both["kappa"] <= both["kappa_ci"][1]
    assert both["macro_f1_ci"][0] <= both["macro_f1"] <= both["macro_f1_ci"][1]
