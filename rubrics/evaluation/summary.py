"""Summaries of a results folder: appropriate-response rates with bootstrapped 95% CIs and
HealthBench-style points scores.

How a response's answers add up is the rubric format's rule (rubrics/contract/scoring.py):
decisive (critical or major) criteria decide whether it is appropriate, every met criterion
earns its points. Undecided responses are left out of rates and counted in ``n_missing``; the
mean points score is clipped to [0, 1]; items with no positive criterion have no points score.

Why three steps (``partial`` -> ``merge`` -> ``finalize``): a summary is made of counts
(appropriate / inappropriate / undecided per group, a histogram of points scores), and counts
from shards judged on different machines add up exactly. The intervals are then computed once
from the merged counts (a count-based percentile bootstrap: Binomial draws for rates,
Multinomial for the points mean), so the local engine and a cluster give the same summary and
the driver never holds one value per response.
"""
from __future__ import annotations

from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from typing import Iterable

from rubricate.rubrics.contract.scoring import score_item
from rubricate.guidelines.kernel.idset import HashedIdSet
from rubricate.guidelines.kernel.stats import counts_summary, mean_ci_from_histogram, nan_to_none

GROUPS = ("model", "condition", "principle", "item_id")
MAX_PROBLEMS_SHOWN = 20
# usage summed per judge and judge model (a verdict of a call shared by several criteria
# carries its share, so sums are per call, not per criterion)
_USAGE_SUMS = ("prompt_tokens", "completion_tokens", "total_tokens", "requests", "cost_usd", "batch_savings_usd")
PARTIAL_VERSION = 2
_MAX_SCORES = 100_000  # distinct (item, answers) scores remembered; bounded, most responses share few


@dataclass(frozen=True)
class _Resp:
    """A response's grouping fields; one shared instance per distinct combination."""
    model: str
    item_id: str
    condition: str
    principle: str


def summarize(verdicts: Iterable[dict], rubric: dict, problems: list[dict] | None = None,
              seed: int = 0, n_resamples: int = 1000) -> dict:
    """The summary of one stream of verdicts (``partial`` then ``finalize``)."""
    return finalize(partial(verdicts, rubric, problems), seed=seed, n_resamples=n_resamples)


def partial(verdicts: Iterable[dict], rubric: dict, problems: list[dict] | None = None) -> dict:
    """Mergeable counts of a stream of verdicts (JSON-ready; see ``merge`` and ``finalize``).

    Every verdict of a response must be in the same stream (a shard holds whole responses).
    Verdicts that can be read again (a list, ``results.Records``) are counted in one pass in
    flat memory (``Tally``), which relies on a response's verdicts lying close together, as
    an evaluation writes them; where they do not (a resumed run that judged the rest of a
    response later), or for a one-pass iterator, every response keeps a slot until the end.
    """
    if iter(verdicts) is not verdicts:
        tally = Tally(rubric)
        for v in verdicts:
            if not tally.add(v):
                break
        else:
            return tally.partial(problems)
    return _slotted(verdicts, rubric, problems)


class Tally:
    """Counts of verdicts fed one at a time, each response scored once its verdicts are in.

    A response stays open while its verdicts may still come: among the latest ``WINDOW``
    responses seen. Older ones are scored and forgotten but for an 8-byte hash of their id
    (kernel.idset), so memory stays flat however many responses there are. A verdict of a
    response already scored makes ``add`` return False: the counts can no longer be exact,
    and the caller counts again with ``partial`` over a source that keeps every response.
    """

    WINDOW = 2048

    def __init__(self, rubric: dict, remember: bool = True) -> None:
        """``remember=False``: the caller guarantees that no response's verdicts come after
        a ``flush`` or after ``WINDOW`` other responses (nothing is then kept per response)."""
        self.counts = _Counts(rubric)
        self.open: OrderedDict[str, _Open] = OrderedDict()
        self.closed = HashedIdSet() if remember else None
        self.exact = True

    def add(self, v: dict) -> bool:
        """Count one verdict; False when the counts cannot be exact any more (see above)."""
        if not self.exact:
            return False
        rid = v["response_id"]
        o = self.open.get(rid)
        if o is None:
            if self.closed is not None and self.closed.might_contain(rid):  # scored already (or a hash twin)
                self.exact = False
                self.closed.close()
                self.open.clear()
                return False
            o = self.open[rid] = _Open(self.counts.fields(v))
            if len(self.open) > self.WINDOW:
                self._close_oldest()
        self.counts.verdict(v, o)
        return True

    def _close_oldest(self) -> None:
        rid, o = self.open.popitem(last=False)
        if self.closed is not None:
            self.closed.add(rid)
        self.counts.response(o)

    def flush(self) -> None:
        """Score every open response (their verdicts are all in)."""
        while self.open:
            self._close_oldest()

    def partial(self, problems: list[dict] | None = None) -> dict:
        if not self.exact:
            raise ValueError("a response's verdicts came after it was scored: count again from its file")
        self.flush()
        if self.closed is not None:
            self.closed.close()
        return self.counts.partial(problems)


