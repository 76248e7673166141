"""Sharded evaluation: the local engine and a Dask cluster give exactly the same verdicts and
summary; a killed run resumes to the same result; bad lines in a shard are listed, not fatal."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubricate.cli import main
from rubricate.rubrics.evaluation.shards import expand_sources
from tests.conftest import SAMPLES

if not os.environ.get("CI"):  # in CI the dask extra must be there: a missing one fails the import below
    pytest.importorskip("distributed", reason="the dask extra is not installed (pip install 'rubricate[dask]')")

REPO = Path(__file__).resolve().parents[1]
RUBRIC = REPO / "rubrics" / "rubricate-default.json"


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def make_shards(folder: Path, n_shards: int = 3, copies: int = 1) -> list[Path]:
    """The bundled samples, ``copies`` times with distinct ids, dealt round-robin into shards."""
    lines = SAMPLES.read_text(encoding="utf-8").splitlines()
    folder.mkdir(parents=True, exist_ok=True)
    shards = [[] for _ in range(n_shards)]
    for c in range(copies):
        for i, line in enumerate(lines):
            rec = json.loads(line)
            rec["response_id"] = f"{rec['response_id']}-{c}"
            shards[(c * len(lines) + i) % n_shards].append(json.dumps(rec))
    paths = []
    for k, recs in enumerate(shards):
        p = folder / f"part-{k:02d}.jsonl"
        p.write_text("\n".join(recs) + "\n", encoding="utf-8")
        paths.append(p)
    return paths


def verdict_lines(out: Path) -> list[str]:
    return [line for p in sorted((out / "verdicts").glob("part-*.jsonl")) for line in p.read_text().splitlines()]


def no_line(v: dict) -> dict:
    return {k: val for k, val in v.items() if k != "response_line"}


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    return make_shards(tmp_path_factory.mktemp("shards") / "in")


@pytest.fixture(scope="module")
def local_run(shards, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "out"
    res = cli("evaluate", "--rubric", RUBRIC, "--shards", str(shards[0].parent / "*.jsonl"), "--out", out)
    assert res.exit_code == 0, res.output
    return out


def test_local_cluster_gives_exactly_the_local_engines_verdicts_and_summary(shards, local_run, tmp_path):
    out = tmp_path / "dask"
    res = cli("evaluate", "--rubric", RUBRIC, "--shards", str(shards[0].parent / "*.jsonl"), "--engine", "dask",
              "--workers", "2", "--out", out)
    assert res.exit_code == 0, res.output
    assert verdict_lines(out) == verdict_lines(local_run)
    assert (out / "summary.json").read_text() == (local_run / "summary.json").read_text()
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["engine"] == "dask" and manifest["engine_workers"] == 2 and len(manifest["shards"]) == 3
    assert all(s["size"] > 0 for s in manifest["shards"])
    assert len({json.dumps(v, sort_keys=True) for v in manifest["worker_versions"].values()}) == 1


def test_sharded_run_matches_one_file_evaluated_whole(shards, local_run, tmp_path):
    whole = tmp_path / "whole.jsonl"
    whole.write_text("".join(p.read_text() for p in shards))
    res = cli("evaluate", "--rubric", RUBRIC, "--responses", whole, "--out", tmp_path / "single")
    assert res.exit_code == 0, res.output
    single = [json.loads(x) for x in (tmp_path / "single" / "verdicts.jsonl").read_text().splitlines()]
    sharded = [json.loads(x) for x in verdict_lines(local_run)]
    key = lambda v: v["verdict_id"]  # noqa: E731
    assert sorted(map(no_line, single), key=key) == sorted(map(no_line, sharded), key=key)
    s1 = json.loads((tmp_path / "single" / "summary.json").read_text())
    s2 = json.loads((local_run / "summary.json").read_text())
    assert s1["by_judge"] == s2["by_judge"] and s1["responses"] == s2["responses"] == 60


def test_ids_do_not_depend_on_lines_or_shards(tmp_path):
    recs = [json.loads(x) for x in SAMPLES.read_text().splitlines()[:6]]
    for r in recs:
        del r["response_id"]
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("".join(json.dumps(r) + "\n" for r in recs))
    b.write_text("".join(json.dumps(r) + "\n" for r in reversed(recs)))
    for f in (a, b):
        assert cli("evaluate", "--rubric", RUBRIC, "--shards", f, "--out", tmp_path / f.stem).exit_code == 0
    ids = [{json.loads(x)["response_id"] for x in verdict_lines(tmp_path / n)} for n in "ab"]
    assert ids[0] == ids[1] and all(len(i) == 2 + 32 for i in ids[0])  # 128-bit content ids


def test_a_bad_shard_lists_its_problems_and_judges_the_rest(tmp_path):
    good = [json.loads(x) for x in SAMPLES.read_text().splitlines()[:4]]
    good[1]["response"] = good[1]["response"] + " Line\u2028separator and\u2029paragraph."
    raw = (json.dumps(good[0]) + "\n" + "{not json\n").encode() + b'{"item_id": "x", "response": "\xff\xfe"}\n' + \
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in good[1:]).encode("utf-8")
    shard = tmp_path / "in" / "bad.jsonl"
    shard.parent.mkdir()
    shard.write_bytes(raw)
    res = cli("evaluate", "--rubric", RUBRIC, "--shards", shard, "--engine", "dask", "--workers", "1",
              "--out", tmp_path / "out")
    assert res.exit_code == 0, res.output
    problems = [json.loads(x) for x in (tmp_path / "out" / "problems" / "part-00000.jsonl").read_text().splitlines()]
    assert [p["line"] for p in problems] == [2, 3] and all(p["path"] == str(shard) for p in problems)
    verdicts = [json.loads(x) for x in verdict_lines(tmp_path / "out")]
    assert {v["response_id"] for v in verdicts} == {r["response_id"] for r in good}   # U+2028 did not split a line
    assert {v["response_line"] for v in verdicts} == {1, 4, 5, 6}
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["skipped_input"]["count"] == 2 and summary["responses"] == 4


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path):
    shards = make_shards(tmp_path / "in", n_shards=4, copies=40)  # 600 responses per shard
    ref = tmp_path / "ref"
    assert cli("evaluate", "--rubric", RUBRIC, "--shards", str(tmp_path / "in" / "*.jsonl"), "--out", ref).exit_code == 0
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "rubricate", "evaluate", "--rubric", str(RUBRIC), "--shards",
           str(tmp_path / "in" / "*.jsonl"), "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while not list((out / "partials").glob("part-*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list((out / "partials").glob("part-*.json")))
    assert 1 <= finished < len(shards), "the kill should land between shards"
    (out / "verdicts" / "part-00003.jsonl.tmp-deadbeef").write_text('{"torn": ')  # a write cut off by the kill
    res = cli("evaluate", "--rubric", RUBRIC, "--shards", str(tmp_path / "in" / "*.jsonl"), "--out", out)
    assert res.exit_code == 2 and "--resume" in res.output
    res = cli("evaluate", "--rubric", RUBRIC, "--shards", str(tmp_path / "in" / "*.jsonl"), "--out", out, "--resume")
    assert res.exit_code == 0, res.output
    assert res.output.count("shard ") == len(shards) - finished           # finished shards were not redone
    assert not list(out.rglob("*.tmp-*"))
    assert verdict_lines(out) == verdict_lines(ref)
    assert (out / "summary.json").read_text() == (ref / "summary.json").read_text()


def test_resume_refuses_changed_shards(tmp_path, shards, local_run):
    out = tmp_path / "out"
    shutil.copytree(local_run, out)
    extra = tmp_path / "more"
    make_shards(extra, n_shards=4)
    res = CliRunner().invoke(main, ["evaluate", "--rubric", str(RUBRIC), "--shards", str(extra / "*.jsonl"),
                                    "--out", str(out), "--resume"])
    assert res.exit_code == 2 and "shards differ" in res.output


def test_cross_shard_duplicate_ids_are_reported(tmp_path):
    lines = SAMPLES.read_text().splitlines()[:3]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "in" / "b.jsonl").write_text(lines[1] + "\n")
    assert cli("evaluate", "--rubric", RUBRIC, "--shards", str(tmp_path / "in" / "*.jsonl"), "--out",
               tmp_path / "out").exit_code == 0
    dup = [json.loads(x) for x in (tmp_path / "out" / "problems" / "duplicates.jsonl").read_text().splitlines()]
    assert [d["response_id"] for d in dup] == [json.loads(lines[1])["response_id"]] and dup[0]["shards"] == [0, 1]
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["cross_shard_duplicates"] == 1


def test_missing_shards_and_empty_globs_are_one_line_errors(tmp_path):
    res = CliRunner().invoke(main, ["evaluate", "--shards", str(tmp_path / "nothing-*.jsonl"), "--out",
                                    str(tmp_path / "o")])
    assert res.exit_code == 2 and "no shard matches" in res.output and len(res.output.strip().splitlines()) == 1
    with pytest.raises(Exception):
        expand_sources([str(tmp_path / "missing.jsonl")])


@pytest.mark.slow
def test_separate_scheduler_and_worker_processes(shards, local_run, tmp_path):
    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    assert dask, "the dask command comes with distributed"
    sched_file = tmp_path / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    sched = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                              "--scheduler-file", str(sched_file)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=env)
    workers = None
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        workers = subprocess.Popen([dask, "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard",
                                    "--host", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env=env)
        from distributed import Client
        with Client(address, timeout="30s") as c:
            c.wait_for_workers(2, timeout=60)
        out = tmp_path / "out"
        res = cli("evaluate", "--rubric", RUBRIC, "--shards", str(shards[0].parent / "*.jsonl"), "--engine", "dask",
                  "--address", address, "--out", out)
        assert res.exit_code == 0, res.output
        assert verdict_lines(out) == verdict_lines(local_run)
        assert (out / "summary.json").read_text() == (local_run / "summary.json").read_text()
        assert json.loads((out / "run.json").read_text())["engine_address"] == address
    finally:
        for p in (workers, sched):
            if p is not None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()


@pytest.mark.slow
def test_shards_from_and_results_to_object_storage(shards, local_run, tmp_path):
    """An s3:// run against a local S3-compatible server (moto's server mode on 127.0.0.1)."""
    if not (shutil.which("moto_server", path=str(Path(sys.executable).parent)) and _importable("s3fs")):
        if os.environ.get("CI"):
            pytest.fail("moto[server] and s3fs are needed in CI (pip install -e '.[test]')")
        pytest.skip("moto[server] / s3fs not installed")
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([shutil.which("moto_server", path=str(Path(sys.executable).parent)), "-H",
                               "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": endpoint, "AWS_ENDPOINT_URL_S3": endpoint}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        import s3fs
        deadline = time.monotonic() + 30
        while True:
            try:
                fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint}, skip_instance_cache=True)
                fs.mkdir("logs")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        for p in shards:
            fs.put(str(p), f"logs/in/{p.name}")
        fs.mkdir("results")
        res = cli("evaluate", "--rubric", RUBRIC, "--shards", "s3://logs/in/*.jsonl", "--engine", "dask",
                  "--workers", "2", "--out", "s3://results/run1")
        assert res.exit_code == 0, res.output
        fs.invalidate_cache()
        got = [line for k in range(3) for line in fs.cat_file(f"results/run1/verdicts/part-{k:05d}.jsonl")
               .decode().splitlines()]
        assert got == verdict_lines(local_run)
        assert fs.cat_file("results/run1/summary.json").decode() == (local_run / "summary.json").read_text()
        manifest = json.loads(fs.cat_file("results/run1/run.json"))
        assert [s["source"] for s in manifest["shards"]] == [f"s3://logs/in/{p.name}" for p in shards]
        assert all(s.get("etag") for s in manifest["shards"])
        assert not [p for p in fs.find("results/run1") if ".tmp-" in p]   # one PUT per part, no temp objects
    finally:
        server.terminate()
        server.wait(timeout=20)
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _importable(name: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(name) is not None
