"""Score a file of responses against a rubric: stream, judge, append verdicts, summarise.

A judge (judges.py: the ``Judge`` protocol) turns a batch of ``Task`` into one ``Outcome``
per task, so the offline rules, the LLM judge, their ensemble and any registered plug-in
share the streaming, resuming and writing.
"""
from __future__ import annotations

import json
import os
from itertools import islice
from pathlib import Path
from typing import Callable, Iterator, Mapping

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import atomic_write_text, check_input_file, sha256_file
from rubricate.guidelines.kernel.workspace import record_location
from rubricate.rubrics.evaluation.responses import InputProblem, read_responses
from rubricate.rubrics.evaluation.results import AppendLog, Records, ResultsDir, iter_jsonl, verdict_id
from rubricate.rubrics.contract.integrity import check_integrity
from rubricate.rubrics.contract.model import Rubric, Verdict
from rubricate.rubrics.evaluation import runs
from rubricate.rubrics.evaluation.summary import Tally, finalize, summarize
from rubricate.rubrics.evaluation.judges import BATCH, Ensemble, Judge, Outcome, Task
from rubricate.rubrics.evaluation.rules_judge import parallel_rules_judge, rules_judge

# Judges, their tasks and outcomes live in judges.py; the offline judge in rules_judge.py.
# Re-exported here: callers name them from the evaluator.
__all__ = ["BATCH", "Ensemble", "Judge", "Outcome", "Task", "evaluate", "parallel_rules_judge",
           "rules_judge"]


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def _verdict(rubric: Rubric, judge_name: str, t: Task, o: Outcome) -> Verdict:
    """One verdicts.jsonl record (rubrics/contract/schema/verdict.schema.json)."""
    c, r = t.criterion, t.response
    appropriate = None if o.answer not in ("yes", "no") else (o.answer == c["appropriate_answer"])
    v: Verdict = {  # a literal, not Verdict(**{...}): that copies every record once more
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
        "flags": sorted(set(o.flags) | set(r.flags)),
        "metadata": r.metadata,
        "response_line": r.line,
        "cause": o.cause,
    }
    if o.confidence is not None:
        v["confidence"] = o.confidence
    if o.rules_answer is not None:
        v["rules_answer"] = o.rules_answer
    if o.decided_by is not None:
        v["decided_by"] = o.decided_by
    if o.routed is not None:
        v["routed"] = o.routed
    if o.repeats is not None:
        v["repeats"] = list(o.repeats)
        v["unstable"] = len(set(o.repeats)) > 1
    return v


def _batches(it: Iterator, n: int) -> Iterator[list]:
    while True:
        chunk = list(islice(it, n))
        if not chunk:
            return
        yield chunk


def evaluate(rubric: Rubric, responses_path: Path, out_dir: Path,
             judges: Judge | Ensemble | Mapping[str, Judge],
             strict: bool = False, resume: bool = False, judge_label: str | None = None,
             progress: Callable[[int], None] | None = None, run_id: str | None = None,
             retry_errors: bool = False) -> dict:
    """Write verdicts for every response x criterion of its item; return the summary.

    ``judges`` is one judge, an ``Ensemble``, or a mapping of names to judges (an ensemble
    of them); with two or more, verdicts whose answers differ are flagged ``disagreement``.
    The caller closes the judges. A judgement whose call failed is appended to
    failures.jsonl, not to the verdicts: ``resume`` asks it again (with everything not yet
    judged), ``retry_errors`` asks only those.
    """
    check_input_file(responses_path, "responses file")  # missing, unreadable, a symlink loop or empty
    check_integrity(rubric.data, str(rubric.path))  # duplicate ids, citations outside its KB
    panel = Ensemble.of(judges)
    results = ResultsDir(Path(out_dir))
    # Locations relative to the results folder (bundled files as package:...): `trace`,
    # `report` and `compare` find the files from any working directory; no machine path.
    manifest = {
        "rubric_id": rubric.id, "rubric_path": record_location(rubric.path, results.path),
        "rubric_sha256": rubric.sha256,
        "responses_path": record_location(responses_path, results.path),
        "responses_sha256": sha256_file(Path(responses_path)),
        "judge": judge_label or panel.name,
    }
    resume = resume or retry_errors
    previous = _read_manifest(results.manifest) if resume else None
    manifest.update(runs.identity(rubric.data, previous, run_id))
    described = _describe(panel)
    if described:
        manifest["llm_judges"] = described  # the effective endpoint of each LLM judge (no key)
    done = results.open_for_run(manifest, resume)  # locks the folder until the run ends
    try:
        return _evaluate(rubric, responses_path, results, manifest, previous, panel, done, strict,
                         resume, retry_errors, progress)
    finally:
        results.unlock()


