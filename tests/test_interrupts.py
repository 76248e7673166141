"""Ctrl-C as a terminal sends it (SIGINT to the whole process group) at several points of a
cold knowledge-base build, an offline evaluation with worker processes and an LLM
evaluation: one line, exit 130, no traceback, no process left, files complete or resumable."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rubricate.rubrics.evaluation.results import iter_jsonl
from tests.conftest import REPO, many_responses
from tests.openai_server import OpenAIServer, response_in

pytestmark = pytest.mark.slow


def start(args: list[str], env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rubricate", *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, **(env or {})})


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def ctrl_c(proc: subprocess.Popen, after: float | None = None, when=None, timeout: float = 90) -> tuple[int, str]:
    """SIGINT to the group once ``when()`` is true (or after ``after`` seconds); the exit code
    and stderr. Fails if the command hangs or leaves a process of its group behind."""
    t0 = time.monotonic()
    while proc.poll() is None and time.monotonic() - t0 < timeout:
        if (after is not None and time.monotonic() - t0 >= after) or (when is not None and when()):
            break
        time.sleep(0.02)
    pgid = proc.pid
    if proc.poll() is None:
        os.killpg(pgid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(pgid, signal.SIGKILL)
        pytest.fail("the command hung after Ctrl-C")
    deadline = time.monotonic() + 10
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not group_alive(pgid), "a worker process outlived the command"
    return proc.returncode, err


def assert_clean_interrupt(code: int, err: str) -> None:
    assert code == 130, err
    assert "Traceback" not in err and "Aborted!" not in err and "BrokenProcessPool" not in err, err
    lines = [l for l in err.splitlines() if l.startswith("interrupted")]
    assert len(lines) == 1, err


@pytest.mark.parametrize("after", [0.8, 2.5, 5.0, 8.0])
def test_ctrl_c_during_a_cold_build(tmp_path, after):
    out = tmp_path / "kb"
    env = {"RUBRICATE_CACHE_DIR": str(tmp_path / "cold-cache")}  # nothing parsed yet
    proc = start(["build", "--out", str(out), "--workers", "2"], env)
    code, err = ctrl_c(proc, after=after)
    if code == 0:  # finished before the signal: nothing to check about an interrupt
        return
    assert_clean_interrupt(code, err)
    assert "never a mix" in err or "nothing was written" in err  # (the latter: before the build began)
    # the knowledge base is written whole or not at all; the same command then completes
    assert (out / "kb.ttl").exists() == (out / "kb.jsonld").exists() == (out / "build-report.json").exists()
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and p.name.endswith(".tmp")]
    res = subprocess.run([sys.executable, "-m", "rubricate", "build", "--out", str(out), "--workers", "2"],
                         cwd=REPO, capture_output=True, text=True, env={**os.environ, **env})
    assert res.returncode == 0, res.stderr
    assert (out / "kb.ttl").exists() and (out / "build-report.json").exists()


def _resume_completes(args: list[str], out: Path, expected: int, env: dict | None = None) -> None:
    res = subprocess.run([sys.executable, "-m", "rubricate", *args, "--resume"], cwd=REPO,
                         capture_output=True, text=True, env={**os.environ, **(env or {})})
    assert res.returncode == 0, res.stderr
    ids = [v["verdict_id"] for v in iter_jsonl(out / "verdicts.jsonl")]
    assert len(ids) == len(set(ids)) == expected
    assert json.loads((out / "summary.json").read_text())["verdicts"] == expected


def _expected(path: Path) -> int:
    from rubricate.rubrics.contract.loader import load_rubric
    rubric = load_rubric()
    return sum(len(rubric.items[json.loads(l)["item_id"]]["criteria"]) for l in path.open())


@pytest.mark.parametrize("point", ["start", "workers-busy", "mid-run"])
def test_ctrl_c_during_an_offline_evaluation(tmp_path, point):
    responses = many_responses(tmp_path, 3000)
    expected = _expected(responses)
    out = tmp_path / "out"
    args = ["evaluate", "--responses", str(responses), "--workers", "2", "--out", str(out)]
    proc = start(args)
    verdicts = out / "verdicts.jsonl"
    when = {"start": lambda: out.exists(),
            "workers-busy": lambda: verdicts.exists(),
            "mid-run": lambda: verdicts.exists() and verdicts.stat().st_size > 200_000}[point]
    code, err = ctrl_c(proc, when=when)
    if code == 0:
        return
    assert_clean_interrupt(code, err)
    assert f"verdicts kept in {out}; continue with --resume" in err
    _resume_completes(args, out, expected)


@pytest.mark.parametrize("point", ["first-requests", "mid-run"])
def test_ctrl_c_during_an_llm_evaluation(tmp_path, point):
    def answer(messages, body):
        ans = "yes" if "then" in response_in(messages) else "no"
        return json.dumps({"explanation": "scripted", "answer": ans, "evidence": []})
    srv = OpenAIServer(answer, latency=0.03).start()
    try:
        responses = many_responses(tmp_path, 200, vary_text=True)
        expected = _expected(responses)
        out = tmp_path / "out"
        args = ["evaluate", "--responses", str(responses), "--judge", "llm", "--model", "judge",
                "--base-url", srv.base_url, "--max-concurrency", "4", "--out", str(out),
                "--cache-dir", str(tmp_path / "cache")]
        proc = start(args)
        verdicts = out / "verdicts.jsonl"
        when = {"first-requests": lambda: len(srv.completions) > 2,
                "mid-run": lambda: verdicts.exists() and verdicts.stat().st_size > 0}[point]
        code, err = ctrl_c(proc, when=when)
        assert_clean_interrupt(code, err)
        kept = sum(1 for _ in iter_jsonl(verdicts))
        assert f"interrupted; {kept} verdicts kept in {out}; continue with --resume" in err
        _resume_completes(args, out, expected)
    finally:
        srv.stop()


HALF_BUILT = """
import click, sys
import rubricate.cli as cli

class HalfBuilt:  # as an object whose __init__ a Ctrl-C cut short (pyparsing's Forward at import)
    def __init__(self):
        raise KeyboardInterrupt
    def __del__(self):
        self.expr is None

@cli.main.command("half-built")
def half_built():
    keep = []
    try:
        HalfBuilt()
    except KeyboardInterrupt as exc:
        keep.append(exc)   # the traceback keeps the half-built object alive until exit
        raise

cli._PROGRAM["running"] = True
sys.exit(cli.main(["half-built"], prog_name="rubricate"))
"""


def test_an_interrupt_reports_one_line_without_finalizer_noise(tmp_path):
    """A Ctrl-C that leaves half-built objects behind: their failing finalizers at exit
    ("Exception ignored in ... __del__") print nothing after the one 'interrupted' line."""
    proc = subprocess.run([sys.executable, "-c", HALF_BUILT], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 130, proc.stderr
    assert "Exception ignored" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert [l for l in proc.stderr.splitlines() if l.strip()] == ["interrupted; nothing was written"]
