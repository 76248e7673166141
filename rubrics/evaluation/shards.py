"""Sharded evaluation: one function judges one shard, a driver maps it and merges the results.

Why this shape: judging logs is an embarrassingly parallel map over files plus a small merge.
``judge_shard`` is the unit any engine can run (in this process, on a Dask cluster, from a Ray
or Spark task): it judges one JSONL (or Parquet) shard with rubricate's own reader and judge (the same
strictness, problems and line numbers as ``rubricate evaluate``) and writes, under the output
root, ``verdicts/part-NNNNN.jsonl`` (``.parquet`` with ``fmt="parquet"``, parquet_io.py), ``problems/part-NNNNN.jsonl``, ``ids/part-NNNNN.txt`` (the
shard's sorted response ids) and, last, ``partials/part-NNNNN.json`` (mergeable summary counts;
its presence marks the shard done). ``run_sharded`` is the driver: it lists the shards, records
them in ``run.json``, skips finished shards on ``--resume``, maps the rest through an engine,
checks every worker ran the same rubricate, judge and rubric, merges the partials into
``summary.json`` exactly, and finds response ids repeated across shards by merging the sorted
id lists (no global set in memory).

Paths are local or any fsspec URL (``s3://``, ``gs://`` with the matching fsspec extra).
"""
from __future__ import annotations

import glob as _glob
import hashlib
import heapq
import json
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Callable, Iterable, Iterator

import fsspec

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import TORN_TAIL, read_jsonl
from rubricate.rubrics.checks import OFFLINE_JUDGE_VERSION
from rubricate.rubrics.contract.loader import load_rubric
from rubricate.rubrics.evaluation.evaluate import evaluate, rules_judge
from rubricate.rubrics.evaluation.responses import Response, read_responses
from rubricate.rubrics.evaluation.parquet_io import iter_parquet_verdicts, pyarrow_modules, verdicts_to_parquet
from rubricate.rubrics.evaluation.results import ResultsDir, iter_jsonl
from rubricate.rubrics.evaluation.shard_cascade import (CascadeStats, answer_uncertain, confident_name, jsonl_records,
                                                        read_pending, split_shard, uncertain_name)
from rubricate.rubrics.evaluation.runs import identity, now_utc
from rubricate.rubrics.evaluation.summary import finalize, merge, partial

PARTS = ("verdicts", "problems", "ids", "partials", "cascade")
MANIFEST = "run.json"
SUMMARY = "summary.json"
ENGINE_VERSION = 1
FORMATS = ("jsonl", "parquet")  # of the verdict parts

# What a worker process has compiled, by rubric SHA-256: judging a shard must not recompile
# the rubric's matchers (seconds) for every shard it gets.
_COMPILED: dict[str, tuple] = {}


@dataclass(frozen=True)
class ShardJob:
    index: int
    source: str
    out: str
    rubric_sha256: str
    strict: bool = False
    cascade: bool = False  # first stage of --judge cascade: rules verdicts split, no partial yet
    audit_rate: float = 0.0  # cascade: share of confident verdicts also sent to the LLM judge
    audit_seed: int = 0
    fmt: str = "jsonl"  # of the verdict part


@dataclass
class ShardResult:
    index: int
    source: str
    responses: int
    verdicts: int
    problems: int
    seconds: float
    versions: dict = field(default_factory=dict)


def part_name(kind: str, index: int, fmt: str = "jsonl") -> str:
    ext = {"verdicts": fmt, "problems": "jsonl", "ids": "txt", "partials": "json"}[kind]
    return f"{kind}/part-{index:05d}.{ext}"


def _fs(url: str):
    return fsspec.core.url_to_fs(url)


def _join(root: str, rel: str) -> str:
    return root.rstrip("/") + "/" + rel


def _is_local(fs) -> bool:
    return "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))


def write_part(root: str, rel: str, data: bytes) -> None:
    """Write one output file so that a reader never sees half of it: temp + rename on a local
    disk, one PUT of the final name on object storage."""
    fs, root_path = _fs(root)
    final = _join(root_path, rel)
    if _is_local(fs):
        os.makedirs(os.path.dirname(final), exist_ok=True)
        tmp = f"{final}.tmp-{uuid.uuid4().hex[:8]}"
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    else:
        fs.pipe_file(final, data)