def _slotted(verdicts: Iterable[dict], rubric: dict, problems: list[dict] | None) -> dict:
    """``partial`` for verdicts in any order: one slot per response (its fields and, per judge,
    its answers), scored at the end. Fields, answers and answer tuples are shared between
    responses, so a slot is a few dozen bytes."""
    counts = _Counts(rubric)
    slots: dict[str, _Open] = {}
    shared: dict = {}
    for v in verdicts:
        o = slots.get(v["response_id"])
        if o is None:
            o = slots[v["response_id"]] = _Open(_interned(shared, counts.fields(v)))
        counts.verdict(v, o, lambda value: _interned(shared, value))
    for o in slots.values():
        counts.response(o)
    return counts.partial(problems)


def _interned(shared: dict, value):
    try:
        return shared.setdefault(value, value)
    except TypeError:  # an unhashable value (a hand-edited results file): kept as it is
        return value


class _Open:
    """A response being counted: its grouping fields, each judge's answers in the order of its
    item's criteria (answers to other criteria cannot change its score), and the models
    whose refusal it records."""

    __slots__ = ("fields", "answers", "refused")

    def __init__(self, fields: _Resp) -> None:
        self.fields = fields
        self.answers: dict[str, tuple] = {}
        self.refused: tuple[str, ...] = ()


