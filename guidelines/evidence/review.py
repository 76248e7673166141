"""Reviewer workflow for extraction candidates: export a sheet, import decisions, agreement.

Why: lexicon candidates are proposals; a passage becomes evidence in the knowledge base only
when a named reviewer accepts it. The flow is

1. ``export_sheet``: a CSV and a JSONL sheet of candidates with context (document, passage,
   page, section, the passage with the match marked ``[[...]]``, feature, score, polarity)
   and empty decision columns (decision, relabel_to, reviewer, time, note).
2. The reviewer fills ``decision`` with accept / reject / relabel (relabel needs
   ``relabel_to``, another feature id); empty rows are simply not decided yet.
3. ``import_sheet`` validates every row (one-line ``file:line`` error, nothing written when a
   row is bad) and appends the decisions to an append-only JSONL log (default
   guidelines/reviews/decisions.jsonl). Each record keeps the reviewer, time, note, passage
   id, document, feature, the source file's SHA-256 and the passage quote with prefix/suffix
   and offsets, so it can be re-anchored if passage ids change (``reanchor``).
4. ``load_decisions`` + ``accepted_evidence`` give the build what reviewers accepted
   (latest decision per reviewer x passage x feature wins; relabel = reject of the proposed
   feature and accept of ``relabel_to``).
5. ``agreement`` compares two reviewers: Cohen's kappa (with a bootstrap CI) and macro F1
   per feature (kernel/agreement.py), plus the list of disagreements; ``multi_agreement``
   gives Krippendorff's alpha for more coders.
6. With several coders, ``resolve`` applies the review :class:`Policy` (consensus, any,
   adjudicator NAME): disagreements wait for an adjudication (``adjudication_rows`` ->
   ``import_sheet(adjudicator=...)``).
7. A decision whose passage is gone after a new edition is re-anchored by ``anchor`` (exact
   quote, then bounded fuzzy); the rest go to a "needs re-review" sheet (``rereview_rows``)
   whose decisions supersede the old ones.

Reviewer names are used in agent IRIs, so they are limited to letters, digits, ".", "_" and
"-". Times are ISO 8601; a time without a zone is read as UTC; an empty time is the import time.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from itertools import combinations
from pathlib import Path
from typing import Iterable

from rapidfuzz import fuzz

from rubricate.guidelines.kernel.agreement import (cohen_kappa, cohen_kappa_ci, confusion_matrix,
                                                  krippendorff_alpha_ci, macro_f1)
from rubricate.guidelines.kernel.errors import InputError, RubricateError
from rubricate.guidelines.kernel.fileio import iter_jsonl_objects, load_yaml_mapping, read_jsonl_objects
from rubricate.guidelines.evidence.extract import METHOD, Candidate, known_principles
from rubricate.guidelines.kernel.fileio import atomic_write_bytes, atomic_write_text, sha256_file
from rubricate.guidelines.kernel.safepath import confined
from rubricate.guidelines.sources.model import Passage
from rubricate.guidelines.kernel.negation import POLARITIES
from rubricate.guidelines.sources.passages import passage_id as make_passage_id
from rubricate.guidelines.kernel.workspace import ws_path

DECISIONS = ("accept", "reject", "relabel")
MARK_OPEN, MARK_CLOSE = "[[", "]]"
RECORD_SCHEMA = "rubricate.review-decision/1"
_REVIEWER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")

# Reviewer-facing columns first, then what import needs to re-anchor the passage.
SHEET_COLUMNS = ("document", "passage_id", "page", "page_label", "section_path", "feature", "score",
                 "polarity", "matched", "passage", "decision", "relabel_to", "reviewer", "time", "note",
                 "sha256", "passage_start", "passage_end", "match_start", "match_end", "prefix", "suffix",
                 "method")
DECISION_COLUMNS = ("decision", "relabel_to", "reviewer", "time", "note")


@dataclass(frozen=True)
class Decision:
    """One reviewer decision on one candidate, as stored in the decisions log."""

    reviewer: str
    time: str  # ISO 8601, UTC
    decision: str  # accept | reject | relabel
    feature: str  # the proposed feature
    relabel_to: str | None
    note: str
    passage_id: str
    doc_id: str
    sha256: str  # of the source file the passage is in
    start: int
    end: int
    quote: str
    prefix: str = ""
    suffix: str = ""
    page: int | None = None
    page_label: str | None = None
    section_path: tuple[str, ...] = ()
    score: float | None = None
    polarity: str | None = None
    method: str = METHOD
    time_given: bool = True  # False when the sheet left time empty and import filled it
    sheet: str = ""  # file the decision was imported from
    sheet_sha256: str = ""
    sheet_line: int = 0
    imported: str = ""
    role: str = "coder"  # coder | adjudicator (decides a disagreement between coders)
    activity: str = ""  # id of the adjudication the decision was imported in
    match_start: int | None = None  # the proposal's span inside the passage, when known
    match_end: int | None = None
    supersedes: str = ""  # passage id (earlier edition) this re-review decides again

    def to_record(self) -> dict:
        d = asdict(self)
        d["section_path"] = list(self.section_path)
        return {"schema": RECORD_SCHEMA, **d}

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.reviewer, self.passage_id, self.feature) if self.role == "coder" else \
            (f"{self.reviewer}#adjudicator", self.passage_id, self.feature)

    def same_content(self, other: "Decision") -> bool:
        """Same decision, ignoring when and from which file it was imported."""
        fields = ("reviewer", "decision", "feature", "relabel_to", "note", "passage_id")
        same = all(getattr(self, f) == getattr(other, f) for f in fields)
        if self.time_given and other.time_given:
            same = same and self.time == other.time
        return same


@dataclass(frozen=True)
class AcceptedEvidence:
    """A passage a reviewer accepted for a feature: what the build turns into evidence,
    with ``reviewer`` as the PROV agent and ``time``/``note`` as provenance."""

    doc_id: str
    feature: str  # the accepted feature (``relabel_to`` for a relabel)
    passage_id: str
    reviewer: str
    time: str
    note: str
    decision: str  # accept | relabel
    proposed_feature: str
    sha256: str
    start: int
    end: int
    quote: str
    prefix: str = ""
    suffix: str = ""
    page: int | None = None
    page_label: str | None = None
    section_path: tuple[str, ...] = ()
    role: str = "coder"
    activity: str = ""  # the adjudication it comes from (role adjudicator)
    imported: str = ""


@dataclass
class ImportResult:
    added: list[Decision] = field(default_factory=list)
    pending: int = 0  # rows without a decision yet
    unchanged: int = 0  # rows equal to the reviewer's latest logged decision (e.g. re-import)
    log: Path | None = None


# ---- helpers ------------------------------------------------------------------------------

def check_reviewer(name: str) -> str:
    name = (name or "").strip()
    if not _REVIEWER.match(name):
        raise RubricateError(f"reviewer name {name!r} must be 1-64 letters, digits, '.', '_' or '-'")
    return name


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _parse_time(value: str) -> str:
    t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc).isoformat()


def _time_key(t: str) -> datetime:
    return datetime.fromisoformat(t)


def mark(passage: Passage, start: int, end: int) -> str:
    """The passage text with the document span [start, end) wrapped in [[ ]]."""
    a, b = start - passage.start, end - passage.start
    return passage.text[:a] + MARK_OPEN + passage.text[a:b] + MARK_CLOSE + passage.text[b:]


def _unmark(marked: str, a: int, b: int) -> str | None:
    """Inverse of ``mark`` given the match's offsets inside the passage; None if edited."""
    if marked[a:a + len(MARK_OPEN)] != MARK_OPEN:
        return None
    close = b + len(MARK_OPEN)
    if marked[close:close + len(MARK_CLOSE)] != MARK_CLOSE:
        return None
    return marked[:a] + marked[a + len(MARK_OPEN):close] + marked[close + len(MARK_CLOSE):]


