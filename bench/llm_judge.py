"""Throughput of the LLM judge against a fast local OpenAI-compatible server, beside bare client loops.

The server (tests/load_server.py: aiohttp on uvloop when installed) runs in its own process
and reports its own CPU, so it is not what is measured. Every request it answers takes
50 ms; the ideal wall time of N requests at concurrency c is N x 0.05 / c.

- ``runs`` (c = 1, 8, 32, 128) and ``scaling`` (256, 512): rubricate's judge
  (``judge_many_sync``, criterion protocol) beside two bare loops measured in the same run,
  interleaved, ``repeat`` times each: asyncio + ``AsyncOpenAI.chat.completions.create``
  (the openai client as shipped, httpx transport) and asyncio + a bare aiohttp session (the
  floor of one HTTP exchange in Python). Medians with min-max spread; client CPU per request.
- ``auto``: ``--max-concurrency auto`` against the plain server, a server with a hidden
  capacity (it works on C requests at once; the rest queue) and a server that answers 429
  above a rate, each beside fixed limits measured in the same run: where it settled, its
  throughput against the best fixed limit's, and its 429s.
- ``cache``: a cold run and a warm re-run with a fresh cache (the warm one sends nothing).

    .venv/bin/python bench/llm_judge.py            # 2,000 judgements per run, 3 repeats
    .venv/bin/python bench/llm_judge.py --quick    # small smoke run
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rubricate.rubrics.llm import EndpointConfig, JudgeTask, RunStats, judge_many_sync, open_cache  # noqa: E402

CRITERION = {"id": "bench.offers-help", "criterion": "The response offers help.",
             "question": "Does the response offer help?",
             "judge_instructions": "Answer yes if the response offers help, otherwise no."}
LATENCY = 0.05
TARGETS = {"share_of_ideal_at_32": 0.9, "share_of_ideal_at_128": 0.7, "client_cpu_ms_per_request": 0.4,
           "auto_over_best_fixed": 0.8, "auto_429_share": 0.1}


def make_tasks(n: int) -> list[JudgeTask]:
    return [JudgeTask(f"r{i}", [{"role": "user", "content": f"Synthetic message number {i}."}],
                      f"Synthetic response {i}." + (" I can help." if i % 2 else ""), CRITERION)
            for i in range(n)]


class Server:
    """tests/load_server.py in a child process: its URL, and its own counters and CPU."""

    def __init__(self, latency: float = LATENCY, capacity: int | None = None, rate: float | None = None,
                 retry_after: float = 1.0) -> None:
        argv = [sys.executable, str(REPO / "tests" / "load_server.py"), "--latency", str(latency),
                "--retry-after", str(retry_after)]
        argv += ["--capacity", str(capacity)] if capacity else []
        argv += ["--rate", str(rate)] if rate else []
        self.proc = subprocess.Popen(argv, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if not line or line[0] != "READY":
            self.proc.kill()
            raise SystemExit(f"load server did not start: {line!r}")
        self.url, self.loop = line[1], line[2]

    def stats(self) -> dict:
        with urllib.request.urlopen(self.url.replace("/v1", "/stats"), timeout=10) as r:
            return json.loads(r.read())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def _measured(server: Server, fn) -> dict:
    """Wall, client CPU and the server's CPU and counters over one call of ``fn``."""
    s0 = server.stats()
    t0, c0 = time.perf_counter(), time.process_time()
    extra = fn() or {}
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    s1 = server.stats()
    replies = s1["replies"] - s0["replies"]
    return {"wall_s": wall, "client_cpu_s": cpu, "server_cpu_s": s1["cpu_s"] - s0["cpu_s"],
            "replies": replies, "rate_limited": s1["rate_limited"] - s0["rate_limited"], **extra}


def run_rubricate(server: Server, n: int, concurrency, cache=None) -> dict:
    ep = EndpointConfig(model="bench-judge", base_url=server.url, max_concurrency=concurrency, timeout=30,
                        max_retries=8, retry_base_delay=0.1, retry_max_delay=2.0)

    def go() -> dict:
        stats = RunStats()
        results = judge_many_sync(make_tasks(n), ep, cache=cache, stats=stats, progress=False)
        return {"requests": stats.requests, "retries": stats.retries, "cache_hits": stats.cache_hits,
                "unknown": sum(r.answer == "unknown" for r in results), "concurrency": stats.concurrency}
    return _measured(server, go)


async def _bare_openai(url: str, n: int, c: int) -> None:
    from openai import AsyncOpenAI
    client = AsyncOpenAI(api_key="not-needed", base_url=url, max_retries=0)
    sem = asyncio.Semaphore(c)

    async def one(i: int) -> None:
        async with sem:
            r = await client.chat.completions.create(
                model="bench", temperature=0, messages=[{"role": "user", "content": f"Synthetic message {i}."}])
            json.loads(r.choices[0].message.content)
    try:
        await asyncio.gather(*(one(i) for i in range(n)))
    finally:
        await client.close()


