"""`evaluate --judge llm --repeats N`: every answer kept, the majority stands, unstable verdicts
flagged and summarised, the cache keyed by repeat; `compare` counts unstable verdicts apart."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from rubricate.cli import main
from rubricate.rubrics.contract.validation import verdict_errors
from rubricate.rubrics.evaluation.results import iter_jsonl as read_jsonl
from tests.conftest import SAMPLES
from tests.openai_server import OpenAIServer

REPO = Path(__file__).resolve().parents[1]
RUBRIC = REPO / "rubrics" / "rubricate-default.json"
SHAKY = "questions-belief"  # criteria whose question contains this id part get inconsistent answers


def inconsistent(messages: list[dict], body: dict) -> str:
    """'yes' to every question, except that questions about the client's belief flip with the seed."""
    text = " ".join(str(m.get("content")) for m in messages)
    shaky = "question the belief" in text
    answer = ("yes" if body.get("seed", 0) % 2 == 0 else "no") if shaky else "yes"
    return json.dumps({"explanation": "scripted", "answer": answer, "evidence": []})


def run(tmp: Path, srv: OpenAIServer, out: str, *extra: str):
    responses = tmp / "six.jsonl"
    responses.write_text("".join(SAMPLES.read_text().splitlines(keepends=True)[:6]))
    return CliRunner().invoke(main, ["evaluate", "--rubric", str(RUBRIC), "--responses", str(responses),
                                     "--judge", "llm", "--model", "judge-m", "--base-url", srv.base_url,
                                     "--cache-dir", str(tmp / "cache"), "--out", str(tmp / out), *extra],
                              catch_exceptions=False)


def test_repeats_keep_every_answer_and_flag_unstable_verdicts(tmp_path):
    with OpenAIServer(inconsistent) as srv:
        res = run(tmp_path, srv, "r3", "--repeats", "3")
        assert res.exit_code == 0, res.output
        n_requests = len(srv.completions)
        verdicts = list(read_jsonl(tmp_path / "r3" / "verdicts.jsonl"))
        assert n_requests == 3 * len(verdicts)                  # each criterion asked three times
        assert sorted({r.body.get("seed") for r in srv.completions}) == [0, 1, 2]
        shaky = [v for v in verdicts if v["criterion_id"].endswith(SHAKY)]
        steady = [v for v in verdicts if not v["criterion_id"].endswith(SHAKY)]
        assert shaky and steady
        for v in shaky:   # seeds 0, 1, 2 -> yes, no, yes: majority yes, unstable
            assert v["repeats"] == ["yes", "no", "yes"] and v["answer"] == "yes"
            assert v["unstable"] is True and "unstable" in v["flags"]
        for v in steady:
            assert v["repeats"] == ["yes"] * 3 and v["unstable"] is False and "unstable" not in v["flags"]
        assert all(v["judge_version"].endswith("+repeats3") for v in verdicts)
        assert all(verdict_errors(v) == [] for v in verdicts)   # the published verdict schema allows them
        summary = json.loads((tmp_path / "r3" / "summary.json").read_text())
        st = summary["by_judge"]["llm"]["stability"]
        assert st["overall"]["n"] == len(verdicts) and st["overall"]["unstable"] == len(shaky)
        crit = st["by_criterion"][shaky[0]["criterion_id"]]
        assert crit["share_unstable"] == 1.0 and abs(crit["agreement"] - 1 / 3) < 1e-9
        assert "repeated judging:" in res.output
        # the cache keeps each repeat apart: a re-run sends nothing and gives the same answers
        again = run(tmp_path, srv, "r3-again", "--repeats", "3")
        assert again.exit_code == 0 and len(srv.completions) == n_requests
        assert [v["repeats"] for v in read_jsonl(tmp_path / "r3-again" / "verdicts.jsonl")] == \
            [v["repeats"] for v in verdicts]


def test_a_tie_is_unknown_and_compare_leaves_unstable_verdicts_out(tmp_path):
    with OpenAIServer(inconsistent) as srv:
        assert run(tmp_path, srv, "r2", "--repeats", "2").exit_code == 0
        assert run(tmp_path, srv, "r1").exit_code == 0
    tied = [v for v in read_jsonl(tmp_path / "r2" / "verdicts.jsonl") if v["criterion_id"].endswith(SHAKY)]
    assert tied and all(v["repeats"] == ["yes", "no"] and v["answer"] == "unknown" for v in tied)
    res = CliRunner().invoke(main, ["compare", str(tmp_path / "r1"), str(tmp_path / "r2"), "--format", "json",
                                    "--allow-different-judges"])
    assert res.exit_code == 0, res.output
    rows = {r["key"]: r for r in json.loads(res.output)["rows"] if r["level"] == "criterion"}
    row = rows[tied[0]["criterion_id"]]
    assert row["unstable"] == len([v for v in tied if v["criterion_id"] == row["key"]])
    assert row["flips_bad"] == row["flips_good"] == 0 and row["paired"]


def test_repeats_are_refused_for_the_rules_judge(tmp_path):
    res = CliRunner().invoke(main, ["evaluate", "--rubric", str(RUBRIC), "--responses", str(SAMPLES),
                                    "--repeats", "3", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "--repeats applies to the LLM judge" in res.output
