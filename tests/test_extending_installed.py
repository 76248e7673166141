"""A separate, pip-installed package adds an exporter and a detector through its entry
points, and the CLI offers and uses them (README "Extending rubricate", last recipe).

The package is written into tmp_path, built and installed with pip into a fresh virtual
environment; that environment also sees this one's packages (click, spaCy, ...), and
``rubricate`` is this checkout (tests/checkout.py puts it first on PYTHONPATH).
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import REPO

PYPROJECT = """\
[build-system]
requires = ["setuptools>=61", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "rubricate-questions-csv"
version = "0.1.0"

[tool.setuptools]
py-modules = ["rubricate_questions_csv"]

[project.entry-points."rubricate.exporters"]
questions-csv = "rubricate_questions_csv:export_questions_csv"

[project.entry-points."rubricate.detectors"]
exclamation = "rubricate_questions_csv:ExclamationDetector"
"""

MODULE = '''\
"""A rubricate exporter: one CSV row per criterion (item id, criterion id, question)."""
import csv


def export_questions_csv(rubric, out, system_prompt=None):
    items = [i for i in rubric["items"] if i.get("criteria")]
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["item", "criterion", "question"])
        for item in items:
            for c in item["criteria"]:
                writer.writerow([item["id"], c["id"], c["question"]])
    return len(items)


def __getattr__(name):  # the detector base class loads spaCy: only when the detector is asked for
    if name == "ExclamationDetector":
        from rubricate.rubrics.checks.detectors.base import Detector, Finding

        class ExclamationDetector(Detector):
            type = "exclamation"

            def __init__(self, params, bank, where):
                super().__init__(params, bank, where)
                self.min = self.params.integer("min", 1, 1)

            def detect(self, ctx):
                spans = [(i, i + 1) for i, ch in enumerate(ctx.text) if ch == "!"]
                fired = len(spans) >= self.min
                return Finding(fired, spans if fired else [], f"{len(spans)} exclamation mark(s)")
        globals()[name] = ExclamationDetector
        return ExclamationDetector
    raise AttributeError(name)
'''


def run(*args: str | Path, **kw) -> subprocess.CompletedProcess:
    res = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, **kw)
    assert res.returncode == 0, f"{args}: {res.stdout}\n{res.stderr}"
    return res


def _venv(root: Path) -> Path:
    """A fresh venv that also sees the packages of the running interpreter's environment."""
    run(sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", root)
    python = root / "bin" / "python"
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    # --system-site-packages reaches the base interpreter's packages; when the tests run in a
    # venv themselves, its site-packages are added the same way (addsitedir runs its .pth
    # files), which also brings pip and setuptools (pip installs into the new venv's prefix).
    ours = sysconfig.get_paths()["purelib"]
    Path(site, "_rubricate_test_parent.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return python


@pytest.mark.slow
def test_an_installed_package_adds_an_exporter_the_cli_offers_and_uses(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (pkg / "rubricate_questions_csv.py").write_text(MODULE, encoding="utf-8")
    python = _venv(tmp_path / "venv")
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}

    # not installed yet: the CLI does not offer it
    before = run(python, "-m", "rubricate", "export", "--help", env=env, cwd=tmp_path).stdout
    assert "questions-csv" not in before and "promptfoo" in before

    run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", pkg, env=env, cwd=tmp_path)
    where = run(python, "-c", "import rubricate, rubricate_questions_csv as m; print(rubricate.__file__); "
                "print(m.__file__)", env=env, cwd=tmp_path).stdout.split()
    assert Path(where[0]).resolve().parent == REPO  # this checkout, not another install
    assert Path(where[1]).is_relative_to(tmp_path / "venv")

    helptext = run(python, "-m", "rubricate", "export", "--help", env=env, cwd=tmp_path).stdout
    assert "questions-csv" in helptext
    out = tmp_path / "questions.csv"
    res = run(python, "-m", "rubricate", "export", "--format", "questions-csv", "--out", out,
              env=env, cwd=tmp_path)
    rubric = json.loads((REPO / "rubrics" / "rubricate-default.json").read_text(encoding="utf-8"))
    assert f"({len(rubric['items'])} items, questions-csv)" in res.stdout
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["item"], r["criterion"], r["question"]) for r in rows] == [
        (i["id"], c["id"], c["question"]) for i in rubric["items"] for c in i["criteria"]]

    # the detector: a rubric naming it validates and judges in the venv, not here
    rubric["items"][0]["criteria"][0]["checks"] = {"detectors": [{"type": "exclamation", "params": {"min": 2}}],
                                                   "answer_if_found": "yes", "answer_otherwise": "no"}
    edited = tmp_path / "rubric.json"
    edited.write_text(json.dumps(rubric), encoding="utf-8")
    responses = tmp_path / "responses.jsonl"
    responses.write_text("".join(json.dumps({"response_id": rid, "item_id": rubric["items"][0]["id"], "model": "m",
                                             "response": text}) + "\n"
                                 for rid, text in (("calm", "Let us talk."), ("loud", "Wow! Go!"))), encoding="utf-8")
    res = run(python, "-m", "rubricate", "evaluate", "--rubric", edited, "--responses", responses, "--out",
              tmp_path / "results", env=env, cwd=tmp_path)
    crit = rubric["items"][0]["criteria"][0]["id"]
    answers = {v["response_id"]: v["answer"] for v in map(json.loads, (tmp_path / "results" / "verdicts.jsonl")
                                                           .read_text(encoding="utf-8").splitlines())
               if v["criterion_id"] == crit}
    assert answers == {"calm": "no", "loud": "yes"}
    refused = subprocess.run([sys.executable, "-m", "rubricate", "evaluate", "--rubric", str(edited), "--responses",
                              str(responses), "--out", str(tmp_path / "here")], capture_output=True, text=True,
                             cwd=tmp_path, timeout=300)
    assert refused.returncode == 2 and "exclamation" in refused.stderr

    # the environment the tests run in never saw the package
    ours = run(sys.executable, "-m", "rubricate", "export", "--help", cwd=tmp_path).stdout
    assert "questions-csv" not in ours
