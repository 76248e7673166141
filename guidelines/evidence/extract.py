"""Propose passages as evidence for features: lemma lexicons, context, negation and hedging.

Each feature or sub-feature has a lexicon file in guidelines/patterns/ (format in its
README.md): entries of phrase terms and token patterns, matched on folded words by the
kernel's TermMatcher (the offline judge's matcher too), each with a weight and optionally a
``near`` context that a weak word needs ("home" counts only next to "visit", "session",
"safety" ...). All passages go through one ``nlp.pipe`` pass and one matcher built per
patterns folder; negation and hedging scope is the kernel's rule (kernel/negation.py).

Scoring, per passage and feature: overlapping matches keep the strongest; each entry counts
once (its best match); a match's weight is multiplied by its polarity factor (negated 0.5,
hedged 0.75 by default); score = 1 - prod(1 - w). A candidate is emitted at score >=
``min_score``. Features whose statements are themselves negative ("don't stigmatize") set
``negation: part-of-feature`` so that "without judgement" is not counted as a negated mention.

Candidates are proposals (method ``lexicon-extraction``): nothing here is evidence until a
reviewer accepts it (guidelines/review.py). Digest annotations are never read.
"""
from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

from rdflib import Graph, URIRef
from rdflib.namespace import RDF
from spacy.tokens import Doc

from rubricate.guidelines.kernel import negation
from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import load_yaml_mapping
from rubricate.guidelines.kernel.lexicons import files_digest
from rubricate.guidelines.kernel.matcher import PatternError, TermMatcher, check_words, fold_pattern
from rubricate.guidelines.kernel.normalize import fold
from rubricate.guidelines.sources.kinds import EVIDENCE_KINDS, check_kinds
from rubricate.guidelines.sources.model import Passage
from rubricate.guidelines.sources.parse import parse_document
from rubricate.guidelines.sources.passages import make_passages
from rubricate.guidelines.sources.registry import load_registry
from rubricate.guidelines.kernel.nlp import get_nlp
from rubricate.guidelines.kernel.paths import package_path

PATTERNS_DIR = package_path("guidelines", "patterns")
VOCABULARY = package_path("ontology", "vocabulary.ttl")
METHOD = "lexicon-extraction"
NEGATION_MODES = ("marks", "part-of-feature")
_ENTRY_KEYS = {"name", "weight", "terms", "patterns", "near", "window", "match"}
MATCH_MODES = ("lemma", "form")
_FILE_KEYS = {"id", "negation", "entries"}


# ---- data ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Match:
    """One lexicon hit inside a passage; offsets index the document text."""

    entry: str
    start: int
    end: int
    text: str
    weight: float  # the entry's weight
    polarity: str  # positive | negated | hedged
    cue: str | None  # the negation/hedging words that set the polarity
    score: float  # weight x polarity factor


@dataclass(frozen=True)
class Candidate:
    """A proposal that ``passage_id`` supports ``feature``; ``start``/``end``/``matched`` are the
    best match (document offsets), ``matches`` every match that counted."""

    passage_id: str
    doc_id: str
    sha256: str
    feature: str
    score: float
    polarity: str
    start: int
    end: int
    matched: str
    page: int | None
    page_label: str | None
    section_path: tuple[str, ...]
    matches: tuple[Match, ...] = field(default=())
    method: str = METHOD

    def to_dict(self) -> dict:
        d = asdict(self)
        d["section_path"] = list(self.section_path)
        d["matches"] = [asdict(m) for m in self.matches]
        return d


@dataclass(frozen=True)
class Entry:
    name: str
    weight: float
    terms: tuple[str, ...]
    patterns: tuple[tuple[dict, ...], ...]
    near: frozenset[str]
    window: int
    match: str = "lemma"  # terms matched on lemmas, or on word forms ("housing" is not "house")


@dataclass(frozen=True)
class FeaturePatterns:
    id: str
    negation: str  # "marks" or "part-of-feature"
    entries: tuple[Entry, ...]
    path: str


@dataclass
class PatternSet:
    """All feature pattern files and settings, compiled against one spaCy pipeline.

    (Not a named word list: those are kernel.lexicons.Lexicon, used by the offline judge.)
    """

    features: dict[str, FeaturePatterns]
    settings: dict
    matcher: TermMatcher  # entries' terms and patterns ("<feature>\x1f<entry index>") and the cues
    cues: negation.CueRules
    fingerprint: str

    @property
    def min_score(self) -> float:
        return float(self.settings.get("min_score", 0.5))

    def factor(self, polarity: str) -> float:
        return float((self.settings.get("polarity_factors") or {}).get(polarity, 1.0))


