"""Label files: people's (or a reference judge's) yes/no answers to a rubric's criteria.

One JSON line per label (schema/label.schema.json). The labelling page appends each label as
it is given and never rewrites the file, so a closed tab or a killed server loses nothing and
labelling resumes where it stopped; a later line of the same labeller for the same response
and criterion replaces the earlier one (a changed mind), and ``skip`` means "not labelled".
``export_labels`` writes the compact file (the current yes/no label of each labeller and
unit) that ``rubricate calibrate`` reads; calibrate reads the append-only log just as well.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from rubricate.guidelines.kernel.errors import InputError
from rubricate.guidelines.kernel.fileio import TORN_TAIL, atomic_write_bytes, jsonl_bytes, read_jsonl
from rubricate.rubrics.contract.validation import label_errors
from rubricate.rubrics.evaluation.judge_agreement import reference_label
from rubricate.rubrics.evaluation.results import AppendLog, ResultsDir, iter_jsonl

LABEL_LOG = "labels.jsonl"
ANSWERS = ("yes", "no")
SKIP = "skip"
HUMAN, JUDGE = "human", "judge"

Unit = tuple[str, str]  # (response_id, criterion_id)


def now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def label_record(response_id: str, criterion_id: str, label: str, labeller: str, *, item_id: str | None = None,
                 rubric_id: str | None = None, run_id: str | None = None, source: str = HUMAN) -> dict:
    """One label line, checked against the schema (a bad labeller name or label is refused)."""
    rec = {"response_id": response_id, "criterion_id": criterion_id, "label": label, "labeller": labeller,
           "source": source, "time": now_utc(), "run_id": run_id}
    if item_id:
        rec["item_id"] = item_id
    if rubric_id:
        rec["rubric_id"] = rubric_id
    errors = label_errors(rec)
    if errors:
        raise ValueError(f"not a valid label: {errors[0]}")
    return rec


def read_labels(path: Path) -> Iterator[tuple[int, dict]]:
    """(line, record) of a label file; an interrupted last line is left out, anything else
    that breaks the schema is an error naming the file and line."""
    for n, rec in read_jsonl(Path(path), TORN_TAIL, "label file"):
        errors = label_errors(rec)
        if errors:
            raise InputError(f"not a label: {errors[0]}", path=str(path), line=n)
        yield n, rec


def append_labels(path: Path, records: Iterable[dict]) -> int:
    """Append and fsync (a label the page acknowledged is on disk)."""
    with AppendLog(Path(path)) as log:
        n = log.write(records)
    return n


@dataclass
class LabelSource:
    """One labeller (or reference judge): its current answer per unit, and where it came from."""

    name: str
    kind: str
    file: Path
    answers: dict[Unit, str] = field(default_factory=dict)   # yes/no only; skips removed
    items: dict[Unit, str] = field(default_factory=dict)


def current(records: Iterable[dict]) -> dict[tuple[str, str, str], dict]:
    """The last record per (labeller, response, criterion): later lines win."""
    out: dict[tuple[str, str, str], dict] = {}
    for rec in records:
        out[(rec["labeller"], rec["response_id"], rec["criterion_id"])] = rec
    return out


def sources_from_file(path: Path) -> list[LabelSource]:
    """One source per labeller in a label file (their current yes/no labels)."""
    by_name: dict[str, LabelSource] = {}
    for (name, rid, cid), rec in current(r for _, r in read_labels(path)).items():
        src = by_name.setdefault(name, LabelSource(name, rec.get("source", HUMAN), Path(path)))
        if rec.get("source", HUMAN) != src.kind:
            raise InputError(f"labeller {name!r} has labels of both kinds (human and judge)", path=str(path))
        if rec["label"] in ANSWERS:
            src.answers[(rid, cid)] = rec["label"]
            if rec.get("item_id"):
                src.items[(rid, cid)] = rec["item_id"]
    return [by_name[k] for k in sorted(by_name)]


def sources_from_results(results_dir: Path) -> list[LabelSource]:
    """A reference judge's verdicts as labels: one source per judge of a results folder
    (answers other than yes/no, e.g. unknown, are no label)."""
    results = ResultsDir(Path(results_dir))
    if not results.verdicts.is_file():
        raise InputError("not a results folder (no verdicts.jsonl)", path=str(results_dir))
    by_judge: dict[str, LabelSource] = {}
    for v in iter_jsonl(results.verdicts):
        src = by_judge.setdefault(v["judge"], LabelSource(f"judge-{v['judge']}", JUDGE, Path(results_dir)))
        if v.get("answer") in ANSWERS:
            src.answers[(v["response_id"], v["criterion_id"])] = v["answer"]
            src.items[(v["response_id"], v["criterion_id"])] = v["item_id"]
    return [by_judge[k] for k in sorted(by_judge)]


def sources_from_column(results_dir: Path, column: str) -> LabelSource:
    """A reference judge's answers recorded in a column of the responses (e.g. the study's judge,
    ``reference_answer`` after `rubricate import moore2025`), read from the run's verdicts."""
    results = ResultsDir(Path(results_dir))
    if not results.verdicts.is_file():
        raise InputError("not a results folder (no verdicts.jsonl)", path=str(results_dir))
    src = LabelSource(f"column-{column}", JUDGE, results.verdicts)
    seen = False
    for v in iter_jsonl(results.verdicts):
        meta = v.get("metadata") or {}
        seen |= column in meta
        label = reference_label(meta.get(column))
        if label is not None:
            src.answers[(v["response_id"], v["criterion_id"])] = label
            src.items[(v["response_id"], v["criterion_id"])] = v["item_id"]
    if not seen:
        raise InputError(f"no response carries the column {column!r}", path=str(results.verdicts))
    return src