class _Counts:
    """What a partial summary counts: per verdict (criteria, flags, usage, cascade, stability)
    and per scored response (rates and points per judge and group)."""

    def __init__(self, rubric: dict) -> None:
        self.rubric_id = rubric.get("rubric_id")
        self.criteria = {item["id"]: item.get("criteria", []) for item in rubric.get("items", [])}
        self.position = {iid: {c["id"]: i for i, c in enumerate(cs)} for iid, cs in self.criteria.items()}
        self.judges: set[str] = set()
        self.by_criterion: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        self.stability: dict[tuple[str, str], list] = defaultdict(lambda: [0, 0, 0.0])  # n, unstable, agreement sum
        self.flags: dict[str, int] = defaultdict(int)
        self.usage: dict[str, float] = defaultdict(float)
        self.usage_by: dict[str, dict[str, dict[str, float]]] = {}  # judge -> judge model -> sums
        self.per_judge: dict[str, int] = defaultdict(int)
        self.refused: dict[str, int] = defaultdict(int)  # model -> responses it refused
        self.uncertain: dict[tuple[str, str], int] = defaultdict(int)
        self.cascade: dict[str, dict] = {}
        self.sections: dict[str, dict] = {}
        self.n_verdicts = 0
        self.n_responses = 0
        self.scores: dict = {}  # (item, answers) -> ItemScore: most responses share one

    @staticmethod
    def fields(v: dict) -> _Resp:
        return _Resp(v["model"], v["item_id"], v.get("condition") or "-", v.get("principle") or "-")

    def verdict(self, v: dict, o: _Open, intern=None) -> None:
        self.n_verdicts += 1
        judge = v["judge"]
        self.per_judge[judge] += 1
        self.judges.add(judge)
        item_id = o.fields.item_id
        current = o.answers.get(judge) or (None,) * len(self.criteria.get(item_id, ()))
        i = self.position.get(item_id, {}).get(v["criterion_id"])
        if i is not None:
            current = current[:i] + (v["answer"],) + current[i + 1:]
        o.answers[judge] = intern(current) if intern else current
        a = v["appropriate"]
        self.by_criterion[(judge, v["criterion_id"])][2 if a is None else 0 if a else 1] += 1
        if v["answer"] == "uncertain":
            self.uncertain[(judge, v["criterion_id"])] += 1
        if v.get("decided_by"):
            _count_cascade(self.cascade.setdefault(judge, {}), v)
        reps = v.get("repeats")
        if reps:
            st = self.stability[(judge, v["criterion_id"])]
            st[0] += 1
            st[1] += len(set(reps)) > 1
            st[2] += _pairwise_agreement(reps)
        if v["answer"] == "refused" and v["model"] not in o.refused:
            o.refused += (v["model"],)
        for f in v.get("flags") or []:
            self.flags[f] += 1
        u = v.get("usage") or {}
        sums = self.usage_by.setdefault(judge, {}).setdefault(str(u.get("judge_model") or judge), {}) if u else None
        for k, val in u.items():
            if isinstance(val, (int, float)) and not isinstance(val, bool):
                self.usage[k] += val
                if k in _USAGE_SUMS:
                    sums[k] = sums.get(k, 0) + val

    def response(self, o: _Open) -> None:
        """Score a response for every judge that answered it and count it in that judge's groups."""
        self.n_responses += 1
        for model in o.refused:
            self.refused[model] += 1
        r = o.fields
        for judge, got in o.answers.items():
            sc = self._score(r.item_id, got)
            sec = self.sections.get(judge) or self.sections.setdefault(judge, _section())
            col = 2 if sc.appropriate is None else 0 if sc.appropriate else 1
            sec["overall"][col] += 1
            for g in GROUPS:
                sec[f"by_{g}"].setdefault(getattr(r, g), [0, 0, 0])[col] += 1
            sec["by_model_condition"].setdefault(r.model, {}).setdefault(r.condition, [0, 0, 0])[col] += 1
            if sc.healthbench is None:
                sec["points"]["no_positive"] += 1
            else:
                key = repr(float(sc.healthbench))
                sec["points"]["overall"][key] = sec["points"]["overall"].get(key, 0) + 1
                by_model = sec["points"]["by_model"].setdefault(r.model, {})
                by_model[key] = by_model.get(key, 0) + 1

    def _score(self, item_id: str, got: tuple):
        try:
            score = self.scores.get((item_id, got))
        except TypeError:  # unhashable: score it without the memo
            score = None
        if score is None:
            cs = self.criteria.get(item_id, [])
            score = score_item(cs, {c["id"]: a for c, a in zip(cs, got) if a is not None})
            if len(self.scores) >= _MAX_SCORES:
                self.scores.clear()
            try:
                self.scores[(item_id, got)] = score
            except TypeError:
                pass
        return score

    def partial(self, problems: list[dict] | None) -> dict:
        out: dict = {"partial_version": PARTIAL_VERSION, "rubric_id": self.rubric_id,
                     "responses": self.n_responses, "verdicts": self.n_verdicts, "judges": sorted(self.judges),
                     "by_judge": {}, "verdicts_by_judge": dict(self.per_judge), "usage_by_judge": self.usage_by,
                     "flags": dict(self.flags), "usage": dict(self.usage), "cascade": self.cascade,
                     # refusals by the model under test: outside the rates, counted per model
                     "refused": dict(self.refused),
                     "problems": None if problems is None else {"count": len(problems),
                                                                "first": list(problems[:MAX_PROBLEMS_SHOWN])}}
        for judge in sorted(self.judges):
            sec = self.sections.get(judge) or _section()
            for (j, cid), c in self.by_criterion.items():
                if j == judge:
                    sec["by_criterion"][cid] = list(c)
            sec["uncertain"] = {cid: n for (j, cid), n in self.uncertain.items() if j == judge}
            repeated = {cid: list(st) for (j, cid), st in self.stability.items() if j == judge}
            if repeated:
                sec["stability"] = repeated
            out["by_judge"][judge] = sec
        return out


def _section() -> dict:
    return {"overall": [0, 0, 0], **{f"by_{g}": {} for g in GROUPS}, "by_model_condition": {},
            "by_criterion": {}, "points": {"overall": {}, "by_model": {}, "no_positive": 0}}


def _count_cascade(into: dict, v: dict) -> None:
    """Cascade counts of one verdict: who decided, why the LLM was asked, and whether an
    audited confident reading agreed with the LLM's answer."""
    decided = into.setdefault("decided_by", {})
    decided[v["decided_by"]] = decided.get(v["decided_by"], 0) + 1
    into["verdicts"] = into.get("verdicts", 0) + 1
    routed = v.get("routed")
    if routed:
        by = into.setdefault("routed", {})
        by[routed] = by.get(routed, 0) + 1
    if routed == "audit" and v["answer"] in ("yes", "no"):
        into["audited"] = into.get("audited", 0) + 1
        into["audit_agreed"] = into.get("audit_agreed", 0) + (v.get("rules_answer") == v["answer"])