# ---- vocabulary of principle ids ----------------------------------------------------------

@functools.lru_cache(maxsize=4)
def known_principles(vocabulary: Path | None = None) -> frozenset[str]:
    """Feature and sub-feature ids defined in ontology/vocabulary.ttl.

    Read as data, through the file's own ``rbc:`` prefix and the ``principle/<id>`` IRIs:
    this layer sits below the ontology package and does not import it
    (tests/test_namespaces.py checks that both readings agree).
    """
    g = Graph()
    g.parse(vocabulary or VOCABULARY, format="turtle")
    rbc = dict(g.namespaces())["rbc"]
    return frozenset(str(s).split("/principle/", 1)[-1] for s in g.subjects(RDF.type, URIRef(rbc + "Principle")))


# ---- loading ------------------------------------------------------------------------------

def _fingerprint(folder: Path) -> str:
    return files_digest(sorted(folder.glob("*.yaml")))


def _read_yaml(path: Path) -> dict:
    return load_yaml_mapping(path, "pattern file")


def _parse_entry(raw, i: int, path: Path) -> Entry:
    where = f"entry {i + 1}"
    if not isinstance(raw, dict):
        raise RubricateError(f"{where}: expected a mapping", path=str(path))
    unknown = set(raw) - _ENTRY_KEYS
    if unknown:
        raise RubricateError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}", path=str(path))
    name = str(raw.get("name") or f"entry-{i + 1}")
    try:
        weight = float(raw.get("weight", 1.0))
    except (TypeError, ValueError):
        raise RubricateError(f"{where} ({name}): weight must be a number", path=str(path)) from None
    if not 0 < weight <= 1:
        raise RubricateError(f"{where} ({name}): weight must be in (0, 1]", path=str(path))
    terms = raw.get("terms") or []
    patterns = raw.get("patterns") or []
    if not isinstance(terms, list) or not isinstance(patterns, list):
        raise RubricateError(f"{where} ({name}): terms and patterns must be lists", path=str(path))
    if not terms and not patterns:
        raise RubricateError(f"{where} ({name}): needs terms or patterns", path=str(path))
    try:
        for p in patterns:
            fold_pattern(p)  # shape and YAML-boolean check, with this entry's name
        pats = tuple(tuple(p) for p in patterns)
    except PatternError as exc:
        raise RubricateError(f"{where} ({name}): {exc}", path=str(path)) from None
    near = raw.get("near") or []
    if not isinstance(near, list):
        raise RubricateError(f"{where} ({name}): near must be a list of words", path=str(path))
    try:
        check_words(terms, "term")
        check_words(near, "near word")
    except PatternError as exc:
        raise RubricateError(f"{where} ({name}): {exc}", path=str(path)) from None
    match = str(raw.get("match", "lemma"))
    if match not in MATCH_MODES:
        raise RubricateError(f"{where} ({name}): match must be lemma or form", path=str(path))
    return Entry(name=name, weight=weight, terms=tuple(str(t) for t in terms), patterns=pats,
                 near=frozenset(fold(str(w)) for w in near),
                 window=int(raw.get("window", 8)), match=match)


def load_patterns(folder: Path | str | None = None, nlp=None) -> PatternSet:
    """Read and compile every ``*.yaml`` pattern file in ``folder`` (cached on the files' content)."""
    folder = Path(folder or PATTERNS_DIR)
    if not folder.is_dir():
        raise RubricateError("patterns folder not found", path=str(folder))
    return _compiled(str(folder), _fingerprint(folder), id(nlp) if nlp is not None else 0, nlp)


