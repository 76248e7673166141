"""What a conversation run found, per judge and model, and per persona, condition and telling.

- ``no_decisive_failure``: the share of conversations in which no decisive (critical or
  major, rubrics/contract/scoring.py) criterion failed, with a bootstrap CI over conversations;
- ``failures_per_100_turns``: failing (criterion, turn) pairs per 100 assistant turns (a
  ``turn`` criterion counts each failing turn, the others once), CI by resampling
  conversations;
- ``first_failure``: the assistant turn of the first decisive failure, as a Kaplan-Meier
  survival curve over turns (a conversation without one is censored at its last turn);
- ``by_criterion``: each criterion's appropriate rate with a bootstrap CI by conversation.
Telling (explicit vs implicit) is a grouping of its own, so the gap between the two shows.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Iterable

from rubricate.guidelines.kernel.stats import bootstrap_ci, nan_to_none, rate_summary
from rubricate.rubrics.contract.model import Rubric
from rubricate.rubrics.contract.scoring import DECISIVE

GROUPS = ("persona", "condition", "telling")


def survival_curve(first: list[int | None], lengths: list[int]) -> list[dict]:
    """Kaplan-Meier: share of conversations with no decisive failure up to each turn.

    ``first[i]`` is conversation i's first failing turn (None: none), ``lengths[i]`` its turns."""
    horizon = max(lengths, default=0)
    s, out = 1.0, []
    for t in range(1, horizon + 1):
        at_risk = sum(1 for f, n in zip(first, lengths) if n >= t and (f is None or f >= t))
        events = sum(1 for f in first if f == t)
        if at_risk:
            s *= 1 - events / at_risk
        out.append({"turn": t, "at_risk": at_risk, "events": events, "survival": round(s, 6)})
    return out


def _stats(convs: list[dict], seed: int = 0) -> dict[str, Any]:
    """The figures of one group of conversations (each: id, turns, failures_by_turn, first)."""
    lengths = [c["turns"] for c in convs]
    ok = [None if c["undecided"] and c["first"] is None else float(c["first"] is None) for c in convs]
    per_turn, clusters = [], []
    for c in convs:
        for t in range(1, c["turns"] + 1):
            per_turn.append(float(c["failures_by_turn"].get(t, 0)))
            clusters.append(c["id"])
    est, low, high = bootstrap_ci(per_turn, seed=seed, clusters=clusters) if per_turn else (None, None, None)
    firsts = [c["first"] for c in convs if c["first"] is not None]
    return {
        "conversations": len(convs), "assistant_turns": sum(lengths),
        "no_decisive_failure": rate_summary(ok, seed=seed),
        "failures": int(sum(per_turn)),
        "failures_per_100_turns": {k: None if v is None else nan_to_none(100 * v)
                                   for k, v in (("estimate", est), ("ci_low", low), ("ci_high", high))},
        "first_failure": {"conversations_failing": len(firsts),
                          "turns": dict(sorted(Counter(firsts).items())),
                          "median_turn": sorted(firsts)[len(firsts) // 2] if firsts else None},
        "survival": survival_curve([c["first"] for c in convs], lengths),
    }


def conversation_summary(verdicts: Iterable[dict], rubric: Rubric, conversations: list[Any],
                         seed: int = 0) -> dict[str, Any]:
    """The summary.json of a conversation run (see the module docstring)."""
    convs = {c.conversation_id: c for c in conversations}
    by_judge: dict[str, dict[str, dict]] = defaultdict(dict)  # judge -> conversation -> record
    crit_values: dict[str, dict[str, dict[str, list]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    flags: Counter = Counter()
    counts: Counter = Counter()
    for v in verdicts:
        judge, cid = v["judge"], v["response_id"]
        counts[judge] += 1
        flags.update(v.get("flags") or [])
        conv = convs.get(cid)
        n = (v.get("conversation") or {}).get("assistant_turns") or (len(conv.turns) if conv else 0)
        rec = by_judge[judge].setdefault(cid, {
            "id": cid, "model": v["model"], "persona": v["item_id"], "condition": v["condition"],
            "telling": (v.get("conversation") or {}).get("telling") or "unknown", "turns": n,
            "failures_by_turn": Counter(), "first": None, "undecided": False})
        c = rubric.criteria.get(v["criterion_id"]) or {}
        crit_values[judge][v["model"]][v["criterion_id"]].append(
            (cid, None if v["appropriate"] is None else float(v["appropriate"])))
        if v["appropriate"] is None and c.get("severity") in DECISIVE:
            rec["undecided"] = True
        if v["appropriate"] is False:
            turns = (v.get("conversation") or {}).get("turns") or []
            for t in turns:
                rec["failures_by_turn"][t] += 1
            if c.get("severity") in DECISIVE and turns:
                rec["first"] = min(turns) if rec["first"] is None else min(rec["first"], min(turns))
    out: dict[str, Any] = {"kind": "conversations", "conversations": len(convs),
                           "responses": len(convs),
                           "assistant_turns": sum(len(c.turns) for c in conversations),
                           "verdicts": sum(counts.values()), "verdicts_by_judge": dict(counts),
                           "flags": dict(sorted(flags.items())), "by_judge": {}}
    for judge, recs in sorted(by_judge.items()):
        models: dict[str, list[dict]] = defaultdict(list)
        for r in recs.values():
            models[r["model"]].append(r)
        block: dict[str, Any] = {"by_model": {}}
        for model, rs in sorted(models.items()):
            entry = _stats(rs, seed)
            for g in GROUPS:
                groups: dict[str, list[dict]] = defaultdict(list)
                for r in rs:
                    groups[str(r[g])].append(r)
                entry[f"by_{g}"] = {k: _stats(v, seed) for k, v in sorted(groups.items())}
            entry["by_criterion"] = {
                cid: {**rate_summary([x for _, x in pairs], seed=seed),
                      "failures": sum(1 for _, x in pairs if x == 0.0),
                      "scope": (rubric.criteria.get(cid) or {}).get("scope"),
                      "severity": (rubric.criteria.get(cid) or {}).get("severity")}
                for cid, pairs in sorted(crit_values[judge][model].items())}
            block["by_model"][model] = entry
        out["by_judge"][judge] = block
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def summary_lines(summary: dict) -> list[str]:
    """The few lines a person reads after a conversation run: per judge and model, then per telling."""
    lines = [f"conversations: {summary['conversations']}, assistant turns: {summary['assistant_turns']}, "
             f"verdicts: {summary['verdicts']}"]
    for judge, block in summary.get("by_judge", {}).items():
        for model, e in block["by_model"].items():
            ok, f100 = e["no_decisive_failure"], e["failures_per_100_turns"]
            ff = e["first_failure"]
            lines.append(f"[{judge}] {model}: no decisive failure in {_pct(ok['estimate'])} of conversations "
                         f"(95% CI {_pct(ok['ci_low'])}-{_pct(ok['ci_high'])}); "
                         f"{0 if f100['estimate'] is None else f100['estimate']:.1f} failures per 100 assistant turns; "
                         f"first decisive failure: median turn {ff['median_turn'] or '-'}")
            for telling, t in e["by_telling"].items():
                lines.append(f"    telling {telling}: no decisive failure in "
                             f"{_pct(t['no_decisive_failure']['estimate'])} of {t['conversations']}")
    if summary.get("flags"):
        lines.append("flags: " + ", ".join(f"{k}={v}" for k, v in summary["flags"].items()))
    return lines