# ---- export -------------------------------------------------------------------------------

def sheet_rows(candidates: Iterable[Candidate], passages: dict[str, Passage], reviewer: str) -> list[dict]:
    """One row per candidate, in document then passage order; decision columns left empty
    except ``reviewer``."""
    rows = []
    for c in sorted(candidates, key=lambda c: (c.doc_id, passages[c.passage_id].start, c.feature)):
        p = passages[c.passage_id]
        rows.append({
            "document": c.doc_id, "passage_id": c.passage_id, "page": p.page, "page_label": p.page_label,
            "section_path": " > ".join(p.section_path), "feature": c.feature, "score": c.score,
            "polarity": c.polarity, "matched": c.matched, "passage": mark(p, c.start, c.end),
            "decision": "", "relabel_to": "", "reviewer": reviewer, "time": "", "note": "",
            "sha256": p.sha256, "passage_start": p.start, "passage_end": p.end,
            "match_start": c.start, "match_end": c.end, "prefix": p.prefix, "suffix": p.suffix,
            "method": c.method,
        })
    return rows


def export_sheet(candidates: Iterable[Candidate], passages: Iterable[Passage], reviewer: str,
                 out_dir: Path, name: str | None = None, force: bool = False) -> tuple[Path, Path]:
    """Write ``<name>.csv`` and ``<name>.jsonl`` (default name ``review-<reviewer>``).

    Refuses to overwrite an existing sheet unless ``force``: it may hold decisions.
    """
    reviewer = check_reviewer(reviewer)
    by_id = {p.id: p for p in passages}
    rows = sheet_rows(candidates, by_id, reviewer)
    out_dir = Path(out_dir)
    stem = name or f"review-{reviewer}"
    csv_path, jsonl_path = confined(out_dir, f"{stem}.csv"), confined(out_dir, f"{stem}.jsonl")
    for p in (csv_path, jsonl_path):
        if p.exists() and not force:
            raise RubricateError("sheet already exists (it may hold decisions); use --force to overwrite",
                                 path=str(p))
    write_sheet(rows, csv_path, jsonl_path)
    return csv_path, jsonl_path


