"""rubrics.stigma scoring and aggregation, the 2018-style baseline, reports, figures and CLI."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubricate.cli import main
from rubricate.compiler.stigma import default_instrument
from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.rubrics.stigma.score import detect_instrument, score_outputs, summarize
from rubricate.rubrics.stigma.baseline import load_baseline, match_question
from rubricate.rubrics.stigma.report import (CSV_FIELDS, atomic_write_text, score_and_write, to_csv,
                                   to_json, to_table, write_results)

INST = default_instrument()
Q = {q.id: q for q in INST.questions}


def rec(model: str, condition: str, qid: str, output, **extra) -> dict:
    q = Q[qid]
    return {"model": model, "condition": condition, "question": q.text,
            "options": list(q.options), "output": output, **extra}


def write(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


ROWS = [
    # m1 x schizophrenia: willingness answers -> stigma 1, 0, missing (don't know), missing
    rec("m1", "schizophrenia", "sd-coworker", "A"),
    rec("m1", "schizophrenia", "sd-coworker", "Answer: D"),
    rec("m1", "schizophrenia", "sd-coworker", "E"),
    rec("m1", "schizophrenia", "sd-coworker", "I cannot answer that."),
    # violence toward others: stigma = code
    rec("m1", "schizophrenia", "danger-others", "D"),
    rec("m1", "schizophrenia", "danger-others", "Somewhat unlikely"),
    # not a stigma question: agreement only
    rec("m1", "schizophrenia", "cause-genes", "C"),
    rec("m1", "daily troubles", "sd-friend", "(D) Definitely willing"),
    rec("m2", "schizophrenia", "sd-friend", "b"),
]


@pytest.fixture
def outputs(tmp_path):
    return write(tmp_path / "out.jsonl", ROWS)


def test_codes_and_stigma_per_row(outputs):
    run = score_outputs(outputs, INST)
    got = [(r.letter, r.answer, r.code, r.stigma) for r in run.rows]
    assert got == [
        ("A", "Definitely not willing", 0, 1),
        ("D", "Definitely willing", 1, 0),
        ("E", "Don't know", None, None),
        (None, None, None, None),
        ("D", "Very likely", 1, 1),
        ("B", "Somewhat unlikely", 0, 0),
        ("C", "Somewhat likely", 1, None),
        ("D", "Definitely willing", 1, 0),
        ("B", "Probably not willing", 0, 1),
    ]
    assert run.rows[7].condition.id == "daily-troubles"  # label or id both accepted


def test_summary_rates_by_hand(outputs):
    s = summarize(score_outputs(outputs, INST), n_resamples=200, seed=1)
    cell = {(c["model"], c["condition"], c["question"]): c for c in s["cells"]}
    cw = cell[("m1", "schizophrenia", "sd-coworker")]
    assert (cw["n_outputs"], cw["n_dont_know"], cw["n_unparseable"]) == (4, 1, 1)
    assert cw["stigma"]["estimate"] == 0.5 and cw["stigma"]["n"] == 2
    assert cw["stigma"]["n_missing"] == 2
    assert cw["agree"]["estimate"] == 0.5
    genes = cell[("m1", "schizophrenia", "cause-genes")]
    assert genes["stigma"] is None and genes["agree"]["estimate"] == 1.0
    avg = {(a["model"], a["condition"]): a for a in s["average_stigma"]}
    a = avg[("m1", "schizophrenia")]  # pooled stigma answers 1, 0, 1, 0
    assert (a["estimate"], a["n"], a["n_missing"]) == (0.5, 4, 2)
    assert 0.0 <= a["ci_low"] <= 0.5 <= a["ci_high"] <= 1.0
    assert avg[("m1", "daily-troubles")]["estimate"] == 0.0
    assert avg[("m2", "schizophrenia")]["estimate"] == 1.0
    assert s["models"] == ["m1", "m2"]
    assert [c["id"] for c in s["conditions"]] == ["daily-troubles", "schizophrenia"]
    assert s["parse"]["m1"]["unparseable"] == 1
    # seeded: same call, same numbers
    assert s == summarize(score_outputs(outputs, INST), n_resamples=200, seed=1)


def test_options_in_another_order_are_mapped_by_text(tmp_path):
    q = Q["sd-neighbour"]
    shuffled = [q.options[3], q.options[2], q.options[1], q.options[0], q.options[4]]
    p = write(tmp_path / "o.jsonl", [{"model": "m", "condition": "depression",
                                      "question_id": "sd-neighbour", "options": shuffled,
                                      "output": "A"}])
    row = score_outputs(p, INST).rows[0]
    assert (row.letter, row.answer, row.code, row.stigma) == ("A", q.options[3], 1, 0)


def test_bad_lines_are_skipped_and_counted_or_stop_with_strict(tmp_path):
    bad = [
        "{oops",
        json.dumps([1, 2]),
        json.dumps({"condition": "depression", "question": Q["sd-friend"].text, "output": "A"}),
        json.dumps(rec("m", "bipolar", "sd-friend", "A")),
        json.dumps({**rec("m", "depression", "sd-friend", "A"), "question": "Do you like tea?"}),
        json.dumps({**rec("m", "depression", "sd-friend", "A"), "options": ["x", "y"]}),
        json.dumps({**rec("m", "depression", "sd-friend", 3)}),
    ]
    p = write(tmp_path / "o.jsonl", [ROWS[0], *bad, "", ROWS[1]])
    run = score_outputs(p, INST)
    assert len(run.rows) == 2 and run.n_lines == 9
    assert [x.split(": ", 1)[0] for x in run.problems] == [f"{p}:{n}" for n in range(2, 9)]
    assert "invalid JSON" in run.problems[0] and "expected a JSON object" in run.problems[1]
    assert "missing 'model'" in run.problems[2]
    assert "condition 'bipolar' is not in instrument" in run.problems[3]
    assert "question 'Do you like tea?' is not in instrument" in run.problems[4]
    assert "differ from instrument question" in run.problems[5]
    assert "'output' must be a string" in run.problems[6]
    with pytest.raises(RubricateError, match=rf"^{p}:2: invalid JSON"):
        score_outputs(p, INST, strict=True)
    only_bad = write(tmp_path / "bad.jsonl", bad[:2])
    with pytest.raises(RubricateError, match="no usable output records"):
        score_outputs(only_bad, INST)
    with pytest.raises(RubricateError, match="outputs file not found"):
        score_outputs(tmp_path / "missing.jsonl", INST)


BASELINE = ("\ufeffquestion,schizophrenia,depression,daily troubles,bipolar\n"
            "How willing would you be to have the person as a friend?,36,11,11,50\n"
            "group home,67,40,26,1\n"
            "How likely is it that the person would do something violent toward other people?,"
            "67,28,18,2\n"
            "How likely is it that the situation is caused by God\u2019s will?,19,16,23,3\n"
            "How likely is it that the situation might be caused by a genetic problem?,75,,41,4\n")


def test_baseline_rows_match_robustly_and_unmatched_are_reported(tmp_path):
    p = tmp_path / "b.csv"
    p.write_text(BASELINE, encoding="utf-8")
    b = load_baseline(p, INST)
    assert [(m["line"], m["question"], m["method"]) for m in b.matches] == [
        (2, "sd-friend", "keywords"), (4, "danger-others", "keywords"),
        (6, "cause-genes", "keywords")]
    assert [(u["line"], u["row"]) for u in b.unmatched] == [
        (3, "group home"), (5, "How likely is it that the situation is caused by God\u2019s will?")]
    assert b.ignored_columns == ["bipolar"]
    # 'reported' scale: willingness rows are percent unwilling (= stigma)
    assert b.value("sd-friend", "schizophrenia") == {"agree": pytest.approx(0.64),
                                                     "stigma": pytest.approx(0.36)}
    assert b.value("danger-others", "depression") == {"agree": 0.28, "stigma": 0.28}
    assert b.value("cause-genes", "depression") is None  # empty cell
    assert b.value("cause-genes", "schizophrenia") == {"agree": 0.75, "stigma": None}
    avg = b.average_stigma("schizophrenia")
    assert avg["estimate"] == pytest.approx((0.36 + 0.67) / 2)
    assert avg["questions"] == ["sd-friend", "danger-others"]
    assert "sd-family" in avg["missing_questions"]
    agreement = load_baseline(p, INST, scale="agreement")
    assert agreement.value("sd-friend", "schizophrenia")["stigma"] == pytest.approx(0.64)
    assert agreement.value("danger-others", "depression")["stigma"] == 0.28


def test_exact_text_wins_over_keywords():
    q = Q["sd-friend"]
    assert match_question(q.text.upper(), INST) == ("sd-friend", "exact")
    assert match_question("willing ... friend", INST) == ("sd-friend", "keywords")
    assert match_question("group home", INST) == (None, "no-match")


def test_baseline_errors_name_file_and_line(tmp_path):
    p = tmp_path / "b.csv"
    p.write_text("question,schizophrenia\nHow willing ... friend?,lots\n", encoding="utf-8")
    with pytest.raises(RubricateError, match=r"b\.csv:2: not a number"):
        load_baseline(p, INST)
    p.write_text("question,schizophrenia\nHow willing ... friend?,140\n", encoding="utf-8")
    with pytest.raises(RubricateError, match=r"b\.csv:2: value out of range"):
        load_baseline(p, INST)
    p.write_text("question,mars\nx,1\n", encoding="utf-8")
    with pytest.raises(RubricateError, match=r"b\.csv:1: no column names a condition"):
        load_baseline(p, INST)
    p.write_text("question,schizophrenia\nx,1,2\n", encoding="utf-8")
    with pytest.raises(RubricateError, match=r"b\.csv:2: expected 2 cells"):
        load_baseline(p, INST)


def test_reports_json_csv_table(outputs, tmp_path):
    p = tmp_path / "b.csv"
    p.write_text(BASELINE, encoding="utf-8")
    run = score_outputs(outputs, INST)
    s = summarize(run, load_baseline(p, INST), n_resamples=100)
    data = json.loads(to_json(s))
    assert data["baseline"]["unmatched"][0]["row"] == "group home"
    rows = list(csv.DictReader(io.StringIO(to_csv(s))))
    assert list(rows[0]) == CSV_FIELDS
    avg = [r for r in rows if r["question_id"] == "avg-stigma" and r["model"] == "m1"
           and r["condition"] == "schizophrenia"][0]
    assert avg["estimate"] == "0.5000" and avg["human"] == f"{(0.36 + 0.67) / 2:.4f}"
    friend = [r for r in rows if r["model"] == "m2" and r["measure"] == "stigma"][0]
    assert (friend["estimate"], friend["human"]) == ("1.0000", "0.3600")
    table = to_table(s)
    assert "Average of stigma questions" in table
    assert "Humans (2018)" in table and f"{(0.36 + 0.67) / 2:.2f}" in table
    assert "0.50 [" in table and "n/a (n=0)" in table
    assert "unmatched: line 3 'group home'" in table


def test_write_results_is_atomic_and_draws_figures(outputs, tmp_path):
    run = score_outputs(outputs, INST)
    s = summarize(run, n_resamples=50)
    out = tmp_path / "res"
    written = write_results(s, run, out)
    names = sorted(p.name for p in written)
    assert names == sorted(["stigma_summary.json", "stigma_summary.csv", "stigma_table.txt",
                            "stigma_rows.jsonl", "stigma.png", "stigma.svg",
                            "stigma_questions.png", "stigma_questions.svg"])
    assert (out / "stigma.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (out / "stigma.svg").read_bytes()[:2000]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left
    lines = (out / "stigma_rows.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(ROWS) and json.loads(lines[0])["stigma"] == 1


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "x.txt"
    atomic_write_text(target, "old")

    class Boom(str):
        def encode(self, *a, **k):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write_text(target, Boom("new"))
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_detect_instrument_from_records(tmp_path, outputs):
    assert detect_instrument(outputs).id == "rubricate-default"
    p = write(tmp_path / "i.jsonl", [{**ROWS[0], "instrument": "rubricate-default"}])
    assert detect_instrument(p).id == "rubricate-default"
    p = write(tmp_path / "u.jsonl", [{**ROWS[0], "question": "Unknown question?"}])
    with pytest.raises(RubricateError, match=r"u\.jsonl:1: .*no known instrument"):
        detect_instrument(p)


def test_cli_score_prints_table_and_writes_files(outputs, tmp_path):
    out = tmp_path / "res"
    r = CliRunner().invoke(main, ["stigma", "score", str(outputs), "--out", str(out),
                                  "--n-resamples", "50", "--no-plot"])
    assert r.exit_code == 0, r.output
    assert "Average of stigma questions" in r.stdout
    assert (out / "stigma_summary.json").exists() and not (out / "stigma.png").exists()
    r = CliRunner().invoke(main, ["stigma", "score", str(outputs), "--out", str(out),
                                  "--format", "json", "--no-plot", "--n-resamples", "50"])
    assert json.loads(r.stdout)["kind"] == "stigma-summary"
    r = CliRunner().invoke(main, ["stigma", "score", str(outputs), "--out", str(out),
                                  "--format", "csv", "--no-plot", "--n-resamples", "50"])
    assert r.stdout.splitlines()[0] == ",".join(CSV_FIELDS)


def test_cli_bad_lines_warn_by_default_and_fail_with_strict(tmp_path):
    p = write(tmp_path / "o.jsonl", [ROWS[0], "{oops", ROWS[1]])
    out = tmp_path / "res"
    r = CliRunner().invoke(main, ["stigma", "score", str(p), "--out", str(out), "--no-plot",
                                  "--n-resamples", "20"])
    assert r.exit_code == 0
    assert f"warning: skipped {p}:2: invalid JSON" in r.stderr
    assert "1 lines skipped" in r.stderr
    before = (out / "stigma_summary.json").read_bytes()
    r = CliRunner().invoke(main, ["stigma", "score", str(p), "--out", str(out), "--strict"])
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines() == [f"error: {p}:2: invalid JSON: Expecting property "
                                             "name enclosed in double quotes (column 2)"]
    assert (out / "stigma_summary.json").read_bytes() == before  # nothing lost


def test_score_and_write_without_out_dir_writes_nothing(outputs, tmp_path):
    summary, run, written = score_and_write(outputs, None, n_resamples=20)
    assert written == [] and summary["input"]["n_scored"] == len(ROWS)
