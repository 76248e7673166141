"""How long the default test run takes: the README's command (`pytest -q -n auto`) beside the
same tests in one process, measured in the same run, with the load average before and after
each, so a reader can tell a loaded machine from a slow suite.

    python bench/test_suite.py               # both runs -> bench/results/test_suite.json
    python bench/test_suite.py --no-serial   # only the README's command

Wall time is what a user waits; CPU time (user + system of pytest, its xdist workers and every
process they start) is what the suite costs, and moves far less with other load: on a quiet
machine with C cores the parallel run takes about CPU / C plus the waits the tests make.
Nothing here is asserted; the goal (under 3 minutes on a quiet 2-core machine) is read off
the JSON.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, load_average, machine, rounded, run_child, write_atomic  # noqa: E402

OUT = REPO / "bench" / "results" / "test_suite.json"
README_COMMAND = ["-m", "pytest", "-q", "-n", "auto"]
SERIAL_COMMAND = ["-m", "pytest", "-q"]
_COUNTS = re.compile(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?|deselected)")
_FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.M)
_SLOWEST = re.compile(r"^\s*([\d.]+)s (call|setup|teardown)\s+(\S+)", re.M)


def one_run(args: list[str], durations: int) -> dict:
    before = load_average()
    run = run_child([sys.executable, *args, "-p", "no:cacheprovider", f"--durations={durations}"], timeout=7200)
    tail = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    return {
        "command": "pytest " + " ".join(args[2:]),
        "returncode": run.returncode,
        "wall_s": run.wall_s,
        "cpu_s": run.cpu_s,
        "load_avg_1m_before": before,
        "load_avg_1m_after": load_average(),
        "counts": {kind.rstrip("s") if kind.startswith("error") else kind: int(n) for n, kind in _COUNTS.findall(tail)},
        "failed": _FAILED.findall(run.stdout),
        "slowest": [{"seconds": float(s), "phase": phase, "test": test}
                    for s, phase, test in _SLOWEST.findall(run.stdout)][:durations],
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-serial", action="store_true", help="skip the one-process baseline")
    parser.add_argument("--durations", type=int, default=15, help="slowest tests to record per run")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    result: dict = {"machine": machine(), "runs": {}}
    result["runs"]["readme_command"] = one_run(README_COMMAND, args.durations)
    if not args.no_serial:
        result["runs"]["one_process"] = one_run(SERIAL_COMMAND, args.durations)
        par, ser = result["runs"]["readme_command"], result["runs"]["one_process"]
        result["parallel_speed_up"] = ser["wall_s"] / par["wall_s"] if par["wall_s"] else None
    result["machine"]["load_avg_1m_at_end"] = load_average()
    text = json.dumps(rounded(result), indent=2) + "\n"
    write_atomic(args.out, text)
    print(text, end="")
    return result


if __name__ == "__main__":
    main()
