"""The RDF vocabulary: the guidelines layer's reading of it agrees with the ontology's."""
from __future__ import annotations

from rdflib import Graph

from rubricate.guidelines.evidence.extract import VOCABULARY, known_principles
from rubricate.ontology.namespaces import RBC, RDF, principle_id


def test_evidence_layer_reads_the_same_principles_as_the_ontology():
    g = Graph().parse(VOCABULARY, format="turtle")
    ontology = frozenset(principle_id(s) for s in g.subjects(RDF.type, RBC.Principle))
    assert ontology and known_principles() == ontology
    assert "location/inpatient" in ontology
