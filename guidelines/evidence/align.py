"""Align each digest evidence statement with the passages of the real document that say it.

Why: every bundled citation points into rubricate's own paraphrase of a document (a digest,
locators unverified). Once the document itself is registered (``guidelines fetch`` or
``guidelines add``), each *evidence statement* (a digest paragraph its author marked for a
feature, i.e. the study's coding of that feature with what the document says about it) is
matched against the document's passages, and a reviewer confirms the best match through the
ordinary review sheet; accepted, the document's citations carry the real quote and page.

Real guidelines say a principle in their own words, so the ranking does not look for shared
phrases. Per (statement, passage) it combines

- *meaning words*: cosine of lemma vectors (kernel fold: lower-cased lookup lemmas, stop
  words dropped) weighted by how rare each lemma is in this document (IDF), so "shame",
  "involuntary" and "intrusive" count and "treatment" hardly does;
- *feature patterns*: the feature's extraction lexicon (guidelines/patterns) on the passage,
  and how alike the two texts' profiles over all features are (what topics each touches);
- *section context*: the statement against the whole section the passage sits in, and the
  section titles against the statement, its digest headings and the feature's labels;
- *recommendation wording*: directive verbs ("offer", "explain", "should") over narration;
- *kind*: front matter, contents, references, declarations, glossary and boilerplate are
  ranked down (scaled by ``OTHER_KIND_FACTOR``), so a contents line naming the topic never
  outranks the recommendation.

Proposals are proposals: nothing here is evidence until a reviewer accepts it (review.py).
"""
from __future__ import annotations

import functools
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable

from rdflib import Graph, URIRef
from rdflib.namespace import RDF, SKOS

from rubricate.guidelines.evidence.extract import (VOCABULARY, Candidate, extract_candidates,
                                                   load_patterns)
from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.nlp import get_nlp
from rubricate.guidelines.kernel.normalize import fold
from rubricate.guidelines.sources.kinds import EVIDENCE_KINDS
from rubricate.guidelines.sources.model import Passage
from rubricate.guidelines.sources.parse import parse_document
from rubricate.guidelines.sources.passages import make_passages
from rubricate.guidelines.sources.registry import Registry

METHOD = "digest-alignment"
WEIGHTS = {"words": 0.50, "pattern": 0.12, "profile": 0.13, "section": 0.12, "title": 0.08,
           "directive": 0.05}
OTHER_KIND_FACTOR = 0.35  # score multiplier of text about the document (contents, front matter, ...)
DIRECTIVES = frozenset({"should", "must", "offer", "recommend", "consider", "ensure", "ask", "explain",
                        "discuss", "provide", "give", "tell", "assess", "refer", "inform", "obtain",
                        "avoid", "encourage", "support", "involve", "seek", "arrange", "monitor"})
_UNVERIFIED_NOTE = re.compile(r"\s*\([^()]*\bunverified\)")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")


@dataclass(frozen=True)
class Statement:
    """One digest paragraph marked for one feature."""

    doc_id: str
    feature: str  # principle id, "feature" or "feature/sub-feature"
    digest: Passage  # the digest paragraph
    text: str  # what it says, without "(general knowledge, unverified)" notes

    @property
    def id(self) -> str:
        return f"{self.digest.id}#{self.feature}"


@dataclass(frozen=True)
class Proposal:
    statement: Statement
    rank: int  # 1 = best
    passage: Passage
    score: float
    reasons: tuple[str, ...]

    def to_dict(self) -> dict:
        top, _, sub = self.statement.feature.partition("/")
        p = self.passage
        return {"feature": top, "sub_feature": sub or None, "rank": self.rank, "passage_id": p.id,
                "page": p.page, "page_label": p.page_label, "section": list(p.section_path),
                "kind": p.kind, "score": self.score, "reasons": list(self.reasons), "text": p.text,
                "statement": self.statement.id, "statement_text": self.statement.text}

    def candidate(self) -> Candidate:
        """The proposal as a review-sheet row (the whole passage marked)."""
        p = self.passage
        return Candidate(passage_id=p.id, doc_id=p.doc_id, sha256=p.sha256, feature=self.statement.feature,
                         score=self.score, polarity="positive", start=p.start, end=p.end,
                         matched="aligns with: " + self.statement.text, page=p.page,
                         page_label=p.page_label, section_path=tuple(p.section_path), method=METHOD)


# ---- reading the document -----------------------------------------------------------------

