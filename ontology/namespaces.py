"""IRIs of rubricate's knowledge base (one place, like rdflib.namespace)."""
from __future__ import annotations

from rdflib import Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS, XSD  # noqa: F401 (re-exported)

BASE = "https://w3id.org/rubricate/"
RBC = Namespace(BASE + "vocab#")
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


def evidence_iri(eid: str) -> URIRef:
    return URIRef(f"{BASE}evidence/{eid}")


def method_iri(name: str) -> URIRef:
    return URIRef(f"{BASE}method/{name}")


def agent_iri(name: str) -> URIRef:
    return URIRef(f"{BASE}agent/{name}")
