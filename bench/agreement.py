"""Agreement of the offline judge (and of the cascade) with the Moore et al. (2025) judge.

Builds the 10 verification-question criteria from the study's stimuli.json and our
compiler/moore2025/checks.yaml and answers them for every response of responses_dev.jsonl
with the offline judge. Figures come split by the models whose responses the rules were
written against (dev) and those kept unseen (tests/moore2025_anchor.py: HELD_OUT_MODELS),
the UNSEEN split FIRST: it is the honest one. For each split, overall and per stimulus:
accuracy, macro F1 and Cohen's kappa with seeded bootstrap 95% CIs, for

- ``rules``: the offline judge's reading (yes / no; forced, never abstaining);
- ``rules_abstaining``: the judge as it answers, ``uncertain`` below each criterion's
  ``uncertain_below`` (coverage, and agreement where it decided);
- ``cascade``: uncertain verdicts answered by the study's recorded judge answer (what
  ``--judge cascade`` does when its LLM judge is the study's judge replayed, as
  tests/test_cascade.py runs it through a local server), with the share routed.

Then the dev split model by model (``dev_per_model``: the leave-one-model-out view; a kappa that
drops on one dev model only shows a rule leaning on that model's phrasing). Then the project's goals (the rules judge alone: macro F1 >= 0.93 and per-stimulus kappa >=
0.75 on the unseen split; the cascade: macro F1 >= 0.97 routing <= 30%) and whether they are met,
and throughput against a bare nlp.pipe pass. Rows without a study answer are left out of
agreement. Prints JSON (and writes it with --out); exits 0, printing "skipped" when the
reference data is absent.

    .venv/bin/python bench/agreement.py [--anchor ../shared/anchor] [--repeat 3] [--out bench/results/agreement.json]
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

if not __package__:  # run as a script; imported as bench.<name> (tests), the checkout is already importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import anchor_or_skip, emit, machine  # noqa: E402
from rubricate.guidelines.kernel.agreement import (agreement_summary, cohen_kappa_ci,  # noqa: E402
                                                   macro_f1_ci)
from rubricate.guidelines.kernel.nlp import get_nlp  # noqa: E402
from rubricate.rubrics.checks import OFFLINE_JUDGE_VERSION, compile_checks  # noqa: E402
from tests.moore2025_anchor import (CHECKS_PATH, HELD_OUT_MODELS, build_criteria,  # noqa: E402
                                    criterion_id, load_checks, load_responses, load_stimuli)

# The project's goals on the unseen split (issue 17): the rules judge alone, and the cascade.
GOAL_MACRO_F1 = 0.93
GOAL_KAPPA = 0.75
GOAL_CASCADE_MACRO_F1 = 0.97
GOAL_CASCADE_MAX_ROUTED = 0.30
SEED = 0


def agreement(ref: list[str], pred: list[str], confusion: bool = False) -> dict:
    """n, accuracy, macro F1 and kappa, each statistic with its bootstrap 95% CI."""
    s = agreement_summary(ref, pred)
    f1 = macro_f1_ci(ref, pred, seed=SEED)
    kappa = cohen_kappa_ci(ref, pred, seed=SEED)
    out = {"n": s["n"], "accuracy": s["accuracy"],
           "macro_f1": f1["macro_f1"], "macro_f1_ci": [f1["ci_low"], f1["ci_high"]],
           "kappa": kappa["kappa"], "kappa_ci": [kappa["ci_low"], kappa["ci_high"]]}
    if confusion:
        out["confusion"] = s["confusion"]
    return out


def _by_stimulus(rows: list[dict], answers: list[str]) -> dict:
    groups: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for row, answer in zip(rows, answers):
        groups[row["stimulus_id"]][0].append(row["gpt4o_answer"])
        groups[row["stimulus_id"]][1].append(answer)
    return {sid: agreement(*groups[sid], confusion=True) for sid in sorted(groups)}


def split_report(scored: list[tuple[dict, object]]) -> dict:
    """The three judges' agreement on one split (rows with a study answer)."""
    rows = [r for r, _ in scored]
    ref = [r["gpt4o_answer"] for r in rows]
    reading = [res.answer for _, res in scored]
    decision = [res.decision for _, res in scored]
    cascade = [r["gpt4o_answer"] if res.decision == "uncertain" else res.decision for r, res in scored]
    routed = sum(d == "uncertain" for d in decision)
    decided = [(r, d) for r, d in zip(ref, decision) if d != "uncertain"]
    return {
        "responses": len(rows),
        "rules": {"overall": agreement(ref, reading, confusion=True), "per_stimulus": _by_stimulus(rows, reading)},
        "rules_abstaining": {
            "uncertain": routed, "coverage": (len(rows) - routed) / len(rows) if rows else None,
            "overall": agreement(ref, decision),
            "where_decided": agreement([r for r, _ in decided], [d for _, d in decided]),
            "uncertain_per_stimulus": {sid: sum(1 for r, res in scored if r["stimulus_id"] == sid
                                                and res.decision == "uncertain")
                                       for sid in sorted({r["stimulus_id"] for r in rows})}},
        "cascade": {"share_routed": routed / len(rows) if rows else None, "routed": routed,
                    "overall": agreement(ref, cascade), "per_stimulus": _by_stimulus(rows, cascade)},
    }


