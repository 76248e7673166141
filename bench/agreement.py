"""Agreement of the offline judge with the Moore et al. (2025) judge, and its throughput.

Builds the 10 verification-question criteria from the study's stimuli.json and our
compiler/moore2025/checks.yaml, answers them for every response of
responses_dev.jsonl with the offline judge, and prints JSON: accuracy, macro F1, Cohen's
kappa and confusion matrix overall, per stimulus and per model; the same for the
development and held-out model splits; and responses/s against a bare nlp.pipe pass.
Rows without a study answer are excluded from agreement. Exits 0 (prints "skipped" when
the reference data is absent).

    .venv/bin/python bench/agreement.py [--anchor ../shared/anchor] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rubricate.guidelines.kernel.nlp import get_nlp  # noqa: E402
from rubricate.guidelines.kernel.agreement import agreement_summary  # noqa: E402
from rubricate.rubrics.checks import OFFLINE_JUDGE_VERSION, compile_checks  # noqa: E402
from tests.moore2025_anchor import (CHECKS_PATH, HELD_OUT_MODELS, anchor_dir, build_criteria,  # noqa: E402
                                    criterion_id, load_checks, load_responses, load_stimuli)

TARGET_MACRO_F1 = 0.90
TARGET_KAPPA = 0.60


def _brief(summary: dict) -> dict:
    return {k: summary[k] for k in ("n", "accuracy", "macro_f1", "kappa")}


def _round(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


def _grouped(rows: list[dict], answers: list[str], key: str, brief: bool) -> dict:
    groups: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for row, answer in zip(rows, answers):
        ref, pred = groups[row[key]]
        ref.append(row["gpt4o_answer"])
        pred.append(answer)
    out = {}
    for name in sorted(groups):
        summary = agreement_summary(*groups[name])
        out[name] = _brief(summary) if brief else summary
    return out


def _split_report(rows: list[dict], answers: list[str]) -> dict:
    ref = [r["gpt4o_answer"] for r in rows]
    return {"overall": _brief(agreement_summary(ref, answers)),
            "per_stimulus": _grouped(rows, answers, "stimulus_id", brief=True)}


def _targets(overall: dict, per_stimulus: dict) -> dict:
    kappas = {sid: s["kappa"] for sid, s in per_stimulus.items()}
    defined = [k for k in kappas.values() if k is not None]
    return {
        "macro_f1_overall": overall["macro_f1"],
        "macro_f1_target": TARGET_MACRO_F1,
        "min_kappa_per_stimulus": min(defined) if defined else None,
        "kappa_target": TARGET_KAPPA,
        "met": bool(overall["macro_f1"] is not None and overall["macro_f1"] >= TARGET_MACRO_F1
                    and all(k is not None and k >= TARGET_KAPPA for k in kappas.values())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anchor", type=Path, default=None,
                        help="folder with stimuli.json and responses_dev.jsonl (default ../shared/anchor)")
    parser.add_argument("--checks", type=Path, default=CHECKS_PATH)
    parser.add_argument("--repeat", type=int, default=3, help="timing repetitions (best is kept)")
    args = parser.parse_args(argv)
    anchor = args.anchor or anchor_dir()
    if not (anchor / "stimuli.json").is_file() or not (anchor / "responses_dev.jsonl").is_file():
        print(json.dumps({"status": "skipped", "reason": f"reference data not found in {anchor}"}))
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
    answers_all = [res[0].answer for res in results]

    scored = [(r, a) for r, a in zip(rows, answers_all) if r.get("gpt4o_answer") is not None]
    s_rows = [r for r, _ in scored]
    s_answers = [a for _, a in scored]
    overall = agreement_summary([r["gpt4o_answer"] for r in s_rows], s_answers)
    per_stimulus = _grouped(s_rows, s_answers, "stimulus_id", brief=False)
    dev = [(r, a) for r, a in scored if r["model"] not in HELD_OUT_MODELS]
    held = [(r, a) for r, a in scored if r["model"] in HELD_OUT_MODELS]
    report = {
        "judge_version": OFFLINE_JUDGE_VERSION,
        "anchor": str(anchor),
        "responses": len(rows),
        "scored": len(s_rows),
        "unknown_answers": sum(a == "unknown" for a in answers_all),
        "targets": _targets(overall, per_stimulus),
        "overall": overall,
        "per_stimulus": per_stimulus,
        "per_model": _grouped(s_rows, s_answers, "model", brief=True),
        "split": {
            "held_out_models": list(HELD_OUT_MODELS),
            "dev": _split_report([r for r, _ in dev], [a for _, a in dev]),
            "held_out": _split_report([r for r, _ in held], [a for _, a in held]),
        },
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
    }
    print(json.dumps(_round(report), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
