"""Runs that cannot collide or leave debris: --resume continues only the same run, a results
folder is locked, a KB folder is replaced as a set, workers die with their parent."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import replace_folder
from rubricate.rubrics.evaluation.results import ResultsDir
from tests.conftest import REPO, SAMPLES, many_responses


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rubricate", *args], cwd=REPO, capture_output=True, text=True)


def one_error(proc: subprocess.CompletedProcess) -> str:
    # an LLM judge's effective endpoint is announced first (issue 15): not an error line
    lines = [l for l in proc.stderr.splitlines() if l.strip() and not l.startswith("endpoint: ")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


@pytest.mark.slow
def test_resume_refuses_another_run_or_a_folder_without_run_json(tmp_path):
    out = tmp_path / "res"
    assert cli("evaluate", "--responses", str(SAMPLES), "--out", str(out)).returncode == 0
    other = tmp_path / "other.jsonl"
    other.write_text("".join(SAMPLES.read_text().splitlines(keepends=True)[:5]))
    proc = cli("evaluate", "--responses", str(other), "--out", str(out), "--resume")
    assert proc.returncode == 2 and "cannot resume: responses_sha256 differs" in one_error(proc)
    proc = cli("evaluate", "--responses", str(SAMPLES), "--out", str(out), "--resume", "--judge", "ensemble",
               "--model", "m", "--base-url", "http://127.0.0.1:9/v1")
    assert proc.returncode == 2 and "cannot resume: judge differs" in one_error(proc)
    (out / "run.json").unlink()
    proc = cli("evaluate", "--responses", str(SAMPLES), "--out", str(out), "--resume")
    assert proc.returncode == 2 and "run.json is missing" in one_error(proc)


def test_resume_checks_the_llm_judge_identity(tmp_path):
    results = ResultsDir(tmp_path / "res")
    """run.json's llm_judges (issue 15) names each LLM judge's endpoint and protocol; a resume
    must find the same model, base URL and protocol (its timeout or usage may differ)."""
    def judges(model="m1", base_url="http://h/v1", protocol="criterion", timeout=60.0):
        return {"llm": {"endpoint": {"model": model, "base_url": base_url, "timeout": timeout},
                        "protocol": protocol, "usage": {"calls": 3}}}
    base = {"rubric_id": "r", "rubric_sha256": "a", "responses_sha256": "b", "judge": "llm",
            "llm_judges": judges()}
    results.open_for_run(base, resume=False)
    results.unlock()
    results.verdicts.write_text('{"verdict_id": "v-1"}\n')
    for change in ({"model": "m2"}, {"base_url": "http://other/v1"}, {"protocol": "item"}):
        moved = {**base, "llm_judges": judges(**change)}
        with pytest.raises(RubricateError, match="cannot resume: the llm judge differs"):
            results.open_for_run(moved, resume=True)
        results.unlock()
    assert results.open_for_run({**base, "llm_judges": judges(timeout=5.0)}, resume=True) == {"v-1"}
    results.unlock()


@pytest.mark.slow
def test_a_second_run_into_a_locked_results_folder_is_refused(tmp_path):
    """While one run holds the folder (here: this process), another - even --resume - is
    refused in one line naming the holder; once the holder is gone, the folder is free."""
    src = many_responses(tmp_path, 20)
    out = tmp_path / "res"
    assert cli("evaluate", "--responses", str(src), "--out", str(out)).returncode == 0
    holder = ResultsDir(out)
    holder.lock()
    try:
        second = cli("evaluate", "--responses", str(src), "--out", str(out), "--resume")
        assert second.returncode == 2
        assert f"another run (pid {os.getpid()}) is writing to this results folder" in one_error(second)
    finally:
        holder.unlock()
    before = (out / "verdicts.jsonl").read_bytes()
    assert cli("evaluate", "--responses", str(src), "--out", str(out), "--resume").returncode == 0
    assert (out / "verdicts.jsonl").read_bytes() == before  # nothing doubled


def test_kb_folder_is_replaced_as_a_set(tmp_path, monkeypatch):
    folder = tmp_path / "kb"
    replace_folder(folder, {"kb.ttl": "old ttl", "kb.jsonld": "old json"})
    (folder / "notes.txt").write_text("mine")
    import rubricate.guidelines.kernel.fileio as fileio
    real = fileio.atomic_write_text
    calls = []

    def dies_on_second(path, text):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt  # a kill between the two files
        real(path, text)
    monkeypatch.setattr(fileio, "atomic_write_text", dies_on_second)
    with pytest.raises(KeyboardInterrupt):
        replace_folder(folder, {"kb.ttl": "new ttl", "kb.jsonld": "new json"})
    monkeypatch.setattr(fileio, "atomic_write_text", real)
    assert (folder / "kb.ttl").read_text() == "old ttl" and (folder / "kb.jsonld").read_text() == "old json"
    replace_folder(folder, {"kb.ttl": "new ttl", "kb.jsonld": "new json"})
    assert (folder / "kb.ttl").read_text() == "new ttl" and (folder / "kb.jsonld").read_text() == "new json"
    assert (folder / "notes.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["kb"]  # no temporary sibling left


def test_kb_folder_set_never_swaps_away_the_current_folder(tmp_path, monkeypatch):
    """--out . (or a parent of it) would rename the folder the user stands in: refused."""
    (tmp_path / "kb.ttl").write_text("old ttl")
    monkeypatch.chdir(tmp_path)
    for target in (tmp_path, tmp_path.parent):
        with pytest.raises(RubricateError, match="holds the current folder"):
            replace_folder(target, {"kb.ttl": "new ttl"})
    assert (tmp_path / "kb.ttl").read_text() == "old ttl"


@pytest.mark.slow
@pytest.mark.parametrize("value", ["0", "-2"])
def test_bad_worker_counts_are_refused(tmp_path, value):
    proc = cli("evaluate", "--responses", str(SAMPLES), "--out", str(tmp_path / "r"), "--workers", value)
    assert proc.returncode == 2 and "--workers" in proc.stderr and "Traceback" not in proc.stderr


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out |= {int(x) for x in (task / "children").read_text().split()}
        except OSError:
            pass
    return out


@pytest.mark.slow
def test_workers_die_with_their_parent(tmp_path):
    src = many_responses(tmp_path, 4000)
    parent = subprocess.Popen([sys.executable, "-m", "rubricate", "evaluate", "--responses", str(src),
                               "--out", str(tmp_path / "res"), "--workers", "2"], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    workers: set[int] = set()
    while len(workers) < 2:
        assert time.monotonic() < deadline and parent.poll() is None, "workers did not start"
        time.sleep(0.2)
        workers = _children(parent.pid)
    time.sleep(1.0)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 20
    while any(Path(f"/proc/{w}").exists() and "Z" not in (Path(f"/proc/{w}/stat").read_text().split()[2:3] or ["Z"])
              for w in workers):
        assert time.monotonic() < deadline, f"orphaned workers: {workers}"
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.parametrize("breakage, words", [("dup-item", "duplicate item id"), ("dup-criterion", "duplicate criterion id"),
                                             ("foreign-citation", "which the rubric's knowledge base does not hold")])
def test_rubric_integrity_is_checked_before_judging(tmp_path, breakage, words):
    from rubricate.rubrics.contract.loader import DEFAULT_RUBRIC
    data = json.loads(Path(DEFAULT_RUBRIC).read_text())
    items = data["items"]
    if breakage == "dup-item":
        items.append(json.loads(json.dumps(items[0])))
    elif breakage == "dup-criterion":
        items[1]["criteria"].append(json.loads(json.dumps(items[0]["criteria"][0])))
    else:
        items[0]["criteria"][0]["citations"][0]["document"] = "a_document_not_in_the_kb"
    rubric = tmp_path / "rubric.json"
    rubric.write_text(json.dumps(data))
    proc = cli("evaluate", "--rubric", str(rubric), "--responses", str(SAMPLES), "--out", str(tmp_path / "res"))
    assert proc.returncode == 2 and words in one_error(proc)
    assert not (tmp_path / "res" / "verdicts.jsonl").exists()


def test_stigma_score_lists_records_without_output(tmp_path):
    from rubricate.compiler.stigma import load_instrument
    from rubricate.rubrics.stigma.score import score_outputs
    inst = load_instrument("default")
    q, v = inst.questions[0], inst.vignettes[0]
    cond = next(c for c in inst.conditions if c.id == v.condition).label
    base = {"model": "m", "condition": cond, "question": q.text, "options": list(q.options)}
    path = tmp_path / "outputs.jsonl"
    path.write_text(json.dumps({**base, "output": "A"}) + "\n" + json.dumps(base) + "\n")
    run = score_outputs(path, inst)
    assert len(run.rows) == 1
    assert run.problems == [f"{path}:2: missing 'output' (no model answer recorded on this line)"]