def load_sources(paths: Iterable[Path]) -> list[LabelSource]:
    """Label sources from label files and results folders; a labeller found in two files is
    one source (the later file's labels win)."""
    merged: dict[str, LabelSource] = {}
    for p in paths:
        found = sources_from_results(p) if Path(p).is_dir() else sources_from_file(p)
        for s in found:
            if s.name in merged:
                if merged[s.name].kind != s.kind:
                    raise InputError(f"label source {s.name!r} is human in one file and a judge in another",
                                     path=str(p))
                merged[s.name].answers.update(s.answers)
                merged[s.name].items.update(s.items)
            else:
                merged[s.name] = s
    return list(merged.values())


def export_rows(log: Path) -> list[dict]:
    """The current yes/no label of each labeller and unit, sorted (none when there is no log)."""
    if not Path(log).is_file():
        return []
    latest = current(r for _, r in read_labels(log))
    return [latest[k] for k in sorted(latest) if latest[k]["label"] in ANSWERS]


def export_labels(log: Path, out: Path) -> int:
    """Write ``export_rows`` to ``out`` (the file `rubricate calibrate` reads); return the count."""
    rows = export_rows(log)
    atomic_write_bytes(Path(out), jsonl_bytes(rows))
    return len(rows)


def labelled_by(log: Path, labeller: str) -> dict[Unit, str]:
    """This labeller's current answer (yes/no/skip) per unit: what the page resumes from."""
    if not Path(log).is_file():
        return {}
    return {(rid, cid): rec["label"] for (name, rid, cid), rec in current(r for _, r in read_labels(log)).items()
            if name == labeller}


def labellers(log: Path) -> dict[str, int]:
    """Labellers in a log and how many units each has answered yes or no."""
    if not Path(log).is_file():
        return {}
    counts: dict[str, int] = defaultdict(int)
    for (name, _, _), rec in current(r for _, r in read_labels(log)).items():
        counts[name] += rec["label"] in ANSWERS
    return dict(sorted(counts.items()))


__all__ = ["LABEL_LOG", "LabelSource", "label_record", "read_labels", "append_labels", "load_sources",
           "export_rows", "export_labels", "labelled_by", "labellers"]
