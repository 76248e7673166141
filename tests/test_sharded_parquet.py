"""Sharded runs with Parquet: `--format parquet` verdict parts read back to exactly the JSONL
run's verdicts and summary; Parquet response shards are read with the JSONL reader's checks,
problems named by row; resume works on Parquet parts."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubricate.cli import main
from rubricate.rubrics.evaluation.shards import iter_run_verdicts
from tests.conftest import SAMPLES
from tests.test_sharded import RUBRIC, local_run, shards, verdict_lines  # noqa: F401 (fixtures)

if not os.environ.get("CI"):  # in CI the [test] extra brings pyarrow: a missing one fails the import below
    pytest.importorskip("pyarrow", reason="the parquet extra is not installed (pip install 'rubricate[parquet]')")
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _check_parquet_run(out: Path, local_run: Path) -> None:
    assert sorted(p.name for p in (out / "verdicts").iterdir()) == [f"part-0000{i}.parquet" for i in range(3)]
    expected = [json.loads(line) for line in verdict_lines(local_run)]
    got = list(iter_run_verdicts(str(out)))
    assert len(got) == len(expected) > 0
    # exactly: same keys in the same order, same types (json text identical, not just ==)
    assert [json.dumps(v) for v in got] == [json.dumps(v) for v in expected]
    assert list(iter_run_verdicts(str(local_run))) == expected     # the same reader reads JSONL runs
    assert (out / "summary.json").read_text() == (local_run / "summary.json").read_text()
    assert json.loads((out / "run.json").read_text())["format"] == "parquet"
    # every part has the same columns, so other tools read the folder as one table
    table = pq.read_table(out / "verdicts")
    assert table.num_rows == len(expected)
    assert table.schema.field("points").type == pa.float64() and table.schema.field("appropriate").type == pa.bool_()
    assert json.loads(table.column("citations")[0].as_py()) == expected[0]["citations"]


def test_parquet_parts_read_back_to_exactly_the_local_runs_verdicts_and_summary(shards, local_run, tmp_path):
    out = tmp_path / "pq"
    res = cli("evaluate", "--rubric", RUBRIC, "--shards", str(shards[0].parent / "*.jsonl"), "--format", "parquet",
              "--out", out)
    assert res.exit_code == 0, res.output
    _check_parquet_run(out, local_run)


@pytest.mark.slow
def test_parquet_parts_from_a_local_cluster(shards, local_run, tmp_path):
    out = tmp_path / "pq"
    res = cli("evaluate", "--rubric", RUBRIC, "--shards", str(shards[0].parent / "*.jsonl"), "--engine", "dask",
              "--workers", "2", "--format", "parquet", "--out", out)
    assert res.exit_code == 0, res.output
    _check_parquet_run(out, local_run)


def _parquet_shard(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_struct_array(pa.array(rows)), path)  # columns: every row's keys
    return path


def test_a_parquet_shard_lists_bad_rows_by_row_number_and_judges_the_rest(tmp_path):
    good = [json.loads(x) for x in SAMPLES.read_text().splitlines()[:5]]
    rows = [dict(r) for r in good]
    rows[1]["item_id"] = None                    # row 2: no item
    rows[3]["response"] = "   "                  # row 4: empty response
    rows.append(dict(good[0]))                   # row 6: a duplicate id
    shard = _parquet_shard(tmp_path / "in" / "logs.parquet", rows)
    res = cli("evaluate", "--rubric", RUBRIC, "--shards", shard, "--out", tmp_path / "out")
    assert res.exit_code == 0, res.output
    problems = [json.loads(x) for x in (tmp_path / "out" / "problems" / "part-00000.jsonl").read_text().splitlines()]
    assert [p["row"] for p in problems] == [2, 4, 6] and all("line" not in p for p in problems)
    assert "missing field item_id" in problems[0]["message"] and "empty response" in problems[1]["message"]
    assert "duplicate response_id" in problems[2]["message"] and all(p["path"] == str(shard) for p in problems)
    verdicts = list(iter_run_verdicts(str(tmp_path / "out")))
    assert {v["response_id"] for v in verdicts} == {good[i]["response_id"] for i in (0, 2, 4)}
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["skipped_input"]["count"] == 3 and summary["responses"] == 3


def test_a_parquet_shard_judges_as_its_jsonl_twin(tmp_path, shards, local_run):
    for p in shards:
        _parquet_shard(tmp_path / "in" / (p.stem + ".parquet"),
                       [json.loads(x) for x in p.read_text().splitlines()])
    res = cli("evaluate", "--rubric", RUBRIC, "--shards", str(tmp_path / "in" / "*.parquet"), "--out", tmp_path / "o")
    assert res.exit_code == 0, res.output
    assert verdict_lines(tmp_path / "o") == verdict_lines(local_run)   # rows numbered as the lines were
    assert (tmp_path / "o" / "summary.json").read_text() == (local_run / "summary.json").read_text()


def test_a_corrupt_parquet_shard_is_a_one_line_error(tmp_path):
    bad = tmp_path / "in" / "torn.parquet"
    bad.parent.mkdir()
    bad.write_bytes(b"PAR1 this is not parquet")
    res = cli("evaluate", "--rubric", RUBRIC, "--shards", bad, "--out", tmp_path / "out")
    assert res.exit_code != 0 and str(bad) in res.output and "Parquet" in res.output
    assert len(res.output.strip().splitlines()) == 1, res.output


def test_resume_with_parquet_parts_gives_the_uninterrupted_result(tmp_path, shards, local_run):
    glob = str(shards[0].parent / "*.jsonl")
    ref = tmp_path / "ref"
    assert cli("evaluate", "--rubric", RUBRIC, "--shards", glob, "--format", "parquet", "--out", ref).exit_code == 0
    out = tmp_path / "out"
    shutil.copytree(ref, out)
    (out / "partials" / "part-00002.json").unlink()      # shard 2 was cut off by a kill ...
    (out / "verdicts" / "part-00002.parquet").unlink()
    (out / "verdicts" / "part-00002.parquet.tmp-deadbeef").write_bytes(b"PAR1 torn")  # ... mid-write
    (out / "summary.json").unlink()
    res = cli("evaluate", "--rubric", RUBRIC, "--shards", glob, "--out", out, "--resume")
    assert res.exit_code == 2 and "format" in res.output                 # the run was a Parquet run
    res = cli("evaluate", "--rubric", RUBRIC, "--shards", glob, "--format", "parquet", "--out", out, "--resume")
    assert res.exit_code == 0, res.output
    assert res.output.count("shard ") == 1                              # only shard 2 was judged again
    assert not list(out.rglob("*.tmp-*"))
    assert list(iter_run_verdicts(str(out))) == list(iter_run_verdicts(str(local_run)))
    assert (out / "summary.json").read_text() == (ref / "summary.json").read_text()


def test_single_run_reads_parquet_responses_and_refuses_parquet_output(tmp_path):
    recs = [json.loads(x) for x in SAMPLES.read_text().splitlines()[:3]]
    src = _parquet_shard(tmp_path / "r.parquet", recs)
    res = cli("evaluate", "--rubric", RUBRIC, "--responses", src, "--out", tmp_path / "single")
    assert res.exit_code == 0, res.output
    ids = {json.loads(x)["response_id"] for x in (tmp_path / "single" / "verdicts.jsonl").read_text().splitlines()}
    assert ids == {r["response_id"] for r in recs}
    res = cli("evaluate", "--rubric", RUBRIC, "--responses", src, "--format", "parquet", "--out", tmp_path / "s2")
    assert res.exit_code == 2 and "sharded runs" in res.output


def test_parquet_parts_are_refused_for_a_cascade_run(tmp_path, shards):
    res = cli("evaluate", "--rubric", RUBRIC, "--shards", shards[0], "--judge", "cascade", "--format", "parquet",
              "--out", tmp_path / "o")
    assert res.exit_code == 2 and "does not combine with --judge cascade" in res.output
    assert not (tmp_path / "o").exists()
