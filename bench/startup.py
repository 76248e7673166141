"""Start-up of the command line beside the floor it cannot go under; prints one JSON object.

    .venv/bin/python bench/startup.py [--repeat N]

Each command runs as its own process, ``repeat`` times, the commands interleaved (one run of
each, then the next round), so a burst of load on a shared machine hits all of them alike.
Figures are medians with the spread (min, max) of wall time and of the process's own CPU time
(user + system): on a loaded machine wall time waits for a core, CPU time does not, so CPU
time is what the program itself costs.

Baselines: ``python -c pass`` (the interpreter) and ``import spacy; spacy.blank("en")`` (the
tokenizer the offline judge cannot do without). Measured: ``rubricate --help`` and
``rubricate evaluate`` of one response with the offline judge, warm (the workspace cache
already knows the rubric is valid; the first, cold run is reported apart).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, load_average, rounded, run_child  # noqa: E402

TARGETS = {"help": 0.3, "evaluate_one": 1.5}  # seconds, issue 20 item 3
SPACY_FLOOR = "import spacy; spacy.blank('en')"


def _stats(runs: list) -> dict:
    walls, cpus = [r.wall_s for r in runs], [r.cpu_s for r in runs]
    return {"wall_s": statistics.median(walls), "wall_min_s": min(walls), "wall_max_s": max(walls),
            "cpu_s": statistics.median(cpus), "cpu_min_s": min(cpus), "cpu_max_s": max(cpus), "runs": len(runs)}


def measure(repeat: int = 5) -> dict:
    """Median and spread of each command's wall and CPU time, interleaved ``repeat`` times."""
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="rubricate-bench-startup-") as tmp:
        work = Path(tmp)
        responses = work / "one.jsonl"
        first = (REPO / "rubrics" / "samples" / "default_responses.jsonl").read_text(encoding="utf-8").splitlines()[0]
        responses.write_text(first + "\n", encoding="utf-8")
        env = {"RUBRICATE_WORKSPACE": str(work)}  # the validation cache goes to this workspace
        rubric = str(REPO / "rubrics" / "rubricate-default.json")

        def evaluate(n: int) -> list[str]:
            return [py, "-m", "rubricate", "evaluate", "--rubric", rubric, "--responses", str(responses),
                    "--out", str(work / f"out{n}")]

        commands = {"python": [py, "-c", "pass"], "spacy_blank": [py, "-c", SPACY_FLOOR],
                    "help": [py, "-m", "rubricate", "--help"], "evaluate_one": None}
        load_before = load_average()
        cold = run_child(evaluate(0), env=env, cwd=work).check()
        runs: dict[str, list] = {name: [] for name in commands}
        for n in range(1, max(1, repeat) + 1):
            for name, argv in commands.items():
                runs[name].append(run_child(argv or evaluate(n), env=env, cwd=work).check())
        load_after = load_average()
    out: dict = {"method": f"{repeat} interleaved runs per command, each its own process; medians and "
                           "spread of wall and CPU (user + system) seconds",
                 "load_avg_1m_before": load_before, "load_avg_1m_after": load_after,
                 "baseline": {"python_pass": _stats(runs["python"]), "spacy_blank_en": _stats(runs["spacy_blank"])},
                 "help": _stats(runs["help"]), "evaluate_one": _stats(runs["evaluate_one"]),
                 "evaluate_one_cold": {"wall_s": cold.wall_s, "cpu_s": cold.cpu_s}}
    floor = out["baseline"]["spacy_blank_en"]
    out["evaluate_one"]["over_spacy_blank_wall"] = out["evaluate_one"]["wall_s"] / floor["wall_s"]
    out["evaluate_one"]["over_spacy_blank_cpu"] = out["evaluate_one"]["cpu_s"] / floor["cpu_s"]
    out["targets"] = {}
    for name, limit in TARGETS.items():
        for kind in ("wall", "cpu"):  # wall is the goal; CPU says what it would be on a quiet machine
            value = out[name][f"{kind}_s"]
            out["targets"][f"{name}_{kind}_s"] = {"value": value, "target": f"<= {limit}", "met": value <= limit}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    print(json.dumps(rounded(measure(args.repeat)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
