"""Sharded evaluation: responses per second of each engine on the same input, and the driver's
memory as the input grows.

Engines (the same responses, interleaved rounds, medians): `evaluate` in one process,
`evaluate --workers 2`, and `evaluate --shards --engine dask` with 1 and 2 workers (a local
cluster started and closed by the command, so its start-up is in the time). The driver's
memory is measured against a cluster started apart (`dask scheduler` + `dask worker`), so the
driver process's own peak RSS is read, not a worker's. A projection for 10^8 responses on N
machines follows from the measured per-worker rate and the driver's per-shard overhead.

    python bench/sharded.py [--quick] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
if not __package__:  # run as a script; imported as bench.<name> (tests), the checkout is already importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.checkout import use_this_checkout  # noqa: E402

use_this_checkout()
from _common import cli, load_average, machine  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "rubrics" / "samples" / "default_responses.jsonl"
RUBRIC = REPO / "rubrics" / "rubricate-default.json"


def make_input(folder: Path, n: int, n_shards: int) -> tuple[Path, Path]:
    """``n`` responses (the bundled samples with distinct ids) as one file and as shards."""
    lines = SAMPLES.read_text(encoding="utf-8").splitlines()
    shard_dir = folder / f"shards-{n}"
    shard_dir.mkdir(parents=True)
    whole = folder / f"whole-{n}.jsonl"
    handles = [open(shard_dir / f"part-{k:04d}.jsonl", "w", encoding="utf-8") for k in range(n_shards)]
    with open(whole, "w", encoding="utf-8") as fh:
        for i in range(n):
            rec = json.loads(lines[i % len(lines)])
            rec["response_id"] = f"{rec['response_id']}-{i}"
            line = json.dumps(rec) + "\n"
            fh.write(line)
            handles[i * n_shards // n].write(line)
    for h in handles:
        h.close()
    return whole, shard_dir


def engines(whole: Path, shards: Path) -> dict[str, list[str]]:
    glob = str(shards / "*.jsonl")
    return {
        "local_1_process": ["evaluate", "--rubric", str(RUBRIC), "--responses", str(whole)],
        "local_workers_2": ["evaluate", "--rubric", str(RUBRIC), "--responses", str(whole), "--workers", "2"],
        "dask_1_worker": ["evaluate", "--rubric", str(RUBRIC), "--shards", glob, "--engine", "dask", "--workers", "1"],
        "dask_2_workers": ["evaluate", "--rubric", str(RUBRIC), "--shards", glob, "--engine", "dask", "--workers", "2"],
    }


def throughput(work: Path, n: int, n_shards: int, rounds: int) -> dict:
    whole, shards = make_input(work, n, n_shards)
    times: dict[str, list[float]] = {name: [] for name in engines(whole, shards)}
    for r in range(rounds):  # interleaved: each round runs every engine once
        for name, args in engines(whole, shards).items():
            out = work / f"out-{name}-{r}"
            run = cli(*args, "--out", str(out)).check()
            times[name].append(run.wall_s)
            shutil.rmtree(out, ignore_errors=True)
    out = {"responses": n, "shards": n_shards, "rounds": rounds, "engines": {}}
    for name, ts in times.items():
        med = statistics.median(ts)
        out["engines"][name] = {"median_s": med, "spread_s": [min(ts), max(ts)], "responses_per_s": n / med}
    e = out["engines"]
    out["dask_2_vs_workers_2"] = e["local_workers_2"]["median_s"] / e["dask_2_workers"]["median_s"]
    out["target_dask_2_at_least_workers_2"] = {"value": out["dask_2_vs_workers_2"], "target": ">= 1.0",
                                               "met": out["dask_2_vs_workers_2"] >= 1.0}
    return out


def start_cluster(work: Path, n_workers: int) -> tuple[str, list[subprocess.Popen]]:
    work.mkdir(parents=True, exist_ok=True)
    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or "dask"
    sched_file = work / "scheduler.json"
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(sched_file)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    deadline = time.monotonic() + 60
    while not sched_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    address = json.loads(sched_file.read_text())["address"]
    procs.append(subprocess.Popen([dask, "worker", address, "--nworkers", str(n_workers), "--nthreads", "1",
                                   "--no-dashboard", "--host", "127.0.0.1"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL))
    from distributed import Client
    with Client(address, timeout="30s") as c:
        c.wait_for_workers(n_workers, timeout=120)
    return address, procs


def driver_memory(work: Path, sizes: list[int], per_shard: int) -> dict:
    address, procs = start_cluster(work, 2)
    rows = []
    try:
        for n in sizes:
            _, shards = make_input(work / f"mem-{n}", n, max(1, n // per_shard))
            run = cli("evaluate", "--rubric", str(RUBRIC), "--shards", str(shards / "*.jsonl"), "--engine", "dask",
                      "--address", address, "--out", str(work / f"mem-out-{n}")).check()
            rows.append({"responses": n, "shards": max(1, n // per_shard), "driver_peak_rss_mb": run.peak_rss_mb,
                         "wall_s": run.wall_s, "responses_per_s": n / run.wall_s})
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(timeout=30)
    growth = rows[-1]["driver_peak_rss_mb"] / rows[0]["driver_peak_rss_mb"] - 1
    return {"rows": rows, "growth": growth, "input_growth": sizes[-1] / sizes[0],
            "target_flat_within_10pct": {"value": growth, "target": "<= 0.10", "met": growth <= 0.10}}


def projection(mem: dict, machines: tuple[int, ...] = (1, 10, 100), cores: int = 2) -> dict:
    """10^8 responses on N machines of ``cores`` workers each, from the external-cluster runs:
    the per-worker rate of the largest run, the driver's fixed cost from the smallest (one
    shard), and the per-shard overhead left over in the largest."""
    rows = mem["rows"]
    big, small = rows[-1], rows[0]
    per_worker = big["responses"] / big["wall_s"] / 2  # the bench cluster has 2 workers
    fixed = max(0.0, small["wall_s"] - small["responses"] / (2 * per_worker))
    per_shard = max(0.0, (big["wall_s"] - fixed - big["responses"] / (2 * per_worker)) / big["shards"])
    out = {"per_worker_responses_per_s": per_worker, "driver_fixed_s": fixed, "driver_s_per_shard": per_shard}
    shards = 10 ** 8 // 10_000
    for m in machines:
        out[f"{m}_machines_of_{cores}_cores_hours"] = (fixed + 10 ** 8 / (per_worker * cores * m)
                                                       + shards * per_shard / (cores * m)) / 3600
    out["note"] = ("linear in workers: shards are independent and the merge is a sum of counts; 10,000 responses "
                   "per shard; a real cluster adds network reads of the shards; a busy machine halves the rate")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    a = ap.parse_args(argv)
    n, shards, rounds = (2_000, 4, 1) if a.quick else (40_000, 8, 2)
    mem_sizes = [2_000, 20_000] if a.quick else [10_000, 100_000, 500_000]
    result: dict = {"bench": "sharded", "quick": a.quick, "machine": machine()}
    with tempfile.TemporaryDirectory(prefix="rubricate-bench-sharded-") as tmp:
        result["throughput"] = throughput(Path(tmp) / "tp", n, shards, rounds)
        result["driver_memory"] = driver_memory(Path(tmp) / "mem", mem_sizes, per_shard=2_000 if a.quick else 10_000)
    result["projection_1e8"] = projection(result["driver_memory"])
    result["machine"]["load_avg_1m_at_end"] = load_average()
    text = json.dumps(result, indent=2)
    print(text)
    if a.out:
        a.out.write_text(text + "\n")


if __name__ == "__main__":
    (Path(__file__).resolve().parent / "results").mkdir(exist_ok=True)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