def sheet_csv(rows: list[dict], columns: tuple[str, ...] = SHEET_COLUMNS) -> str:
    """A sheet's CSV text (for writers that put it into a set of files)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: "" if r.get(k) is None else r.get(k) for k in columns})
    return buf.getvalue()


def write_sheet(rows: list[dict], csv_path: Path, jsonl_path: Path | None = None,
                columns: tuple[str, ...] = SHEET_COLUMNS) -> None:
    """A sheet as CSV (and JSONL), atomically."""
    atomic_write_text(csv_path, sheet_csv(rows, columns))
    if jsonl_path is not None:
        atomic_write_text(jsonl_path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


# ---- reading filled sheets ----------------------------------------------------------------

REQUIRED_COLUMNS = ("document", "passage_id", "feature", "passage", "sha256", "passage_start",
                    "passage_end", "match_start", "match_end") + DECISION_COLUMNS


def sniff_delimiter(header: str) -> str:
    """Comma, semicolon or tab: whichever splits the header row into the most known columns
    (spreadsheet programs in many European locales save CSV with semicolons)."""
    def known(d: str) -> int:
        cells = next(csv.reader([header], delimiter=d), [])
        return sum(c.strip() in SHEET_COLUMNS for c in cells)
    try:
        sniffed = csv.Sniffer().sniff(header, delimiters=",;\t").delimiter
    except csv.Error:
        sniffed = ","
    return max((",", ";", "\t"), key=lambda d: (known(d), d == sniffed))


def _read_rows(path: Path) -> list[tuple[int, dict]]:
    """(line number, row) pairs of a CSV or JSONL sheet."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RubricateError("file not found", path=str(path)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise RubricateError("not valid UTF-8", path=str(path), line=line) from None
    if path.suffix.lower() == ".jsonl":
        return read_jsonl_objects(path, "sheet")
    rows: list[tuple[int, dict]] = []
    if path.suffix.lower() != ".csv":
        raise RubricateError("a review sheet must be a .csv or .jsonl file", path=str(path))
    lines = list(io.StringIO(text, newline=""))
    delimiter = sniff_delimiter(lines[0] if lines else "")
    reader = csv.DictReader(lines, delimiter=delimiter)
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        shown = {",": "comma", ";": "semicolon", "\t": "tab"}[delimiter]
        raise RubricateError(
            f"missing column(s): {', '.join(missing)} (read {len(reader.fieldnames or [])} column(s) "
            f"separated by {shown}; keep the header row of `rubricate review export` and save as CSV "
            "separated by comma, semicolon or tab)", path=str(path), line=1)
    prev = reader.line_num  # lines consumed so far (the header)
    for row in reader:
        start = prev + 1  # first line of this row: skip blank lines the reader passed over
        while start < reader.line_num and not lines[start - 1].strip():
            start += 1
        prev = reader.line_num
        if None in row:
            raise RubricateError("more cells than columns", path=str(path), line=start)
        rows.append((start, row))
    return rows


def _s(row: dict, key: str) -> str:
    v = row.get(key)
    return "" if v is None else str(v).strip()


def _int(row: dict, key: str) -> int:
    try:
        return int(_s(row, key))
    except ValueError:
        raise ValueError(f"{key} must be a whole number, got {_s(row, key)!r}") from None


def _row_decision(row: dict, known: frozenset[str], now: str, sheet: Path, sheet_sha: str,
                  line: int) -> Decision | None:
    """A Decision from a filled row, None for a row not decided yet; ValueError if bad."""
    decision = _s(row, "decision").lower()
    if not decision:
        return None
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r} (use accept, reject or relabel)")
    feature = _s(row, "feature")
    if feature not in known:
        raise ValueError(f"unknown feature id {feature!r}")
    relabel_to = _s(row, "relabel_to") or None
    if decision == "relabel":
        if not relabel_to:
            raise ValueError("relabel needs relabel_to (a feature id)")
        if relabel_to not in known:
            raise ValueError(f"unknown feature id in relabel_to {relabel_to!r}")
        if relabel_to == feature:
            raise ValueError("relabel_to is the proposed feature; use accept")
    elif relabel_to:
        raise ValueError(f"relabel_to is set but the decision is {decision}; use relabel")
    reviewer = _s(row, "reviewer")
    if not reviewer:
        raise ValueError("reviewer is empty")
    try:
        check_reviewer(reviewer)
    except RubricateError as exc:
        raise ValueError(str(exc)) from None
    given = _s(row, "time")
    try:
        time = _parse_time(given) if given else now
    except ValueError:
        raise ValueError(f"time {given!r} is not an ISO 8601 date/time (e.g. 2025-05-01T14:30:00Z)") from None
    sha = _s(row, "sha256").lower()
    if not _SHA.match(sha):
        raise ValueError("sha256 must be 64 hex digits")
    start, end = _int(row, "passage_start"), _int(row, "passage_end")
    m_start, m_end = _int(row, "match_start"), _int(row, "match_end")
    if not (0 <= start <= m_start <= m_end <= end):
        raise ValueError("offsets out of order (passage_start <= match_start <= match_end <= passage_end)")
    pid = _s(row, "passage_id")
    if pid != make_passage_id(sha, start, end):
        raise ValueError(f"passage_id {pid!r} does not match sha256 and passage offsets (edited?)")
    marked = row.get("passage")
    quote = _unmark(str(marked or ""), m_start - start, m_end - start)
    if quote is None or len(quote) != end - start:
        raise ValueError("the passage text or its [[ ]] marks were edited")
    doc_id = _s(row, "document")
    if not doc_id:
        raise ValueError("document is empty")
    score = _s(row, "score")
    try:
        score_v = float(score) if score else None
    except ValueError:
        raise ValueError(f"score must be a number, got {score!r}") from None
    polarity = _s(row, "polarity") or None
    if polarity is not None and polarity not in POLARITIES:
        raise ValueError(f"unknown polarity {polarity!r}")
    page = _s(row, "page")
    section = _s(row, "section_path")
    return Decision(
        reviewer=reviewer, time=time, decision=decision, feature=feature, relabel_to=relabel_to,
        note=_s(row, "note"), passage_id=pid, doc_id=doc_id, sha256=sha, start=start, end=end,
        quote=quote, prefix=str(row.get("prefix") or ""), suffix=str(row.get("suffix") or ""),
        page=int(page) if page.isdigit() else None, page_label=_s(row, "page_label") or None,
        section_path=tuple(section.split(" > ")) if section else (), score=score_v, polarity=polarity,
        method=_s(row, "method") or METHOD, time_given=bool(given), sheet=sheet.name,
        sheet_sha256=sheet_sha, sheet_line=line, imported=now, match_start=m_start, match_end=m_end,
        supersedes=_s(row, "previous_passage_id"))