def _evaluate(rubric: Rubric, responses_path: Path, results: ResultsDir, manifest: dict, previous: dict | None,
              panel: Ensemble, done: set[str], strict: bool, resume: bool, retry_errors: bool,
              progress: Callable[[int], None] | None) -> dict:
    judge_versions: dict[str, set[str]] = {name: set((previous or {}).get("judges", {}).get(name, []))
                                           for name in panel.members}
    failed_before = results.failed_ids(done) if resume else set()
    if retry_errors and not failed_before:
        raise RubricateError("no failed judgements to retry in this results folder", path=str(results.path))
    for judge in panel.members.values():  # e.g. the LLM judge in batch mode keeps its batch ledger here
        if hasattr(judge, "bind_results"):
            judge.bind_results(results.path)
    # A judge may ask for smaller batches (the LLM judge: verdicts reach disk sooner).
    batch = min(panel.batch_size, BATCH)
    problems: list[dict] = [p for p in iter_jsonl(results.problems)] if resume else []
    seen_problem_lines = {p["line"] for p in problems}
    stream = read_responses(Path(responses_path), set(rubric.items), rubric.aliases)
    # A fresh run counts its summary as it writes (no reading back), scoring each batch's
    # responses when the batch is written: all of a response's verdicts are in its batch and
    # the reader refuses a repeated response id, so none comes back later and nothing is kept
    # per response. A resumed run, whose file holds earlier verdicts too, counts from the file.
    tally = None if resume else Tally(rubric.data, remember=False)
    with AppendLog(results.verdicts) as vlog, AppendLog(results.problems) as plog, \
            AppendLog(results.failures) as flog:
        for chunk in _batches(stream, batch):
            tasks: list[Task] = []
            for rec in chunk:
                if isinstance(rec, InputProblem):
                    if strict:
                        raise rec.error()
                    if rec.line not in seen_problem_lines:
                        entry = {"path": manifest["responses_path"], "line": rec.line, "message": rec.message}
                        problems.append(entry)
                        plog.write([entry])
                    continue
                item = rubric.items[rec.item_id]
                for c in item.get("criteria", []):
                    tasks.append(Task(rec, item, c))
            def pending(name: str, t: Task) -> bool:
                if not done and not retry_errors:  # a fresh run: everything is pending (no hash)
                    return True
                vid = verdict_id(rubric.id, t.response.response_id, t.criterion["id"], name)
                return vid not in done and (not retry_errors or vid in failed_before)
            outcomes = panel.judge_each(tasks, pending)
            records = [(o.failed, _verdict(rubric, name, tasks[i], o))
                       for name in panel.members for i, o in sorted(outcomes.get(name, {}).items())]
            for failed, r in records:
                judge_versions[r["judge"]].add(r["judge_version"])
                if resume and not failed:  # a fresh run asks each verdict once (ids are unique):
                    done.add(r["verdict_id"])  # only earlier failures need to see it answered
            written = [r for failed, r in records if not failed]
            vlog.write(written)
            flog.write(r for failed, r in records if failed)
            if tally is not None:
                for r in written:
                    tally.add(r)
                tally.flush()
            vlog.commit()
            flog.commit()
            plog.commit()
            if progress:
                progress(len(chunk))
    # Release what only judging needed (the reader's response ids, a resumed run's verdict
    # ids) before a resumed run's summary reads the verdicts back: peak memory is then the
    # larger of the two phases, not their sum (bench/run.py measures it up to 1,000,000).
    stream.close()
    failures = results.open_failures(done)
    done.clear()
    if tally is not None and vlog.altered == 0:  # every line says what its record says
        summary = finalize(tally.partial(problems))
    else:
        summary = summarize(Records(results.verdicts), rubric.data, problems)
    summary["failed"] = failures
    atomic_write_text(results.summary, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    manifest = runs.finish(results.manifest, summary, judge_versions)
    described = _describe(panel)
    if described:  # now with the run's usage, parameter changes and failures by cause
        manifest["llm_judges"] = described
        atomic_write_text(results.manifest, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return summary


def _describe(panel: Ensemble) -> dict:
    """What judges that call a model say about themselves (endpoint, protocol, usage)."""
    return {n: j.describe() for n, j in panel.members.items() if hasattr(j, "describe")}


def _read_manifest(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None

