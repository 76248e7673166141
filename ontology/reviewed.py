"""Reviewer decisions across editions: re-anchor them onto the text the build read, and say
in the knowledge base which edition each came from.

Why: a guideline's new edition gives every passage a new id (ids hash the file), so a
decision made on the earlier edition would silently stop counting. Each accepted decision
whose passage is gone is re-anchored on its document's current passages by its quote
(exact text first, then a bounded fuzzy match; the method and score are recorded). What
re-anchors keeps its reviewer and becomes evidence for the new edition; what does not is
kept as a "lost" re-anchoring (needs re-review), never dropped silently. Editions are linked
with ``prov:wasRevisionOf`` (file to file, passage to passage).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from rdflib import Graph, Literal, URIRef

from rubricate.guidelines.evidence.review import anchor, closest_passage
from rubricate.guidelines.sources.model import Passage
from rubricate.guidelines.sources.registry import Registry
from rubricate.ontology.namespaces import (BASE, DCTERMS, PROV, RBC, RDF, RDFS, XSD, agent_iri, document_iri,
                                           file_iri, passage_iri, principle_iri)

REANCHORING_BASE = BASE + "reanchoring/"
ACTIVITY_BASE = BASE + "activity/"


@dataclass(frozen=True)
class Reanchored:
    """One accepted decision checked against the current text of its document."""

    link: object  # the AcceptedLink as decided (old passage id)
    status: str  # exact | fuzzy | lost
    score: float | None
    passage: Passage | None  # where it landed (exact/fuzzy) or the closest passage (lost)

    @property
    def moved(self) -> bool:
        """Landed on another page or section than the one it was decided on."""
        return self.status != "lost" and (self.passage.page != self.link.page or
                                          tuple(self.passage.section_path) != tuple(self.link.section_path))


def reanchor_links(links: list, passages: dict[str, Passage]) -> tuple[list, list[Reanchored]]:
    """(links that point at a current passage, re-anchored or lost decisions).

    Links whose passage exists are kept as they are; the others are re-anchored on the
    passages of their document (and then point at the new passage id)."""
    by_doc: dict[str, list[Passage]] = {}
    for p in passages.values():
        by_doc.setdefault(p.doc_id, []).append(p)
    kept, checked = [], []
    for link in links:
        if link.passage_id in passages:
            kept.append(link)
            continue
        doc_passages = by_doc.get(link.doc_id, [])
        found = anchor(link, doc_passages) if link.quote else None
        if found is not None:
            checked.append(Reanchored(link, found.method, found.score, found.passage))
            kept.append(replace(link, passage_id=found.passage.id))
        else:
            near = closest_passage(link, doc_passages) if link.quote else None
            checked.append(Reanchored(link, "lost", near[1] if near else None, near[0] if near else None))
    return kept, checked


def reanchoring_iri(link) -> URIRef:
    key = "\x1f".join((link.passage_id, link.principle, link.reviewer, link.role))
    return URIRef(REANCHORING_BASE + hashlib.sha256(key.encode()).hexdigest()[:16])


def add_reanchorings(g: Graph, checked: list[Reanchored]) -> None:
    """Each re-anchored or lost decision as an ``rbc:Reanchoring`` (reviewer, principle,
    from/to passage with their pages and sections, method and score), and the new passage
    as a ``prov:wasRevisionOf`` the old one."""
    for r in checked:
        link, n = r.link, reanchoring_iri(r.link)
        old = passage_iri(link.passage_id)
        g.add((n, RDF.type, RBC.Reanchoring))
        g.add((n, RBC.document, document_iri(link.doc_id)))
        g.add((n, RBC.principle, principle_iri(link.principle)))
        g.add((n, RBC.reviewer, agent_iri(f"reviewer/{link.reviewer}")))
        g.add((n, RBC.fromPassage, old))
        g.add((n, RBC.fromFile, file_iri(link.sha256)))
        g.add((n, RBC.quote, Literal(link.quote)))
        g.add((n, RBC.anchorStatus, Literal(r.status)))
        if r.score is not None:
            g.add((n, RBC.anchorScore, Literal(f"{r.score:.4f}", datatype=XSD.decimal)))
        if link.page is not None:
            g.add((n, RBC.fromPage, Literal(link.page, datatype=XSD.integer)))
        if link.section_path:
            g.add((n, RBC.fromSection, Literal(" > ".join(link.section_path))))
        if r.status != "lost":
            g.add((n, RBC.toPassage, passage_iri(r.passage.id)))
            g.add((passage_iri(r.passage.id), PROV.wasRevisionOf, old))
        elif r.passage is not None:
            g.add((n, RBC.closestPassage, passage_iri(r.passage.id)))


def add_editions(g: Graph, reg: Registry) -> None:
    """Every earlier edition of a registered file as a ``prov:Entity`` with its hash, and
    ``prov:wasRevisionOf`` from each edition to the one before it."""
    for doc in reg.documents:
        for f in doc.files:
            if not f.previous or not f.sha256:
                continue
            chain = [*f.previous]
            newer = file_iri(f.sha256)
            for e in reversed(chain):
                old = file_iri(e.sha256)
                g.add((old, RDF.type, PROV.Entity))
                g.add((old, RDF.type, RBC.Edition))
                g.add((old, RBC.sha256, Literal(e.sha256)))
                g.add((old, RDFS.label, Literal(e.path)))
                g.add((old, PROV.wasDerivedFrom, document_iri(doc.id)))
                if e.replaced:
                    g.add((old, PROV.invalidatedAtTime, Literal(e.replaced, datatype=XSD.dateTime)))
                g.add((newer, PROV.wasRevisionOf, old))
                newer = old


def add_retrievals(g: Graph, reg: Registry) -> None:
    """Each downloaded file (``guidelines fetch``) and earlier edition: a ``rbc:Retrieval``
    activity that used its URL and generated the file, ended at the retrieval time."""
    for doc in reg.documents:
        for f in doc.files:
            items = [(f.sha256, f.url, f.retrieved, f.final_url, f.size)]
            items += [(e.sha256, e.url, e.retrieved, None, None) for e in f.previous]
            for sha, url, when, final_url, size in items:
                if not (sha and url and when):
                    continue
                a = URIRef(ACTIVITY_BASE + "retrieval-" + hashlib.sha256(
                    f"{sha}\x1f{url}\x1f{when}".encode()).hexdigest()[:16])
                g.add((a, RDF.type, PROV.Activity))
                g.add((a, RDF.type, RBC.Retrieval))
                g.add((a, PROV.used, URIRef(url)))
                if final_url:
                    g.add((a, PROV.used, URIRef(final_url)))
                g.add((a, PROV.endedAtTime, Literal(when, datatype=XSD.dateTime)))
                g.add((a, PROV.generated, file_iri(sha)))
                g.add((file_iri(sha), PROV.wasGeneratedBy, a))
                if size is not None:
                    g.add((file_iri(sha), RBC.byteSize, Literal(int(size), datatype=XSD.integer)))


def adjudication_iri(activity: str) -> URIRef:
    return URIRef(ACTIVITY_BASE + activity)


def add_adjudications(g: Graph, links: list) -> dict[str, URIRef]:
    """The adjudications the accepted decisions came from, as PROV activities with the
    adjudicator as agent and the time; returns activity id -> IRI."""
    out = {}
    for link in links:
        if not link.activity:
            continue
        a = adjudication_iri(link.activity)
        out[link.activity] = a
        g.add((a, RDF.type, PROV.Activity))
        g.add((a, RDF.type, RBC.Adjudication))
        g.add((a, PROV.wasAssociatedWith, agent_iri(f"reviewer/{link.reviewer}")))
        if link.imported:
            g.add((a, PROV.endedAtTime, Literal(link.imported, datatype=XSD.dateTime)))
        g.add((a, DCTERMS.identifier, Literal(link.activity)))
        g.add((a, PROV.used, passage_iri(link.passage_id)))
    return out