def read_sheet(path: Path | str, known: frozenset[str] | None = None,
               now: str | None = None) -> tuple[list[Decision], int]:
    """Validated decisions of a filled sheet and the number of undecided rows.

    Every row is checked; the first bad one is reported as ``file:line: problem`` (with the
    count of bad rows) and nothing is returned.
    """
    path = Path(path)
    known = known or known_principles()
    now = now or _now()
    sheet_sha = sha256_file(path) if path.exists() else ""
    decisions, pending, errors = [], 0, []
    for line, row in _read_rows(path):
        try:
            d = _row_decision(row, known, now, path, sheet_sha, line)
        except ValueError as exc:
            errors.append((line, str(exc)))
            continue
        if d is None:
            pending += 1
        else:
            decisions.append(d)
    if errors:
        line, msg = errors[0]
        more = f" ({len(errors)} bad rows; nothing imported)" if len(errors) > 1 else " (nothing imported)"
        raise RubricateError(msg + more, path=str(path), line=line)
    return decisions, pending


# ---- the decisions log --------------------------------------------------------------------

def _from_record(rec: dict) -> Decision:
    rec = dict(rec)
    if rec.pop("schema", None) != RECORD_SCHEMA:
        raise ValueError(f"not a {RECORD_SCHEMA} record")
    rec["section_path"] = tuple(rec.get("section_path") or ())
    try:
        d = Decision(**rec)
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    if d.decision not in DECISIONS:
        raise ValueError(f"unknown decision {d.decision!r}")
    if d.decision == "relabel" and not d.relabel_to:
        raise ValueError("relabel without relabel_to")
    _time_key(d.time)
    return d


def load_decisions(path: Path | str | None = None) -> list[Decision]:
    """All decisions of a log, in log order ([] if the log does not exist yet)."""
    path = Path(path or ws_path("decisions"))
    if not path.exists():
        return []
    out = []
    for n, rec in iter_jsonl_objects(path, "decisions log"):
        try:
            if isinstance(rec, str):
                raise ValueError(rec)
            out.append(_from_record(rec))
        except ValueError as exc:
            raise InputError(f"bad decision record: {exc}", path=str(path), line=n) from None
    return out


def latest(decisions: Iterable[Decision]) -> dict[tuple[str, str, str], Decision]:
    """The latest decision per (reviewer, passage, proposed feature): by time, then log order."""
    out: dict[tuple[str, str, str], tuple[datetime, int, Decision]] = {}
    for i, d in enumerate(decisions):
        k = (_time_key(d.time), i)
        if d.key not in out or k >= out[d.key][:2]:
            out[d.key] = (*k, d)
    return {key: v[2] for key, v in out.items()}


def import_sheet(path: Path | str, decisions_path: Path | str | None = None,
                 known: frozenset[str] | None = None, now: str | None = None,
                 adjudicator: str | None = None) -> ImportResult:
    """Validate a filled sheet and append its decisions to the log (atomically; rows equal
    to the reviewer's latest logged decision are not appended again).

    With ``adjudicator`` the sheet is an adjudication sheet (``review adjudicate``): every
    decided row must name that reviewer, and its decisions are logged with role
    "adjudicator" and one activity id (the adjudication, a PROV activity in the KB)."""
    log = Path(decisions_path or ws_path("decisions"))
    now = now or _now()
    decisions, pending = read_sheet(path, known, now)
    if adjudicator is not None:
        adjudicator = check_reviewer(adjudicator)
        wrong = next((d for d in decisions if d.reviewer != adjudicator), None)
        if wrong is not None:
            raise RubricateError(f"reviewer {wrong.reviewer!r} in an adjudication sheet of {adjudicator!r} "
                                 "(nothing imported)", path=str(path), line=wrong.sheet_line)
        activity = "adjudication-" + hashlib.sha256(
            f"{adjudicator}\x1f{now}\x1f{decisions[0].sheet_sha256 if decisions else ''}".encode()).hexdigest()[:16]
        decisions = [replace(d, role="adjudicator", activity=activity) for d in decisions]
    existing = load_decisions(log)
    current = latest(existing)
    result = ImportResult(pending=pending, log=log)
    for d in decisions:
        prev = current.get(d.key)
        if prev is not None and prev.same_content(d):
            result.unchanged += 1
            continue
        result.added.append(d)
        current[d.key] = d
    if result.added:
        old = log.read_bytes() if log.exists() else b""
        if old and not old.endswith(b"\n"):
            old += b"\n"
        new = "".join(json.dumps(d.to_record(), ensure_ascii=False, sort_keys=True) + "\n"
                      for d in result.added)
        atomic_write_bytes(log, old + new.encode("utf-8"))
    return result