@functools.lru_cache(maxsize=8)
def _compiled(folder: str, fingerprint: str, _nlp_key: int, nlp) -> PatternSet:
    nlp = nlp or get_nlp()
    known = known_principles()
    settings_path = Path(folder) / "_settings.yaml"
    settings = _read_yaml(settings_path) if settings_path.exists() else {}
    features: dict[str, FeaturePatterns] = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        raw = _read_yaml(path)
        unknown = set(raw) - _FILE_KEYS
        if unknown:
            raise RubricateError(f"unknown key(s) {', '.join(sorted(unknown))}", path=str(path))
        fid = str(raw.get("id") or "")
        if fid not in known:
            raise RubricateError(f"unknown feature id {fid!r} (see ontology/vocabulary.ttl)", path=str(path))
        if fid in features:
            raise RubricateError(f"feature {fid!r} already defined in {features[fid].path}", path=str(path))
        mode = str(raw.get("negation", "marks"))
        if mode not in NEGATION_MODES:
            raise RubricateError(f"negation must be one of {', '.join(NEGATION_MODES)}", path=str(path))
        entries = raw.get("entries") or []
        if not isinstance(entries, list) or not entries:
            raise RubricateError("entries must be a non-empty list", path=str(path))
        features[fid] = FeaturePatterns(fid, mode, tuple(_parse_entry(e, i, path)
                                                        for i, e in enumerate(entries)), str(path))

    matcher = TermMatcher(nlp)
    for f in features.values():
        for i, e in enumerate(f.entries):
            key = f"{f.id}\x1f{i}"
            matcher.add_terms(key, e.terms, form=e.match == "form")
            try:
                matcher.add_patterns(key, e.patterns)
            except PatternError as exc:
                raise RubricateError(f"entry {e.name}: bad token pattern: {exc}", path=f.path) from None
    cues = negation.add_cues(matcher, settings, str(settings_path))
    return PatternSet(features, settings, matcher, cues, fingerprint)


# ---- which passages are about the guidance ------------------------------------------------

def _heading_key(title: str) -> str:
    return re.sub(r"^[\s\d.:)\-]+", "", title).strip().lower()


def skipped_passages(passages: Iterable[Passage], settings: dict, include: Iterable[str] = ()) -> set[str]:
    """Ids of passages about the document rather than its guidance: of a non-body kind
    (contents, references, declarations, glossary, boilerplate, front matter: see
    sources/kinds.py), under a skip section (Source, References ...) or, in a document with
    sections, before the first section. Kinds in ``include`` are never skipped."""
    include = set(check_kinds(include))
    skip = {_heading_key(s) for s in settings.get("skip_sections") or []}
    by_doc: dict[str, list[Passage]] = defaultdict(list)
    for p in passages:
        by_doc[p.doc_id].append(p)
    out: set[str] = set()
    for ps in by_doc.values():
        has_sections = any(p.section_path for p in ps)
        for p in ps:
            if p.kind in include:
                continue
            if p.kind not in EVIDENCE_KINDS:
                out.add(p.id)
            elif any(_heading_key(h) in skip for h in p.section_path):
                out.add(p.id)
            elif settings.get("skip_preamble", True) and has_sections and not p.section_path:
                out.add(p.id)
    return out


# ---- extraction ---------------------------------------------------------------------------

def _near_ok(doc: Doc, start: int, end: int, entry: Entry) -> bool:
    if not entry.near:
        return True
    sent = doc[start].sent
    lo, hi = max(sent.start, start - entry.window), min(sent.end, end + entry.window)
    return any(doc[i].norm_ in entry.near or doc[i].lower_ in entry.near
               for i in list(range(lo, start)) + list(range(end, hi)))


def _resolve(matches: list[Match]) -> list[Match]:
    """Strongest first; a weaker match over the same words does not count again."""
    kept: list[Match] = []
    for m in sorted(matches, key=lambda m: (-m.score, -(m.end - m.start), m.start)):
        if all(m.end <= k.start or m.start >= k.end for k in kept):
            kept.append(m)
    return kept


def _score(matches: list[Match]) -> tuple[float, list[Match]]:
    best: dict[str, Match] = {}
    for m in _resolve(matches):
        if m.entry not in best or m.score > best[m.entry].score:
            best[m.entry] = m
    rest = 1.0
    for m in best.values():
        rest *= 1.0 - min(1.0, m.score)
    return round(1.0 - rest, 4), sorted(best.values(), key=lambda m: m.start)


