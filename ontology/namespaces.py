"""IRIs of rubricate's knowledge base (one place, like rdflib.namespace).

``RBC`` is closed: an rdflib ``DefinedNamespace`` listing exactly the classes and properties
that ontology/vocabulary.ttl defines (tests/test_namespaces.py checks both ways), so a
misspelt term (``RBC.principal``) raises an AttributeError instead of minting a new IRI.
Adding a term means adding it to vocabulary.ttl and here.
"""
from __future__ import annotations

from rdflib import Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS, XSD, DefinedNamespace  # noqa: F401 (re-exported)

BASE = "https://w3id.org/rubricate/"


class RBC(DefinedNamespace):
    """rubricate's vocabulary (``rbc:``), closed."""

    _NS = Namespace(BASE + "vocab#")
    _fail = True

    # classes
    Principle: URIRef
    Condition: URIRef
    Document: URIRef
    SourceFile: URIRef
    Passage: URIRef
    PassagePart: URIRef
    Evidence: URIRef
    Method: URIRef
    Edition: URIRef
    Reanchoring: URIRef
    Adjudication: URIRef
    ExtractedText: URIRef
    Review: URIRef
    Retrieval: URIRef
    # properties
    concernsCondition: URIRef
    studyColumn: URIRef
    kind: URIRef
    coversCondition: URIRef
    hasFile: URIRef
    role: URIRef
    sha256: URIRef
    document: URIRef
    principle: URIRef
    passage: URIRef
    method: URIRef
    linkMethod: URIRef
    linkedBy: URIRef
    listPosition: URIRef
    text: URIRef
    page: URIRef
    pageLabel: URIRef
    sectionPath: URIRef
    passageKind: URIRef
    leadIn: URIRef
    locatorVerified: URIRef
    extractor: URIRef
    extractorVersion: URIRef
    publicUrl: URIRef
    urlVerified: URIRef
    edition: URIRef
    reviewer: URIRef
    fromPassage: URIRef
    toPassage: URIRef
    closestPassage: URIRef
    fromFile: URIRef
    fromPage: URIRef
    fromSection: URIRef
    quote: URIRef
    anchorStatus: URIRef
    anchorScore: URIRef
    reviewPolicy: URIRef
    extractedText: URIRef
    inExtractedText: URIRef
    partIndex: URIRef
    characters: URIRef
    byteSize: URIRef


OA = Namespace("http://www.w3.org/ns/oa#")
PDF_FRAGMENT = URIRef("http://tools.ietf.org/rfc/rfc3778")


def principle_iri(pid: str) -> URIRef:
    return URIRef(f"{BASE}principle/{pid}")


def principle_id(iri: str) -> str:
    return str(iri).removeprefix(f"{BASE}principle/")


def condition_iri(cid: str) -> URIRef:
    return URIRef(f"{BASE}condition/{cid}")


def document_iri(doc_id: str) -> URIRef:
    return URIRef(f"{BASE}document/{doc_id}")


def document_id(iri: str) -> str:
    return str(iri).removeprefix(f"{BASE}document/")


def file_iri(sha256: str) -> URIRef:
    return URIRef(f"{BASE}file/{sha256}")


def passage_iri(pid: str) -> URIRef:
    return URIRef(f"{BASE}passage/{pid}")


def passage_id(iri: str) -> str:
    return str(iri).removeprefix(f"{BASE}passage/")


def evidence_iri(eid: str) -> URIRef:
    return URIRef(f"{BASE}evidence/{eid}")


def method_iri(name: str) -> URIRef:
    return URIRef(f"{BASE}method/{name}")


def agent_iri(name: str) -> URIRef:
    return URIRef(f"{BASE}agent/{name}")


def text_iri(tid: str) -> URIRef:
    """The text rubricate extracted from one file with one extractor version."""
    return URIRef(f"{BASE}text/{tid}")


def annotation_iri(aid: str) -> URIRef:
    return URIRef(f"{BASE}annotation/{aid}")


def activity_iri(name: str) -> URIRef:
    return URIRef(f"{BASE}activity/{name}")