def document_passages(reg: Registry, doc_id: str) -> tuple[list[Passage], list[Passage]]:
    """(digest passages, source passages) of one registered document."""
    doc = reg.get(doc_id)
    digest, source = [], []
    for f in doc.files:
        parsed = parse_document(reg.resolve(f), doc.id)
        (source if f.role == "source" else digest).extend(make_passages(parsed, verified=f.role == "source"))
    return digest, source


def statements(digest: Iterable[Passage]) -> list[Statement]:
    """Every (digest paragraph, feature) its author marked, in text order."""
    out = []
    for p in digest:
        text = " ".join(_UNVERIFIED_NOTE.sub("", p.text).split())
        for feature in p.annotations:
            out.append(Statement(p.doc_id, feature, p, text))
    return out


# ---- text features ------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    return frozenset(get_nlp().Defaults.stop_words)


def lemmas(text: str) -> list[str]:
    """Content lemmas of ``text`` (the kernel's folded form; stop words and short words dropped)."""
    stop = _stop_words()
    out = []
    for w in _WORD.findall(text):
        low = w.lower().strip("'-")
        if len(low) < 3 or low in stop:
            continue
        f = fold(low)
        if f not in stop and len(f) >= 3:
            out.append(f)
    return out


class _Vectors:
    """TF-IDF lemma vectors over one document's passages (sublinear tf, smoothed idf)."""

    def __init__(self, texts: list[str]) -> None:
        self.docs = [Counter(lemmas(t)) for t in texts]
        df = Counter(w for d in self.docs for w in d)
        n = len(self.docs)
        self.idf = {w: math.log((n + 1) / (c + 1)) + 1 for w, c in df.items()}
        self.default_idf = math.log(n + 1) + 1

    def vector(self, counts: Counter) -> dict[str, float]:
        v = {w: (1 + math.log(c)) * self.idf.get(w, self.default_idf) for w, c in counts.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {w: x / norm for w, x in v.items()}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(x * b.get(w, 0.0) for w, x in a.items())


def _profile_cosine(a: dict[str, float], b: dict[str, float]) -> float:
    num = sum(x * b.get(k, 0.0) for k, x in a.items())
    den = math.sqrt(sum(x * x for x in a.values())) * math.sqrt(sum(x * x for x in b.values()))
    return num / den if den else 0.0


@functools.lru_cache(maxsize=1)
def feature_words() -> dict[str, frozenset[str]]:
    """Lemmas of each feature's labels and definition (and its parent's), from the vocabulary."""
    g = Graph()
    g.parse(VOCABULARY, format="turtle")
    rbc = dict(g.namespaces())["rbc"]
    out = {}
    for s in g.subjects(RDF.type, URIRef(rbc + "Principle")):
        pid = str(s).split("/principle/", 1)[-1]
        text = " ".join(str(o) for p in (SKOS.prefLabel, SKOS.altLabel, SKOS.definition) for o in g.objects(s, p))
        out[pid] = frozenset(lemmas(text))
    return {pid: words | (out.get(pid.split("/")[0], frozenset()) if "/" in pid else frozenset())
            for pid, words in out.items()}


# ---- ranking ------------------------------------------------------------------------------

def align(statements_: list[Statement], passages: list[Passage], top: int = 3) -> list[Proposal]:
    """The ``top`` best passages for each statement, best first (see the module docstring)."""
    if top < 1:
        raise RubricateError("--top must be at least 1")
    cands = [p for p in passages if p.kind != "heading" and p.text.strip()]
    if not cands or not statements_:
        return []
    vec = _Vectors([p.text for p in cands])
    pvecs = [vec.vector(d) for d in vec.docs]
    sections: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, p in enumerate(cands):
        sections[tuple(p.section_path)].append(i)
    svecs = {k: vec.vector(sum((vec.docs[i] for i in idx), Counter())) for k, idx in sections.items()}
    title_lemmas = {k: set(lemmas(" ".join(k[1:] if len(k) > 1 else k))) for k in sections}
    patterns = load_patterns()
    everything = list({p.id: p for p in cands + [s.digest for s in statements_]}.values())
    profiles: dict[str, dict[str, float]] = defaultdict(dict)
    for c in extract_candidates(everything, patterns, include=("front_matter", "contents", "references",
                                                                 "declarations", "glossary", "boilerplate")):
        profiles[c.passage_id][c.feature] = c.score
    directive = [bool(DIRECTIVES & {t.lower() for t in _WORD.findall(p.text)}
                      | DIRECTIVES & set(lemmas(p.text))) for p in cands]
    fwords = feature_words()
    out: list[Proposal] = []
    for st in statements_:
        qv = vec.vector(Counter(lemmas(st.text)))
        cue_words = set(lemmas(" ".join(st.digest.section_path[1:]))) | set(fwords.get(st.feature, ()))
        qprof = profiles.get(st.digest.id, {})
        scored = []
        for i, p in enumerate(cands):
            key = tuple(p.section_path)
            words = _cosine(qv, pvecs[i])
            pattern = max(profiles[p.id].get(st.feature, 0.0),
                          0.5 * profiles[p.id].get(st.feature.split("/")[0], 0.0))
            profile = _profile_cosine(qprof, profiles[p.id]) if qprof else 0.0
            section = _cosine(qv, svecs[key])
            titles = title_lemmas[key]
            title_hits = sorted(titles & (cue_words | set(qv)))
            title = min(1.0, len(title_hits) / 2)
            guidance = p.kind in EVIDENCE_KINDS
            raw = (WEIGHTS["words"] * words + WEIGHTS["pattern"] * pattern + WEIGHTS["profile"] * profile
                   + WEIGHTS["section"] * section + WEIGHTS["title"] * title
                   + WEIGHTS["directive"] * directive[i])
            score = raw * (1.0 if guidance else OTHER_KIND_FACTOR)
            scored.append((score, i, words, pattern, profile, section, title_hits))
        scored.sort(key=lambda t: (-t[0], cands[t[1]].start))
        for rank, (score, i, words, pattern, profile, section, title_hits) in enumerate(scored[:top], 1):
            p = cands[i]
            shared = sorted(set(qv) & set(pvecs[i]), key=lambda w: -qv[w] * pvecs[i][w])[:6]
            reasons = [f"meaning words {words:.2f}" + (f": {', '.join(shared)}" if shared else "")]
            if pattern:
                reasons.append(f"{st.feature} patterns {pattern:.2f}")
            if profile:
                reasons.append(f"feature profile {profile:.2f}")
            reasons.append(f"section context {section:.2f}"
                           + (f"; title cues: {', '.join(title_hits)}" if title_hits else ""))
            if directive[i]:
                reasons.append("recommendation wording")
            if p.kind not in EVIDENCE_KINDS:
                reasons.append(f"{p.kind} text, ranked down")
            out.append(Proposal(st, rank, p, round(score, 4), tuple(reasons)))
    return out


def align_document(reg: Registry, doc_id: str, top: int = 3) -> list[Proposal]:
    """Proposals for every evidence statement of ``doc_id`` among its source passages."""
    digest, source = document_passages(reg, doc_id)
    if not source:
        raise RubricateError(f"{doc_id} has no source file to align with; fetch it "
                             f"(`rubricate guidelines fetch {doc_id}`) or add your copy "
                             f"(`rubricate guidelines add FILE --id {doc_id}`)")
    sts = statements(digest)
    if not sts:
        raise RubricateError(f"{doc_id} has no digest evidence statements to align")
    return align(sts, source, top)


# ---- how far each document is verified ----------------------------------------------------

@dataclass(frozen=True)
class Coverage:
    doc_id: str
    statements: int | None  # digest evidence statements (None: a digest file could not be read)
    verified: int  # of them, those whose feature a reviewer accepted in a source passage


def coverage(reg: Registry, accepted: Iterable) -> list[Coverage]:
    """Per document, how many evidence statements have a reviewer-accepted passage in the
    document's current source file(s). ``accepted``: review.accepted_evidence items."""
    by_doc: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for a in accepted:
        by_doc[a.doc_id].add((a.sha256, a.feature))
    out = []
    for doc in reg.documents:
        digest = []
        try:
            for f in doc.files:
                if f.role == "digest":
                    digest.extend(make_passages(parse_document(reg.resolve(f), doc.id), verified=False))
        except RubricateError:  # an unreadable digest: `build` reports it; a listing still lists
            out.append(Coverage(doc.id, None, 0))
            continue
        sts = statements(digest)
        shas = {f.sha256 for f in doc.files if f.role == "source" and f.sha256}
        done = {feat for sha, feat in by_doc.get(doc.id, ()) if sha in shas}
        out.append(Coverage(doc.id, len(sts), sum(s.feature in done for s in sts)))
    return out