def _compiled(rubric_sha256: str, rubric_bytes: bytes):
    """(Rubric, offline judge) for these rubric bytes, compiled once per process."""
    got = _COMPILED.get(rubric_sha256)
    if got is None:
        if hashlib.sha256(rubric_bytes).hexdigest() != rubric_sha256:
            raise RubricateError("rubric bytes do not match their SHA-256 (corrupted in transit)")
        tmp = Path(tempfile.mkdtemp(prefix="rubricate-rubric-")) / f"{rubric_sha256[:16]}.json"
        tmp.write_bytes(rubric_bytes)
        rubric = load_rubric(tmp)
        got = _COMPILED[rubric_sha256] = (rubric, rules_judge(rubric))
    return got


def versions(judge_version: str | None = None) -> dict:
    """What must be the same on every worker and the driver."""
    return {"rubricate": _rubricate_version(), "judge": judge_version or f"rules/{OFFLINE_JUDGE_VERSION}",
            "engine": ENGINE_VERSION}


def _rubricate_version() -> str:
    try:
        return version("rubricate")
    except PackageNotFoundError:
        return "0+unknown"


def judge_shard(job: ShardJob, rubric_bytes: bytes) -> ShardResult:
    """Judge one shard with the offline judge; write its four parts under ``job.out``."""
    t0 = time.perf_counter()
    rubric, judge = _compiled(job.rubric_sha256, rubric_bytes)
    with tempfile.TemporaryDirectory(prefix="rubricate-shard-") as tmp:
        local = _local_copy(job.source, Path(tmp))
        results = Path(tmp) / "results"
        evaluate(rubric, local, results, {"rules": judge}, strict=job.strict)
        rd = ResultsDir(results)
        problems = [_located(p, job.source) for p in iter_jsonl(rd.problems)]
        ids: set[str] = set()
        judge_versions: set[str] = set()

        def seen(verdicts: Iterable[dict]) -> Iterator[dict]:  # one read: ids and versions on the way
            for v in verdicts:
                ids.add(v["response_id"])
                judge_versions.add(v["judge_version"])
                yield v

        problem_bytes = "".join(json.dumps(p, ensure_ascii=False, sort_keys=True) + "\n" for p in problems).encode()
        if job.cascade:  # the driver asks the LLM judge, then writes the verdicts and the partial
            confident, unsure = split_shard(seen(iter_jsonl(rd.verdicts)), lambda want: _texts(local, want),
                                            job.audit_rate, job.audit_seed)
            n_verdicts = confident.count(b"\n") + unsure.count(b"\n")
            write_part(job.out, part_name("problems", job.index), problem_bytes)
            write_part(job.out, part_name("ids", job.index), "".join(f"{i}\n" for i in sorted(ids)).encode())
            write_part(job.out, confident_name(job.index), confident)
            write_part(job.out, uncertain_name(job.index), unsure)  # written last: the first stage is done
        else:
            part = partial(seen(iter_jsonl(rd.verdicts)), rubric.data, problems)
            n_verdicts = part["verdicts"]
            if job.fmt == "parquet":
                data = verdicts_to_parquet([v for _, v in read_jsonl(rd.verdicts, TORN_TAIL, "verdicts", missing_ok=True)])
            else:
                data = rd.verdicts.read_bytes()
            write_part(job.out, part_name("verdicts", job.index, job.fmt), data)
            write_part(job.out, part_name("problems", job.index), problem_bytes)
            write_part(job.out, part_name("ids", job.index), "".join(f"{i}\n" for i in sorted(ids)).encode())
            write_part(job.out, part_name("partials", job.index),
                       json.dumps(part, sort_keys=True, ensure_ascii=False).encode())  # written last: marks done
    jv = sorted(judge_versions)[0] if judge_versions else None
    return ShardResult(job.index, job.source, len(ids), n_verdicts, len(problems),
                       time.perf_counter() - t0, versions(jv))


