"""The knowledge base as generic linked-data tools read it: SKOS without inference, compacted
JSON-LD (PyLD round trip), W3C Web Annotations whose selectors select from the files
themselves, and SHACL shapes that check all of it."""
from __future__ import annotations

import hashlib
import json

import pytest
from rdflib import Graph, Literal
from rdflib.compare import isomorphic

from rubricate.guidelines.sources.registry import load_registry
from rubricate.ontology.namespaces import DCTERMS, OA, PROV, RBC, RDF, RDFS, SKOS
from rubricate.ontology.store import jsonld_context, load_kb
from rubricate.ontology.validate import validate_graph
from tests.external_tools import python_module


def test_skos_concepts_and_top_concepts_without_inference(kb_build):
    g = load_kb(kb_build.paths["turtle"])  # as a SKOS tool reads the file: no reasoning
    concepts = set(g.subjects(RDF.type, SKOS.Concept))
    principles = set(g.subjects(RDF.type, RBC.Principle))
    conditions = set(g.subjects(RDF.type, RBC.Condition))
    assert principles | conditions == concepts and len(principles) == 17 + 22
    schemes = set(g.subjects(RDF.type, SKOS.ConceptScheme))
    assert len(schemes) == 2
    for scheme in schemes:
        members = set(g.subjects(SKOS.inScheme, scheme))
        tops = set(g.objects(scheme, SKOS.hasTopConcept))
        assert tops == {m for m in members if g.value(m, SKOS.broader) is None} and tops
        assert all((t, SKOS.topConceptOf, scheme) in g for t in tops)
    assert len(set(g.objects(None, SKOS.hasTopConcept)) & principles) == 17


def test_kb_jsonld_is_compacted_with_the_published_context_and_round_trips_in_pyld(kb_build):
    jsonld = python_module("pyld.jsonld")
    doc = json.loads(kb_build.paths["jsonld"].read_text(encoding="utf-8"))
    assert doc["@context"] == jsonld_context()
    nodes = {n["id"]: n for n in doc["@graph"]}
    pos = next(n for i, n in nodes.items() if i.endswith("#position"))
    assert pos["type"] == "TextPositionSelector" and isinstance(pos["start"], int) and isinstance(pos["end"], int)
    quote = next(n for i, n in nodes.items() if i.endswith("#quote"))
    assert quote["type"] == "TextQuoteSelector" and isinstance(quote["exact"], str)
    ann = next(n for n in doc["@graph"] if n.get("type") == "Annotation")
    assert ann["motivation"] == "classifying" and ann["target"].startswith("https://w3id.org/rubricate/passage/")
    turtle = load_kb(kb_build.paths["turtle"])
    # PyLD: the file as written, and compact(expand(file)) with the context, hold the same graph
    as_written = Graph().parse(data=jsonld.to_rdf(doc, {"format": "application/n-quads"}), format="nt")
    assert isomorphic(as_written, turtle)
    again = jsonld.compact(jsonld.expand(doc), {"@context": jsonld_context()})
    assert len(again["@graph"]) == len(doc["@graph"])
    round_trip = Graph().parse(data=jsonld.to_rdf(again, {"format": "application/n-quads"}), format="nt")
    assert isomorphic(round_trip, turtle)


def _source_text(g: Graph, file_node) -> str:
    reg = load_registry()
    label = str(g.value(file_node, RDFS.label))
    path = next(reg.resolve(f) for d in reg.documents for f in d.files if f.path == label)
    return path.read_text(encoding="utf-8")


