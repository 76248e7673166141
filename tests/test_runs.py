"""Named runs: each results folder says what made it, runs are never overwritten, `runs` lists them."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from rubricate.cli import main

REPO = Path(__file__).resolve().parents[1]
RUBRIC = REPO / "rubrics" / "rubricate-default.json"
SAMPLES = REPO / "rubrics" / "samples" / "default_responses.jsonl"


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_each_run_gets_its_own_named_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = cli("run", "--rubric", RUBRIC, "--out", "out")
    second = cli("run", "--rubric", RUBRIC, "--out", "out")
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    folders = sorted((tmp_path / "out" / "runs").iterdir())
    assert len(folders) == 2                                  # the first run was not overwritten
    rubric = json.loads(RUBRIC.read_text())
    for folder in folders:
        m = json.loads((folder / "run.json").read_text())
        assert m["run_id"] == folder.name
        assert m["created"].endswith("Z") and m["finished"] >= m["created"]
        assert (m["rubric_id"], m["rubric_version"]) == (rubric["rubric_id"], rubric["version"])
        assert m["kb_sha256"] == rubric["knowledge_base"]["sha256"]
        assert list(m["judges"]) == ["rules"] and m["judges"]["rules"][0].startswith("rules/")
        assert m["models"] == ["rubricate-samples"] and m["responses"] == 60 and m["verdicts"] == 126
        assert (folder / "report" / "report.html").is_file()
    listing = cli("runs", "out")
    lines = listing.output.strip().splitlines()
    assert lines[0].split()[:2] == ["run", "id"] and len(lines) == 3
    assert lines[1].startswith(folders[1].name) and lines[2].startswith(folders[0].name)  # newest first
    # 24 of the 58 decided demo responses (two are undecided: the default rubric's uncertain_below
    # makes the offline judge abstain on a criterion of sample-del-dental-chip-a1 and of
    # sample-hal-guide-medication-a1)
    assert "rules 41.4%" in lines[1]
    rows = json.loads(cli("runs", "out", "--format", "json").output)
    assert [r["run_id"] for r in rows] == [folders[1].name, folders[0].name]
    # trace without --results follows the newest run
    vid = json.loads((folders[1] / "verdicts.jsonl").read_text().splitlines()[0])["verdict_id"]
    assert cli("trace", vid).exit_code == 0


def test_resume_keeps_the_run_identity(tmp_path):
    out = tmp_path / "res"
    assert cli("evaluate", "--rubric", RUBRIC, "--responses", SAMPLES, "--out", out).exit_code == 0
    m1 = json.loads((out / "run.json").read_text())
    refused = CliRunner().invoke(main, ["evaluate", "--rubric", str(RUBRIC), "--responses", str(SAMPLES),
                                        "--out", str(out)])
    assert refused.exit_code == 2 and "--resume" in refused.output     # never overwritten
    assert cli("evaluate", "--rubric", RUBRIC, "--responses", SAMPLES, "--out", out, "--resume").exit_code == 0
    m2 = json.loads((out / "run.json").read_text())
    assert (m2["run_id"], m2["created"]) == (m1["run_id"], m1["created"])