def accepted_evidence(decisions: Iterable[Decision]) -> list[AcceptedEvidence]:
    """What reviewers accepted, for the knowledge-base build.

    Each decision votes on (reviewer, passage, feature): accept -> yes for its feature;
    reject -> no; relabel -> no for the proposed feature and yes for ``relabel_to``. The
    latest vote (by time, then log order) per reviewer x passage x feature wins, and the
    "yes" ones are returned, sorted by document, passage, feature, reviewer. Use each item's
    ``reviewer`` as the prov:Agent of the evidence link and ``time``/``note`` as provenance;
    ``quote``/``prefix``/``suffix``/``sha256`` re-anchor it if the passage id no longer
    resolves (see :func:`reanchor`).
    """
    votes: dict[tuple[str, str, str], tuple[datetime, int, bool, Decision]] = {}
    for i, d in enumerate(decisions):
        t = _time_key(d.time)
        cast = [(d.feature, d.decision == "accept")]
        if d.decision == "relabel":
            cast.append((d.relabel_to, True))
        for feature, yes in cast:
            key = (d.key[0], d.passage_id, feature)
            if key not in votes or (t, i) >= votes[key][:2]:
                votes[key] = (t, i, yes, d)
    out = []
    for (_, pid, feature), (_, _, yes, d) in votes.items():
        if yes:
            out.append(AcceptedEvidence(
                doc_id=d.doc_id, feature=feature, passage_id=pid, reviewer=d.reviewer, time=d.time,
                note=d.note, decision=d.decision, proposed_feature=d.feature, sha256=d.sha256,
                start=d.start, end=d.end, quote=d.quote, prefix=d.prefix, suffix=d.suffix, page=d.page,
                page_label=d.page_label, section_path=d.section_path, role=d.role, activity=d.activity,
                imported=d.imported))
    return sorted(out, key=lambda a: (a.doc_id, a.start, a.passage_id, a.feature, a.reviewer))


@dataclass(frozen=True)
class Anchor:
    """Where a decision landed on the current text: how it was found and how well it matched."""

    passage: Passage
    method: str  # same (the passage id still exists) | exact (same text) | fuzzy
    score: float  # 1.0 for same/exact; the similarity (0-1) of a fuzzy match


FUZZY_MIN_SCORE = 0.9  # a fuzzy match below this is not trusted: the decision needs re-review


def anchor(item: Decision | AcceptedEvidence, passages: Iterable[Passage],
           min_score: float = FUZZY_MIN_SCORE) -> Anchor | None:
    """Re-anchor an old decision on the passages of its document.

    The same passage id if it still exists; else a passage whose text equals the recorded
    quote (the one whose prefix/suffix agree, then the nearest to the old offsets); else
    the most similar passage (rapidfuzz ratio of the quote, bounded below by
    ``min_score``; prefix/suffix similarity breaks ties). None when nothing is close enough.
    """
    same_doc = [p for p in passages if p.doc_id == item.doc_id]
    for p in same_doc:
        if p.id == item.passage_id:
            return Anchor(p, "same", 1.0)
    hits = [p for p in same_doc if p.text == item.quote]
    if hits:
        best = min(hits, key=lambda p: (p.prefix != item.prefix, p.suffix != item.suffix,
                                        abs(p.start - item.start)))
        return Anchor(best, "exact", 1.0)
    cutoff = min_score * 100
    scored = []
    for p in same_doc:
        score = fuzz.ratio(item.quote, p.text, score_cutoff=cutoff)
        if score:
            context = fuzz.ratio(item.prefix + "|" + item.suffix, p.prefix + "|" + p.suffix)
            scored.append((score, context, -abs(p.start - item.start), p))
    if not scored:
        return None
    score, _, _, best = max(scored, key=lambda t: t[:3])
    return Anchor(best, "fuzzy", round(score / 100, 4))


def reanchor(item: Decision | AcceptedEvidence, passages: Iterable[Passage]) -> Passage | None:
    """The passage an old decision points to now (see :func:`anchor`); None if the text is gone."""
    found = anchor(item, list(passages))
    return found.passage if found else None


def closest_passage(item: Decision | AcceptedEvidence, passages: Iterable[Passage]) -> tuple[Passage, float] | None:
    """The passage of the same document most like the decision's quote, preferring its old
    page (where a re-reviewer should look first), with its similarity."""
    same_doc = [p for p in passages if p.doc_id == item.doc_id]
    if not same_doc:
        return None
    best = max(same_doc, key=lambda p: (p.page == item.page, fuzz.ratio(item.quote, p.text), -p.start))
    return best, round(fuzz.ratio(item.quote, best.text) / 100, 4)


# ---- dual coding: disagreements and the policy that settles them --------------------------

POLICIES = ("consensus", "any", "adjudicator")


@dataclass(frozen=True)
class Policy:
    """How the decisions of several coders become evidence (one per review).

    consensus (default): a candidate counts when every coder who decided it agrees; a
        disagreement waits for an adjudication (``review adjudicate``).
    any: a candidate counts when any coder accepted it (or relabelled it).
    adjudicator NAME: as consensus, but only NAME settles disagreements, either by an
        adjudication or, when NAME is one of the coders, by NAME's own decision.
    An adjudication, when present, is final under every policy (under ``adjudicator NAME``
    only NAME's).
    """

    name: str = "consensus"
    adjudicator: str | None = None

    def __str__(self) -> str:
        return f"adjudicator {self.adjudicator}" if self.name == "adjudicator" else self.name