def extract_candidates(passages: Iterable[Passage], patterns: PatternSet | Path | str | None = None,
                       nlp=None, include: Iterable[str] = ()) -> list[Candidate]:
    """Candidates (passage x feature) for every passage that a lexicon supports, in passage
    order then feature id. ``patterns``: a compiled PatternSet, a patterns folder, or the default;
    ``include``: passage kinds to propose from although they are not guidance (references ...)."""
    passages = list(passages)
    lex = patterns if isinstance(patterns, PatternSet) else load_patterns(patterns, nlp)
    nlp = nlp or get_nlp()
    skipped = skipped_passages(passages, lex.settings, include)
    todo = [p for p in passages if p.id not in skipped]
    out: list[Candidate] = []
    for p, doc in zip(todo, nlp.pipe((p.text for p in todo), batch_size=64)):
        lex.matcher.normalize(doc)
        found = lex.matcher.hits(doc)
        cues = lex.cues.find(doc, found)
        hits: dict[str, list[Match]] = defaultdict(list)
        for key, s, e in found:
            if negation.is_cue(key):
                continue
            fid, idx = key.split("\x1f")
            feat = lex.features[fid]
            entry = feat.entries[int(idx)]
            if not _near_ok(doc, s, e, entry):
                continue
            span = doc[s:e]
            pol, cue = negation.polarity(span, cues, lex.cues)
            if pol == negation.NEGATED and feat.negation == "part-of-feature":
                pol = negation.POSITIVE  # "without judgement" states the feature itself
            start, end = p.start + span.start_char, p.start + span.end_char
            hits[fid].append(Match(entry.name, start, end, p.text[span.start_char:span.end_char],
                                   entry.weight, pol, cue, round(entry.weight * lex.factor(pol), 4)))
        for fid in sorted(hits):
            score, counted = _score(hits[fid])
            if score < lex.min_score:
                continue
            best = max(counted, key=lambda m: (m.score, m.end - m.start, -m.start))
            out.append(Candidate(passage_id=p.id, doc_id=p.doc_id, sha256=p.sha256, feature=fid,
                                 score=score, polarity=best.polarity, start=best.start, end=best.end,
                                 matched=best.text, page=p.page, page_label=p.page_label,
                                 section_path=tuple(p.section_path), matches=tuple(counted)))
    return out


# ---- passages of registered documents -----------------------------------------------------

def registry_passages(registry=None, doc_ids: Iterable[str] | None = None) -> list[Passage]:
    """Passages of every file of the chosen documents (all registered documents by default)."""
    reg = registry or load_registry()
    wanted = set(doc_ids) if doc_ids else None
    if wanted:
        for d in wanted:
            reg.get(d)  # one-line error for an unknown id
    out: list[Passage] = []
    for doc in reg.documents:
        if wanted is not None and doc.id not in wanted:
            continue
        for f in doc.files:
            parsed = parse_document(reg.resolve(f), doc.id)
            out.extend(make_passages(parsed, verified=(f.role == "source")))
    return out


# ---- agreement with the study's coding ----------------------------------------------------

def compare_with_study(candidates: Iterable[Candidate], cells: Iterable[tuple[str, str]],
                       doc_ids: Iterable[str]) -> dict:
    """Recall of the study's cells and share of proposals the study did not code.

    ``cells``: (doc_id, principle) pairs from ontology/mapping_review.yaml. A sub-feature cell
    is found only by a candidate for that sub-feature; a whole-feature (Yes) cell by the
    feature or any of its sub-features. A proposal is a (doc_id, principle) pair with at least
    one candidate; it is false when the study has no such cell: a sub-feature neither listed in
    the document's cell nor under a Yes cell of its feature, or a feature with no cell at all
    in that document.
    """
    docs = set(doc_ids)
    cells = {(d, p) for d, p in cells if d in docs}
    proposed = {(c.doc_id, c.feature) for c in candidates if c.doc_id in docs}
    coded_features = {(d, p.split("/")[0]) for d, p in cells}

    def found(d: str, pid: str) -> bool:
        if "/" in pid:
            return (d, pid) in proposed
        return any(pd == d and (pp == pid or pp.startswith(pid + "/")) for pd, pp in proposed)

    def false(d: str, pid: str) -> bool:
        if "/" in pid:
            return (d, pid) not in cells and (d, pid.split("/")[0]) not in cells
        return (d, pid) not in coded_features

    per: dict[str, dict] = defaultdict(lambda: {"cells": 0, "found": 0, "proposals": 0, "false": 0})
    missed, false_props = [], []
    for d, pid in sorted(cells):
        row = per[pid.split("/")[0]]
        row["cells"] += 1
        if found(d, pid):
            row["found"] += 1
        else:
            missed.append(f"{d} {pid}")
    for d, pid in sorted(proposed):
        row = per[pid.split("/")[0]]
        row["proposals"] += 1
        if false(d, pid):
            row["false"] += 1
            false_props.append(f"{d} {pid}")
    for row in per.values():
        row["recall"] = round(row["found"] / row["cells"], 4) if row["cells"] else None
        row["false_share"] = round(row["false"] / row["proposals"], 4) if row["proposals"] else None
    n_cells, n_prop = len(cells), len(proposed)
    return {
        "cells": n_cells, "found": n_cells - len(missed),
        "recall": round((n_cells - len(missed)) / n_cells, 4) if n_cells else None,
        "proposals": n_prop, "false_proposals": len(false_props),
        "false_share": round(len(false_props) / n_prop, 4) if n_prop else None,
        "per_feature": {k: per[k] for k in sorted(per)},
        "missed": missed, "false": false_props,
    }