def _pairwise_agreement(answers: list[str]) -> float:
    """Share of pairs of repeated answers that agree (1.0 when all are the same)."""
    n = len(answers)
    if n < 2:
        return 1.0
    same = sum(answers.count(a) * (answers.count(a) - 1) for a in set(answers)) / 2
    return same / (n * (n - 1) / 2)


def _add(into, other):
    """Add nested counters: lists of counts element-wise, dicts key by key."""
    if isinstance(other, list):
        return [a + b for a, b in zip(into, other)] if into is not None else list(other)
    if isinstance(other, dict):
        into = dict(into or {})
        for k, v in other.items():
            into[k] = _add(into.get(k), v)
        return into
    return (into or 0) + other


def merge(partials: Iterable[dict]) -> dict:
    """One partial of several (shards in order); exact: every field is a count or a sum."""
    out: dict | None = None
    for p in partials:
        if p.get("partial_version") != PARTIAL_VERSION:
            raise ValueError(f"partial summary version {p.get('partial_version')!r} (expected {PARTIAL_VERSION})")
        if out is None:
            out = {k: v for k, v in p.items()}
            out["judges"] = list(p["judges"])
            continue
        if p.get("rubric_id") != out.get("rubric_id"):
            raise ValueError(f"partials of different rubrics ({out.get('rubric_id')!r}, {p.get('rubric_id')!r})")
        out["responses"] += p["responses"]
        out["verdicts"] += p["verdicts"]
        out["judges"] = sorted(set(out["judges"]) | set(p["judges"]))
        out["by_judge"] = _add(out["by_judge"], p["by_judge"])
        out["flags"] = _add(out["flags"], p["flags"])
        out["usage"] = _add(out["usage"], p["usage"])
        out["verdicts_by_judge"] = _add(out.get("verdicts_by_judge") or {}, p.get("verdicts_by_judge") or {})
        out["usage_by_judge"] = _add(out.get("usage_by_judge") or {}, p.get("usage_by_judge") or {})
        out["refused"] = _add(out.get("refused") or {}, p.get("refused") or {})
        out["cascade"] = _add(out.get("cascade") or {}, p.get("cascade") or {})
        if p.get("problems") is not None:
            mine = out.get("problems") or {"count": 0, "first": []}
            out["problems"] = {"count": mine["count"] + p["problems"]["count"],
                               "first": (mine["first"] + p["problems"]["first"])[:MAX_PROBLEMS_SHOWN]}
    if out is None:
        raise ValueError("nothing to merge")
    return out


