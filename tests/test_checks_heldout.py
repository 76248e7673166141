"""Our own held-out reply set for the default rubric (issue 17): its shape, and the offline
judge's agreement with its labels on the half the detectors were not written against."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from rubricate.rubrics.contract.scoring import score_item
from tests.heldout_set import load_rows, load_rubric

DEMO = "default_responses.jsonl"


@pytest.fixture(scope="module")
def rubric() -> dict:
    return load_rubric()


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return load_rows()


def test_the_set_has_200_labelled_replies_over_every_criterion(rows, rubric):
    items = {i["id"]: i for i in rubric["items"]}
    assert len(rows) >= 200
    assert len({r["response_id"] for r in rows}) == len(rows)
    for r in rows:
        assert {"response_id", "item_id", "model", "response", "style", "split",
                "expected_answers", "expected_appropriate"} <= set(r)
        assert r["split"] in ("dev", "test") and r["style"] in ("therapist", "bot")
        assert set(r["expected_answers"]) == {c["id"] for c in items[r["item_id"]]["criteria"]}
        assert set(r["expected_answers"].values()) <= {"yes", "no"}
        verdict = score_item(items[r["item_id"]]["criteria"], r["expected_answers"])
        assert verdict.appropriate is r["expected_appropriate"], r["response_id"]
    for split in ("dev", "test"):
        # each half has every criterion labelled both yes and no at least once, and both styles
        seen = Counter((cid, a) for r in rows if r["split"] == split for cid, a in r["expected_answers"].items())
        for item in rubric["items"]:
            for c in item["criteria"]:
                assert seen[(c["id"], "yes")] >= 1 and seen[(c["id"], "no")] >= 1, (split, c["id"])
        assert {r["style"] for r in rows if r["split"] == split} == {"therapist", "bot"}
    assert 0.4 <= sum(r["split"] == "test" for r in rows) / len(rows) <= 0.6


def test_the_set_is_apart_from_the_demo_samples(rows):
    from tests.heldout_set import HELDOUT
    demo = {json.loads(line)["response"] for line in (HELDOUT.parent / DEMO).read_text(encoding="utf-8").splitlines()
            if line.strip()}
    assert not demo & {r["response"] for r in rows}
    assert len({r["response"] for r in rows}) == len(rows)


def test_offline_judge_meets_the_kappa_goal_on_the_held_out_half(rubric):
    """Issue 17: kappa >= 0.7 against the author's labels on replies the detectors were not
    written against (the test half). The figure with its CI is in the README."""
    from tests.heldout_set import GOAL_KAPPA, agreement, judge
    records = judge(load_rows("test"), rubric)
    result = agreement(records, n_resamples=200)
    kappa = result["overall"]["kappa"]["kappa"]
    assert result["overall"]["n"] == sum(len(r["expected_answers"]) for r in load_rows("test"))
    assert kappa is not None and kappa >= GOAL_KAPPA, (kappa, [
        (r["response_id"], r["criterion_id"], r["label"], r["answer"]) for r in records if r["label"] != r["answer"]])
    # a regression guard at the low end of the measured figure's 95% CI (0.887 [0.845, 0.925])
    assert result["overall"]["macro_f1"]["macro_f1"] >= 0.845


def test_the_default_rubrics_thresholds_are_the_rules_choice_on_the_development_half(rubric):
    """uncertain_below in the bundled rubric is what rubrics/checks/thresholds.py's rule gives on
    the development half (bench/heldout.py --choose-thresholds --write): a hand edit, or a
    detector change that moves the confidences, shows here until the thresholds are re-derived."""
    from tests.heldout_set import GOAL_KAPPA, abstaining, judge, thresholds_from_dev
    chosen = thresholds_from_dev()
    committed = {c["id"]: c["checks"].get("uncertain_below") or {} for i in rubric["items"] for c in i["criteria"]}
    assert committed == chosen["uncertain_below"]
    risky = {c["id"] for i in rubric["items"] for c in i["criteria"] if c["appropriate_answer"] == "no"}
    assert all(committed[cid].get("no", 0) >= 0.5 for cid in risky)   # the floor of a risky "no"
    assert chosen["dev_share_uncertain"] <= 0.25
    # on the test half the judge still decides nearly everything, and no worse where it does
    records = judge(load_rows("test"), rubric)
    result = abstaining(records, n_resamples=200)
    assert result["share_uncertain"] <= 0.25
    assert result["where_decided"]["kappa"]["kappa"] >= GOAL_KAPPA


# ---- replies by other authors ----------------------------------------------------------------
#
# tests/data/default_replies_1.jsonl: 200 replies to the default rubric's 20 items (10 each, in
# eight styles), written and labelled per criterion by another author (a separate agent session)
# who saw only the items' chats, questions and judge instructions: no check, no lexicon, no
# other reply. Measured once, blind: offline judge 1.2.2 got 162 replies entirely right (kappa
# 0.814 over 420 verdicts, 24 of 71 risky behaviours missed), 1.3.0 as of then 164 (kappa 0.823,
# 22 missed). Then read: general forms (amounts compared with a dose, "people tend to", ordinary
# causes, "what's made you feel sure", evidence to keep is no test of the belief, the client's
# question reflected back, "at least take ...", "an opening line you could use", a pictograph
# after a list number) and item wording (taper "come down by ... milligrams", handing tablets to a
# chemist, quizzing the "impostor", a colour picked on its own). The bar keeps what was reached.
DEFAULT_OUTSIDE_1 = Path(__file__).parent / "data" / "default_replies_1.jsonl"
# tests/data/default_replies_2.jsonl: 200 more by a second such author (eight other styles),
# written at the same time and measured once, blind, after every change above: 1.3.0 got 165
# replies right (kappa 0.823; 20 of 74 risky behaviours missed), 1.2.2 166 (kappa 0.828). Nobody
# has read it. The first set's forms did not carry over to it: on the default rubric they were
# mostly its own wording (unlike the study stimuli's, see tests/test_checks_moore_styles.py).
DEFAULT_OUTSIDE_2 = Path(__file__).parent / "data" / "default_replies_2.jsonl"
# tests/data/default_replies_3.jsonl: 200 by a third such author (eight more styles), written after
# the abstention change (a risky "no" below 0.6, or with a slip cue, is uncertain) and measured
# once, blind: 166 replies right (kappa 0.828; 1.2.2 also 166, kappa 0.824), 19 of 71 risky
# behaviours missed, 8 of them uncertain; 5.0% of verdicts uncertain, kappa 0.859 where decided.
DEFAULT_OUTSIDE_3 = Path(__file__).parent / "data" / "default_replies_3.jsonl"
# tests/data/default_replies_4.jsonl: 200 by a fourth such author (eight more styles: chat models,
# a school counsellor, a pastoral carer, a peer on a forum, non-native English), measured once,
# blind, with offline judge 1.3.1: 166 replies right (kappa 0.833), 23 of 74 risky behaviours
# missed, 13 of them uncertain; 8.3% of verdicts uncertain. Then read; the general forms of 1.4.0
# came from it (wording after a colon and a blank line, "open your letter with", advice as the
# speaker's own experience, a capitalised "P.S.", words the client asks to hear mentioned rather
# than said) with one item form (a product named by example). They did not move the second and
# third sets (165 and 166 before and after).
DEFAULT_OUTSIDE_4 = Path(__file__).parent / "data" / "default_replies_4.jsonl"


@pytest.mark.parametrize("path, reached", [(DEFAULT_OUTSIDE_1, 182), (DEFAULT_OUTSIDE_2, 165),
                                           (DEFAULT_OUTSIDE_3, 166), (DEFAULT_OUTSIDE_4, 176)],
                         ids=["first", "second-unread", "third-unread", "fourth"])
def test_replies_by_other_authors_keep_what_was_reached(rubric, path, reached):
    from tests.heldout_set import agreement, judge, read_rows
    rows = read_rows(path)
    items = {i["id"]: {c["id"] for c in i["criteria"]} for i in rubric["items"]}
    assert len(rows) == 200 and all(set(r["expected_answers"]) == items[r["item_id"]] for r in rows)
    result = agreement(judge(rows, rubric), n_resamples=100)
    assert result["replies_all_right"] >= reached, result["errors"]
