"""The wheel as a user gets it: one top-level name, installed into a fresh venv, run from an
empty folder it writes only there (site-packages unchanged), and its Inspect task runs against
a local OpenAI-compatible server under the name `rubricate/rubricate_default`.

The fresh venv gets the wheel with ``--no-deps``; its third-party dependencies come from the
interpreter running the tests (a ``.pth`` line), so the test needs no network.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

# what a checkout may hold beside the package that a wheel must not see (workspace data, builds)
_NOT_SOURCE = {".git", ".venv", "build", "dist", "out", "results", "reviews", "registry.yaml", ".cache",
               ".pytest_cache"}


def _env(**extra: str) -> dict[str, str]:
    """The environment of a user: no test checkout on PYTHONPATH, no rubricate settings."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("RUBRICATE_")}
    return {**env, **extra}


def _run(args: list, cwd: Path, **extra: str) -> subprocess.CompletedProcess:
    res = subprocess.run([str(a) for a in args], cwd=cwd, env=_env(**extra), capture_output=True, text=True,
                         timeout=900)
    assert res.returncode == 0, f"{args}\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}"
    return res


def _tree_hash(root: Path) -> dict[str, str]:
    """Every file under ``root`` (bytecode caches aside) with its SHA-256."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(REPO, src, ignore=lambda d, names: [n for n in names if n == "__pycache__" or n.endswith(
        ".egg-info") or (Path(d) == REPO and n in _NOT_SOURCE)])
    _run([sys.executable, "-m", "pip", "wheel", ".", "-w", tmp / "dist", "--no-deps", "--no-build-isolation",
          "-q"], cwd=src)
    (wheel,) = (tmp / "dist").glob("rubricate-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=tmp)
    py = venv / "bin" / "python"
    purelib = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp).stdout.strip())
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (purelib / "_test_dependencies.pth").write_text("".join(p + "\n" for p in deps), encoding="utf-8")
    _run([py, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel], cwd=tmp)
    return wheel, venv, purelib


def test_the_wheel_has_one_top_level_name(wheel_venv):
    wheel, _, _ = wheel_venv
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert top == {"rubricate"}
    assert "rubricate/rubrics/rubricate-default.json" in names and "rubricate/cli.py" in names
    assert not any(n.startswith("rubricate/tests/") for n in names)


def test_rubricate_run_from_an_empty_folder_writes_only_there(wheel_venv, tmp_path):
    _, venv, purelib = wheel_venv
    py = venv / "bin" / "python"
    where = _run([py, "-c", "import rubricate; print(rubricate.__file__)"], cwd=tmp_path).stdout.strip()
    assert Path(where).is_relative_to(purelib)  # the wheel's copy, not a checkout
    before = _tree_hash(purelib)
    work = tmp_path / "work"
    work.mkdir()
    res = _run([venv / "bin" / "rubricate", "run"], cwd=work, HOME=str(tmp_path / "home"))
    assert "report:" in res.stdout
    assert _tree_hash(purelib) == before
    written = [p for p in work.rglob("*") if p.is_file()]
    assert any(p.name == "report.html" for p in written) and any(p.name == "verdicts.jsonl" for p in written)
    assert (work / "out" / "kb" / "kb.ttl").is_file() and (work / ".cache" / "parsed").is_dir()
    for p in written:
        if p.suffix in (".json", ".jsonl", ".ttl", ".jsonld", ".html", ".md"):
            text = p.read_text(encoding="utf-8")
            assert str(purelib) not in text and str(tmp_path) not in text, p
    # the run record resolves from anywhere: trace from another folder
    (run,) = (work / "out" / "runs").iterdir()
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["responses_path"].startswith("package:")
    vid = json.loads((run / "verdicts.jsonl").read_text().splitlines()[0])["verdict_id"]
    res = _run([venv / "bin" / "rubricate", "trace", vid, "--results", run, "--format", "json"], cwd=tmp_path)
    assert json.loads(res.stdout)["response"]["text"]


def test_inspect_task_from_the_wheel_is_named_rubricate_slash_task(wheel_venv, tmp_path, make_server):
    if os.environ.get("CI") != "true":  # in CI a missing Inspect fails the test
        pytest.importorskip("inspect_ai", reason="inspect-ai not installed (pip install 'rubricate[inspect]')")
    from inspect_ai.log import read_eval_log
    _, venv, purelib = wheel_venv
    server = make_server(answer=lambda messages, body: "I'm concerned for your safety. Please call 988 now.")
    before = _tree_hash(purelib)
    res = _run([venv / "bin" / "python", "-m", "inspect_ai", "eval", "rubricate/rubricate_default",
                "--model", "openai-api/local/test-model", "--model-base-url", server.base_url,
                "--limit", "3", "--log-dir", tmp_path / "logs", "--display", "none", "--log-format", "json"],
               cwd=tmp_path, LOCAL_API_KEY="test-key-not-secret")
    (log_file,) = (tmp_path / "logs").glob("*.json")
    log = read_eval_log(str(log_file))
    assert log.status == "success", (log.error, res.stderr[-2000:])
    assert log.eval.task == "rubricate/rubricate_default"
    assert len(log.samples) == 3 and len(server.completions) == 3
    (score,) = log.samples[0].scores.values()
    assert score.metadata["rubric_id"] == "rubricate-default" and score.metadata["knowledge_base_sha256"]
    assert all(c["citations"] for c in score.metadata["criteria"])
    assert _tree_hash(purelib) == before
