"""Summaries of a results folder: appropriate-response rates with bootstrapped 95% CIs and
HealthBench-style points scores.

How a response's answers add up is the rubric format's rule (rubrics/scoring.py): decisive
(critical or major) criteria decide whether it is appropriate, every met criterion earns its
points. Undecided responses are left out of rates and counted in ``n_missing``; the mean
points score is clipped to [0, 1]; items with no positive criterion have no points score.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

from rubricate.rubrics.contract.scoring import score_item
from rubricate.guidelines.kernel.stats import bootstrap_ci, nan_to_none, rate_summary

GROUPS = ("model", "condition", "principle", "item_id")


@dataclass(frozen=True)
class _Resp:
    """A response's grouping fields; one shared instance per distinct combination."""
    model: str
    item_id: str
    condition: str
    principle: str


def summarize(verdicts: Iterable[dict], rubric: dict, problems: list[dict] | None = None,
              seed: int = 0, n_resamples: int = 1000) -> dict:
    criteria = {item["id"]: item.get("criteria", []) for item in rubric.get("items", [])}
    # Per response only a slot number and, per judge, a tuple of its answers in the order of
    # its item's criteria (answers to other criteria cannot change its score). Grouping
    # fields, answers and answer tuples are shared between responses, so memory stays
    # nearly flat as the number of responses grows (measured in bench/run.py).
    slots: dict[str, int] = {}
    fields_of: list[_Resp] = []
    answers_of: dict[str, list[tuple | None]] = {}  # judge -> slot -> answers
    position = {iid: {c["id"]: i for i, c in enumerate(cs)} for iid, cs in criteria.items()}
    shared: dict = {}

    def one(value):
        try:
            return shared.setdefault(value, value)
        except TypeError:  # an unhashable value (a hand-edited results file): kept as it is
            return value

    judges: set[str] = set()
    by_criterion: dict[tuple[str, str], list[bool | None]] = defaultdict(list)
    flags: dict[str, int] = defaultdict(int)
    usage = defaultdict(float)
    n_verdicts = 0
    for v in verdicts:
        n_verdicts += 1
        judge = v["judge"]
        judges.add(judge)
        slot = slots.get(v["response_id"])
        if slot is None:
            slot = slots[v["response_id"]] = len(fields_of)
            f = _Resp(v["model"], v["item_id"], v.get("condition") or "-", v.get("principle") or "-")
            fields_of.append(one(f))
        answers = answers_of.get(judge)
        if answers is None:
            answers = answers_of[judge] = []
        if len(answers) < len(fields_of):
            answers.extend([None] * (len(fields_of) - len(answers)))
        item_id = fields_of[slot].item_id
        current = answers[slot] or (None,) * len(criteria.get(item_id, ()))
        i = position.get(item_id, {}).get(v["criterion_id"])
        if i is not None:
            current = current[:i] + (v["answer"],) + current[i + 1:]
        answers[slot] = one(current)
        by_criterion[(judge, v["criterion_id"])].append(v["appropriate"])
        for f in v.get("flags") or []:
            flags[f] += 1
        for k, val in (v.get("usage") or {}).items():
            if isinstance(val, (int, float)):
                usage[k] += val
    out: dict = {"rubric_id": rubric.get("rubric_id"), "responses": len(slots), "verdicts": n_verdicts,
                 "judges": sorted(judges), "bootstrap": {"n_resamples": n_resamples, "seed": seed, "level": 0.95},
                 "by_judge": {}}
    for judge in sorted(judges):
        rows = _Rows(fields_of, answers_of[judge], criteria)
        section: dict = {"overall": rate_summary([_num(sc.appropriate) for _, sc in rows], n_resamples, seed)}
        for g in GROUPS:
            groups: dict[str, list] = defaultdict(list)
            for r, sc in rows:
                groups[getattr(r, g)].append(_num(sc.appropriate))
            section[f"by_{g}"] = {k: rate_summary(vals, n_resamples, seed) for k, vals in sorted(groups.items())}
        mc: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for r, sc in rows:
            mc[r.model][r.condition].append(_num(sc.appropriate))
        section["by_model_condition"] = {m: {c: rate_summary(v, n_resamples, seed) for c, v in sorted(cs.items())}
                                         for m, cs in sorted(mc.items())}
        section["by_criterion"] = {cid: rate_summary([_num(a) for a in vals], n_resamples, seed)
                                   for (j, cid), vals in sorted(by_criterion.items()) if j == judge}
        section["points"] = _points(rows, n_resamples, seed)
        out["by_judge"][judge] = section
    out["flags"] = dict(sorted(flags.items()))
    if usage:
        out["usage"] = dict(sorted(usage.items()))
    if problems is not None:
        out["skipped_input"] = {"count": len(problems), "first": [p for p in problems[:20]]}
    return out


class _Rows:
    """(fields, ItemScore) of each response the judge answered, in first-seen order, kept as
    two lists of shared objects rather than a tuple per response."""

    def __init__(self, fields_of: list[_Resp], answers: list[tuple | None], criteria: dict[str, list[dict]]):
        self.fields = fields_of
        self.scores = list(_scores(fields_of, answers, criteria))

    def __iter__(self):
        return ((r, sc) for r, sc in zip(self.fields, self.scores) if sc is not None)


def _scores(fields_of: list[_Resp], answers: list[tuple | None], criteria: dict[str, list[dict]]):
    """Each response's ItemScore (None when the judge did not answer it); one score object per
    distinct (item, answers), since most responses share one."""
    memo: dict = {}
    for r, got in zip(fields_of, answers):
        if got is None:
            yield None
            continue
        try:
            score = memo.get((r.item_id, got))
        except TypeError:  # unhashable: score it without the memo
            score = None
        if score is None:
            cs = criteria.get(r.item_id, [])
            score = score_item(cs, {c["id"]: a for c, a in zip(cs, got) if a is not None})
            try:
                memo[(r.item_id, got)] = score
            except TypeError:
                pass
        yield score


_ONE, _ZERO = 1.0, 0.0


def _num(a: bool | None) -> float | None:
    return None if a is None else _ONE if a is True else _ZERO if a is False else float(a)


def _points(rows, n_resamples: int, seed: int) -> dict:
    per_model: dict[str, list[float]] = defaultdict(list)
    scores = []
    no_positive = 0
    for r, sc in rows:
        if sc.healthbench is None:
            no_positive += 1
            continue
        scores.append(sc.healthbench)
        per_model[r.model].append(sc.healthbench)

    def clipped(vals: list[float]) -> dict:
        est, low, high = bootstrap_ci(vals, n_resamples=n_resamples, seed=seed)
        clip = (lambda x: None if nan_to_none(x) is None else min(1.0, max(0.0, x)))
        return {"n": len(vals), "score": clip(est), "ci_low": clip(low), "ci_high": clip(high)}

    return {"overall": clipped(scores), "by_model": {m: clipped(v) for m, v in sorted(per_model.items())},
            "responses_without_positive_points": no_positive}
