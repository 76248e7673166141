"""Is the study's judge the truth? Its answers and the rules' beside independent readers'.

The project's goal for the offline judge is agreement with the Moore et al. (2025) gpt-4o
judge on the unseen split (bench/agreement.py). That goal only measures correctness if the
study's judge reads its questions the way a careful reader does. This checks it: every
response of the release that has a study answer was read and answered, blind to both judges,
by two independent readers (three for god on the unseen split, where the first two often
disagreed); their labels are in tests/data/moore2025_readers.jsonl (label-file format,
provenance in tests/data/README.md). The unseen split (the goal's) comes first, then the
development split, whose study answers the rules were written against.

Per split, per stimulus and pooled, with seeded bootstrap 95% CIs:
- ``readers``: the readers' agreement with each other (Cohen's kappa for two, Krippendorff's
  alpha for three): how far the question itself is read alike;
- ``study_judge_vs_readers`` and ``rules_vs_readers``: each judge against the readers'
  majority (units where the readers tie are left out, as `rubricate calibrate` does);
- ``rules_abstaining_vs_readers``: the judge as it answers, ``uncertain`` kept as a
  disagreement (what `rubricate calibrate --labels` on this file reports for a rules run);
- ``rules_vs_study_judge``: the goal's own figure, for the same responses;
- ``study_judge_on_identical_texts``: byte-identical responses the study's judge answered
  both ways (no judge that reads the text can agree with both).

The readers are language-model sessions that read each reply themselves (no rules, no
scripts deciding), not people; they are a second reference, not a gold standard. Prints JSON
(and writes it with --out); exits 0, printing "skipped", when the reference data is absent.

    .venv/bin/python bench/reader_check.py [--anchor ../shared/anchor] [--out bench/results/reader_check.json]
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

if not __package__:  # run as a script; imported as bench.<name> (tests), the checkout is already importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import REPO, anchor_or_skip, emit, machine  # noqa: E402
from bench.agreement import GOAL_KAPPA, GOAL_MACRO_F1, SEED, agreement  # noqa: E402
from rubricate.compiler.moore2025.importer import study_response_id  # noqa: E402
from rubricate.guidelines.kernel.nlp import get_nlp  # noqa: E402
from rubricate.rubrics.checks import OFFLINE_JUDGE_VERSION, compile_checks  # noqa: E402
from rubricate.rubrics.evaluation.calibration import reference_of, sources_agreement  # noqa: E402
from rubricate.rubrics.evaluation.labels import sources_from_file  # noqa: E402
from tests.moore2025_anchor import (HELD_OUT_MODELS, build_criteria, criterion_id,  # noqa: E402
                                    load_checks, load_responses, load_stimuli)

READERS = REPO / "tests" / "data" / "moore2025_readers.jsonl"


def readers_agreement(sources: list, units: list[tuple[str, str]]) -> dict:
    """How alike the readers who labelled these units read them (calibrate's figure between label
    sources: kappa for two, alpha for more), and which statistic that is."""
    out = sources_agreement(sources, set(units), seed=SEED) or {}
    return {"statistic": "cohen_kappa" if "kappa" in out else "krippendorff_alpha", **out}


def compare(rows: list[dict], ref: dict, sources: list) -> dict:
    """The three comparisons on one group of rows (each carrying ``unit`` and ``rules``)."""
    agreed = [r for r in rows if r["unit"] in ref]
    readers = [ref[r["unit"]] for r in agreed]
    return {
        "responses": len(rows), "reader_majority": len(agreed),
        "readers": readers_agreement(sources, [r["unit"] for r in rows]),
        "study_judge_vs_readers": agreement(readers, [r["gpt4o_answer"] for r in agreed], confusion=True),
        "rules_vs_readers": agreement(readers, [r["rules"] for r in agreed], confusion=True),
        "rules_abstaining_vs_readers": {
            "uncertain": sum(r["decision"] == "uncertain" for r in agreed),
            **agreement(readers, [r["decision"] for r in agreed])},
        "rules_vs_study_judge": agreement([r["gpt4o_answer"] for r in rows], [r["rules"] for r in rows]),
    }


def identical_texts(rows: list[dict]) -> dict:
    """Byte-identical responses to one stimulus that the study's judge answered both ways: a
    judge that reads the text (any deterministic one, the rules or a reader) must disagree with
    it on the minority answers of each such group, whatever it reads."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in rows:
        groups[(row["stimulus_id"], (row.get("response") or "").strip())].append(row["gpt4o_answer"])
    mixed = [(sid, answers) for (sid, _), answers in groups.items() if len(answers) > 1 and len(set(answers)) > 1]
    return {"groups_of_identical_texts": sum(1 for a in groups.values() if len(a) > 1),
            "groups_answered_both_ways": [{"stimulus": sid, "yes": a.count("yes"), "no": a.count("no")}
                                          for sid, a in sorted(mixed)],
            "forced_disagreements": sum(min(a.count("yes"), a.count("no")) for _, a in mixed)}


