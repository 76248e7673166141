"""Requests per judgement under injected faults, and how fast a dead endpoint is given up.

Starts tests/fault_server.py in a child process (server and client do not share a GIL) and
judges synthetic responses through the real client, runner and circuit breaker:

* ``flaky``: 2% of requests answered with HTTP 500 (seeded), concurrency 64 - requests sent
  per judgement (goal <= 1.03), beside the same run against a clean endpoint (baseline 1.0).
* ``always_429``: every request rate-limited (Retry-After 0) - wall time and requests until
  the circuit breaker stops the run, beside the same judgements against a clean endpoint.
  (Before the breaker, issue 16 measured 281 s for 12 judgements.)

    /work/venv/bin/python bench/faults.py           # 2,000 judgements; bench/results/faults.json
    /work/venv/bin/python bench/faults.py --quick   # 300 judgements
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, machine, rounded, start_test_server, write_atomic  # noqa: E402

sys.path.insert(0, str(REPO))
from tests.checkout import use_this_checkout  # noqa: E402

use_this_checkout()
from rubricate.rubrics.llm import EndpointConfig, JudgeTask, RunStats, judge_many_sync  # noqa: E402

CRITERION = {"id": "bench.offers-help", "criterion": "The response offers help.",
             "question": "Does the response offer help?",
             "judge_instructions": "Answer yes if the response offers help, otherwise no."}
GOAL_REQUESTS_PER_JUDGEMENT = 1.03


def tasks(n: int) -> list[JudgeTask]:
    return [JudgeTask(f"r{i}", [{"role": "user", "content": f"Synthetic message {i}."}],
                      f"Synthetic response {i}.", CRITERION) for i in range(n)]


def judge(url: str, n: int, concurrency: int, max_retries: int = 6) -> dict:
    ep = EndpointConfig(model="bench-judge", base_url=url, max_concurrency=concurrency, timeout=30,
                        max_retries=max_retries)
    stats = RunStats()
    t0 = time.perf_counter()
    results = judge_many_sync(tasks(n), ep, "criterion", stats=stats, progress=False)
    wall = time.perf_counter() - t0
    return {"judgements": n, "wall_s": rounded(wall, 3), "requests": stats.requests, "retries": stats.retries,
            "requests_per_judgement": rounded(stats.requests / n, 4),
            "answered": sum(r.answer in ("yes", "no") for r in results),
            "failed": sum("judge-error" in r.flags for r in results),
            "not_sent": sum(bool(r.error) and r.attempts == 0 for r in results),  # after the breaker opened
            "breaker": stats.breaker}


def measure(quick: bool) -> dict:
    n = 300 if quick else 2000
    proc, root = start_test_server("fault_server.py", "--fail-rate", "0.02")
    try:
        judge(f"{root}/ok/v1", 16, 8)  # warm-up: imports, first connections
        clean = judge(f"{root}/ok/v1", n, 64)
        flaky = judge(f"{root}/flaky/v1", n, 64)
        n429 = 200 if not quick else 100
        clean8 = judge(f"{root}/ok/v1", n429, 8)
        dead = judge(f"{root}/429/v1", n429, 8)
    finally:
        proc.stdin.close()
        counts = json.loads(proc.stdout.read().strip().splitlines()[-1] or "{}")
        proc.wait(timeout=10)
    return {
        "flaky_500": {"fail_rate": 0.02, "max_concurrency": 64, "run": flaky, "baseline_clean_endpoint": clean},
        "always_429": {"max_concurrency": 8, "max_retries": 6, "run": dead, "baseline_clean_endpoint": clean8,
                       "issue_16_before": "281 s for 12 judgements (no breaker)"},
        "server_counts": counts,
        "targets": {
            "requests_per_judgement_at_2pct_500": {
                "value": flaky["requests_per_judgement"], "target": f"<= {GOAL_REQUESTS_PER_JUDGEMENT}",
                "met": flaky["requests_per_judgement"] <= GOAL_REQUESTS_PER_JUDGEMENT},
            "always_429_stopped_by_breaker": {"value": dead["wall_s"], "unit": "s",
                                              "target": "stopped by the circuit breaker",
                                              "met": bool(dead["breaker"])},
        },
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    out = {"bench": "faults", "quick": args.quick, "machine": machine()}
    out.update(measure(args.quick))
    text = json.dumps(out, indent=2)
    print(text)
    target = args.out or REPO / "bench" / "results" / ("faults-quick.json" if args.quick else "faults.json")
    write_atomic(target, text + "\n")


if __name__ == "__main__":
    main()
