"""The RDF vocabulary: a closed namespace checked against ontology/vocabulary.ttl, and the
guidelines layer's reading of the vocabulary agrees with the ontology's."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from rdflib import Graph, URIRef

from rubricate.guidelines.evidence.extract import VOCABULARY, known_principles
from rubricate.ontology.namespaces import RBC, RDF, principle_id
from tests.checkout import package_sources

REPO = Path(__file__).resolve().parents[1]


def test_evidence_layer_reads_the_same_principles_as_the_ontology():
    g = Graph().parse(VOCABULARY, format="turtle")
    ontology = frozenset(principle_id(s) for s in g.subjects(RDF.type, RBC.Principle))
    assert ontology and known_principles() == ontology
    assert "location/inpatient" in ontology


def _defined_terms() -> set[str]:
    g = Graph().parse(VOCABULARY, format="turtle")
    ns = str(RBC)
    return {str(s)[len(ns):] for s in g.subjects() if str(s).startswith(ns)}


def test_the_closed_namespace_lists_exactly_the_vocabulary_terms():
    declared = set(RBC.__annotations__)
    assert declared == _defined_terms()
    assert RBC.Principle == URIRef(str(RBC) + "Principle")


def test_a_misspelt_term_is_an_error_not_a_new_iri():
    with pytest.raises(AttributeError):
        RBC.principal  # noqa: B018
    with pytest.raises(AttributeError):
        RBC.Princple  # noqa: B018


def test_rbc_terms_written_in_query_text_are_defined_too():
    """SPARQL in code (``rbc:term`` or ``<{RBC}term>``) is checked against the vocabulary."""
    defined = _defined_terms()
    used: dict[str, str] = {}
    for path in package_sources():
        if any(p in (".git", "tests", "build", "dist", "bench") for p in path.relative_to(REPO).parts):
            continue
        text = path.read_text(encoding="utf-8")
        for term in re.findall(r"(?:\brbc:|\{RBC\})([A-Za-z]\w*)", text):
            used.setdefault(term, str(path.relative_to(REPO)))
    assert used, "no query text found"
    assert {t: p for t, p in used.items() if t not in defined} == {}
