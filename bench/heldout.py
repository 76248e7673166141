"""Agreement of the offline judge with our own held-out reply set (issue 17), test half first.

Replies in rubrics/samples/heldout_responses.jsonl were written by hand for the default
rubric's items and labelled per criterion by their author; ``split: test`` rows were not
looked at while the detectors were written. Prints JSON: for the test half, then the
development half, Cohen's kappa and macro F1 with percentile-bootstrap 95% CIs, overall and
per criterion, and how many replies the judge gets entirely right (the rules' reading, never
abstaining); then ``abstaining``: the judge as it answers with the rubric's ``uncertain_below``
thresholds, the share it abstains on and its agreement where it decides.

``--choose-thresholds`` derives each criterion's ``uncertain_below`` from the DEVELOPMENT half
only, by the rule of rubrics/checks/thresholds.py (target precision 0.95 of the verdicts kept,
a floor of 0.5 for the "no" of a risky criterion, at most 25% of a criterion's verdicts
abstained), prints them, and with ``--write`` writes them into compiler/data/default_items.yaml
(then run ``rubricate compile --out rubrics``).

    python bench/heldout.py [--split test|dev|all] [--errors] [--out bench/results/heldout.json]
    python bench/heldout.py --choose-thresholds [--write]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

if not __package__:  # run as a script; imported as bench.<name> (tests), the checkout is already importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import emit  # noqa: E402
from rubricate.compiler.items import DEFAULT_ITEMS  # noqa: E402
from rubricate.compiler.thresholds import write_uncertain_below  # noqa: E402
from rubricate.rubrics.checks import OFFLINE_JUDGE_VERSION  # noqa: E402
from tests.heldout_set import GOAL_KAPPA, abstaining, agreement, judge, load_rows, thresholds_from_dev  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("test", "dev", "all"), default=None,
                        help="one split only (default: test, then dev)")
    parser.add_argument("--errors", action="store_true", help="list the judge's disagreements too")
    parser.add_argument("--choose-thresholds", action="store_true",
                        help="derive each criterion's uncertain_below from the dev half and print them")
    parser.add_argument("--write", action="store_true",
                        help="with --choose-thresholds: write them into compiler/data/default_items.yaml")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    if args.choose_thresholds:
        report = thresholds_from_dev()
        if args.write:
            report["changed"] = write_uncertain_below(DEFAULT_ITEMS, report["uncertain_below"])
    else:
        splits = [args.split] if args.split else ["test", "dev"]
        report = {"judge_version": OFFLINE_JUDGE_VERSION, "goal_kappa": GOAL_KAPPA}
        for split in splits:
            records = judge(load_rows(None if split == "all" else split))
            block = agreement(records)
            block["goal_met"] = (block["overall"]["kappa"]["kappa"] or 0) >= GOAL_KAPPA
            block["abstaining"] = abstaining(records)
            if args.errors:
                block["disagreements"] = [r for r in records if r["label"] != r["answer"]]
            report[split] = block
    emit(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