def test_every_passage_quote_selects_from_its_source_file_and_position_from_the_extracted_text(kb_build):
    g = kb_build.graph
    texts = {hashlib.sha256(p.text.encode()).hexdigest(): p.text
             for docs in kb_build.build.documents.values() for p in docs}
    files: dict = {}
    n = 0
    for p in g.subjects(RDF.type, RBC.Passage):
        src = g.value(p, OA.hasSource)
        if src not in files:
            files[src] = _source_text(g, src)
        selectors = {str(g.value(s, RDF.type)).rsplit("#", 1)[-1]: s for s in g.objects(p, OA.hasSelector)}
        q, pos = selectors["TextQuoteSelector"], selectors["TextPositionSelector"]
        exact = str(g.value(q, OA.exact))
        assert str(g.value(q, OA.prefix)) + exact + str(g.value(q, OA.suffix)) in files[src]
        assert files[src][int(g.value(pos, OA.start)):int(g.value(pos, OA.end))] == exact
        # the same span in the declared extracted text
        span = g.value(p, RBC.inExtractedText)
        text_node = g.value(span, OA.hasSource)
        assert (text_node, PROV.wasDerivedFrom, src) in g and (src, RBC.extractedText, text_node) in g
        assert g.value(text_node, RBC.extractor) is not None and g.value(text_node, RBC.extractorVersion) is not None
        extracted = texts[str(g.value(text_node, RBC.sha256))]
        xsel = {str(g.value(s, RDF.type)).rsplit("#", 1)[-1]: s for s in g.objects(span, OA.hasSelector)}
        start, end = int(g.value(xsel["TextPositionSelector"], OA.start)), int(g.value(xsel["TextPositionSelector"], OA.end))
        assert extracted[start:end] == str(g.value(p, RBC.text)) == str(g.value(xsel["TextQuoteSelector"], OA.exact))
        n += 1
    assert n == len(kb_build.build.passages) >= 250


def test_one_classifying_annotation_per_evidence_link(kb_build):
    g = kb_build.graph
    links = {(e, p) for e in g.subjects(RDF.type, RBC.Evidence) for p in g.objects(e, RBC.passage)}
    anns = list(g.subjects(RDF.type, OA.Annotation))
    assert len(anns) == len(links)
    seen = set()
    for a in anns:
        e, targets = g.value(a, PROV.wasDerivedFrom), set(g.objects(a, OA.hasTarget))
        p = g.value(next(iter(targets)), DCTERMS.isPartOf) or next(iter(targets))  # a page part's passage
        assert targets == (set(g.objects(p, DCTERMS.hasPart)) or {p})
        seen.add((e, p))
        assert (a, OA.motivatedBy, OA.classifying) in g
        assert g.value(a, OA.hasBody) == g.value(e, RBC.principle)
        assert (g.value(a, OA.hasBody), RDF.type, SKOS.Concept) in g
        assert set(g.objects(a, DCTERMS.creator)) >= set(g.objects(e, PROV.wasAttributedTo))
    assert seen == links


def test_no_machine_specific_path_in_any_literal(kb_build):
    text = kb_build.paths["turtle"].read_text(encoding="utf-8")
    assert "/work/" not in text and "/tmp/" not in text and "/home/" not in text and "/root/" not in text


@pytest.mark.parametrize("break_it, message", [
    (lambda g: [(g.remove((s, OA.end, None)), g.add((s, OA.end, Literal(0))))
                for s in list(g.subjects(RDF.type, OA.TextPositionSelector))[:1]], "start must be less than its end"),
    (lambda g: [g.remove((c, RDF.type, SKOS.Concept)) for c in list(g.subjects(RDF.type, RBC.Principle))[:1]],
     "skos:Concept"),
    (lambda g: [g.remove((s, SKOS.hasTopConcept, None)) for s in g.subjects(RDF.type, SKOS.ConceptScheme)],
     "top concepts"),
    (lambda g: [g.remove((a, OA.hasBody, None)) for a in list(g.subjects(RDF.type, OA.Annotation))[:1]],
     "body is one SKOS concept"),
    (lambda g: [g.remove((p, RBC.inExtractedText, None)) for p in list(g.subjects(RDF.type, RBC.Passage))[:1]],
     "span in the extracted text"),
    (lambda g: [g.remove((p, OA.hasSelector, None)) for p in list(g.subjects(RDF.type, RBC.Passage))[:1]],
     "TextQuoteSelector into its source file"),
    (lambda g: [(g.remove((f, RDFS.label, None)), g.add((f, RDFS.label, Literal("/home/me/guideline.pdf"))))
                for f in list(g.subjects(RDF.type, RBC.SourceFile))[:1]], "machine-specific"),
])
def test_shapes_check_the_linked_data(kb_build, break_it, message):
    g = Graph()
    g += kb_build.graph
    break_it(g)
    v = validate_graph(g)
    assert not v.conforms
    assert any(message in line for line in v.violations), v.violations[:5]
