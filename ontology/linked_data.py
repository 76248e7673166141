"""What makes the knowledge base usable by generic linked-data tools, not only by rubricate.

- SKOS tools find concepts without inference: every principle and condition is also
  ``a skos:Concept``, and each scheme names its top concepts (``skos:hasTopConcept`` /
  ``skos:topConceptOf``).
- Annotation stores and clients that exchange only W3C Web Annotations get one
  ``oa:Annotation`` per evidence link (motivation ``oa:classifying``, body the principle's
  SKOS concept, target the passage, or each page part of a passage that runs on to the next
  page), beside the ``rbc:Evidence`` node it restates.
- The text rubricate extracted from a file is a resource of its own (``rbc:ExtractedText``:
  SHA-256, extractor and version, ``prov:wasDerivedFrom`` the file), which the passage's
  position selector indexes.
- Reviewer decisions are ``prov:Activity`` nodes with their agent and time.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable

from rdflib import Graph, Literal, URIRef

from rubricate.guidelines.sources.model import ParsedDocument
from rubricate.ontology.namespaces import (DCTERMS, OA, PROV, RBC, RDF, RDFS, SKOS, XSD, activity_iri, agent_iri,
                                           annotation_iri, file_iri, passage_iri, text_iri)

EXTRACTED_MEDIA_TYPE = "text/plain; charset=utf-8"


def _hid(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def text_sha256(parsed: ParsedDocument) -> str:
    return hashlib.sha256(parsed.text.encode("utf-8")).hexdigest()


def add_extracted_text(g: Graph, parsed: ParsedDocument, activity: URIRef) -> URIRef:
    """The extracted text of one file as an entity derived from it."""
    sha = text_sha256(parsed)
    # One resource per (file, extractor version): two files can yield the same text.
    t = text_iri(hashlib.sha256(f"{parsed.sha256}:{parsed.extractor}:{parsed.extractor_version}".encode())
                 .hexdigest())
    g.add((t, RDF.type, RBC.ExtractedText))
    g.add((t, RDF.type, PROV.Entity))
    g.add((t, RBC.sha256, Literal(sha)))
    g.add((t, DCTERMS.format, Literal(EXTRACTED_MEDIA_TYPE)))
    g.add((t, RBC.characters, Literal(len(parsed.text))))
    g.add((t, RBC.extractor, Literal(parsed.extractor)))
    g.add((t, RBC.extractorVersion, Literal(parsed.extractor_version)))
    g.add((t, PROV.wasDerivedFrom, file_iri(parsed.sha256)))
    g.add((t, PROV.wasGeneratedBy, activity))
    g.add((file_iri(parsed.sha256), RBC.extractedText, t))
    return t


def add_skos_concepts(g: Graph) -> None:
    """Principles and conditions typed skos:Concept; schemes list their top concepts."""
    for cls in (RBC.Principle, RBC.Condition):
        for c in set(g.subjects(RDF.type, cls)):
            g.add((c, RDF.type, SKOS.Concept))
            if g.value(c, SKOS.broader) is None:
                for scheme in g.objects(c, SKOS.inScheme):
                    g.add((scheme, SKOS.hasTopConcept, c))
                    g.add((c, SKOS.topConceptOf, scheme))


def add_annotations(g: Graph) -> int:
    """One oa:Annotation per (evidence, passage) link; returns how many."""
    n = 0
    for e in sorted(set(g.subjects(RDF.type, RBC.Evidence))):
        principle = g.value(e, RBC.principle)
        agents = sorted(set(g.objects(e, PROV.wasAttributedTo)) | set(g.objects(e, RBC.linkedBy)))
        for p in sorted(set(g.objects(e, RBC.passage))):
            a = annotation_iri(_hid(str(e), str(p)))
            g.add((a, RDF.type, OA.Annotation))
            g.add((a, OA.motivatedBy, OA.classifying))
            g.add((a, OA.hasBody, principle))
            # a passage split at a page break is targeted through its page parts (one
            # SpecificResource each): the body classifies each of them (WADM 3.2: several
            # targets are each related to the body)
            for target in sorted(g.objects(p, DCTERMS.hasPart)) or [p]:
                g.add((a, OA.hasTarget, target))
            g.add((a, PROV.wasDerivedFrom, e))
            for agent in agents:
                g.add((a, DCTERMS.creator, agent))
            n += 1
    return n


def add_review_activities(g: Graph, links: Iterable) -> None:
    """Each accepted reviewer decision as a prov:Activity: who, when, which passage, for what."""
    for link in links:
        act = activity_iri("review/" + _hid(link.doc_id, link.principle, link.passage_id, link.reviewer,
                                            link.time or ""))
        reviewer = agent_iri(f"reviewer/{link.reviewer}")
        g.add((act, RDF.type, PROV.Activity))
        g.add((act, RDF.type, RBC.Review))
        g.add((act, RDFS.label, Literal(f"review of {link.passage_id} for {link.principle}")))
        g.add((act, PROV.wasAssociatedWith, reviewer))
        g.add((act, PROV.used, passage_iri(link.passage_id)))
        if link.time:
            g.add((act, PROV.endedAtTime, Literal(link.time, datatype=XSD.dateTime)))
        g.add((reviewer, RDF.type, PROV.Agent))
        for e in g.subjects(RBC.passage, passage_iri(link.passage_id)):
            if str(g.value(e, RBC.principle)).endswith("/" + link.principle):
                g.add((e, PROV.wasInfluencedBy, act))
