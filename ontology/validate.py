"""SHACL validation of a knowledge base, with violations as short readable lines."""
from __future__ import annotations

from dataclasses import dataclass

from pyshacl import validate as shacl_validate
from rdflib import Graph, Variable
from rdflib.namespace import NamespaceManager
from rdflib.plugins.sparql import prepareQuery

from rubricate.ontology.build import SHAPES, VOCABULARY
from rubricate.ontology.namespaces import RDF

SH = "http://www.w3.org/ns/shacl#"


@dataclass
class Validation:
    conforms: bool
    violations: list[str]


class _WholeIRIs(NamespaceManager):
    """Writes every IRI whole (``<...>``) in pyshacl's report texts and binds nothing.

    rdflib abbreviates an IRI by binding a new prefix ``nsK`` for its namespace, trying
    ns1, ns2, ... each time, and every passage's selector IRIs (``.../p-...#quote``) have a
    namespace of their own: validation time grew with the square of the passages (hours at
    1,000 documents). The violations rubricate reports are read from the report graph, not
    from these texts, so nothing it shows changes."""

    def __init__(self, graph: Graph) -> None:
        super().__init__(graph, bind_namespaces="none")

    def normalizeUri(self, rdfTerm: str) -> str:  # noqa: N802,N803 (rdflib's name)
        return f"?{rdfTerm}" if isinstance(rdfTerm, Variable) else f"<{rdfTerm}>"


class _PreparedQueries(Graph):
    """A view of a graph (the same store: nothing copied) that parses each SPARQL text once.

    pyshacl runs a SPARQL constraint once per focus node, as text; rdflib parses the text
    again every time (about 35 ms, against 0.4 ms to run the parsed query), which made
    validation the longest stage of a build."""

    def __init__(self, g: Graph) -> None:
        super().__init__(store=g.store, identifier=g.identifier)
        self.namespace_manager = _WholeIRIs(self)
        self._prepared: dict[str, object] = {}

    def query(self, query_object, processor="sparql", result="sparql", initNs=None, initBindings=None,  # noqa: N803
              use_store_provided=True, **kwargs):
        if isinstance(query_object, str) and not initNs:
            if query_object not in self._prepared:
                self._prepared[query_object] = prepareQuery(query_object, initNs=dict(self.namespaces()))
            query_object = self._prepared[query_object]
        return super().query(query_object, processor, result, initNs, initBindings, use_store_provided, **kwargs)


def validate_graph(g: Graph) -> Validation:
    shapes = Graph().parse(SHAPES, format="turtle")
    # Principles/conditions live in the vocabulary; check against it even if the KB omits it
    # (a built KB holds it: then no copy of the whole graph is made for the check).
    vocab = Graph().parse(VOCABULARY, format="turtle")
    data = g + vocab if (None, RDF.type, None) in g and not all(t in g for t in vocab) else g
    # inplace: no inference is asked for, so pyshacl only reads the graph; without it pyshacl
    # copies the whole graph first
    conforms, report, _text = shacl_validate(_PreparedQueries(data), shacl_graph=shapes, inference="none",
                                             advanced=False, allow_warnings=False, inplace=True)
    violations = []
    q = f"""SELECT ?focus ?path ?msg WHERE {{
        ?r a <{SH}ValidationResult> ; <{SH}focusNode> ?focus ; <{SH}resultMessage> ?msg .
        OPTIONAL {{ ?r <{SH}resultPath> ?path }} }}"""
    for focus, path, msg in report.query(q):
        prop = str(path).rsplit("#", 1)[-1].rsplit("/", 1)[-1] if path is not None else "-"
        violations.append(f"{focus}: {prop}: {msg}")
    return Validation(bool(conforms), sorted(set(violations)))
