"""SHACL validation of a knowledge base, with violations as short readable lines."""
from __future__ import annotations

from dataclasses import dataclass

from pyshacl import validate as shacl_validate
from rdflib import Graph

from rubricate.ontology.build import SHAPES, VOCABULARY
from rubricate.ontology.namespaces import RDF

SH = "http://www.w3.org/ns/shacl#"


@dataclass
class Validation:
    conforms: bool
    violations: list[str]


def validate_graph(g: Graph) -> Validation:
    shapes = Graph().parse(SHAPES, format="turtle")
    # Principles/conditions live in the vocabulary; check against it even if the KB omits it.
    data = g + Graph().parse(VOCABULARY, format="turtle") if (None, RDF.type, None) in g else g
    conforms, report, _text = shacl_validate(data, shacl_graph=shapes, inference="none",
                                             advanced=False, allow_warnings=False)
    violations = []
    q = f"""SELECT ?focus ?path ?msg WHERE {{
        ?r a <{SH}ValidationResult> ; <{SH}focusNode> ?focus ; <{SH}resultMessage> ?msg .
        OPTIONAL {{ ?r <{SH}resultPath> ?path }} }}"""
    for focus, path, msg in report.query(q):
        prop = str(path).rsplit("#", 1)[-1].rsplit("/", 1)[-1] if path is not None else "-"
        violations.append(f"{focus}: {prop}: {msg}")
    return Validation(bool(conforms), sorted(set(violations)))
