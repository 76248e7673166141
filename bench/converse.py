"""Conversations per second of `rubricate converse` against a 50 ms local server, as a share of
the ideal, beside a baseline of the same model calls without the conversation structure.

One tests/openai_server.py child process (its own GIL) answers both the simulated client and
the model under test, 50 ms per request. K conversations of T turns each need T calls of the
model under test and T-1 of the simulator, one after the other. At --max-concurrency C per
endpoint the model's endpoint is the bottleneck: ideal = C / (T x latency) conversations per
second. The baseline sends the same K x T model calls as independent requests through the same
Runner at the same C (ideal C / latency requests per second), so the JSON shows what the
conversation bookkeeping (simulator prompts, transcript appends with fsync, resume reads) costs.

    .venv/bin/python bench/converse.py                 # 256 conversations x 10 turns at C = 32
    .venv/bin/python bench/converse.py --quick         # 64 x 4, a few seconds
    .venv/bin/python bench/converse.py --out bench/results/converse.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench._common import start_test_server  # noqa: E402
from rubricate.rubrics.contract.loader import load_rubric  # noqa: E402
from rubricate.rubrics.evaluation.converse import converse, plan_conversations  # noqa: E402
from rubricate.rubrics.llm import EndpointConfig, GenerateTask, RunStats, generate_many_sync  # noqa: E402


def cpu_seconds(pid: int) -> float | None:
    """User+system CPU of a process (Linux /proc), to see which side is the bottleneck."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _plans(n: int, model: str):
    rubric = load_rubric("rubricate-conversations")
    per = -(-n // (2 * len(rubric.personas)))  # conversations per persona and telling
    return plan_conversations(rubric, model, None, per)[:n]


def measure(conversations: int, turns: int, concurrency: int, latency: float) -> dict:
    # tests/openai_server.py answers the simulated client and the model under test alike
    # (bench/llm_judge.py's load server only ever answers as a judge)
    proc, url = start_test_server("openai_server.py", "--latency", str(latency))
    client = EndpointConfig(model="bench-client", base_url=url, max_concurrency=concurrency, timeout=30)
    model = EndpointConfig(model="bench-model", base_url=url, max_concurrency=concurrency, timeout=30)
    out: dict = {"conversations": conversations, "turns": turns, "max_concurrency": concurrency,
                 "server_latency_s": latency, "server": "tests/openai_server.py in a child process"}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            converse(_plans(4, "warm-up"), client, model, Path(tmp) / "warm.jsonl", max_turns=2)  # imports, sockets
            plans = _plans(conversations, model.model)
            log = Path(tmp) / "transcripts.jsonl"
            srv0, t0, cpu0 = cpu_seconds(proc.pid), time.perf_counter(), time.process_time()
            counts, stats = converse(plans, client, model, log, max_turns=turns)
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            srv1 = cpu_seconds(proc.pid)
            ideal_rate = concurrency / (turns * latency)
            rate = len(plans) / wall
            requests = stats["client"]["requests"] + stats["model"]["requests"]
            out["converse"] = {
                "wall_s": round(wall, 3), "conversations_per_s": round(rate, 2),
                "ideal_conversations_per_s": round(ideal_rate, 2), "share_of_ideal": round(rate / ideal_rate, 3),
                "turns_written": counts.turns_written, "failed": counts.failed, "requests": requests,
                "client_cpu_ms_per_request": round(1000 * cpu / max(requests, 1), 2),
                "server_cpu_ms_per_request": round(1000 * (srv1 - srv0) / max(requests, 1), 2)
                if srv0 is not None and srv1 is not None else None,
                "transcript_lines": log.read_bytes().count(b"\n")}
            again = time.perf_counter()
            resumed, _ = converse(plans, client, model, log, max_turns=turns)
            out["converse"]["rerun_of_a_complete_log"] = {"wall_s": round(time.perf_counter() - again, 3),
                                                          "turns_written": resumed.turns_written}
        stats = RunStats()
        tasks = [GenerateTask(f"b{i}", [{"role": "user", "content": f"Baseline message {i}."}])
                 for i in range(conversations * turns)]
        t0 = time.perf_counter()
        generate_many_sync(tasks, model, None, stats=stats, progress=False)
        wall = time.perf_counter() - t0
        ideal = len(tasks) * latency / concurrency
        out["baseline_independent_calls"] = {"requests": stats.requests, "wall_s": round(wall, 3),
                                             "ideal_s": round(ideal, 3), "share_of_ideal": round(ideal / wall, 3)}
    finally:
        proc.stdin.close()
        proc.stdout.read()
        proc.wait(timeout=10)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="64 conversations x 4 turns")
    ap.add_argument("--conversations", type=int, default=None)
    ap.add_argument("--turns", type=int, default=None)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = ap.parse_args(argv)
    k = args.conversations or (64 if args.quick else 256)
    t = args.turns or (4 if args.quick else 10)
    report = {"bench": "converse", "python": platform.python_version(), "cpus": os.cpu_count(),
              "load_avg_1m_at_start": round(os.getloadavg()[0], 2), "quick": args.quick}
    report.update(measure(k, t, args.concurrency, args.latency))
    report["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
