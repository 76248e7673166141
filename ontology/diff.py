"""What changed between two knowledge-base builds: features and citations per document.

Why: after editing lexicons, importing review decisions or replacing a digest by the source
document, researchers need to see which documents gained or lost a feature and which
passages are now cited (or no longer). Both graphs are read with rdflib and compared on
their evidence statements: ``rbc:Evidence`` nodes with ``rbc:document``, ``rbc:principle``
and ``rbc:passage`` (passages carry ``rbc:text``). A citation is a (principle, passage)
pair of a document; a feature counts for a document when any evidence statement links them.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rdflib import Graph
from rdflib.util import guess_format

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.ontology.store import parse_error

RBC = "https://w3id.org/rubricate/vocab#"
PRINCIPLE_BASE = "https://w3id.org/rubricate/principle/"
DOCUMENT_BASE = "https://w3id.org/rubricate/document/"
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


@dataclass
class DocumentDiff:
    doc_id: str
    features_gained: list[str] = field(default_factory=list)
    features_lost: list[str] = field(default_factory=list)
    citations_added: list[Citation] = field(default_factory=list)
    citations_removed: list[Citation] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.features_gained or self.features_lost or self.citations_added or self.citations_removed)


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


def _short(iri: str, base: str) -> str:
    return iri[len(base):] if iri.startswith(base) else iri


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
        doc = _short(str(row.doc), DOCUMENT_BASE)
        principle = _short(str(row.principle), PRINCIPLE_BASE)
        features[doc].add(principle)
        if row.passage is not None:
            cites[doc][(principle, str(row.passage))] = str(row.text) if row.text is not None else ""
    return features, cites


def diff_graphs(old: Graph, new: Graph, old_name: str = "old", new_name: str = "new") -> KBDiff:
    of, oc = evidence_index(old)
    nf, nc = evidence_index(new)
    docs = []
    for doc in sorted(set(of) | set(nf) | set(oc) | set(nc)):
        d = DocumentDiff(doc)
        d.features_gained = sorted(nf.get(doc, set()) - of.get(doc, set()))
        d.features_lost = sorted(of.get(doc, set()) - nf.get(doc, set()))
        o, n = oc.get(doc, {}), nc.get(doc, {})
        d.citations_added = [Citation(p, s, n[(p, s)]) for p, s in sorted(set(n) - set(o))]
        d.citations_removed = [Citation(p, s, o[(p, s)]) for p, s in sorted(set(o) - set(n))]
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
        lines += [f"  + cites {c.principle}: {_short(c.passage, 'https://w3id.org/rubricate/passage/')} "
                  f"\"{cut(c.text)}\"" for c in d.citations_added]
        lines += [f"  - cites {c.principle}: {_short(c.passage, 'https://w3id.org/rubricate/passage/')} "
                  f"\"{cut(c.text)}\"" for c in d.citations_removed]
    n = lambda attr: sum(len(getattr(d, attr)) for d in diff.documents)  # noqa: E731
    lines.append(f"{len(changed)} document(s) changed: features +{n('features_gained')} -{n('features_lost')}, "
                 f"citations +{n('citations_added')} -{n('citations_removed')}")
    return lines
