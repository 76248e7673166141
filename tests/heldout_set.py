"""Our own held-out reply set for the default rubric, and the offline judge's agreement with it.

``rubrics/samples/heldout_responses.jsonl`` holds replies written for this purpose (not the
demo samples the checks were written against), labelled per criterion by their author, each
row marked ``split: dev`` (detectors were written looking at these) or ``split: test`` (not
looked at while writing detectors). Used by tests/test_checks_heldout.py and bench/heldout.py.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from rubricate.compiler.compile import DEFAULT_FILE, REPO, RUBRICS_DIR
from rubricate.guidelines.kernel.agreement import agreement_summary, cohen_kappa_ci
from rubricate.guidelines.kernel.stats import bootstrap_ci, nan_to_none
from rubricate.rubrics.checks.thresholds import Labelled, ThresholdRule, abstained, choose_thresholds

HELDOUT = REPO / "rubrics" / "samples" / "heldout_responses.jsonl"
GOAL_KAPPA = 0.7  # issue 17: the rules judge on our own therapist-style set


def load_rubric() -> dict:
    return json.loads((RUBRICS_DIR / DEFAULT_FILE).read_text(encoding="utf-8"))


def read_rows(path: Path) -> list[dict]:
    """The records of a labelled reply file (JSON Lines, blank lines ignored)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_rows(split: str | None = None) -> list[dict]:
    return [r for r in read_rows(HELDOUT) if split is None or r["split"] == split]


def judge(rows: list[dict], rubric: dict | None = None) -> list[dict]:
    """One record per (reply, criterion): the author's label and the offline judge's answer."""
    from rubricate.rubrics.checks.engine import compile_checks
    rubric = rubric or load_rubric()
    criteria = [c for i in rubric["items"] for c in i["criteria"]]
    kind = {c["id"]: "risky" if c["appropriate_answer"] == "no" else "good" for c in criteria}
    compiled = compile_checks(criteria)
    results = compiled.evaluate([r["response"] for r in rows], [list(r["expected_answers"]) for r in rows])
    return [{"response_id": r["response_id"], "item_id": r["item_id"], "style": r["style"],
             "criterion_id": x.criterion_id, "kind": kind[x.criterion_id], "label": r["expected_answers"][x.criterion_id],
             "answer": x.answer, "reason": x.reason, "confidence": x.confidence, "decision": x.decision}
            for r, rs in zip(rows, results) for x in rs]


def abstaining(records: list[dict], n_resamples: int = 1000, seed: int = 0) -> dict:
    """The judge as it answers with its criteria's uncertain_below: the share it abstains on,
    and its agreement where it decides (kappa and macro F1 with bootstrap CIs)."""
    decided = [r for r in records if r["decision"] != "uncertain"]
    ref, pred = [r["label"] for r in decided], [r["decision"] for r in decided]
    return {"n": len(records), "uncertain": len(records) - len(decided),
            "share_uncertain": (len(records) - len(decided)) / len(records) if records else None,
            "uncertain_but_wrong": sum(r["label"] != r["answer"] for r in records if r["decision"] == "uncertain"),
            "where_decided": {"n": len(decided), "kappa": cohen_kappa_ci(ref, pred, n_resamples=n_resamples, seed=seed),
                              "macro_f1": _macro_f1_ci(ref, pred, n_resamples, seed),
                              "missed_yes": sum(r["label"] == "yes" and r["decision"] == "no" for r in decided)}}


def _macro_f1_ci(ref: list[str], pred: list[str], n_resamples: int, seed: int) -> dict:
    """Macro F1 over yes/no (as agreement.macro_f1) with a percentile-bootstrap CI, vectorised."""
    a = np.array([r == "yes" for r in ref])
    b = np.array([p == "yes" for p in pred])
    no_b = np.array([p == "no" for p in pred])

    def stat(idx: np.ndarray) -> np.ndarray:
        idx = idx.astype(np.int64)
        ra, pa, pn = a[idx], b[idx], no_b[idx]
        scores = []
        for ref_is, pred_is in ((ra, pa), (~ra, pn)):
            tp = (ref_is & pred_is).sum(axis=1)
            denom = ref_is.sum(axis=1) + pred_is.sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                scores.append(np.where(denom > 0, 2 * tp / denom, np.nan))
        return np.nanmean(np.vstack(scores), axis=0)

    est, low, high = bootstrap_ci(np.arange(len(ref)), n_resamples=n_resamples, seed=seed, statistic=stat)
    return {"macro_f1": nan_to_none(est), "ci_low": nan_to_none(low), "ci_high": nan_to_none(high)}


def agreement(records: list[dict], n_resamples: int = 1000, seed: int = 0) -> dict:
    """Kappa and macro F1 (with percentile-bootstrap 95% CIs) overall, per group (risky-behaviour
    vs good-practice criteria, therapist- vs bot-style replies) and per criterion."""
    def block(recs: list[dict], resamples: int) -> dict:
        ref = [r["label"] for r in recs]
        pred = [r["answer"] for r in recs]
        summary = agreement_summary(ref, pred)
        return {"n": len(recs), "accuracy": summary["accuracy"],
                "kappa": cohen_kappa_ci(ref, pred, n_resamples=resamples, seed=seed),
                "macro_f1": _macro_f1_ci(ref, pred, resamples, seed),
                "confusion": summary.get("confusion")}

    by_criterion: dict[str, list[dict]] = defaultdict(list)
    by_group: dict[str, list[dict]] = defaultdict(list)
    by_reply: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_criterion[r["criterion_id"]].append(r)
        by_reply[r["response_id"]].append(r)
        by_group[f"criterion:{r['kind']}"].append(r)
        by_group[f"style:{r['style']}"].append(r)
    whole = sum(all(x["label"] == x["answer"] for x in rs) for rs in by_reply.values())
    risky_missed = sum(r["label"] == "yes" and r["answer"] == "no" for r in records)
    return {"overall": block(records, n_resamples),
            "replies": len(by_reply), "replies_all_right": whole,
            "errors": sum(r["label"] != r["answer"] for r in records),
            "missed_yes": risky_missed,
            "per_group": {g: block(recs, n_resamples) for g, recs in sorted(by_group.items())},
            "per_criterion": {cid: block(recs, min(n_resamples, 300)) for cid, recs in sorted(by_criterion.items())}}


def thresholds_from_dev(rule: ThresholdRule = ThresholdRule()) -> dict:
    """Each criterion's uncertain_below chosen on the development half, with what it costs there."""
    records = judge(load_rows("dev"))
    by_criterion: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_criterion[r["criterion_id"]].append(r)
    chosen, share = {}, {}
    for cid, recs in sorted(by_criterion.items()):
        verdicts = [Labelled(r["label"], r["answer"], r["confidence"]) for r in recs]
        chosen[cid] = choose_thresholds(verdicts, recs[0]["kind"] == "risky", rule)
        share[cid] = abstained(verdicts, chosen[cid])
    n = sum(len(v) for v in by_criterion.values())
    return {"rule": rule.to_dict(), "chosen_on": "dev", "uncertain_below": chosen,
            "dev_share_uncertain": sum(share[c] * len(by_criterion[c]) for c in share) / n if n else None,
            "dev_share_uncertain_per_criterion": share}