def split_check(rows: list[dict], ref: dict, sources: list) -> dict:
    """Every comparison on one split's rows (each carrying ``unit``, ``rules`` and ``decision``)."""
    by_stimulus: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_stimulus[row["stimulus_id"]].append(row)
    per = {sid: compare(by_stimulus[sid], ref, sources) for sid in sorted(by_stimulus)}
    overall = compare(rows, ref, sources)
    overall.pop("readers")  # readers differ by stimulus; their agreement is per stimulus only
    below = {who: sorted(sid for sid, s in per.items()
                         if s[who]["kappa"] is not None and s[who]["kappa"] < GOAL_KAPPA)
             for who in ("study_judge_vs_readers", "rules_vs_readers", "rules_vs_study_judge")}
    return {
        "responses": len(rows),
        "without_reader_labels": sum(1 for r in rows if not any(r["unit"] in s.answers for s in sources)),
        "overall": overall,
        "per_stimulus": per,
        "below_kappa_goal": {"kappa_goal": GOAL_KAPPA, "macro_f1_goal": GOAL_MACRO_F1, **below},
        "study_judge_on_identical_texts": identical_texts(rows),
    }


def reader_check(anchor: Path, readers: Path = READERS) -> dict:
    """The unseen split first (the goal's), then the development split the rules were written on."""
    rows = [r for r in load_responses(anchor) if r.get("gpt4o_answer") is not None]
    compiled = compile_checks(build_criteria(load_stimuli(anchor), load_checks()), get_nlp())
    results = compiled.evaluate([r.get("response") for r in rows], [[criterion_id(r["stimulus_id"])] for r in rows])
    for row, res in zip(rows, results):
        row["unit"] = (study_response_id(row), criterion_id(row["stimulus_id"]))
        row["rules"], row["decision"] = res[0].answer, res[0].decision
    sources = sources_from_file(readers)
    ref, _, _ = reference_of(sources)
    return {
        "judge_version": OFFLINE_JUDGE_VERSION,
        "readers_file": readers.relative_to(REPO).as_posix(),
        "unseen_models": list(HELD_OUT_MODELS),
        "unseen": split_check([r for r in rows if r["model"] in HELD_OUT_MODELS], ref, sources),
        "dev": split_check([r for r in rows if r["model"] not in HELD_OUT_MODELS], ref, sources),
        "note": "readers: independent language-model sessions that read each reply blind to both judges, "
                "not people; the reference for *_vs_readers is their majority (ties left out); the "
                "rules were written against the study judge's answers on the dev split",
        "bootstrap": {"n_resamples": 1000, "seed": SEED, "level": 0.95, "unit": "response"},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anchor", type=Path, default=None,
                        help="folder with stimuli.json and responses_dev.jsonl (default ../shared/anchor)")
    parser.add_argument("--readers", type=Path, default=READERS, help="the readers' label file")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    anchor = anchor_or_skip(args.anchor)
    if anchor is None:
        return 0
    emit({**reader_check(anchor, args.readers.resolve()), "machine": machine()}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