async def _bare_aiohttp(url: str, n: int, c: int) -> None:
    import aiohttp
    sem = asyncio.Semaphore(c)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=c)) as session:
        async def one(i: int) -> None:
            body = json.dumps({"model": "bench", "temperature": 0,
                               "messages": [{"role": "user", "content": f"Synthetic message {i}."}]}).encode()
            async with sem:
                async with session.post(url + "/chat/completions", data=body,
                                        headers={"Content-Type": "application/json"}) as r:
                    data = json.loads(await r.read())
            json.loads(data["choices"][0]["message"]["content"])
        await asyncio.gather(*(one(i) for i in range(n)))


BARE = {"bare_asyncopenai": _bare_openai, "bare_aiohttp": _bare_aiohttp}


def run_bare(server: Server, name: str, n: int, c: int) -> dict:
    return _measured(server, lambda: asyncio.run(BARE[name](server.url, n, c)))


def summary(samples: list[dict], n: int, c: int, scale: float = 1.0) -> dict:
    """Median and min-max of repeated runs of ``n`` requests at concurrency ``c``."""
    ideal = n * scale * LATENCY / c
    walls = [s["wall_s"] * scale for s in samples]
    shares = sorted(ideal / w for w in walls)
    reqs = [max(s.get("requests", s["replies"]), 1) for s in samples]
    out = {"max_concurrency": c, "repeats": len(samples), "wall_s": statistics.median(walls), "ideal_s": ideal,
           "share_of_ideal": statistics.median(shares), "share_of_ideal_spread": [shares[0], shares[-1]],
           "ratio_to_ideal": statistics.median(walls) / ideal, "judgements_per_s": n * scale / statistics.median(walls),
           "client_cpu_ms_per_request": statistics.median(1000 * s["client_cpu_s"] / r for s, r in zip(samples, reqs)),
           "server_cpu_ms_per_request": statistics.median(1000 * s["server_cpu_s"] / r for s, r in zip(samples, reqs))}
    if "unknown" in samples[0]:
        out.update(requests=samples[-1]["requests"], unknown=max(s["unknown"] for s in samples),
                   retries=max(s["retries"] for s in samples))
    return out


def throughput(server: Server, levels: list[int], n: int, serial_n: int, repeat: int,
               with_auto: bool = False) -> dict:
    """rubricate and the bare loops at each level, interleaved, ``repeat`` times (and
    rubricate with ``auto`` after each round)."""
    samples: dict[tuple[str, int], list[dict]] = {}
    c1 = summary([run_rubricate(server, serial_n, 1)], serial_n, 1, scale=n / serial_n)
    c1.update(judged=serial_n, sampled=True, note=f"{serial_n} judgements timed, wall scaled x{n / serial_n:g} to {n}")
    for _ in range(repeat):
        for c in levels:
            samples.setdefault(("rubricate", c), []).append(run_rubricate(server, n, c))
            for name in BARE:
                samples.setdefault((name, c), []).append(run_bare(server, name, n, c))
        if with_auto:
            samples.setdefault(("rubricate", "auto"), []).append(run_rubricate(server, n, "auto"))
    rows = [c1] + [{**summary(samples[("rubricate", c)], n, c), "judged": n, "sampled": False, "note": ""}
                   for c in levels]
    base = {name: [summary(samples[(name, c)], n, c) for c in levels] for name in BARE}
    out = {"rows": rows, "baseline": base}
    if with_auto:
        auto = summary(samples[("rubricate", "auto")], n, max(levels))
        auto.update(max_concurrency="auto", settled_at=[s["concurrency"]["final"] for s in samples[("rubricate", "auto")]],
                    note=f"share of the ideal at concurrency {max(levels)}, interleaved with the fixed runs")
        out["auto"] = auto
    return out


def adaptive(n: int, fixed: list[int], *, capacity: int | None = None, rate: float | None = None,
             retry_after: float = 1.0) -> dict:
    """``auto`` beside fixed limits against one server shape; the best fixed limit is the one
    with the shortest wall time."""
    server = Server(capacity=capacity, rate=rate, retry_after=retry_after)
    try:
        runs = {}
        for setting in fixed + ["auto"]:
            r = run_rubricate(server, n, setting)
            runs[str(setting)] = {"wall_s": r["wall_s"], "judgements_per_s": n / r["wall_s"],
                                  "rate_limited_429": r["rate_limited"], "retries": r["retries"],
                                  "unknown": r["unknown"], "client_cpu_ms_per_request":
                                      1000 * r["client_cpu_s"] / max(r["requests"], 1),
                                  "concurrency": r["concurrency"]}
    finally:
        server.close()
    best = min(fixed, key=lambda c: runs[str(c)]["wall_s"])
    auto = runs["auto"]
    return {"server": {"latency_s": LATENCY, "capacity": capacity, "rate_per_s": rate,
                       "best_possible_limit": capacity or (rate * LATENCY if rate else None)},
            "judgements": n, "runs": runs, "best_fixed": best,
            "auto_settled_at": auto["concurrency"]["final"],
            "auto_over_best_fixed": runs[str(best)]["wall_s"] / auto["wall_s"],
            "auto_429_share": auto["rate_limited_429"] / n}


