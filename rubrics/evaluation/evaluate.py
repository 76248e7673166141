"""Score a file of responses against a rubric: stream, judge, append verdicts, summarise.

Judges are plain functions from a batch of ``Task`` to one ``Outcome`` per task, so the
offline rules, the LLM judge and their ensemble share the streaming, resuming and writing.
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Callable, Iterator

from rubricate.guidelines.kernel.fileio import atomic_write_text, sha256_file
from rubricate.rubrics.evaluation.responses import InputProblem, Response, read_responses
from rubricate.rubrics.evaluation.results import AppendLog, ResultsDir, iter_jsonl, verdict_id
from rubricate.rubrics.contract.loader import load_rubric
from rubricate.rubrics.contract.model import Rubric, Verdict
from rubricate.rubrics.evaluation import runs
from rubricate.rubrics.evaluation.summary import summarize

BATCH = 512


@dataclass
class Task:
    response: Response
    item: dict
    criterion: dict


@dataclass
class Outcome:
    answer: str  # yes | no | unknown
    reason: str
    judge_version: str
    evidence: list[dict] = field(default_factory=list)
    protocol: str | None = None
    usage: dict | None = None
    flags: list[str] = field(default_factory=list)


Judge = Callable[[list[Task]], list[Outcome]]


def _group_by_response(pairs: list[tuple[str, str, str]]) -> tuple[list[str], list[list[str]], list[tuple[int, int]]]:
    """(response id, text, criterion id) -> unique texts, their criterion ids, and where each pair's answer is.

    Each response text goes through spaCy once, however many criteria its item has.
    """
    index: dict[str, int] = {}
    texts: list[str] = []
    ids: list[list[str]] = []
    where = []
    for rid, text, cid in pairs:
        if rid not in index:
            index[rid] = len(texts)
            texts.append(text)
            ids.append([])
        where.append((index[rid], len(ids[index[rid]])))
        ids[index[rid]].append(cid)
    return texts, ids, where


def _run_engine(engine, pairs: list[tuple[str, str, str]]) -> list[tuple[str, str, str, list[dict]]]:
    texts, ids, where = _group_by_response(pairs)
    results = engine.evaluate(texts, ids, batch_size=BATCH)
    return [(r.answer, r.reason, engine.version, [e.to_dict() for e in r.evidence])
            for r in (results[i][j] for i, j in where)]


def _pairs(tasks: list[Task]) -> list[tuple[str, str, str]]:
    return [(t.response.response_id, t.response.text, t.criterion["id"]) for t in tasks]


def rules_judge(rubric: Rubric) -> Judge:
    """The offline judge: matchers compiled once per rubric, one nlp.pipe pass per batch."""
    from rubricate.rubrics.checks.engine import compile_checks  # start-up time: spaCy only for the offline judge
    engine = compile_checks(list(rubric.criteria.values()))

    def judge(tasks: list[Task]) -> list[Outcome]:
        return [Outcome(*o) for o in _run_engine(engine, _pairs(tasks))]
    return judge


_WORKER_ENGINE = None


def _init_worker(rubric_path: str) -> None:
    global _WORKER_ENGINE
    from rubricate.rubrics.checks.engine import compile_checks  # start-up time: spaCy only for the offline judge
    _WORKER_ENGINE = compile_checks(list(load_rubric(rubric_path, validate=False).criteria.values()))


def _work(chunk: list[tuple[str, str, str]]) -> list[tuple[str, str, str, list[dict]]]:
    return _run_engine(_WORKER_ENGINE, chunk)


def parallel_rules_judge(rubric: Rubric, workers: int) -> Judge:
    """The offline judge in ``workers`` processes, each compiling the rubric once.

    Verdicts are still written by the parent, in input order, so results are the same as
    with one process.
    """
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(str(rubric.path),))

    def judge(tasks: list[Task]) -> list[Outcome]:
        pairs = _pairs(tasks)  # a response's criteria stay together: tasks come grouped by response
        size = max(1, -(-len(pairs) // workers))
        chunks = [pairs[i:i + size] for i in range(0, len(pairs), size)]
        out: list[Outcome] = []
        for part in pool.map(_work, chunks):
            out += [Outcome(a, r, v, ev) for a, r, v, ev in part]
        return out
    judge.close = pool.shutdown  # type: ignore[attr-defined]
    return judge


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def _verdict(rubric: Rubric, judge_name: str, t: Task, o: Outcome) -> Verdict:
    """One verdicts.jsonl record (rubrics/contract/schema/verdict.schema.json)."""
    c, r = t.criterion, t.response
    appropriate = None if o.answer not in ("yes", "no") else (o.answer == c["appropriate_answer"])
    return Verdict(**{
        "verdict_id": verdict_id(rubric.id, r.response_id, c["id"], judge_name),
        "rubric_id": rubric.id,
        "response_id": r.response_id,
        "item_id": t.item["id"],
        "criterion_id": c["id"],
        "principle": t.item.get("principle"),
        "condition": t.item.get("condition"),
        "model": r.model,
        "judge": judge_name,
        "judge_version": o.judge_version,
        "protocol": o.protocol,
        "question": c.get("question"),
        "appropriate_answer": c["appropriate_answer"],
        "answer": o.answer,
        "reason": o.reason,
        "appropriate": appropriate,
        "evidence": o.evidence,
        "points": c.get("points", 0) if o.answer == "yes" else 0,
        "citations": [ci.get("passage") for ci in c.get("citations", [])],
        "usage": o.usage,
        "flags": sorted(set(o.flags)),
        "metadata": r.metadata,
        "response_line": r.line,
    })


def _batches(it: Iterator, n: int) -> Iterator[list]:
    while True:
        chunk = list(islice(it, n))
        if not chunk:
            return
        yield chunk


def evaluate(rubric: Rubric, responses_path: Path, out_dir: Path, judges: dict[str, Judge],
             strict: bool = False, resume: bool = False, judge_label: str | None = None,
             progress: Callable[[int], None] | None = None, run_id: str | None = None) -> dict:
    """Write verdicts for every response x criterion of its item; return the summary.

    ``judges`` maps a judge name ("rules", "llm") to a judge; with two, the run is an
    ensemble and verdicts whose answers differ are flagged ``disagreement``.
    """
    results = ResultsDir(Path(out_dir))
    manifest = {
        "rubric_id": rubric.id, "rubric_path": str(rubric.path), "rubric_sha256": rubric.sha256,
        "responses_path": str(responses_path), "responses_sha256": sha256_file(Path(responses_path)),
        "judge": judge_label or "+".join(sorted(judges)),
    }
    previous = _read_manifest(results.manifest) if resume else None
    manifest.update(runs.identity(rubric.data, previous, run_id))
    done = results.open_for_run(manifest, resume)
    judge_versions: dict[str, set[str]] = {name: set((previous or {}).get("judges", {}).get(name, []))
                                           for name in judges}
    # A judge may ask for smaller batches (the LLM judge: verdicts reach disk sooner).
    batch = min([getattr(j, "batch_size", BATCH) for j in judges.values()] + [BATCH])
    problems: list[dict] = [p for p in iter_jsonl(results.problems)] if resume else []
    seen_problem_lines = {p["line"] for p in problems}
    stream = read_responses(Path(responses_path), set(rubric.items), rubric.aliases)
    with AppendLog(results.verdicts) as vlog, AppendLog(results.problems) as plog:
        for chunk in _batches(stream, batch):
            tasks: list[Task] = []
            for rec in chunk:
                if isinstance(rec, InputProblem):
                    if strict:
                        raise rec.error()
                    if rec.line not in seen_problem_lines:
                        entry = {"path": rec.path, "line": rec.line, "message": rec.message}
                        problems.append(entry)
                        plog.write([entry])
                    continue
                item = rubric.items[rec.item_id]
                for c in item.get("criteria", []):
                    tasks.append(Task(rec, item, c))
            outcomes: dict[str, dict[int, Outcome]] = {}
            for name, judge in judges.items():
                todo = [i for i, t in enumerate(tasks)
                        if verdict_id(rubric.id, t.response.response_id, t.criterion["id"], name) not in done]
                if todo:
                    outs = judge([tasks[i] for i in todo])
                    outcomes[name] = dict(zip(todo, outs))
            if len(judges) > 1:
                _flag_disagreements(tasks, outcomes)
            records = [_verdict(rubric, name, tasks[i], o)
                       for name in judges for i, o in sorted(outcomes.get(name, {}).items())]
            for r in records:
                judge_versions[r["judge"]].add(r["judge_version"])
            vlog.write(records)
            vlog.commit()
            plog.commit()
            if progress:
                progress(len(chunk))
    # Release what only judging needed (the reader's set of response ids, a resumed run's
    # verdict ids) before the summary reads the verdicts back: peak memory is then the
    # larger of the two phases, not their sum (bench/run.py measures it at 100,000 responses).
    stream.close()
    done.clear()
    summary = summarize(iter_jsonl(results.verdicts), rubric.data, problems)
    atomic_write_text(results.summary, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    runs.finish(results.manifest, summary, judge_versions)
    return summary


def _read_manifest(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _flag_disagreements(tasks: list[Task], outcomes: dict[str, dict[int, Outcome]]) -> None:
    names = list(outcomes)
    if len(names) < 2:
        return
    for i in range(len(tasks)):
        answers = {n: outcomes[n][i].answer for n in names if i in outcomes[n]}
        if len(set(answers.values())) > 1:
            for n in answers:
                outcomes[n][i].flags.append("disagreement")