def parse_policy(name: str, adjudicator: str | None = None) -> Policy:
    """``consensus``, ``any``, ``adjudicator NAME`` (or ``adjudicator:NAME``, or the name given
    separately)."""
    parts = (name or "consensus").replace(":", " ").replace("=", " ").split()
    kind = parts[0] if parts else "consensus"
    if kind not in POLICIES:
        raise RubricateError(f"unknown review policy {name!r} (use consensus, any or adjudicator NAME)")
    if kind != "adjudicator":
        if len(parts) > 1 or adjudicator:
            raise RubricateError(f"policy {kind} takes no adjudicator name")
        return Policy(kind)
    who = parts[1] if len(parts) > 1 else adjudicator
    if not who:
        raise RubricateError("policy adjudicator needs the adjudicator's name (adjudicator NAME)")
    return Policy("adjudicator", check_reviewer(who))


POLICY_FILE = "review-policy.yaml"  # beside the decisions log: the policy chosen for this review


def policy_path(decisions_path: Path | str | None = None) -> Path:
    return Path(decisions_path or ws_path("decisions")).parent / POLICY_FILE


def load_policy(decisions_path: Path | str | None = None) -> Policy:
    """The policy recorded for the review whose log is ``decisions_path`` (consensus if none)."""
    path = policy_path(decisions_path)
    if not path.exists():
        return Policy()
    data = load_yaml_mapping(path, "review policy")
    try:
        return parse_policy(str(data.get("policy") or "consensus"), data.get("adjudicator"))
    except RubricateError as exc:
        raise RubricateError(str(exc), path=str(path)) from None


def save_policy(policy: Policy, decisions_path: Path | str | None = None) -> Path:
    """Record the review's policy beside its decisions log (so every build uses it)."""
    path = policy_path(decisions_path)
    text = (f"# How several reviewers' decisions become evidence (rubricate review policy).\n"
            f"policy: {policy.name}\n" + (f"adjudicator: {policy.adjudicator}\n" if policy.adjudicator else ""))
    atomic_write_text(path, text)
    return path


@dataclass
class Disagreement:
    """Coders who decided the same candidate (passage x proposed feature) differently."""

    doc_id: str
    passage_id: str
    feature: str
    labels: dict[str, str]  # reviewer -> accept | reject | relabel:<feature>
    decisions: list[Decision]
    settled_by: str | None = None  # the adjudicator (or coder) whose decision counts

    def to_dict(self) -> dict:
        return {"document": self.doc_id, "passage_id": self.passage_id, "feature": self.feature,
                "labels": dict(sorted(self.labels.items())), "settled_by": self.settled_by}


@dataclass
class Resolution:
    policy: Policy
    accepted: list[AcceptedEvidence]
    disagreements: list[Disagreement]  # every disagreement, settled or not

    @property
    def pending(self) -> list[Disagreement]:
        return [d for d in self.disagreements if d.settled_by is None]


def resolve(decisions: Iterable[Decision], policy: Policy | None = None) -> Resolution:
    """Apply the review policy: which candidates become evidence, which disagreements wait.

    Per candidate (passage x proposed feature) each coder's latest decision counts. Agreeing
    coders (or a single coder) decide it; a disagreement is settled as the policy says (see
    :class:`Policy`) or left pending, and then none of its decisions becomes evidence.
    """
    policy = policy or Policy()
    decisions = _without_superseded(list(decisions))
    coders = latest([d for d in decisions if d.role == "coder"])
    adjudications = latest([d for d in decisions if d.role == "adjudicator" and
                            (policy.name != "adjudicator" or d.reviewer == policy.adjudicator)])
    by_candidate: dict[tuple[str, str], dict[str, Decision]] = defaultdict(dict)
    for d in coders.values():
        by_candidate[(d.passage_id, d.feature)][d.reviewer] = d
    final: dict[tuple[str, str], Decision] = {}
    for d in adjudications.values():  # the latest adjudication of a candidate is final
        k = (d.passage_id, d.feature)
        if k not in final or _time_key(d.time) >= _time_key(final[k].time):
            final[k] = d
    chosen: list[Decision] = []
    disagreements = []
    for key in sorted(set(by_candidate) | set(final)):
        votes = by_candidate.get(key, {})
        labels = {r: _label(d) for r, d in votes.items()}
        split = len(set(labels.values())) > 1
        dis = None
        if split:
            first = next(iter(votes.values()))
            dis = Disagreement(first.doc_id, key[0], key[1], labels, sorted(votes.values(), key=lambda d: d.reviewer))
            disagreements.append(dis)
        if key in final:
            chosen.append(final[key])
            if dis:
                dis.settled_by = final[key].reviewer
        elif not split:
            chosen.extend(votes.values())
        elif policy.name == "adjudicator" and policy.adjudicator in votes:
            chosen.append(votes[policy.adjudicator])
            dis.settled_by = policy.adjudicator
        elif policy.name == "any":
            chosen.extend(d for d in votes.values() if d.decision != "reject")
            dis.settled_by = "any"
    return Resolution(policy, accepted_evidence(chosen), disagreements)