def finalize(part: dict, seed: int = 0, n_resamples: int = 1000) -> dict:
    """The summary (summary.json) from merged counts: estimates and bootstrap 95% CIs."""
    def rate(c: list[int]) -> dict:
        return counts_summary(c[0], c[1], c[2], n_resamples, seed)

    out: dict = {"rubric_id": part.get("rubric_id"), "responses": part["responses"], "verdicts": part["verdicts"],
                 "judges": sorted(part["judges"]),
                 "verdicts_by_judge": dict(sorted((part.get("verdicts_by_judge") or {}).items())),
                 "bootstrap": {"n_resamples": n_resamples, "seed": seed, "level": 0.95,
                               "method": "count-based percentile bootstrap"},
                 "by_judge": {}}
    for judge in sorted(part["by_judge"]):
        sec = part["by_judge"][judge]
        section: dict = {"overall": rate(sec["overall"]),
                         # responses with at least one inappropriate answer, and those answers
                         "responses_inappropriate": sec["overall"][1],
                         "criteria_failed": sum(c[1] for c in sec["by_criterion"].values())}
        for g in GROUPS:
            section[f"by_{g}"] = {k: rate(v) for k, v in sorted(sec[f"by_{g}"].items())}
        section["by_model_condition"] = {m: {c: rate(v) for c, v in sorted(cs.items())}
                                         for m, cs in sorted(sec["by_model_condition"].items())}
        section["by_criterion"] = {cid: rate(v) for cid, v in sorted(sec["by_criterion"].items())}
        pts = sec["points"]
        section["points"] = {"overall": _clipped(pts["overall"], n_resamples, seed),
                             "by_model": {m: _clipped(h, n_resamples, seed) for m, h in sorted(pts["by_model"].items())},
                             "responses_without_positive_points": pts["no_positive"]}
        if sec.get("stability"):
            section["stability"] = _stability(sec["stability"])
        unsure = sec.get("uncertain") or {}
        section["uncertain"] = {"verdicts": sum(unsure.values()), "by_criterion": dict(sorted(unsure.items()))}
        out["by_judge"][judge] = section
    out["flags"] = dict(sorted(part.get("flags", {}).items()))
    refused = part.get("refused") or {}
    out["refusals"] = {"responses": sum(refused.values()), "by_model": dict(sorted(refused.items()))}
    if part.get("usage"):
        out["usage"] = dict(sorted(part["usage"].items()))
    if part.get("usage_by_judge"):
        out["usage_by_judge"] = {j: {m: {k: round(v, 9) for k, v in sorted(sums.items())}
                                     for m, sums in sorted(models.items())}
                                 for j, models in sorted(part["usage_by_judge"].items())}
    if part.get("cascade"):
        out["cascade"] = {j: _cascade(c, (part.get("usage_by_judge") or {}).get(j) or {})
                          for j, c in sorted(part["cascade"].items())}
    if part.get("problems") is not None:
        out["skipped_input"] = part["problems"]
    return out


def _cascade(c: dict, usage: dict[str, dict[str, float]]) -> dict:
    """The cascade's routing and what it saved against asking the LLM judge about every verdict
    (that run's cost estimated from the routed verdicts' mean usage, per judge model)."""
    total = c.get("verdicts", 0)
    routed = sum((c.get("routed") or {}).values())
    out: dict = {"verdicts": total, "decided_by": dict(sorted((c.get("decided_by") or {}).items())),
                 "routed": dict(sorted((c.get("routed") or {}).items())), "routed_total": routed,
                 "share_routed": routed / total if total else None,
                 "llm_calls_saved": total - routed}
    if c.get("audited"):
        out["audit"] = {"n": c["audited"], "agreed": c.get("audit_agreed", 0),
                        "agreement": c.get("audit_agreed", 0) / c["audited"]}
    spent: dict[str, float] = {}
    for sums in usage.values():
        for k in ("prompt_tokens", "completion_tokens", "total_tokens", "cost_usd"):
            if k in sums:
                spent[k] = spent.get(k, 0.0) + sums[k]
    if routed and spent:
        llm_only = {k: v / routed * total for k, v in spent.items()}
        out["llm_usage"] = {k: round(v, 9) for k, v in sorted(spent.items())}
        out["llm_only_estimate"] = {k: round(v, 9) for k, v in sorted(llm_only.items())}
        out["saved"] = {k: round(llm_only[k] - spent[k], 9) for k in sorted(spent)}
    return out


def _stability(counts: dict[str, list]) -> dict:
    """Repeated judging: per criterion (and overall) the verdicts judged repeatedly, how many were
    unstable (not all answers equal) and the mean pairwise agreement between repeats."""
    def one(n: int, unstable: int, agree: float) -> dict:
        return {"n": n, "unstable": unstable, "share_unstable": unstable / n if n else None,
                "agreement": agree / n if n else None}
    total = [sum(c[i] for c in counts.values()) for i in range(3)]
    return {"overall": one(*total), "by_criterion": {cid: one(*c) for cid, c in sorted(counts.items())}}


def _clipped(histogram: dict[str, int], n_resamples: int, seed: int) -> dict:
    """HealthBench's score (the mean clipped to [0, 1]) and, beside it, what clipping hides:
    the unclipped mean and the share of responses scoring below 0 (net negative points)."""
    values = {float(k): v for k, v in histogram.items()}
    est, low, high = mean_ci_from_histogram(values, n_resamples, seed)
    clip = (lambda x: None if nan_to_none(x) is None else min(1.0, max(0.0, x)))
    n = sum(histogram.values())
    below = sum(c for x, c in values.items() if x < 0)
    return {"n": n, "score": clip(est), "ci_low": clip(low), "ci_high": clip(high),
            "mean_unclipped": nan_to_none(est), "below_zero": below, "share_below_zero": below / n if n else None}
