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
5. ``agreement`` compares two reviewers: Cohen's kappa and macro F1 per feature
   (rubrics/agreement.py), plus the list of disagreements.

Reviewer names are used in agent IRIs, so they are limited to letters, digits, ".", "_" and
"-". Times are ISO 8601; a time without a zone is read as UTC; an empty time is the import time.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from rubricate.guidelines.kernel.agreement import cohen_kappa, confusion_matrix, macro_f1
from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import read_jsonl_objects
from rubricate.guidelines.evidence.extract import METHOD, Candidate, known_principles
from rubricate.guidelines.kernel.fileio import atomic_write_bytes, atomic_write_text, sha256_file
from rubricate.guidelines.sources.model import Passage
from rubricate.guidelines.kernel.negation import POLARITIES
from rubricate.guidelines.sources.passages import passage_id as make_passage_id
from rubricate.guidelines.kernel.paths import package_path

DEFAULT_DECISIONS = package_path("guidelines", "reviews", "decisions.jsonl")
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

    def to_record(self) -> dict:
        d = asdict(self)
        d["section_path"] = list(self.section_path)
        return {"schema": RECORD_SCHEMA, **d}

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.reviewer, self.passage_id, self.feature)

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
    csv_path, jsonl_path = out_dir / f"{stem}.csv", out_dir / f"{stem}.jsonl"
    for p in (csv_path, jsonl_path):
        if p.exists() and not force:
            raise RubricateError("sheet already exists (it may hold decisions); use --force to overwrite",
                                 path=str(p))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=SHEET_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: "" if v is None else v for k, v in r.items()})
    atomic_write_text(csv_path, buf.getvalue())
    atomic_write_text(jsonl_path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return csv_path, jsonl_path


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
        sheet_sha256=sheet_sha, sheet_line=line, imported=now)


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
    path = Path(path or DEFAULT_DECISIONS)
    if not path.exists():
        return []
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(_from_record(json.loads(line)))
        except (json.JSONDecodeError, ValueError) as exc:
            raise RubricateError(f"bad decision record: {exc}", path=str(path), line=n) from None
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
                 known: frozenset[str] | None = None, now: str | None = None) -> ImportResult:
    """Validate a filled sheet and append its decisions to the log (atomically; rows equal
    to the reviewer's latest logged decision are not appended again)."""
    log = Path(decisions_path or DEFAULT_DECISIONS)
    decisions, pending = read_sheet(path, known, now)
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
            key = (d.reviewer, d.passage_id, feature)
            if key not in votes or (t, i) >= votes[key][:2]:
                votes[key] = (t, i, yes, d)
    out = []
    for (reviewer, pid, feature), (_, _, yes, d) in votes.items():
        if yes:
            out.append(AcceptedEvidence(
                doc_id=d.doc_id, feature=feature, passage_id=pid, reviewer=reviewer, time=d.time,
                note=d.note, decision=d.decision, proposed_feature=d.feature, sha256=d.sha256,
                start=d.start, end=d.end, quote=d.quote, prefix=d.prefix, suffix=d.suffix, page=d.page,
                page_label=d.page_label, section_path=d.section_path))
    return sorted(out, key=lambda a: (a.doc_id, a.start, a.passage_id, a.feature, a.reviewer))


def reanchor(item: Decision | AcceptedEvidence, passages: Iterable[Passage]) -> Passage | None:
    """The passage an old decision points to: the same id if it still exists, otherwise a
    passage of the same document whose text equals the recorded quote (the one whose
    prefix/suffix agree, then the nearest to the old offsets). None if the text is gone."""
    same_doc = [p for p in passages if p.doc_id == item.doc_id]
    for p in same_doc:
        if p.id == item.passage_id:
            return p
    hits = [p for p in same_doc if p.text == item.quote]
    if not hits:
        return None
    return min(hits, key=lambda p: (p.prefix != item.prefix, p.suffix != item.suffix, abs(p.start - item.start)))


# ---- agreement ----------------------------------------------------------------------------

def _label(d: Decision) -> str:
    return f"relabel:{d.relabel_to}" if d.decision == "relabel" else d.decision


def agreement(a: Iterable[Decision], b: Iterable[Decision]) -> dict:
    """Cohen's kappa and macro F1 per proposed feature (and overall) between two reviewers'
    latest decisions on the candidates both decided. Labels are accept / reject /
    relabel:<feature>; kappa is None when chance agreement is 1 (e.g. both always accept)."""
    la = {(d.passage_id, d.feature): d for d in latest(a).values()}
    lb = {(d.passage_id, d.feature): d for d in latest(b).values()}
    both = sorted(set(la) & set(lb), key=lambda k: (la[k].doc_id, la[k].start, k[0], k[1]))
    names = (sorted({d.reviewer for d in la.values()}), sorted({d.reviewer for d in lb.values()}))

    def stats(keys: list) -> dict:
        ra, rb = [_label(la[k]) for k in keys], [_label(lb[k]) for k in keys]
        labels = sorted(set(ra) | set(rb))
        return {"n": len(keys), "agree": sum(x == y for x, y in zip(ra, rb)),
                "kappa": cohen_kappa(ra, rb), "macro_f1": macro_f1(ra, rb, labels),
                "confusion": confusion_matrix(ra, rb, labels)}

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
    return [d for d in decisions if d.reviewer == reviewer]


def format_agreement(result: dict, width: int = 90) -> list[str]:
    """Human-readable agreement report: overall, per feature, then each disagreement."""
    def num(x) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    o = result["overall"]
    lines = [f"reviewers: {result['reviewer_a']} (A) vs {result['reviewer_b']} (B); "
             f"{o['n']} candidates decided by both ({result['only_a']} only by A, {result['only_b']} only by B)",
             f"overall: agree {o['agree']}/{o['n']}  kappa {num(o['kappa'])}  macro F1 {num(o['macro_f1'])}",
             "per feature:"]
    for f, s in result["per_feature"].items():
        lines.append(f"  {f:55} n={s['n']:<4} agree={s['agree']:<4} kappa={num(s['kappa']):>6}  "
                     f"macro F1={num(s['macro_f1'])}")
    if result["disagreements"]:
        lines.append("disagreements:")
    for d in result["disagreements"]:
        quote = " ".join(d["quote"].split())
        quote = quote if len(quote) <= width else quote[:width - 3] + "..."
        lines.append(f"  {d['document']} {d['passage_id']} {d['feature']}: A={d['a']} B={d['b']}  \"{quote}\"")
    return lines