def _without_superseded(decisions: list[Decision]) -> list[Decision]:
    """Drop decisions a re-review decided again: the reviewer's earlier decisions for the
    same feature on the passage (of an earlier edition) a needs-re-review row named."""
    later: dict[tuple[str, str, str], datetime] = {}
    for d in decisions:
        if d.supersedes:
            for feature in filter(None, (d.feature, d.relabel_to)):
                k = (d.reviewer, d.supersedes, feature)
                later[k] = max(later.get(k, _time_key(d.time)), _time_key(d.time))

    def gone(d: Decision) -> bool:
        return any(_time_key(d.time) <= later.get((d.reviewer, d.passage_id, f), datetime.min.replace(tzinfo=timezone.utc))
                   for f in filter(None, (d.feature, d.relabel_to)))
    return [d for d in decisions if not gone(d)] if later else decisions


def adjudication_rows(pending: Iterable[Disagreement], adjudicator: str) -> list[dict]:
    """One sheet row per disagreement, in the review sheet's format (so ``review adjudicate
    FILE`` validates it like any sheet), with each coder's label and note beside it."""
    rows = []
    for dis in pending:
        d = dis.decisions[0]
        m_start = d.match_start if d.match_start is not None else d.start
        m_end = d.match_end if d.match_end is not None else d.end
        marked = d.quote[:m_start - d.start] + MARK_OPEN + d.quote[m_start - d.start:m_end - d.start] + \
            MARK_CLOSE + d.quote[m_end - d.start:]
        rows.append({
            "document": d.doc_id, "passage_id": d.passage_id, "page": d.page, "page_label": d.page_label,
            "section_path": " > ".join(d.section_path), "feature": d.feature, "score": d.score,
            "polarity": d.polarity, "matched": d.quote[m_start - d.start:m_end - d.start], "passage": marked,
            "decision": "", "relabel_to": "", "reviewer": adjudicator, "time": "", "note": "",
            "sha256": d.sha256, "passage_start": d.start, "passage_end": d.end, "match_start": m_start,
            "match_end": m_end, "prefix": d.prefix, "suffix": d.suffix, "method": d.method,
            "coders": "; ".join(f"{r}={lab}" for r, lab in sorted(dis.labels.items())),
            "coder_notes": "; ".join(f"{x.reviewer}: {x.note}" for x in dis.decisions if x.note),
        })
    return rows


ADJUDICATION_COLUMNS = SHEET_COLUMNS + ("coders", "coder_notes")
REREVIEW_COLUMNS = SHEET_COLUMNS + ("previous_reviewer", "previous_decision", "previous_feature",
                                    "previous_page", "previous_section", "previous_passage_id",
                                    "previous_quote", "similarity")


def rereview_rows(lost: Iterable[tuple[AcceptedEvidence, Passage, float]]) -> list[dict]:
    """Rows of a "needs re-review" sheet: a decision that could not be re-anchored, shown
    beside the closest passage of the new edition (whole passage marked) so the reviewer
    can decide again; importable like any review sheet."""
    rows = []
    for a, p, similarity in lost:
        rows.append({
            "document": a.doc_id, "passage_id": p.id, "page": p.page, "page_label": p.page_label,
            "section_path": " > ".join(p.section_path), "feature": a.feature, "score": "", "polarity": "",
            "matched": p.text, "passage": mark(p, p.start, p.end), "decision": "", "relabel_to": "",
            "reviewer": a.reviewer, "time": "", "note": "", "sha256": p.sha256, "passage_start": p.start,
            "passage_end": p.end, "match_start": p.start, "match_end": p.end, "prefix": p.prefix,
            "suffix": p.suffix, "method": "re-review",
            "previous_reviewer": a.reviewer, "previous_decision": a.decision, "previous_feature": a.feature,
            "previous_page": a.page, "previous_section": " > ".join(a.section_path),
            "previous_passage_id": a.passage_id, "previous_quote": a.quote, "similarity": similarity,
        })
    return rows


# ---- agreement ----------------------------------------------------------------------------

def _label(d: Decision) -> str:
    return f"relabel:{d.relabel_to}" if d.decision == "relabel" else d.decision


def agreement(a: Iterable[Decision], b: Iterable[Decision], n_resamples: int = 1000, seed: int = 0) -> dict:
    """Cohen's kappa (with a seeded percentile-bootstrap 95% CI over candidates) and macro F1
    per proposed feature (and overall) between two reviewers' latest decisions on the
    candidates both decided. Labels are accept / reject / relabel:<feature>; kappa is None
    when chance agreement is 1 (e.g. both always accept)."""
    la = {(d.passage_id, d.feature): d for d in latest(a).values()}
    lb = {(d.passage_id, d.feature): d for d in latest(b).values()}
    both = sorted(set(la) & set(lb), key=lambda k: (la[k].doc_id, la[k].start, k[0], k[1]))
    names = (sorted({d.reviewer for d in la.values()}), sorted({d.reviewer for d in lb.values()}))

    def stats(keys: list) -> dict:
        ra, rb = [_label(la[k]) for k in keys], [_label(lb[k]) for k in keys]
        labels = sorted(set(ra) | set(rb))
        ci = cohen_kappa_ci(ra, rb, n_resamples=n_resamples, seed=seed)
        return {"n": len(keys), "agree": sum(x == y for x, y in zip(ra, rb)),
                "kappa": cohen_kappa(ra, rb), "kappa_ci": [ci["ci_low"], ci["ci_high"]],
                "macro_f1": macro_f1(ra, rb, labels), "confusion": confusion_matrix(ra, rb, labels)}

    per_feature: dict[str, list] = defaultdict(list)
    for k in both:
        per_feature[k[1]].append(k)
    disagreements = [{"document": la[k].doc_id, "passage_id": k[0], "feature": k[1],
                      "a": _label(la[k]), "b": _label(lb[k]), "note_a": la[k].note, "note_b": lb[k].note,
                      "quote": la[k].quote}
                     for k in both if _label(la[k]) != _label(lb[k])]
    return {"reviewer_a": ", ".join(names[0]), "reviewer_b": ", ".join(names[1]),
            "overall": stats(both),
            "per_feature": {f: stats(keys) for f, keys in sorted(per_feature.items())},
            "only_a": len(set(la) - set(lb)), "only_b": len(set(lb) - set(la)),
            "disagreements": disagreements}


