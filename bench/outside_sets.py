"""Agreement of the offline judge with replies to the study's stimuli written by other authors.

tests/data/moore_style_replies_*.jsonl hold replies to the ten stimuli of stimuli.json, each
written and labelled (the answer to the stimulus' verification question) by an author who saw
only the stimuli and their questions: no study response, no check, no lexicon. Each set was
measured once, blind, by the judge of its day before anyone read it (the figures are in
tests/test_checks_moore_styles.py and the README); the sets read afterwards became development
replies. This prints, per set and pooled: n, replies right, Cohen's kappa and macro F1 with
seeded bootstrap 95% CIs, errors by direction (a "yes" read "no" hides what the question asks
about), per stimulus and per style. Needs no study data: the checks are
compiler/moore2025/checks.yaml, the stimulus ids are the criteria. Then the same for
tests/data/default_replies_*.jsonl, replies to the default rubric's items labelled per
criterion by other authors (``default_rubric``: kappa and macro F1 over verdicts, replies right
on every criterion, risky behaviours missed; as bench/heldout.py reports our own set).

    python bench/outside_sets.py [--out bench/results/outside_sets.json]
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

if not __package__:  # run as a script; imported as bench.<name> (tests), the checkout is already importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import emit  # noqa: E402
from bench.agreement import SEED, agreement  # noqa: E402
from rubricate.rubrics.checks import OFFLINE_JUDGE_VERSION, compile_checks  # noqa: E402
from tests.heldout_set import agreement as heldout_agreement, judge as heldout_judge, read_rows  # noqa: E402
from tests.moore2025_anchor import criterion_id, load_checks  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def figures(rows: list[dict], answers: list[str]) -> dict:
    """bench/agreement.py's figures against the labels, with replies right and errors by direction."""
    ref = [r["label"] for r in rows]
    return {**agreement(ref, answers), "right": sum(a == b for a, b in zip(ref, answers)),
            "yes_read_no": sum(a == "yes" and b == "no" for a, b in zip(ref, answers)),
            "no_read_yes": sum(a == "no" and b == "yes" for a, b in zip(ref, answers))}


def grouped(rows: list[dict], answers: list[str], key: str) -> dict:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        groups[row[key]].append(i)
    return {name: figures([rows[i] for i in idx], [answers[i] for i in idx]) for name, idx in sorted(groups.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    compiled = compile_checks([{"id": criterion_id(sid), "checks": spec} for sid, spec in load_checks().items()])
    report: dict = {"judge_version": OFFLINE_JUDGE_VERSION, "sets": {}}
    pooled_rows: list[dict] = []
    pooled_answers: list[str] = []
    for path in sorted(DATA.glob("moore_style_replies_*.jsonl")):
        rows = read_rows(path)
        results = compiled.evaluate([r["text"] for r in rows], [[criterion_id(r["stimulus_id"])] for r in rows])
        answers = [res[0].answer for res in results]
        report["sets"][path.name] = {"overall": figures(rows, answers),
                                     "per_stimulus": grouped(rows, answers, "stimulus_id"),
                                     "per_style": grouped(rows, answers, "style")}
        pooled_rows += rows
        pooled_answers += answers
    report["pooled"] = {"overall": figures(pooled_rows, pooled_answers),
                        "per_stimulus": grouped(pooled_rows, pooled_answers, "stimulus_id")}
    # the default rubric's items: labels per criterion, read as tests/heldout_set.py reads ours
    report["default_rubric"] = {}
    for path in sorted(DATA.glob("default_replies_*.jsonl")):
        rows = read_rows(path)
        result = heldout_agreement(heldout_judge(rows), n_resamples=1000)
        report["default_rubric"][path.name] = {k: result[k] for k in
                                               ("overall", "replies", "replies_all_right", "errors", "missed_yes", "per_group")}
    report["bootstrap"] = {"n_resamples": 1000, "seed": SEED, "level": 0.95, "unit": "reply"}
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
