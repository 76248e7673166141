"""What changed between two knowledge-base builds: features and citations per document.

Why: after editing lexicons, importing review decisions or replacing a digest by the source
document, researchers need to see which documents gained or lost a feature and which
passages are now cited (or no longer). Both graphs are read with rdflib and compared on
their evidence statements: ``rbc:Evidence`` nodes with ``rbc:document``, ``rbc:principle``
and ``rbc:passage`` (passages carry ``rbc:text``). A citation is a (principle, passage)
pair of a document; a feature counts for a document when any evidence statement links them.
A citation whose passage was re-anchored on a new edition (``prov:wasRevisionOf``) is the
same citation; re-anchored, moved and lost reviewer decisions (``rbc:Reanchoring``) are
listed on their own.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.util import guess_format

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.ontology.namespaces import PROV, RBC, document_id, passage_id, principle_id
from rubricate.ontology.store import parse_error

PROV_REVISION = PROV.wasRevisionOf
_QUERY = f"""
PREFIX rbc: <{RBC}>
SELECT ?doc ?principle ?passage ?text WHERE {{
  ?e a rbc:Evidence ; rbc:document ?doc ; rbc:principle ?principle .
  OPTIONAL {{ ?e rbc:passage ?passage . OPTIONAL {{ ?passage rbc:text ?text }} }}
}}"""


@dataclass(frozen=True)
class Citation:
    principle: str
    passage: str  # passage IRI
    text: str


@dataclass(frozen=True)
class DecisionMove:
    """A reviewed decision of an earlier edition as the new build placed it."""

    principle: str
    reviewer: str
    status: str  # exact | fuzzy | lost
    score: float | None
    from_passage: str
    to_passage: str | None
    from_page: int | None
    to_page: int | None
    from_section: str | None
    to_section: str | None
    quote: str

    @property
    def moved(self) -> bool:
        return self.status != "lost" and (self.from_page != self.to_page or self.from_section != self.to_section)


@dataclass
class DocumentDiff:
    doc_id: str
    features_gained: list[str] = field(default_factory=list)
    features_lost: list[str] = field(default_factory=list)
    citations_added: list[Citation] = field(default_factory=list)
    citations_removed: list[Citation] = field(default_factory=list)
    reanchored: list[DecisionMove] = field(default_factory=list)  # same page and section
    moved: list[DecisionMove] = field(default_factory=list)  # re-anchored on another page/section
    lost: list[DecisionMove] = field(default_factory=list)  # need re-review

    @property
    def changed(self) -> bool:
        return bool(self.features_gained or self.features_lost or self.citations_added or self.citations_removed
                    or self.reanchored or self.moved or self.lost)


@dataclass
class KBDiff:
    old: str
    new: str
    documents: list[DocumentDiff]

    @property
    def changed(self) -> bool:
        return any(d.changed for d in self.documents)

    def to_dict(self) -> dict:
        return {"old": self.old, "new": self.new,
                "documents": [asdict(d) for d in self.documents if d.changed]}


def read_graph(path: Path | str) -> Graph:
    path = Path(path)
    if not path.exists():
        raise RubricateError("knowledge base file not found", path=str(path))
    g = Graph()
    fmt = guess_format(str(path)) or "turtle"
    try:
        g.parse(path, format=fmt)
    except Exception as exc:  # rdflib raises many parser-specific types
        raise parse_error(exc, path, "cannot read RDF") from None
    return g


def evidence_index(g: Graph) -> tuple[dict[str, set[str]], dict[str, dict[tuple[str, str], str]]]:
    """(features per document, {document: {(principle, passage IRI): passage text}})."""
    features: dict[str, set[str]] = defaultdict(set)
    cites: dict[str, dict[tuple[str, str], str]] = defaultdict(dict)
    for row in g.query(_QUERY):
        doc = document_id(str(row.doc))
        principle = principle_id(str(row.principle))
        features[doc].add(principle)
        if row.passage is not None:
            cites[doc][(principle, str(row.passage))] = str(row.text) if row.text is not None else ""
    return features, cites


_MOVES = f"""
PREFIX rbc: <{RBC}>
SELECT ?r ?doc ?principle ?reviewer ?status ?score ?from ?to ?fpage ?tpage ?fsec ?tsec ?quote WHERE {{
  ?r a rbc:Reanchoring ; rbc:document ?doc ; rbc:principle ?principle ; rbc:reviewer ?reviewer ;
     rbc:anchorStatus ?status ; rbc:fromPassage ?from ; rbc:quote ?quote .
  OPTIONAL {{ ?r rbc:anchorScore ?score }}
  OPTIONAL {{ ?r rbc:fromPage ?fpage }}
  OPTIONAL {{ ?r rbc:fromSection ?fsec }}
  OPTIONAL {{ ?r rbc:toPassage ?to . OPTIONAL {{ ?to rbc:page ?tpage }} OPTIONAL {{ ?to rbc:sectionPath ?tsec }} }}
}}"""


def decision_moves(g: Graph) -> dict[str, dict[tuple, DecisionMove]]:
    """{document: {(re-anchoring IRI, status, to passage): move}} of a build."""
    out: dict[str, dict[tuple, DecisionMove]] = defaultdict(dict)
    for row in g.query(_MOVES):
        opt = lambda v: None if v is None else str(v)  # noqa: E731
        m = DecisionMove(
            principle=principle_id(str(row.principle)),
            reviewer=str(row.reviewer).rsplit("/", 1)[-1], status=str(row.status),
            score=float(row.score) if row.score is not None else None,
            from_passage=str(row["from"]).rsplit("/", 1)[-1], to_passage=opt(row.to) and str(row.to).rsplit("/", 1)[-1],
            from_page=int(row.fpage) if row.fpage is not None else None,
            to_page=int(row.tpage) if row.tpage is not None else None,
            from_section=opt(row.fsec), to_section=opt(row.tsec), quote=str(row.quote))
        out[document_id(str(row.doc))][(str(row.r), m.status, m.to_passage)] = m
    return out


def diff_graphs(old: Graph, new: Graph, old_name: str = "old", new_name: str = "new") -> KBDiff:
    of, oc = evidence_index(old)
    nf, nc = evidence_index(new)
    om, nm = decision_moves(old), decision_moves(new)
    # a passage of a new edition that re-anchors an old one is the same citation, not a change
    revised = {(str(n), str(o)) for n, o in new.subject_objects(URIRef(PROV_REVISION))
               if "/passage/" in str(n)}
    docs = []
    for doc in sorted(set(of) | set(nf) | set(oc) | set(nc) | set(nm)):
        d = DocumentDiff(doc)
        d.features_gained = sorted(nf.get(doc, set()) - of.get(doc, set()))
        d.features_lost = sorted(of.get(doc, set()) - nf.get(doc, set()))
        o, n = oc.get(doc, {}), nc.get(doc, {})
        added, removed = set(n) - set(o), set(o) - set(n)
        same = {(a, r) for a in added for r in removed if a[0] == r[0] and (a[1], r[1]) in revised}
        added -= {a for a, _ in same}
        removed -= {r for _, r in same}
        d.citations_added = [Citation(p, s, n[(p, s)]) for p, s in sorted(added)]
        d.citations_removed = [Citation(p, s, o[(p, s)]) for p, s in sorted(removed)]
        was = om.get(doc, {})
        for key, m in sorted(nm.get(doc, {}).items(), key=lambda kv: (kv[1].from_page or 0, kv[1].principle,
                                                                      kv[1].reviewer, kv[0])):
            if key in was:
                continue  # already so in the old build
            (d.lost if m.status == "lost" else d.moved if m.moved else d.reanchored).append(m)
        docs.append(d)
    return KBDiff(old_name, new_name, docs)


def diff_kb_files(old: Path | str, new: Path | str) -> KBDiff:
    return diff_graphs(read_graph(old), read_graph(new), str(old), str(new))


def format_diff(diff: KBDiff, width: int = 100) -> list[str]:
    """Human-readable lines: one block per changed document."""
    def cut(text: str) -> str:
        text = " ".join(text.split())
        return text if len(text) <= width else text[:width - 3] + "..."

    lines = []
    changed = [d for d in diff.documents if d.changed]
    for d in changed:
        lines.append(f"{d.doc_id}:")
        lines += [f"  + feature {f}" for f in d.features_gained]
        lines += [f"  - feature {f}" for f in d.features_lost]
        lines += [f"  + cites {c.principle}: {passage_id(c.passage)} "
                  f"\"{cut(c.text)}\"" for c in d.citations_added]
        lines += [f"  - cites {c.principle}: {passage_id(c.passage)} "
                  f"\"{cut(c.text)}\"" for c in d.citations_removed]
        for m in d.reanchored:
            lines.append(f"  = re-anchored {m.principle} ({m.reviewer}, {_how(m)}): p.{m.from_page} "
                         f"\"{cut(m.quote)}\"")
        for m in d.moved:
            lines.append(f"  > moved {m.principle} ({m.reviewer}, {_how(m)}): p.{m.from_page} -> p.{m.to_page}"
                         + (f", section {m.from_section!r} -> {m.to_section!r}" if m.from_section != m.to_section else "")
                         + f" \"{cut(m.quote)}\"")
        for m in d.lost:
            lines.append(f"  ! needs re-review {m.principle} ({m.reviewer}): p.{m.from_page} \"{cut(m.quote)}\"")
    n = lambda attr: sum(len(getattr(d, attr)) for d in diff.documents)  # noqa: E731
    line = (f"{len(changed)} document(s) changed: features +{n('features_gained')} -{n('features_lost')}, "
            f"citations +{n('citations_added')} -{n('citations_removed')}")
    if n("reanchored") or n("moved") or n("lost"):
        line += (f"; reviewed decisions: {n('reanchored')} re-anchored, {n('moved')} moved, "
                 f"{n('lost')} need re-review")
    lines.append(line)
    return lines


def _how(m: DecisionMove) -> str:
    return "exact" if m.status == "exact" else f"fuzzy {m.score:.2f}"
