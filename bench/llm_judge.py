"""Throughput of the LLM judge against a local OpenAI-compatible server with fixed latency.

Starts tests/openai_server.py in a subprocess (so server and client do not share a GIL)
with 50 ms latency per request, judges N responses (one criterion each) at several
concurrency limits, and prints JSON: wall time, ideal time (requests x latency /
concurrency) and their ratio. Then runs the same judgements twice more with a fresh
cache: requests sent and wall time of the cold and the warm run.

    .venv/bin/python bench/llm_judge.py            # 2,000 judgements, c = 1, 8, 32, 128
    .venv/bin/python bench/llm_judge.py --quick    # small smoke run (a few seconds)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rubricate.rubrics.llm import EndpointConfig, JudgeTask, RunStats, judge_many_sync, open_cache  # noqa: E402

CRITERION = {"id": "bench.offers-help", "criterion": "The response offers help.",
             "question": "Does the response offer help?",
             "judge_instructions": "Answer yes if the response offers help, otherwise no."}


def make_tasks(n: int) -> list[JudgeTask]:
    return [JudgeTask(f"r{i}", [{"role": "user", "content": f"Synthetic message number {i}."}],
                      f"Synthetic response {i}." + (" I can help." if i % 2 else ""), CRITERION)
            for i in range(n)]


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "openai_server.py"),
                             "--latency", str(latency)], cwd=REPO, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        proc.kill()
        raise SystemExit(f"test server did not start: {line!r}")
    return proc, line.split(" ", 1)[1]


def cpu_seconds(pid: int) -> float | None:
    """User+system CPU of a process (Linux /proc), to see which side is the bottleneck."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def run(url: str, tasks: list[JudgeTask], concurrency: int, protocol: str, cache=None,
        server_pid: int | None = None) -> dict:
    ep = EndpointConfig(model="bench-judge", base_url=url, max_concurrency=concurrency, timeout=30)
    stats = RunStats()
    srv0 = cpu_seconds(server_pid) if server_pid else None
    t0, cpu0 = time.perf_counter(), time.process_time()
    results = judge_many_sync(tasks, ep, protocol, cache=cache, stats=stats, progress=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    srv1 = cpu_seconds(server_pid) if server_pid else None
    unknown = sum(r.answer == "unknown" for r in results)
    return {"wall_s": round(wall, 3), "client_cpu_s": round(cpu, 3),
            "server_cpu_s": round(srv1 - srv0, 3) if srv0 is not None and srv1 is not None else None,
            "requests": stats.requests, "cache_hits": stats.cache_hits, "retries": stats.retries,
            "unknown": unknown}


TARGET_SHARE_OF_IDEAL = 0.85  # at max_concurrency 32 (issue 7)


def measure(quick: bool = False, protocol: str = "criterion", latency: float = 0.05) -> dict:
    """Wall time against the ideal at each concurrency limit, then a cold and a warm cached run."""
    n = 200 if quick else 2000
    serial_n = 20 if quick else 200
    levels = [1, 8, 32, 128]
    proc, url = start_server(latency)
    out: dict = {"protocol": protocol, "judgements": n, "server_latency_s": latency, "quick": quick,
                 "server": "tests/openai_server.py in a child process (threaded, Python)", "runs": []}
    try:
        run(url, make_tasks(8), 8, protocol)  # warm-up: imports, first connections
        for c in levels:
            sample = serial_n if c == 1 else n
            r = run(url, make_tasks(sample), c, protocol, server_pid=proc.pid)
            scale = n / sample
            ideal = n * latency / c
            wall = r["wall_s"] * scale
            out["runs"].append({
                "max_concurrency": c, "judged": sample, "sampled": sample != n,
                "note": f"{sample} judgements timed, wall scaled x{scale:g} to {n}" if sample != n else "",
                "wall_s": round(wall, 3), "ideal_s": round(ideal, 3),
                "ratio_to_ideal": round(wall / ideal, 3),
                "share_of_ideal": round(ideal / wall, 3),
                "judgements_per_s": round(n / wall, 1),
                "client_cpu_ms_per_request": round(1000 * r["client_cpu_s"] / max(r["requests"], 1), 2),
                "server_cpu_ms_per_request": round(1000 * r["server_cpu_s"] / max(r["requests"], 1), 2)
                if r["server_cpu_s"] is not None else None,
                "requests": r["requests"],
                "unknown": r["unknown"], "retries": r["retries"]})
        with tempfile.TemporaryDirectory() as tmp:
            cache = open_cache(tmp)
            c = levels[-1]
            cold = run(url, make_tasks(n), c, protocol, cache, proc.pid)
            warm = run(url, make_tasks(n), c, protocol, cache, proc.pid)
            cache.close()
        out["cache"] = {"max_concurrency": c, "cold": cold, "warm": warm,
                        "warm_requests_sent": warm["requests"]}
    finally:
        proc.stdin.close()
        tail = proc.stdout.read()
        proc.wait(timeout=10)
    out["server_totals"] = json.loads(tail.strip().splitlines()[-1]) if tail.strip() else {}
    at32 = next(r for r in out["runs"] if r["max_concurrency"] == 32)
    out["targets"] = {
        "share_of_ideal_at_32": {"value": at32["share_of_ideal"], "target": f">= {TARGET_SHARE_OF_IDEAL}",
                                 "met": at32["share_of_ideal"] >= TARGET_SHARE_OF_IDEAL},
        "cached_rerun_requests": {"value": out["cache"]["warm_requests_sent"], "target": "0",
                                  "met": out["cache"]["warm_requests_sent"] == 0},
    }
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small smoke run")
    ap.add_argument("--protocol", default="criterion", choices=["criterion", "item", "moore2025"])
    ap.add_argument("--latency", type=float, default=0.05)
    args = ap.parse_args(argv)
    out = {"bench": "llm_judge", "python": platform.python_version(), "cpus": os.cpu_count(),
           "load_avg_1m_at_start": round(os.getloadavg()[0], 2)}
    out.update(measure(args.quick, args.protocol, args.latency))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
