"""How far a run's judge agrees with a reference column of the responses (e.g. the study's judge)."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.agreement import agreement_summary
from rubricate.rubrics.evaluation.results import ResultsDir, iter_jsonl


def reference_label(value) -> str | None:
    """A reference column's value as yes/no (the study's judge wrote letters too); None otherwise."""
    if value is None:
        return None
    v = str(value).strip().lower()
    if v in ("yes", "y", "true", "a", "(a)"):
        return "yes"
    if v in ("no", "n", "false", "b", "(b)"):
        return "no"
    return None


def judge_agreement(results_dir: Path, reference: str, judge: str | None = None) -> dict:
    """Agreement per item (stimulus) and overall, over verdicts whose reference is yes/no."""
    results = ResultsDir(Path(results_dir))
    ref: dict[str, list] = defaultdict(list)
    pred: dict[str, list] = defaultdict(list)
    judges, seen_column = set(), False
    for v in iter_jsonl(results.verdicts):
        judges.add(v["judge"])
        if judge and v["judge"] != judge:
            continue
        meta = v.get("metadata") or {}
        seen_column |= reference in meta
        label = reference_label(meta.get(reference))
        for key in (v["item_id"], "overall"):
            ref[key].append(label)
            pred[key].append(v["answer"])
    if not judges:
        raise RubricateError("no verdicts in this results folder", path=str(results.verdicts))
    if not seen_column:
        raise RubricateError(f"no response carries the reference column {reference!r}", path=str(results.verdicts))
    if judge is None and len(judges) > 1:
        raise RubricateError(f"several judges in this run ({', '.join(sorted(judges))}); choose one with --judge")
    out = {k: _with_abstentions(ref[k], pred[k]) for k in sorted(ref) if k != "overall"}
    return {"reference": reference, "judge": judge or next(iter(judges)), "by_item": out,
            "overall": _with_abstentions(ref["overall"], pred["overall"])}


def _with_abstentions(ref: list, pred: list) -> dict:
    """Agreement counting an ``uncertain`` answer as a disagreement, plus, when the judge
    abstained, its agreement where it decided and the share it decided (coverage)."""
    out = agreement_summary(ref, pred)
    scored = [(r, p) for r, p in zip(ref, pred) if r is not None]
    abstained = sum(p == "uncertain" for _, p in scored)
    if abstained:
        kept = [(r, p) for r, p in scored if p != "uncertain"]
        out["uncertain"] = abstained
        out["coverage"] = len(kept) / len(scored)
        out["where_decided"] = {k: v for k, v in agreement_summary([r for r, _ in kept], [p for _, p in kept]).items()
                                if k in ("n", "accuracy", "kappa", "macro_f1")}
    return out


def render(summary: dict) -> str:
    def fmt(x) -> str:
        return "  n/a" if x is None else f"{x:5.3f}"
    lines = [f"judge {summary['judge']} vs reference column {summary['reference']}", "",
             f"{'item':40} {'n':>5} {'acc':>6} {'kappa':>6} {'macroF1':>7}  confusion (ref -> judge "
             "yes/no/unknown/uncertain)"]
    rows = list(summary["by_item"].items()) + [("OVERALL", summary["overall"])]
    for key, s in rows:
        cm = s["confusion"]
        conf = "  ".join(f"{r}:{'/'.join(str(cm[r].get(p, 0)) for p in ('yes', 'no', 'unknown', 'uncertain'))}"
                         for r in cm if r in ("yes", "no"))
        lines.append(f"{key:40} {s['n']:>5} {fmt(s['accuracy']):>6} {fmt(s['kappa']):>6} {fmt(s['macro_f1']):>7}  {conf}")
    overall = summary["overall"]
    if overall.get("uncertain"):
        d = overall["where_decided"]
        lines += ["", f"uncertain (counted as disagreements above): {overall['uncertain']}; where the judge decided "
                      f"({overall['coverage']:.1%} of verdicts): acc {fmt(d['accuracy'])}, kappa {fmt(d['kappa'])}, "
                      f"macro F1 {fmt(d['macro_f1'])}"]
    return "\n".join(lines) + "\n"