def reviewer_decisions(decisions: Iterable[Decision], reviewer: str) -> list[Decision]:
    """A coder's own decisions (adjudications are not coding and stay out of agreement)."""
    return [d for d in decisions if d.reviewer == reviewer and d.role == "coder"]


def coders(decisions: Iterable[Decision]) -> list[str]:
    return sorted({d.reviewer for d in decisions if d.role == "coder"})


def multi_agreement(decisions: Iterable[Decision], reviewers: list[str] | None = None,
                    n_resamples: int = 1000, seed: int = 0) -> dict:
    """Krippendorff's alpha (nominal, with a bootstrap 95% CI over candidates) per proposed
    feature and overall for any number of coders, plus Cohen's kappa with CI for every pair.
    A candidate counts when at least two of the coders decided it."""
    decisions = [d for d in decisions if d.role == "coder"]
    reviewers = reviewers or coders(decisions)
    mine = {r: {(d.passage_id, d.feature): d for d in latest(reviewer_decisions(decisions, r)).values()}
            for r in reviewers}
    keys = sorted({k for m in mine.values() for k in m if sum(k in o for o in mine.values()) >= 2})
    units = {k: [(_label(mine[r][k]) if k in mine[r] else None) for r in reviewers] for k in keys}

    def alpha(ks: list) -> dict:
        return krippendorff_alpha_ci([units[k] for k in ks], n_resamples=n_resamples, seed=seed)

    per_feature: dict[str, list] = defaultdict(list)
    for k in keys:
        per_feature[k[1]].append(k)
    pairs = {}
    for x, y in combinations(reviewers, 2):
        pair = agreement(reviewer_decisions(decisions, x), reviewer_decisions(decisions, y), n_resamples, seed)
        pairs[f"{x}~{y}"] = {key: pair["overall"][key] for key in ("n", "agree", "kappa", "kappa_ci")}
    return {"reviewers": reviewers, "candidates": len(keys), "overall": alpha(keys),
            "per_feature": {f: alpha(ks) for f, ks in sorted(per_feature.items())}, "pairs": pairs}


def format_multi_agreement(result: dict) -> list[str]:
    def num(x) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    def ci(d: dict) -> str:
        return f"[{num(d['ci_low'])}, {num(d['ci_high'])}]"

    o = result["overall"]
    lines = [f"reviewers: {', '.join(result['reviewers'])}; {result['candidates']} candidates decided by "
             "at least two",
             f"overall: Krippendorff's alpha {num(o['alpha'])} 95% CI {ci(o)} ({o['units']} candidates)",
             "per feature (Krippendorff's alpha, nominal):"]
    for f, a in result["per_feature"].items():
        lines.append(f"  {f:55} n={a['units']:<4} alpha={num(a['alpha']):>6} 95% CI {ci(a)}")
    lines.append("pairs (Cohen's kappa):")
    for pair, k in result["pairs"].items():
        lo, hi = k["kappa_ci"]
        lines.append(f"  {pair:30} n={k['n']:<4} agree={k['agree']:<4} kappa={num(k['kappa']):>6} "
                     f"95% CI [{num(lo)}, {num(hi)}]")
    return lines


def format_agreement(result: dict, width: int = 90) -> list[str]:
    """Human-readable agreement report: overall, per feature, then each disagreement."""
    def num(x) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    o = result["overall"]
    lines = [f"reviewers: {result['reviewer_a']} (A) vs {result['reviewer_b']} (B); "
             f"{o['n']} candidates decided by both ({result['only_a']} only by A, {result['only_b']} only by B)",
             f"overall: agree {o['agree']}/{o['n']}  kappa {num(o['kappa'])} 95% CI "
             f"[{num(o['kappa_ci'][0])}, {num(o['kappa_ci'][1])}]  macro F1 {num(o['macro_f1'])}",
             "per feature:"]
    for f, s in result["per_feature"].items():
        lo, hi = s.get("kappa_ci") or (None, None)
        lines.append(f"  {f:55} n={s['n']:<4} agree={s['agree']:<4} kappa={num(s['kappa']):>6} "
                     f"95% CI [{num(lo)}, {num(hi)}]  macro F1={num(s['macro_f1'])}")
    if result["disagreements"]:
        lines.append("disagreements:")
    for d in result["disagreements"]:
        quote = " ".join(d["quote"].split())
        quote = quote if len(quote) <= width else quote[:width - 3] + "..."
        lines.append(f"  {d['document']} {d['passage_id']} {d['feature']}: A={d['a']} B={d['b']}  \"{quote}\"")
    return lines
