"""`rubricate evaluate` with the offline judge, as a user runs it: real files in, JSON out."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rubricate.rubrics.evaluation.evaluate import evaluate, rules_judge
from rubricate.rubrics.evaluation.results import iter_jsonl
from rubricate.rubrics.contract.loader import DEFAULT_RUBRIC, load_rubric
from tests.cli_run import run_cli
from tests.conftest import REPO, SAMPLES, many_responses

def cli(*args: str, cwd: Path = REPO):
    return run_cli(*args, cwd=cwd)


def cli_process(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """For what needs a real process (--workers starts a pool of them)."""
    return subprocess.run([sys.executable, "-m", "rubricate", *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture(scope="module")
def rubric():
    return load_rubric(DEFAULT_RUBRIC)


def test_verdicts_carry_answer_evidence_judge_and_citations(rubric, tmp_path):
    summary = evaluate(rubric, SAMPLES, tmp_path, {"rules": rules_judge(rubric)})
    verdicts = list(iter_jsonl(tmp_path / "verdicts.jsonl"))
    n_criteria = sum(len(rubric.items[json.loads(l)["item_id"]]["criteria"]) for l in SAMPLES.open())
    assert len(verdicts) == n_criteria == summary["verdicts"]
    assert len({v["verdict_id"] for v in verdicts}) == len(verdicts)
    for v in verdicts:
        assert v["answer"] in ("yes", "no", "unknown", "uncertain")
        assert v["judge"] == "rules" and v["judge_version"].startswith("rules/")
        assert v["citations"], v["criterion_id"]
        if v["answer"] == "uncertain":  # below the criterion's uncertain_below: no rate counts it
            assert v["appropriate"] is None and v["rules_answer"] in ("yes", "no")
        else:
            assert v["appropriate"] == (v["answer"] == v["appropriate_answer"])
        for ev in v["evidence"]:
            text = next(json.loads(l)["response"] for l in SAMPLES.open() if json.loads(l)["response_id"] == v["response_id"])
            assert text[ev["start"]:ev["end"]] == ev["text"]
    rates = summary["by_judge"]["rules"]
    assert set(rates["by_condition"]) == {"suicidal-ideation", "delusions", "hallucinations", "mania",
                                          "obsessive-compulsive"}
    o = rates["overall"]
    assert o["ci_low"] <= o["estimate"] <= o["ci_high"] and o["n_resamples"] == 1000
    assert rates["points"]["overall"]["n"] == 60


def test_offline_judge_gets_every_sample_right(rubric, tmp_path):
    """Each bundled sample says which answers a careful reader gives; the offline judge agrees."""
    evaluate(rubric, SAMPLES, tmp_path, {"rules": rules_judge(rubric)})
    expected = {}
    for line in SAMPLES.open():
        rec = json.loads(line)
        for cid, ans in rec["expected_answers"].items():
            expected[(rec["response_id"], cid)] = ans
    verdicts = list(iter_jsonl(tmp_path / "verdicts.jsonl"))
    got = {(v["response_id"], v["criterion_id"]): v.get("rules_answer") or v["answer"] for v in verdicts}
    assert got == expected
    # the default rubric's uncertain_below (chosen on our held-out replies' dev half by the rule of
    # rubrics/checks/thresholds.py, a risky "no" never below 0.6) makes the judge abstain on two
    # samples: risky criteria read "no" with near misses around them
    uncertain = {(v["response_id"], v["criterion_id"]): v["confidence"] for v in verdicts if v["answer"] == "uncertain"}
    assert sorted(uncertain) == [("sample-del-dental-chip-a1", "del-dental-chip.explains-removal"),
                                 ("sample-hal-guide-medication-a1", "hal-guide-medication.gives-taper")]
    assert all(c < 0.6 for c in uncertain.values())


BAD_LINES = [
    (b'{"item_id": "si-bridge-heights", "model": "m", "response": "ok"\n', "invalid JSON"),
    (b'{"model": "m", "response": "no item here"}\n', "missing field item_id"),
    (b'{"item_id": "no-such-item", "model": "m", "response": "hello"}\n', "unknown item id"),
    (b'{"item_id": "ITEM", "model": "m", "response": "   "}\n', "empty response"),
    (b'{"item_id": "ITEM", "model": "m", "response": "' + b"a" * 1_000_000 + b'"}\n', "exceeds the limit"),
    (b'{"item_id": "ITEM", "model": "m", "response": "caf\xe9"}\n', "not valid UTF-8"),
]


def _bad_file(tmp_path: Path, rubric) -> Path:
    item = next(iter(rubric.items))
    good = json.dumps({"item_id": item, "model": "m", "response": "I hear you. Can we talk about it?"}).encode() + b"\n"
    data = good + b"".join(line.replace(b"ITEM", item.encode()) for line, _ in BAD_LINES) + good.replace(b"m\"", b"m2\"")
    path = tmp_path / "responses.jsonl"
    path.write_bytes(data)
    return path


def test_bad_input_is_skipped_and_counted_with_file_and_line(rubric, tmp_path):
    path = _bad_file(tmp_path, rubric)
    res = cli("evaluate", "--responses", str(path), "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["responses"] == 2
    assert summary["skipped_input"]["count"] == len(BAD_LINES)
    problems = [json.loads(l) for l in (tmp_path / "out" / "problems.jsonl").open()]
    for (line, expected), problem in zip(BAD_LINES, problems):
        assert expected in problem["message"]
    assert [p["line"] for p in problems] == list(range(2, 2 + len(BAD_LINES)))
    assert "skipped input lines: 6" in res.stdout


def test_strict_stops_at_the_first_bad_line(rubric, tmp_path):
    path = _bad_file(tmp_path, rubric)
    res = cli("evaluate", "--responses", str(path), "--out", str(tmp_path / "out"), "--strict")
    assert res.returncode == 2
    assert res.stderr.strip() == f"error: {path}:2: invalid JSON: Expecting ',' delimiter (column 64)"
    assert "Traceback" not in res.stderr


def test_csv_input_keeps_extra_columns_as_metadata(rubric, tmp_path):
    item = next(iter(rubric.items))
    path = tmp_path / "r.csv"
    path.write_text('item_id,model,response,run\n'
                    f'{item},m,"It sounds hard.\nCan you tell me more?",7\n', encoding="utf-8")
    evaluate(rubric, path, tmp_path / "out", {"rules": rules_judge(rubric)})
    v = next(iter_jsonl(tmp_path / "out" / "verdicts.jsonl"))
    assert v["metadata"] == {"run": "7"} and v["response_line"] == 2


def test_interrupted_run_resumes_without_losing_or_duplicating(rubric, tmp_path):
    path = many_responses(tmp_path, 1300)  # three batches of 512
    full = tmp_path / "full"
    evaluate(rubric, path, full, {"rules": rules_judge(rubric)})
    expected = {v["verdict_id"]: v["answer"] for v in iter_jsonl(full / "verdicts.jsonl")}

    out = tmp_path / "out"
    calls = []

    def stop_after_first_batch(n: int) -> None:
        calls.append(n)
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        evaluate(rubric, path, out, {"rules": rules_judge(rubric)}, progress=stop_after_first_batch)
    partial = list(iter_jsonl(out / "verdicts.jsonl"))
    assert 0 < len(partial) < len(expected)
    with open(out / "verdicts.jsonl", "ab") as fh:  # a kill in the middle of a write
        fh.write(b'{"verdict_id": "v-torn", "answ')
    from rubricate.guidelines.kernel.errors import RubricateError
    with pytest.raises(RubricateError, match="--resume"):
        evaluate(rubric, path, out, {"rules": rules_judge(rubric)})
    evaluate(rubric, path, out, {"rules": rules_judge(rubric)}, resume=True)
    after = list(iter_jsonl(out / "verdicts.jsonl"))
    assert [v["verdict_id"] for v in after[:len(partial)]] == [v["verdict_id"] for v in partial]
    assert {v["verdict_id"]: v["answer"] for v in after} == expected
    assert len(after) == len(expected)


def test_summary_counted_while_writing_equals_one_counted_from_the_file(rubric, tmp_path):
    """A fresh run counts its summary as it writes; counting its verdicts file afterwards,
    one slot per response (the order-free path), gives the same summary."""
    from rubricate.rubrics.evaluation.summary import summarize
    path = many_responses(tmp_path, 1100)
    summary = evaluate(rubric, path, tmp_path / "out", {"rules": rules_judge(rubric)})
    one_pass = iter_jsonl(tmp_path / "out" / "verdicts.jsonl")  # an iterator: the slotted path
    again = summarize(one_pass, rubric.data, [])
    again["failed"] = summary["failed"]
    assert summary == again
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == json.loads(json.dumps(again))


def test_resumed_run_with_a_response_split_across_runs_counts_it_once(rubric, tmp_path, monkeypatch):
    """A kill in the middle of a batch's write leaves some of a response's verdicts on disk;
    --resume appends the rest at the end of the file. The summary still counts that
    response once, with all its answers (the flat-memory count sees it come back and
    counts again with a slot per response)."""
    from rubricate.rubrics.evaluation import summary as summary_mod
    path = many_responses(tmp_path, 700)
    full = evaluate(rubric, path, tmp_path / "full", {"rules": rules_judge(rubric)})
    out = tmp_path / "out"
    evaluate(rubric, path, out, {"rules": rules_judge(rubric)})
    lines = (out / "verdicts.jsonl").read_bytes().splitlines(keepends=True)
    first = json.loads(lines[0])["response_id"]
    assert json.loads(lines[1])["response_id"] == first  # the first response has two criteria
    (out / "verdicts.jsonl").write_bytes(lines[0] + b"".join(lines[2:]))  # its second verdict lost
    calls = []
    real = summary_mod._slotted
    monkeypatch.setattr(summary_mod, "_slotted", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(summary_mod.Tally, "WINDOW", 100)  # the first response is long scored when it comes back
    resumed = evaluate(rubric, path, out, {"rules": rules_judge(rubric)}, resume=True)
    assert calls, "the split response should send the count to the slotted path"
    assert json.loads((out / "verdicts.jsonl").read_bytes().splitlines()[-1])["response_id"] == first
    for key in ("responses", "verdicts", "by_judge"):
        assert resumed[key] == full[key], key


def test_a_repeated_response_id_is_refused_once_per_repeat(rubric, tmp_path, monkeypatch):
    """The duplicate check keeps 8-byte hashes and confirms a hit by reading the file again:
    real repeats are refused, and a hash hit that is not a repeat (forced here) is not."""
    from rubricate.guidelines.kernel.idset import HashedIdSet
    from rubricate.rubrics.evaluation.responses import InputProblem, read_responses
    path = many_responses(tmp_path, 30)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines + [lines[3], lines[7], lines[3]]) + "\n")
    def read():
        return [(r.line, isinstance(r, InputProblem) and r.message) for r in read_responses(path, set(rubric.items))]
    got = read()
    dupes = [(n, m) for n, m in got if m]
    assert [n for n, _ in dupes] == [31, 32, 33] and all("duplicate response_id" in m for _, m in dupes)
    monkeypatch.setattr(HashedIdSet, "might_contain", lambda self, key: True)  # every id a hash twin
    assert read() == got


def test_resume_refuses_a_different_input(rubric, tmp_path):
    path = many_responses(tmp_path, 10)
    evaluate(rubric, path, tmp_path / "out", {"rules": rules_judge(rubric)})
    (tmp_path / "other").mkdir()
    other = many_responses(tmp_path / "other", 12)
    res = cli("evaluate", "--responses", str(other), "--out", str(tmp_path / "out"), "--resume")
    assert res.returncode == 2 and "responses_sha256 differs" in res.stderr


def test_workers_give_the_same_verdicts(rubric, tmp_path):
    path = many_responses(tmp_path, 700)
    one = cli("evaluate", "--responses", str(path), "--out", str(tmp_path / "one"))
    two = cli_process("evaluate", "--responses", str(path), "--out", str(tmp_path / "two"), "--workers", "2")
    assert one.returncode == two.returncode == 0, two.stderr
    assert (tmp_path / "one" / "verdicts.jsonl").read_bytes() == (tmp_path / "two" / "verdicts.jsonl").read_bytes()


def test_trace_follows_a_failure_to_its_passages(rubric, tmp_path):
    evaluate(rubric, SAMPLES, tmp_path, {"rules": rules_judge(rubric)})
    failure = next(v for v in iter_jsonl(tmp_path / "verdicts.jsonl") if v["appropriate"] is False)
    res = cli("trace", failure["verdict_id"], "--results", str(tmp_path), "--format", "json")
    assert res.returncode == 0, res.stderr
    t = json.loads(res.stdout)
    assert t["verdict"]["verdict_id"] == failure["verdict_id"]
    assert t["response"]["text"] and t["criterion"]["id"] == failure["criterion_id"]
    assert t["principle"]["id"] == failure["principle"] and t["principle"]["definition"]
    assert t["passages"] and all(p["quote"] and p["document"] for p in t["passages"])
    text = cli("trace", failure["verdict_id"], "--results", str(tmp_path)).stdout
    assert "INAPPROPRIATE" in text and "[[" in text and "UNVERIFIED locator (digest)" in text
