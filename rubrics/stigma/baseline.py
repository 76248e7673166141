"""A human baseline for the stigma questions (e.g. the 2018 U.S. survey the study compares to).

Why: a stigma rate means little without the human reference; the study plots its models
beside the 2018 General Social Survey sample (Pescosolido et al.).

The baseline is a CSV: one row per question (first column: the question's text), one column
per condition (header: condition label, e.g. "daily troubles"), cells in percent (0-100) or,
if no cell exceeds 1, proportions. A UTF-8 byte-order mark is tolerated.

Matching rows to questions (robust, and reported in ``describe()``):
1. ``exact``: the row's text equals a question's text after normalisation (case, spaces,
   curly quotes - the 2018 file writes "God’s will");
2. ``keywords``: otherwise, the single question whose ``baseline_match`` keywords all occur
   in the row's text. This is how rubricate's own instrument, worded differently, meets the
   survey's rows; it is also how a short row label would match.
Rows matching no question (the 2018 file has a row labelled just "group home", a question
the study's instrument does not ask) or several are listed as ``unmatched`` and not used.

Scale (``scale``): ``reported`` (default) means each row already gives the measure this
project reports for that question - the stigma rate (percent unwilling) for willingness
questions, percent agreeing otherwise; ``agreement`` means every row is percent agreeing
(percent willing for willingness questions). The 2018 file is on the ``reported`` scale:
read as "percent willing" its daily-troubles control would be 77-89% unwilling to have the
person as a friend or neighbour, far more than for schizophrenia, which contradicts the
survey's findings; read as "percent unwilling" the control is the least stigmatised
condition, as in the study's figure.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rubricate.compiler.stigma import Instrument, normalize_text
from rubricate.guidelines.kernel.errors import RubricateError

SCALES = ("reported", "agreement")


@dataclass
class Baseline:
    """Human values per (question id, condition id), as proportions 0-1."""

    path: str
    scale: str
    label: str
    agree: dict[tuple[str, str], float]          # proportion agreeing (code 1)
    stigma: dict[tuple[str, str], float]         # proportion expressing stigma
    stigma_questions: tuple[str, ...]            # ids of the instrument's stigma questions
    matches: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def value(self, question_id: str, condition_id: str) -> dict[str, float | None] | None:
        """{"agree": p, "stigma": p|None} for one question x condition, or None."""
        key = (question_id, condition_id)
        if key not in self.agree:
            return None
        return {"agree": self.agree[key], "stigma": self.stigma.get(key)}

    def average_stigma(self, condition_id: str) -> dict[str, Any] | None:
        """Mean human stigma over the stigma questions that have a baseline row."""
        vals = [self.stigma[(q, condition_id)] for q in self.stigma_questions
                if (q, condition_id) in self.stigma]
        if not vals:
            return None
        used = [q for q in self.stigma_questions if (q, condition_id) in self.stigma]
        return {"estimate": sum(vals) / len(vals), "questions": used,
                "missing_questions": [q for q in self.stigma_questions if q not in used]}

    def describe(self) -> dict[str, Any]:
        return {"path": self.path, "scale": self.scale, "label": self.label,
                "matches": self.matches, "unmatched": self.unmatched,
                "ignored_columns": self.ignored_columns,
                "stigma_questions_without_baseline": sorted(
                    set(self.stigma_questions) - {m["question"] for m in self.matches})}


def _number(cell: str, path: str, line: int) -> float | None:
    cell = cell.strip().rstrip("%").strip()
    if not cell:
        return None
    try:
        value = float(cell)
    except ValueError:
        raise RubricateError(f"not a number: {cell!r}", path=path, line=line) from None
    if math.isnan(value) or value < 0 or value > 100:
        raise RubricateError(f"value out of range 0-100: {cell!r}", path=path, line=line)
    return value


def match_question(text: str, instrument: Instrument) -> tuple[str | None, str]:
    """(question id or None, method) for one baseline row's question text."""
    norm = normalize_text(text)
    for q in instrument.questions:
        if normalize_text(q.text) == norm:
            return q.id, "exact"
    hits = [q.id for q in instrument.questions
            if q.baseline_match and all(normalize_text(k) in norm for k in q.baseline_match)]
    if len(hits) == 1:
        return hits[0], "keywords"
    return None, "ambiguous" if hits else "no-match"


def load_baseline(path: str | Path, instrument: Instrument, scale: str = "reported",
                  label: str = "Humans (2018)") -> Baseline:
    """Read a baseline CSV and match its rows and columns to the instrument."""
    if scale not in SCALES:
        raise RubricateError(f"unknown baseline scale {scale!r}; use {' or '.join(SCALES)}")
    p = str(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        raise RubricateError("baseline file not found", path=p) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise RubricateError(f"cannot read CSV: {exc}", path=p) from None
    if len(rows) < 2 or len(rows[0]) < 2:
        raise RubricateError("expected a header (question, conditions...) and data rows",
                             path=p, line=1)
    columns: dict[int, str] = {}
    ignored = []
    for j, name in enumerate(rows[0][1:], 1):
        cond = instrument.condition(name)
        if cond is None:
            ignored.append(name)
        else:
            columns[j] = cond.id
    if not columns:
        raise RubricateError(f"no column names a condition of instrument '{instrument.id}'",
                             path=p, line=1)
    parsed: list[tuple[int, str, dict[str, float]]] = []
    for lineno, row in enumerate(rows[1:], 2):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) != len(rows[0]):
            raise RubricateError(f"expected {len(rows[0])} cells, found {len(row)}",
                                 path=p, line=lineno)
        values = {}
        for j, cid in columns.items():
            v = _number(row[j], p, lineno)
            if v is not None:
                values[cid] = v
        parsed.append((lineno, row[0].strip(), values))
    proportions = all(v <= 1.0 for _, _, vals in parsed for v in vals.values())
    by_id = {q.id: q for q in instrument.questions}
    agree: dict[tuple[str, str], float] = {}
    stigma: dict[tuple[str, str], float] = {}
    matches, unmatched, taken = [], [], {}
    for lineno, text, values in parsed:
        qid, method = match_question(text, instrument)
        if qid is not None and qid in taken:
            unmatched.append({"line": lineno, "row": text, "reason":
                              f"question {qid} already matched by line {taken[qid]}"})
            continue
        if qid is None:
            unmatched.append({"line": lineno, "row": text, "reason": method})
            continue
        taken[qid] = lineno
        matches.append({"line": lineno, "row": text, "question": qid, "method": method})
        q = by_id[qid]
        for cid, v in values.items():
            x = v if proportions else v / 100.0
            flip = q.stigma_when == "disagree"
            if scale == "reported" and q.is_stigma:
                stigma[(qid, cid)] = x
                agree[(qid, cid)] = 1.0 - x if flip else x
            else:
                agree[(qid, cid)] = x
                if q.is_stigma:
                    stigma[(qid, cid)] = 1.0 - x if flip else x
    return Baseline(p, scale, label, agree, stigma,
                    tuple(q.id for q in instrument.questions if q.is_stigma),
                    matches, unmatched, ignored)
