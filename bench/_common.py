"""Shared helpers of the benchmark scripts: timing, child processes with their peak memory,
the machine a run was measured on, input files, and writing results atomically.

Figures are only comparable with the machine and its load next to them, so every run
records both (``machine()``). Memory is the peak resident set of a *child* process, read
with ``os.wait4`` for that child alone (RUSAGE_CHILDREN would report the largest child ever
waited for). The child is started by a tiny launcher process, not by the benchmark itself:
Linux carries the peak RSS of the process that forks into the child's ``ru_maxrss`` across
``exec``, so a child forked straight from this (large) process would report our peak.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PACKAGES = ("spacy", "numpy", "rdflib", "pyshacl", "pdfplumber", "openai", "httpx2", "httpx", "aiohttp",
            "pydantic", "click")


def anchor_dir() -> Path:
    """The study's public release: $RUBRICATE_ANCHOR, else ../shared/anchor beside the repo."""
    return Path(os.environ.get("RUBRICATE_ANCHOR") or REPO.parent / "shared" / "anchor")


def has_anchor(d: Path | None = None) -> bool:
    d = d or anchor_dir()
    return (d / "stimuli.json").is_file() and (d / "responses_dev.jsonl").is_file()


def anchor_or_skip(given: Path | None) -> Path | None:
    """The study's release (``given``, else the default), or None after printing the "skipped"
    JSON a benchmark that needs it prints when it is absent (it then exits 0)."""
    anchor = given or anchor_dir()
    if has_anchor(anchor):
        return anchor
    print(json.dumps({"status": "skipped", "reason": f"reference data not found in {anchor}"}))
    return None


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, result) of one call."""
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - t0, time.process_time() - c0, result


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Fastest wall time of ``repeat`` calls (and that call's CPU time and result): the run
    least disturbed by other load on the machine."""
    best: tuple[float, float, Any] | None = None
    for _ in range(max(1, repeat)):
        run = timed(fn)
        if best is None or run[0] < best[0]:
            best = run
    assert best is not None
    return best


@dataclass
class ChildRun:
    argv: list[str]
    returncode: int
    wall_s: float
    cpu_s: float         # user + system of the child
    peak_rss_mb: float   # the child's own peak resident set
    stdout: str
    stderr: str

    def check(self) -> "ChildRun":
        if self.returncode != 0:
            tail = (self.stderr or self.stdout).strip().splitlines()[-5:]
            raise RuntimeError(f"{' '.join(self.argv[1:4])} ... exited {self.returncode}: " + " | ".join(tail))
        return self


# Forks and execs the command from a small process and writes the command's own rusage.
_LAUNCHER = """
import json, os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
t = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(argv[0], argv)
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
with open(report, "w") as fh:
    json.dump({"wall": time.perf_counter() - t, "cpu": ru.ru_utime + ru.ru_stime,
               "maxrss_kb": ru.ru_maxrss, "code": os.waitstatus_to_exitcode(status)}, fh)
"""


def run_child(argv: list[str], env: dict[str, str] | None = None, cwd: Path = REPO,
              timeout: float = 3600.0) -> ChildRun:
    """Run a process to completion; wall time, CPU time and peak RSS of that process alone."""
    with tempfile.TemporaryDirectory(prefix="rubricate-child-") as tmp:
        report = Path(tmp) / "rusage.json"
        with open(Path(tmp) / "out", "w+") as out, open(Path(tmp) / "err", "w+") as err:
            proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER, str(report), *argv], cwd=cwd,
                                    env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err, text=True, start_new_session=True)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)  # the launcher and the command it started
                proc.wait()
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        if not report.exists():
            return ChildRun(argv, proc.returncode or -9, float("nan"), float("nan"), float("nan"), stdout, stderr)
        r = json.loads(report.read_text())
        return ChildRun(argv, r["code"], r["wall"], r["cpu"], r["maxrss_kb"] / 1024, stdout, stderr)


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 3600.0) -> ChildRun:
    """``rubricate ARGS`` in a child process (the same interpreter and checkout)."""
    return run_child([sys.executable, "-m", "rubricate", *args], env=env, timeout=timeout)


def write_jsonl(path: Path, records: Iterable[dict]) -> int:
    """Stream records to a JSONL file (the scale inputs never sit in memory); returns the count."""
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
    return n


def repeated(records: list[dict], n: int) -> Iterator[dict]:
    """``n`` records cycling through ``records``, each copy with its own response id."""
    for i in range(n):
        rec = dict(records[i % len(records)])
        base = rec.get("response_id") or f"line{i % len(records) + 1}"
        rec["response_id"] = f"{base}#{i // len(records)}"
        yield rec


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def machine() -> dict[str, Any]:
    """CPU, cores, RAM, OS, Python and key package versions, and the load when measured."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": usable,
        "ram_gb": _ram_gb(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "packages": {p: v for p in PACKAGES if (v := _version(p)) is not None},
        "load_avg_1m_at_start": load_average(),
    }


def start_test_server(script: str, *args: str) -> tuple[subprocess.Popen, str]:
    """``tests/<script>`` in a child process (its own GIL, so the server is not what the bench
    measures): the process, and the URL its ``READY <url>`` line gave."""
    proc = subprocess.Popen([sys.executable, str(REPO / "tests" / script), *args], cwd=REPO,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        proc.kill()
        raise SystemExit(f"{script} did not start: {line!r}")
    return proc, line.split(" ", 1)[1]


def write_atomic(path: Path, text: str) -> None:
    from rubricate.guidelines.kernel.fileio import atomic_write_text
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)


def rounded(value: Any, digits: int = 4) -> Any:
    """``value`` with every float rounded, for JSON figures a reader compares by eye."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, digits) for v in value]
    return value


def emit(report: Any, out: Path | None = None) -> str:
    """Print a bench's JSON figures (rounded, indented) and, with ``out``, write them atomically."""
    text = json.dumps(rounded(report), indent=2)
    if out:
        write_atomic(out, text + "\n")
    print(text)
    return text
