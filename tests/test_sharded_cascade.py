"""The cascade judge at scale (issue 21, item 5): ``evaluate --shards ... --judge cascade --engine dask``.

The rules run in the shard tasks on a LocalCluster; the shards' uncertain verdicts go to the LLM
judge (a real local OpenAI-compatible server, tests/openai_server.py) from the driver, under one
concurrency limit; the result is exactly the verdicts and summary of the cascade on one file.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubricate.cli import main
from tests.openai_server import Fault, FaultRule, response_in
from tests.test_cascade import rubric_with_thresholds
from tests.test_sharded import make_shards, verdict_lines

if not os.environ.get("CI"):  # in CI the dask extra must be there: a missing one fails the import below
    pytest.importorskip("distributed", reason="the dask extra is not installed (pip install 'rubricate[dask]')")

pytestmark = pytest.mark.slow  # a LocalCluster and an LLM server per test


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def yes_if_help(messages: list[dict], body: dict) -> str:
    ans = "yes" if "help" in response_in(messages).lower() else "no"
    return json.dumps({"explanation": "scripted judge", "answer": ans, "evidence": []})


def llm_args(srv, *extra):
    return ["--judge", "cascade", "--model", "judge-model", "--base-url", srv.base_url, "--no-cache",
            "--max-concurrency", "3", *extra]


def no_line(v: dict) -> dict:
    """A verdict without what differs between two runs by nature: the line in its file, the latency."""
    out = {k: val for k, val in v.items() if k != "response_line"}
    if out.get("usage"):
        out["usage"] = {k: val for k, val in out["usage"].items() if k != "latency_s"}
    return out


def test_dask_cascade_gives_the_one_file_cascade_with_one_global_limit(make_server, tmp_path):
    shards = make_shards(tmp_path / "in", n_shards=3, copies=2)
    rubric = rubric_with_thresholds(tmp_path, 0.9)
    whole = tmp_path / "whole.jsonl"
    whole.write_text("".join(p.read_text() for p in shards))
    one = make_server(yes_if_help, latency=0.02)
    res = cli("evaluate", "--rubric", rubric, "--responses", whole, "--out", tmp_path / "single", *llm_args(one))
    assert res.exit_code == 0, res.output
    srv = make_server(yes_if_help, latency=0.02)
    out = tmp_path / "dask"
    res = cli("evaluate", "--rubric", rubric, "--shards", str(tmp_path / "in" / "*.jsonl"), "--engine", "dask",
              "--workers", "2", "--out", out, *llm_args(srv))
    assert res.exit_code == 0, res.output
    single = [json.loads(x) for x in (tmp_path / "single" / "verdicts.jsonl").read_text().splitlines()]
    sharded = [json.loads(x) for x in verdict_lines(out)]
    key = lambda v: v["verdict_id"]  # noqa: E731
    assert sorted(map(no_line, sharded), key=key) == sorted(map(no_line, single), key=key)
    routed = [v for v in sharded if v["decided_by"] == "llm"]
    assert routed and all(v["routed"] == "uncertain" and v["rules_answer"] in ("yes", "no") for v in routed)
    assert len(srv.completions) == len(routed) == len(one.completions)
    assert srv.max_in_flight <= 3                      # one limit for the whole job, not one per worker
    s1 = json.loads((tmp_path / "single" / "summary.json").read_text())
    s2 = json.loads((out / "summary.json").read_text())
    assert s1["by_judge"] == s2["by_judge"] and s1["cascade"]["cascade"]["routed"] == s2["cascade"]["cascade"]["routed"]
    assert s2["cascade"]["cascade"]["share_routed"] == pytest.approx(len(routed) / len(sharded))
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["judge"] == "cascade" and manifest["llm_judges"]["cascade"]["endpoint"]["model"] == "judge-model"
    assert {p.name for p in (out / "cascade").iterdir()} == {f"{kind}-{i:05d}.jsonl" for kind in ("confident", "uncertain")
                                                             for i in range(3)}


def test_failed_llm_calls_leave_their_shards_open_and_resume_finishes_them(make_server, tmp_path):
    make_shards(tmp_path / "in", n_shards=3)
    rubric = rubric_with_thresholds(tmp_path, 0.9)
    ref = tmp_path / "ref"
    res = cli("evaluate", "--rubric", rubric, "--shards", str(tmp_path / "in" / "*.jsonl"), "--out", ref,
              *llm_args(make_server(yes_if_help)))
    assert res.exit_code == 0, res.output
    # every call about a response mentioning "therapist" fails (401 stops the run's calls: a real cause)
    broken = make_server(yes_if_help, rules=[FaultRule("therapist", Fault("500"), times=10_000)])
    out = tmp_path / "out"
    res = cli("evaluate", "--rubric", rubric, "--shards", str(tmp_path / "in" / "*.jsonl"), "--out", out,
              *llm_args(broken, "--max-retries", "0"))
    assert res.exit_code != 0 and "--resume" in res.output and "failed" in res.output
    assert len(list((out / "partials").glob("part-*.json"))) < 3
    assert not (out / "summary.json").exists()
    fixed = make_server(yes_if_help)
    res = cli("evaluate", "--rubric", rubric, "--shards", str(tmp_path / "in" / "*.jsonl"), "--out", out, "--resume",
              *llm_args(fixed))
    assert res.exit_code == 0, res.output
    assert "shard " not in res.output                   # the rules were not run again
    key = lambda v: v["verdict_id"]  # noqa: E731
    assert sorted(map(no_line, map(json.loads, verdict_lines(out))), key=key) == \
        sorted(map(no_line, map(json.loads, verdict_lines(ref))), key=key)
    assert json.loads((out / "summary.json").read_text())["by_judge"] == \
        json.loads((ref / "summary.json").read_text())["by_judge"]


def test_sharded_cascade_refuses_other_llm_judges(tmp_path):
    make_shards(tmp_path / "in", n_shards=1)
    res = CliRunner().invoke(main, ["evaluate", "--shards", str(tmp_path / "in" / "*.jsonl"), "--judge", "llm",
                                    "--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "--judge cascade" in res.output


def test_sharded_audit_draws_the_verdicts_of_a_one_file_run(make_server, tmp_path):
    shards = make_shards(tmp_path / "in", n_shards=3)
    rubric = rubric_with_thresholds(tmp_path, 0.0)   # never uncertain: only the audit asks the LLM
    whole = tmp_path / "whole.jsonl"
    whole.write_text("".join(p.read_text() for p in shards))
    audit = ["--audit-rate", "0.3", "--seed", "5"]
    res = cli("evaluate", "--rubric", rubric, "--responses", whole, "--out", tmp_path / "single",
              *llm_args(make_server(yes_if_help), *audit))
    assert res.exit_code == 0, res.output
    out = tmp_path / "sharded"
    res = cli("evaluate", "--rubric", rubric, "--shards", str(tmp_path / "in" / "*.jsonl"), "--out", out,
              *llm_args(make_server(yes_if_help), *audit))
    assert res.exit_code == 0, res.output
    single = [json.loads(x) for x in (tmp_path / "single" / "verdicts.jsonl").read_text().splitlines()]
    sharded = [json.loads(x) for x in verdict_lines(out)]
    key = lambda v: v["verdict_id"]  # noqa: E731
    assert sorted(map(no_line, sharded), key=key) == sorted(map(no_line, single), key=key)
    audited = [v for v in sharded if v.get("routed") == "audit"]
    assert audited and all(v["decided_by"] == "llm" for v in audited)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cascade"]["cascade"]["audit"]["n"] == len(audited)
    assert json.loads((out / "run.json").read_text())["cascade"] == {"audit_rate": 0.3, "audit_seed": 5}