def _texts(path: Path, wanted: set[str]) -> dict[str, str]:
    """Response id -> text for the wanted ids, read from the shard with the evaluator's reader."""
    return {r.response_id: r.text for r in read_responses(path) if isinstance(r, Response) and r.response_id in wanted}


def _located(problem: dict, source: str) -> dict:
    """A shard's problem naming the shard; a Parquet shard's position is a row, not a line."""
    out = {**problem, "path": source}
    if _is_parquet(source) and "line" in out:
        out["row"] = out.pop("line")
    return out


def _is_parquet(source: str) -> bool:
    return source.lower().endswith(".parquet")


def _local_copy(source: str, tmp: Path) -> Path:
    fs, path = _fs(source)
    if _is_local(fs):
        return Path(path)
    suffix = ".parquet" if _is_parquet(source) else ".jsonl"
    target = tmp / ("shard-" + hashlib.sha256(source.encode()).hexdigest()[:12] + suffix)
    fs.get_file(path, str(target))
    return target


def _answer_uncertain(out: str, rubric_bytes: bytes, llm, indexes: list[int], manifest: dict) -> None:
    """The cascade's second stage, in the driver: every shard's uncertain verdicts to the LLM judge;
    each finished shard gets its verdicts part and, last, its partial summary."""
    with tempfile.TemporaryDirectory(prefix="rubricate-rubric-") as tmp:
        path = Path(tmp) / "rubric.json"
        path.write_bytes(rubric_bytes)
        rubric = load_rubric(path)

    def finish(index: int, verdicts: bytes) -> None:
        problems = list(jsonl_records(_read(out, part_name("problems", index)) or b"", part_name("problems", index)))
        rows = jsonl_records(verdicts, part_name("verdicts", index))
        part = partial(rows, rubric.data, problems)
        write_part(out, part_name("verdicts", index), verdicts)
        write_part(out, part_name("partials", index), json.dumps(part, sort_keys=True, ensure_ascii=False).encode())

    stats = CascadeStats()
    answer_uncertain(rubric, llm, read_pending(lambda rel: _read(out, rel), indexes), finish, stats)
    if hasattr(llm, "describe"):
        manifest["llm_judges"] = {"cascade": llm.describe()}
        write_part(out, MANIFEST, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    if stats.failed:
        raise RubricateError(f"{stats.failed} LLM judgement(s) of the cascade failed (shards "
                             f"{', '.join(map(str, stats.failed_shards[:10]))}); fix the cause and run again with "
                             "--resume: the rules are not run again and answered calls come from the request cache",
                             path=out)


# -- the driver --------------------------------------------------------------------------------

Mapper = Callable[[Callable, list[ShardJob], bytes], Iterator[ShardResult]]


def serial_map(fn: Callable, jobs: list[ShardJob], rubric_bytes: bytes) -> Iterator[ShardResult]:
    """The local engine: shards one after another in this process."""
    for job in jobs:
        yield fn(job, rubric_bytes)


def expand_sources(patterns: Iterable[str]) -> list[str]:
    """Shard paths or URLs from globs and lists, in a stable (sorted) order; one-line errors."""
    out: list[str] = []
    for pattern in patterns:
        fs, path = _fs(pattern)
        if _is_local(fs):
            hits = sorted(_glob.glob(path)) if _glob.has_magic(path) else [path]
            hits = [h for h in hits if os.path.isfile(h)]
            if not hits:
                raise RubricateError("no shard matches", path=pattern)
            out += hits
        else:
            hits = sorted(fs.glob(path)) if _glob.has_magic(path) else [path]
            hits = [h for h in hits if fs.isfile(h)]
            if not hits:
                raise RubricateError("no shard matches", path=pattern)
            proto = pattern.split("://", 1)[0]
            out += [f"{proto}://{h}" for h in hits]
    if len(set(out)) != len(out):
        raise RubricateError("a shard is listed twice (overlapping globs)")
    return out


def _stat(source: str) -> dict:
    fs, path = _fs(source)
    info = fs.info(path)
    entry = {"source": source, "size": info.get("size")}
    for key in ("ETag", "etag", "mtime", "LastModified"):
        if info.get(key) is not None:
            entry["etag" if key.lower() == "etag" else "mtime"] = str(info[key])
            break
    return entry


def _read(root: str, rel: str) -> bytes | None:
    fs, root_path = _fs(root)
    p = _join(root_path, rel)
    return fs.cat_file(p) if fs.exists(p) else None


def _remove_stale_temps(root: str) -> int:
    fs, root_path = _fs(root)
    n = 0
    for kind in PARTS:
        d = _join(root_path, kind)
        if fs.exists(d):
            for p in fs.ls(d, detail=False):
                if ".tmp-" in p.rsplit("/", 1)[-1]:
                    fs.rm(p)
                    n += 1
    return n


def cross_shard_duplicates(root: str, n_shards: int) -> Iterator[dict]:
    """Response ids found in more than one shard: a k-way merge of the sorted id lists."""
    fs, root_path = _fs(root)

    def ids(i: int) -> Iterator[tuple[str, int]]:
        with fs.open(_join(root_path, part_name("ids", i)), "rt", encoding="utf-8") as fh:
            for line in fh:
                yield line.rstrip("\n"), i

    last, last_shard = None, None
    for rid, shard in heapq.merge(*(ids(i) for i in range(n_shards))):
        if rid == last and shard != last_shard:
            yield {"response_id": rid, "shards": [last_shard, shard],
                   "message": f"response id {rid!r} occurs in shards {last_shard} and {shard}; both were judged "
                              "(give each record a unique response_id)"}
        last, last_shard = rid, shard


def run_sharded(patterns: Iterable[str], out: str, rubric_path: Path, *, mapper: Mapper = serial_map,
                engine: str = "local", resume: bool = False, strict: bool = False, fmt: str = "jsonl",
                progress: Callable[[ShardResult], None] | None = None, engine_info: dict | None = None,
                llm=None, audit_rate: float = 0.0, audit_seed: int = 0) -> dict:
    """Judge every shard (skipping finished ones on resume), merge, write summary and run.json.

    With ``llm`` (an LLM judge) the run is a cascade (shard_cascade.py): the shards' uncertain
    verdicts go to it from this process, under its one concurrency limit."""
    if fmt not in FORMATS:
        raise RubricateError(f"unknown verdict format {fmt!r} (one of: {', '.join(FORMATS)})")
    if fmt == "parquet" and llm is not None:
        raise RubricateError("--format parquet does not combine with --judge cascade yet (its verdict parts are JSONL)")
    patterns = list(patterns)
    if fmt == "parquet" or any(_is_parquet(p) for p in patterns):
        pyarrow_modules()  # the driver says it once, before any worker fails on it
    rubric_bytes = Path(rubric_path).read_bytes()
    rubric_sha = hashlib.sha256(rubric_bytes).hexdigest()
    rubric_id = json.loads(rubric_bytes).get("rubric_id")
    sources = expand_sources(patterns)
    shards = [{"index": i, **_stat(s)} for i, s in enumerate(sources)]
    driver_versions = versions()
    cascade = llm is not None
    manifest = {"rubric_id": rubric_id, "rubric_sha256": rubric_sha, "judge": "cascade" if cascade else "rules",
                "engine": engine,
                "format": fmt, "shards": shards, "versions": driver_versions, **(engine_info or {})}
    if cascade:
        manifest["cascade"] = {"audit_rate": audit_rate, "audit_seed": audit_seed}
    old = _read(out, MANIFEST)
    if old is not None and not resume:
        raise RubricateError("results already exist here; pass --resume to continue that run or choose another "
                             "--out", path=out)
    done: set[int] = set()
    if old is not None:
        prev = json.loads(old)
        for key in ("rubric_sha256", "judge", "cascade", "format"):
            if prev.get(key, "jsonl" if key == "format" else None) != manifest.get(key):
                raise RubricateError(f"cannot resume: {key} differs from the interrupted run", path=_join(out, MANIFEST))
        if [(s["source"], s["size"]) for s in prev.get("shards", [])] != [(s["source"], s["size"]) for s in shards]:
            raise RubricateError("cannot resume: the shards differ from the interrupted run (files added, removed "
                                 "or changed size)", path=_join(out, MANIFEST))
        manifest["run_id"], manifest["created"] = prev.get("run_id"), prev.get("created")
        _remove_stale_temps(out)
        done = {s["index"] for s in shards if _read(out, part_name("partials", s["index"])) is not None}
    staged: set[int] = set()  # cascade: rules done, LLM and merge to do
    if cascade and old is not None:
        staged = {s["index"] for s in shards if s["index"] not in done and _read(out, uncertain_name(s["index"])) is not None}
    if cascade:
        manifest["llm_judges"] = {"cascade": llm.describe() if hasattr(llm, "describe") else {}}
    if not manifest.get("run_id"):
        manifest.update(identity(json.loads(rubric_bytes)))
    write_part(out, MANIFEST, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    jobs = [ShardJob(s["index"], s["source"], out, rubric_sha, strict, cascade, audit_rate, audit_seed,
                     fmt)
            for s in shards
            if s["index"] not in done | staged]
    for result in mapper(judge_shard, jobs, rubric_bytes):
        if {k: result.versions.get(k) for k in ("rubricate", "engine")} != \
                {k: driver_versions.get(k) for k in ("rubricate", "engine")}:
            raise RubricateError(f"worker ran rubricate {result.versions} but the driver runs {driver_versions}: "
                                 "install the same version everywhere")
        manifest.setdefault("worker_versions", {})[str(result.index)] = result.versions
        judges_seen = {v["judge"] for v in manifest["worker_versions"].values() if v.get("judge")}
        if len(judges_seen) > 1:
            raise RubricateError("workers judged with different judge versions: " + ", ".join(sorted(judges_seen)))
        if progress:
            progress(result)
    if cascade:
        _answer_uncertain(out, rubric_bytes, llm, [s["index"] for s in shards if s["index"] not in done], manifest)

    def partials() -> Iterator[dict]:  # one at a time: the driver holds one partial and the running sum
        for s in shards:
            raw = _read(out, part_name("partials", s["index"]))
            if raw is None:
                raise RubricateError(f"shard {s['index']} has no partial summary after the run", path=s["source"])
            yield json.loads(raw)

    duplicates = list(cross_shard_duplicates(out, len(shards)))
    if duplicates:
        write_part(out, "problems/duplicates.jsonl",
                   "".join(json.dumps(d, sort_keys=True) + "\n" for d in duplicates).encode())
    merged = merge(partials())
    summary = finalize(merged)
    if duplicates:
        summary["cross_shard_duplicates"] = len(duplicates)
    write_part(out, SUMMARY, (json.dumps(summary, indent=2, sort_keys=True) + "\n").encode())
    judges = sorted({v.get("judge") for v in manifest.get("worker_versions", {}).values() if v.get("judge")})
    if cascade and judges:
        judges.append(llm.version)
    manifest.update(finished=now_utc(), responses=summary["responses"], verdicts=summary["verdicts"],
                    judges={manifest["judge"]: judges} if judges else manifest.get("judges", {}),
                    models=sorted({m for j in summary["by_judge"].values() for m in j.get("by_model", {})}))
    write_part(out, MANIFEST, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    return summary



def iter_run_verdicts(out: str) -> Iterator[dict]:
    """Every verdict of a sharded run under ``out``, shard by shard, whichever ``--format`` wrote
    the parts (the one ``run.json`` records): the one reader for anything that reads a run's verdicts."""
    raw = _read(out, MANIFEST)
    if raw is None:
        raise RubricateError("not a sharded run (no run.json)", path=out)
    manifest = json.loads(raw)
    fmt = manifest.get("format", "jsonl")
    fs, root_path = _fs(out)
    for s in manifest.get("shards", []):
        p = _join(root_path, part_name("verdicts", s["index"], fmt))
        if not fs.exists(p):
            continue  # a shard not judged yet (an interrupted run)
        with fs.open(p, "rb") as fh:
            if fmt == "parquet":
                yield from iter_parquet_verdicts(fh)
            else:
                for _, v in read_jsonl(fh, TORN_TAIL, "verdicts"):
                    yield v
