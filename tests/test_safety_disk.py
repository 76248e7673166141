"""A full disk (simulated with RLIMIT_FSIZE: every write past the limit fails, as on a full
disk): one line naming the file, exit 2, nothing already written lost or torn beyond what
--resume cuts, and a failing LLM cache never costs a verdict."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from rubricate.rubrics.evaluation.results import iter_jsonl
from tests.conftest import REPO, many_responses
from tests.fault_server import FaultServer

pytestmark = pytest.mark.slow  # end to end: every test runs the CLI (server, capped disk)


def cli(*args: str, limit: int | None = None) -> subprocess.CompletedProcess:
    def cap() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return subprocess.run([sys.executable, "-m", "rubricate", *args], cwd=REPO, capture_output=True, text=True,
                          env=dict(os.environ), preexec_fn=cap)


def one_error(proc: subprocess.CompletedProcess) -> str:
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_full_disk_while_writing_verdicts_is_one_line_and_resume_completes(tmp_path):
    src = many_responses(tmp_path, 60)
    out = tmp_path / "res"
    full = cli("evaluate", "--responses", str(src), "--out", str(out), limit=40_000)
    assert full.returncode == 2
    line = one_error(full)
    assert "verdicts.jsonl" in line and "File too large" in line
    written = (out / "verdicts.jsonl").read_bytes()
    assert 0 < len(written) <= 40_000
    done = cli("evaluate", "--responses", str(src), "--out", str(out), "--resume")
    assert done.returncode == 0, done.stderr
    verdicts = list(iter_jsonl(out / "verdicts.jsonl"))
    fresh = cli("evaluate", "--responses", str(src), "--out", str(tmp_path / "fresh"))
    expected = list(iter_jsonl(tmp_path / "fresh" / "verdicts.jsonl"))
    assert sorted(v["verdict_id"] for v in verdicts) == sorted(v["verdict_id"] for v in expected)  # 0 lost, 0 doubled
    assert fresh.returncode == 0


PREFILL = """
import os, sqlite3, sys
from rubricate.rubrics.llm.cache import Cache
path = Cache(sys.argv[1]).path
db = sqlite3.connect(path, isolation_level=None)
for i in range(100):  # one commit each: every commit appends its pages to the write-ahead log
    db.execute("INSERT INTO completions (key, text, usage, model, protocol, created) VALUES (?, ?, '{}', 'm', 'p', 0)",
               (f"filler-{i}", "x" * 2000))
os._exit(0)  # no close, so no checkpoint: the log stays as long as it grew
"""


def test_full_disk_under_the_llm_cache_disables_it_and_keeps_every_verdict(tmp_path):
    """The cache's write-ahead log was left long by an earlier process (~800 KB), past the
    200 KB a file may grow to here: the run's first commit to the cache fails as on a full
    disk, while the verdicts (~90 KB) still fit. The cache buffers its writes, so how many
    of them fail depends on when it commits; what matters is that none costs a verdict."""
    cache = tmp_path / "cache"
    filled = subprocess.run([sys.executable, "-c", PREFILL, str(cache)], cwd=REPO, capture_output=True, text=True)
    assert filled.returncode == 0, filled.stderr
    assert (cache / "llm-cache.sqlite3-wal").stat().st_size > 200_000
    src = many_responses(tmp_path, 40, vary_text=True)
    out = tmp_path / "res"
    with FaultServer() as srv:
        proc = cli("evaluate", "--judge", "llm", "--model", "j", "--base-url", srv.url("ok"), "--responses", str(src),
                   "--out", str(out), "--cache-dir", str(cache), limit=200_000)
    assert proc.returncode == 0, proc.stderr
    assert "LLM cache disabled for the rest of the run" in proc.stderr or "LLM cache: cannot write" in proc.stderr, \
        proc.stderr
    assert "Traceback" not in proc.stderr
    verdicts = list(iter_jsonl(out / "verdicts.jsonl"))
    from rubricate.rubrics.contract.loader import DEFAULT_RUBRIC, load_rubric
    rubric = load_rubric(DEFAULT_RUBRIC)
    n = sum(len(rubric.items[json.loads(l)["item_id"]]["criteria"]) for l in src.read_text().splitlines())
    assert len(verdicts) == n and all(v["answer"] in ("yes", "no") for v in verdicts)


def test_report_on_a_full_disk_is_one_line(tmp_path):
    src = many_responses(tmp_path, 12)
    out = tmp_path / "res"
    assert cli("evaluate", "--responses", str(src), "--out", str(out)).returncode == 0
    proc = cli("report", str(out), limit=20_000)
    assert proc.returncode == 2 and "File too large" in one_error(proc)
    assert not list((out / "report").glob("report.html"))  # atomic: no half-written page