def measure(quick: bool = False, repeat: int | None = None) -> dict:
    n = 300 if quick else 2000
    serial_n = 20 if quick else 200
    repeat = repeat or (1 if quick else 3)
    load0 = os.getloadavg()[0]
    server = Server()
    out: dict = {"protocol": "criterion", "judgements": n, "server_latency_s": LATENCY, "quick": quick,
                 "repeats": repeat, "load_avg_1m_at_start": round(load0, 2),
                 "server": f"tests/load_server.py in a child process (aiohttp on {server.loop})"}
    try:
        run_rubricate(server, 50, 8)  # warm-up: imports, first connections
        asyncio.run(_bare_openai(server.url, 20, 4))
        t = throughput(server, [8, 32, 128], n, serial_n, repeat, with_auto=True)
        out["runs"], out["baseline"], out["auto_plain"] = t["rows"], t["baseline"], t["auto"]
        s = throughput(server, [256, 512], n, serial_n, repeat) if not quick else {"rows": [None], "baseline": {}}
        out["scaling"] = s["rows"][1:]
        for name, rows in s["baseline"].items():
            out["baseline"][name] += rows
        with tempfile.TemporaryDirectory() as tmp:
            cache = open_cache(tmp)
            cold = run_rubricate(server, n, 128, cache)
            warm = run_rubricate(server, n, 128, cache)
            cache.close()
        out["cache"] = {"max_concurrency": 128, "cold": cold, "warm": warm, "warm_requests_sent": warm["requests"]}
        out["server_totals"] = server.stats()
    finally:
        server.close()
    # auto needs a few round trips to find the limit (slow start from 16): runs three times
    # longer than above, so what is compared is mostly where it settled, not its search
    fixed = [16, 32, 64, 128, 256] if not quick else [32, 128]
    out["auto"] = {"hidden_capacity": adaptive(3 * n, fixed, capacity=64),
                   "rate_limited": adaptive(3 * n, [16, 32, 64, 128] if not quick else [32, 128], rate=1000.0)}
    out["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    by_c = {r["max_concurrency"]: r for r in out["runs"]}
    rub_cpu = statistics.median(r["client_cpu_ms_per_request"] for r in out["runs"][1:] + out["scaling"])

    def target(value, goal, met):
        return {"value": value, "target": goal, "met": met}
    out["targets"] = {
        "share_of_ideal_at_32": target(by_c[32]["share_of_ideal"], f">= {TARGETS['share_of_ideal_at_32']}",
                                       by_c[32]["share_of_ideal"] >= TARGETS["share_of_ideal_at_32"]),
        "share_of_ideal_at_128": target(by_c[128]["share_of_ideal"], f">= {TARGETS['share_of_ideal_at_128']}",
                                        by_c[128]["share_of_ideal"] >= TARGETS["share_of_ideal_at_128"]),
        "client_cpu_ms_per_request": target(rub_cpu, f"<= {TARGETS['client_cpu_ms_per_request']}",
                                            rub_cpu <= TARGETS["client_cpu_ms_per_request"]),
        "auto_hidden_capacity_over_best_fixed": target(
            out["auto"]["hidden_capacity"]["auto_over_best_fixed"], f">= {TARGETS['auto_over_best_fixed']}",
            out["auto"]["hidden_capacity"]["auto_over_best_fixed"] >= TARGETS["auto_over_best_fixed"]),
        "auto_rate_limited_429_share": target(
            out["auto"]["rate_limited"]["auto_429_share"], f"<= {TARGETS['auto_429_share']}",
            out["auto"]["rate_limited"]["auto_429_share"] <= TARGETS["auto_429_share"]),
        "cached_rerun_requests": target(out["cache"]["warm_requests_sent"], "0", out["cache"]["warm_requests_sent"] == 0),
    }
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small smoke run")
    ap.add_argument("--repeat", type=int, default=None, help="repeats of each interleaved run (default 3, quick 1)")
    ap.add_argument("--out", type=Path, default=None, help="also write the JSON here (e.g. bench/results/llm_judge.json)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import emit, machine
    out = {"bench": "llm_judge", "python": platform.python_version(), "cpus": os.cpu_count(), "machine": machine()}
    out.update(measure(args.quick, args.repeat))
    emit(out, args.out)


if __name__ == "__main__":
    main()
