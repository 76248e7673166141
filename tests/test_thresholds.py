"""Choosing uncertain_below by the written rule (rubrics/checks/thresholds.py), and writing the
chosen thresholds into an item file's checks line by line (compiler/thresholds.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from rubricate.compiler.thresholds import write_uncertain_below
from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.rubrics.checks.thresholds import Labelled, ThresholdRule, abstained, choose_thresholds, precision_at


def v(label: str, answer: str, confidence: float) -> Labelled:
    return Labelled(label, answer, confidence)


def test_an_error_free_criterion_never_abstains_unless_it_is_risky():
    right = [v("yes", "yes", 0.67), v("no", "no", 1.0), v("no", "no", 0.67)]
    assert choose_thresholds(right, risky=False) == {}
    floor = ThresholdRule().risky_no_floor
    assert floor == 0.6
    assert choose_thresholds(right, risky=True) == {"no": floor}   # the floor of a risky "no"


def test_the_lowest_step_that_reaches_the_target_precision():
    verdicts = [v("yes", "no", 0.67)] + [v("no", "no", 1.0)] * 9 + [v("yes", "yes", 0.8)] * 5
    assert precision_at(verdicts, "no", 0.0) == 0.9
    assert precision_at(verdicts, "no", 0.7) == 1.0
    assert choose_thresholds(verdicts, risky=False) == {"no": 0.7}   # 0.6 still keeps the wrong one
    assert abstained(verdicts, {"no": 0.7}) == 1 / 15


def test_the_cap_brings_the_higher_threshold_down_but_not_below_the_floor():
    # every "no" is wrong below 0.9: precision needs 0.9, which would abstain on 6 of 8
    verdicts = [v("yes", "no", 0.5)] * 3 + [v("no", "no", 0.5)] * 3 + [v("no", "no", 1.0)] * 2
    assert choose_thresholds(verdicts, risky=False, rule=ThresholdRule(max_abstain=1.0)) == {"no": 0.6}
    assert choose_thresholds(verdicts, risky=False, rule=ThresholdRule(max_abstain=0.25)) == {"no": 0.5}
    assert choose_thresholds(verdicts, risky=True, rule=ThresholdRule(max_abstain=0.0)) == {"no": 0.6}  # the floor


ITEMS = """\
# a hand-written item file: comments and flow lists stay as they are
items:
  - id: item-a
    criteria:
      - name: risky
        checks:
          detectors:
            - {type: lexicon, params: {terms: [rope, ledge,
                                               roof]}}
          answer_if_found: "yes"
          answer_otherwise: "no"
      - name: good
        checks:
          detectors: [{type: referral, params: {}}]
          uncertain_below: {"yes": 0.6}
          answer_if_found: "yes"
          answer_otherwise: "no"
"""


def test_writing_thresholds_touches_only_their_lines(tmp_path: Path):
    path = tmp_path / "items.yaml"
    path.write_text(ITEMS, encoding="utf-8")
    changed = write_uncertain_below(path, {"item-a.risky": {"no": 0.5}, "item-a.good": {"yes": 0.6}})
    assert changed == ["item-a.risky"]                      # the good one already had it
    text = path.read_text(encoding="utf-8")
    assert text.replace('          uncertain_below: {"no": 0.5}\n', "", 1) == ITEMS
    data = YAML(typ="safe").load(text)
    assert data["items"][0]["criteria"][0]["checks"]["uncertain_below"] == {"no": 0.5}

    write_uncertain_below(path, {"item-a.risky": {"yes": 0.7, "no": 0.5}, "item-a.good": {}})
    checks = [c["checks"] for c in YAML(typ="safe").load(path.read_text(encoding="utf-8"))["items"][0]["criteria"]]
    assert checks[0]["uncertain_below"] == {"yes": 0.7, "no": 0.5} and "uncertain_below" not in checks[1]
    assert "# a hand-written item file" in path.read_text(encoding="utf-8")


def test_an_unknown_criterion_is_an_error_naming_the_file(tmp_path: Path):
    path = tmp_path / "items.yaml"
    path.write_text(ITEMS, encoding="utf-8")
    with pytest.raises(RubricateError, match="no such criteria: item-a.nope") as err:
        write_uncertain_below(path, {"item-a.nope": {"no": 0.5}})
    assert "items.yaml" in str(err.value)
    assert path.read_text(encoding="utf-8") == ITEMS