def per_model(scored: list[tuple[dict, object]]) -> dict:
    """The rules' agreement model by model (macro F1 overall, kappa per stimulus).

    On the dev split this is the leave-one-model-out view the rules allow: they cannot be
    re-written per fold, but a stimulus whose kappa drops on one model and not on the others
    points at a rule that leans on that model's phrasing. The spread (lowest model) is a
    closer estimate of agreement on an unseen model than the pooled dev figure."""
    models: dict[str, list] = defaultdict(list)
    for row, res in scored:
        models[row["model"]].append((row, res))
    out = {}
    for model, pairs in sorted(models.items()):
        rows = [r for r, _ in pairs]
        reading = [res.answer for _, res in pairs]
        ref = [r["gpt4o_answer"] for r in rows]
        out[model] = {"n": len(rows), "macro_f1": macro_f1_ci(ref, reading, seed=SEED)["macro_f1"],
                      "errors": sum(a != b for a, b in zip(ref, reading)),
                      "kappa_per_stimulus": {sid: s["kappa"] for sid, s in _by_stimulus(rows, reading).items()}}
    f1s = [m["macro_f1"] for m in out.values()]
    return {"models": out, "macro_f1_min": min(f1s, default=None), "macro_f1_max": max(f1s, default=None)}


def goals(unseen: dict) -> dict:
    """Whether the unseen split meets the project's goals (a stimulus whose kappa is undefined,
    every answer the same on both sides, counts as met when the judge agrees on all of it)."""
    def kappas(per: dict) -> dict:
        return {sid: s["kappa"] for sid, s in per.items()}

    def ok(per: dict, bar: float) -> bool:
        return all((s["kappa"] is not None and s["kappa"] >= bar) or (s["kappa"] is None and s["accuracy"] == 1.0)
                   for s in per.values())

    rules, cascade = unseen["rules"], unseen["cascade"]
    low = {sid: k for sid, k in kappas(rules["per_stimulus"]).items() if k is not None and k < GOAL_KAPPA}
    return {
        "rules": {"macro_f1": rules["overall"]["macro_f1"], "macro_f1_goal": GOAL_MACRO_F1,
                  "min_kappa_per_stimulus": min((k for k in kappas(rules["per_stimulus"]).values() if k is not None),
                                                default=None),
                  "kappa_goal": GOAL_KAPPA, "stimuli_below_kappa_goal": low,
                  "met": rules["overall"]["macro_f1"] >= GOAL_MACRO_F1 and ok(rules["per_stimulus"], GOAL_KAPPA)},
        "cascade": {"macro_f1": cascade["overall"]["macro_f1"], "macro_f1_goal": GOAL_CASCADE_MACRO_F1,
                    "share_routed": cascade["share_routed"], "max_share_routed": GOAL_CASCADE_MAX_ROUTED,
                    "min_kappa_per_stimulus": min((k for k in kappas(cascade["per_stimulus"]).values()
                                                   if k is not None), default=None),
                    "met": cascade["overall"]["macro_f1"] >= GOAL_CASCADE_MACRO_F1
                    and cascade["share_routed"] <= GOAL_CASCADE_MAX_ROUTED},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anchor", type=Path, default=None,
                        help="folder with stimuli.json and responses_dev.jsonl (default ../shared/anchor)")
    parser.add_argument("--checks", type=Path, default=CHECKS_PATH)
    parser.add_argument("--repeat", type=int, default=3, help="timing repetitions (best is kept)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    anchor = anchor_or_skip(args.anchor)
    if anchor is None:
        return 0

    nlp = get_nlp()
    t0 = time.perf_counter()
    criteria = build_criteria(load_stimuli(anchor), load_checks(args.checks))
    compiled = compile_checks(criteria, nlp)
    compile_s = time.perf_counter() - t0
    rows = load_responses(anchor)
    texts = [r.get("response") for r in rows]
    ids = [[criterion_id(r["stimulus_id"])] for r in rows]

    bare, engine, bare_cpu, engine_cpu, results = [], [], [], [], None
    for _ in range(max(1, args.repeat)):
        t0, c0 = time.perf_counter(), time.process_time()
        list(nlp.pipe([t or "" for t in texts], batch_size=256))
        bare.append(time.perf_counter() - t0)
        bare_cpu.append(time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        results = compiled.evaluate(texts, ids, batch_size=256)
        engine.append(time.perf_counter() - t0)
        engine_cpu.append(time.process_time() - c0)

    scored = [(r, res[0]) for r, res in zip(rows, results) if r.get("gpt4o_answer") is not None]
    unseen = split_report([(r, x) for r, x in scored if r["model"] in HELD_OUT_MODELS])
    report = {
        "judge_version": OFFLINE_JUDGE_VERSION,
        "responses": len(rows),
        "scored": len(scored),
        "split": {"unseen_models": list(HELD_OUT_MODELS),
                  "note": "the checks, lexicons and uncertain_below thresholds were written looking at the "
                          "responses of the other (dev) models only; the unseen models' figures come first"},
        "unseen": unseen,
        "goals_on_unseen": goals(unseen),
        "dev": split_report([(r, x) for r, x in scored if r["model"] not in HELD_OUT_MODELS]),
        "dev_per_model": per_model([(r, x) for r, x in scored if r["model"] not in HELD_OUT_MODELS]),
        "all": split_report(scored),
        "bootstrap": {"n_resamples": 1000, "seed": SEED, "level": 0.95, "unit": "response"},
        "throughput": {
            "compile_s": compile_s,
            "responses_per_s": len(rows) / min(engine),
            "bare_nlp_pipe_responses_per_s": len(rows) / min(bare),
            "slowdown_vs_bare_pipe": min(engine) / min(bare),
            "responses_per_cpu_s": len(rows) / min(engine_cpu),
            "bare_nlp_pipe_responses_per_cpu_s": len(rows) / min(bare_cpu),
            "cpu_slowdown_vs_bare_pipe": min(engine_cpu) / min(bare_cpu),
            "note": "best of --repeat runs over all rows (null responses count, answered 'unknown'); "
                    "CPU figures are this process's CPU time, robust to other load on the machine",
        },
        "machine": machine(),
    }
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
