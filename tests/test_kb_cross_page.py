"""Passages that run across a PDF page break (or a column break the text layer orders apart)
are anchored in the file itself: one W3C Web Annotation SpecificResource per part, each the
page FragmentSelector refined by a quote and a position selector into that page's text. Every
quote is checked against pdfminer's page text (the reading the selectors declare) and against
an independent reading of the same page (pypdfium2), on PDFs generated here."""
from __future__ import annotations

import json
import re

import pytest
import yaml
from rdflib import Graph, Literal

from rubricate.guidelines.sources.anchor import anchor_parts, source_texts
from rubricate.ontology.build import AcceptedLink, build_kb
from rubricate.guidelines.sources.registry import load_registry
from rubricate.ontology.linked_data import text_sha256
from rubricate.ontology.namespaces import DCTERMS, OA, RBC, RDF, document_iri
from rubricate.ontology.validate import validate_graph

pdfgen = pytest.importorskip("tests.pdfgen")
pdfium = pytest.importorskip("pypdfium2")
DOC = "own_page_break_guide_2026"
NOUNS = ("counsellor", "appointment", "formulation", "homework", "supervision", "relationship",
         "disclosure", "preferences", "warning", "discharge")
VERBS = ("reviews", "records", "explains", "revisits", "summarises", "questions", "schedules", "documents")
LAYOUTS = {  # (columns, body size) -> what the layout is known to produce (asserted below)
    "one-column": dict(columns=1, body_size=10),  # a paragraph runs on to the next page mid-word
    "two-columns": dict(columns=2, body_size=11.5),  # page breaks and a column pdfminer orders first
}


def sections() -> list:
    """Text written for this test; every sentence differs (numbered), so a quote can only be
    found where it was written."""
    out, n = [], 0
    for c in range(1, 4):
        for s in range(1, 3):
            paragraphs = []
            for p in range(1, 4):
                sentences = []
                for _ in range(4 + (c + s + p) % 4):
                    n += 1
                    sentences.append(f"Statement {n} says the {NOUNS[n % 10]} {VERBS[n % 8]} item "
                                     f"{n * 7 % 101} of {n + 3} interventions.")
                paragraphs.append(" ".join(sentences))
            out.append((("Own Guide Written For Page Break Tests", f"Chapter {c}", f"Part {c}.{s}"), paragraphs))
    return out


def letters(text: str) -> str:  # the same words, whatever the line breaks and hyphenation
    return re.sub(r"[\s\-\u00ad\u2010\ufffe]", "", text)


def _registry(tmp_path, layout: str):
    pdf = tmp_path / "guide.pdf"
    pdfgen.write_pdf(sections(), pdf, **LAYOUTS[layout])
    reg = tmp_path / "registry.yaml"
    reg.write_text(yaml.safe_dump({"documents": [{
        "id": DOC, "title": "Own guide written for page-break tests", "kind": "therapy-manual",
        "files": [{"path": "guide.pdf", "role": "source"}]}]}), encoding="utf-8")
    review = tmp_path / "mapping_review.yaml"
    review.write_text("documents: {}\n", encoding="utf-8")
    return pdf, reg, review


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def built(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(request.param)
    pdf, reg, review = _registry(tmp, request.param)
    first = build_kb(load_registry(reg), review)  # the passages, to accept each of them
    links = [AcceptedLink(doc_id=DOC, principle="therapeutic-alliance", passage_id=pid, reviewer="alice",
                          time="2026-12-06T12:00:00Z") for pid in sorted(first.passages)]
    result = build_kb(load_registry(reg), review, accepted=links)
    return request.param, pdf, result


def _file_selections(g: Graph, passage) -> list:
    """(specific resource, page, quote, position) for the passage's span(s) in its file."""
    out = []
    parts = sorted(g.objects(passage, DCTERMS.hasPart), key=lambda r: int(g.value(r, RBC.partIndex)))
    for r in parts or [passage]:
        frag = g.value(r, OA.hasSelector)
        assert (frag, RDF.type, OA.FragmentSelector) in g
        page = int(g.value(r, RBC.page))
        assert str(g.value(frag, RDF.value)) == f"page={page}"
        refined = set(g.objects(frag, OA.refinedBy))
        quote = next(s for s in refined if (s, RDF.type, OA.TextQuoteSelector) in g)
        pos = next(s for s in refined if (s, RDF.type, OA.TextPositionSelector) in g)
        out.append((r, page, quote, pos))
    return out


@pytest.mark.slow
def test_every_quote_is_read_from_its_page_of_the_file(built):
    layout, pdf, result = built
    g = result.graph
    assert not result.errors and not any("not found" in w for w in result.warnings), result.warnings
    declared = source_texts(pdf, "application/pdf")  # pdfminer, as the selectors declare
    doc = pdfium.PdfDocument(str(pdf))  # an independent reading of each page
    independent = {n + 1: letters(doc[n].get_textpage().get_text_range()) for n in range(len(doc))}
    parsed = result.documents[DOC][0]
    passages = list(g.subjects(RBC.document, document_iri(DOC)))
    passages = [p for p in passages if (p, RDF.type, RBC.Passage) in g]
    assert len(passages) == len(result.passages) >= 15
    crossing = mid_word = same_page = 0
    for p in passages:
        text = str(g.value(p, RBC.text))
        selections = _file_selections(g, p)
        pages = [page for _r, page, _q, _pos in selections]
        assert pages[0] == int(g.value(p, RBC.page)) and pages == sorted(pages)
        for r, page, quote, pos in selections:
            exact = str(g.value(quote, OA.exact))
            page_text = declared[page]
            assert page_text[int(g.value(pos, OA.start)):int(g.value(pos, OA.end))] == exact
            assert str(g.value(quote, OA.prefix)) + exact + str(g.value(quote, OA.suffix)) in page_text
            found = independent[page].count(letters(exact))  # once: every sentence differs
            assert found == 1 or (found > 1 and len(letters(exact)) < 12), (page, exact)  # "...interventi-|ons."
            assert g.value(r, OA.hasSource) == g.value(p, OA.hasSource)
        # the parts, in order, are the passage's words
        assert "".join(letters(str(g.value(q, OA.exact))) for _r, _p, q, _pos in selections) == letters(text)
        # the position selector of the span in the declared extracted text slices the passage
        span = g.value(p, RBC.inExtractedText)
        assert str(g.value(g.value(span, OA.hasSource), RBC.sha256)) == text_sha256(parsed)
        xpos = next(s for s in g.objects(span, OA.hasSelector) if (s, RDF.type, OA.TextPositionSelector) in g)
        assert parsed.text[int(g.value(xpos, OA.start)):int(g.value(xpos, OA.end))] == text
        if len(selections) > 1:
            assert (p, RDF.type, OA.SpecificResource) not in g and g.value(p, OA.hasSelector) is None
            crossing += len(set(pages)) > 1
            same_page += len(set(pages)) < len(pages)
            mid_word += str(g.value(selections[0][2], OA.exact)).endswith("-")
    assert crossing >= 1 and mid_word >= 1, (crossing, mid_word)
    if layout == "two-columns":
        assert crossing >= 2 and same_page >= 1, (crossing, same_page)
    assert validate_graph(g).conforms, validate_graph(g).violations[:5]


@pytest.mark.slow
def test_annotations_of_a_parted_passage_target_each_part(built):
    _layout, _pdf, result = built
    g = result.graph
    parted = [p for p in g.subjects(RDF.type, RBC.Passage) if (p, DCTERMS.hasPart, None) in g]
    assert parted
    for p in parted:
        parts = set(g.objects(p, DCTERMS.hasPart))
        anns = {a for part in parts for a in g.subjects(OA.hasTarget, part)}
        assert anns and not list(g.subjects(OA.hasTarget, p))
        for a in anns:
            assert set(g.objects(a, OA.hasTarget)) == parts
            assert (a, OA.motivatedBy, OA.classifying) in g


def _parted(g: Graph):
    p = next(p for p in sorted(g.subjects(RDF.type, RBC.Passage)) if (p, DCTERMS.hasPart, None) in g)
    parts = sorted(g.objects(p, DCTERMS.hasPart), key=lambda r: int(g.value(r, RBC.partIndex)))
    return p, parts


def _renumber(g, parts):
    g.set((parts[1], RBC.partIndex, Literal(1)))


def _wrong_page(g, parts):
    g.set((parts[0], RBC.page, Literal(int(g.value(parts[0], RBC.page)) + 1)))


def _one_target(g, parts):
    for a in list(g.subjects(OA.hasTarget, parts[1])):
        g.remove((a, OA.hasTarget, parts[1]))


def _second_passage(g, parts):
    other = next(t for t in sorted(g.objects(None, OA.hasTarget))
                 if (t, RDF.type, RBC.Passage) in g and (t, DCTERMS.hasPart, None) not in g)
    for a in list(g.subjects(OA.hasTarget, parts[0])):
        g.add((a, OA.hasTarget, other))


def _no_quote(g, parts):
    frag = g.value(parts[0], OA.hasSelector)
    for s in list(g.objects(frag, OA.refinedBy)):
        if (s, RDF.type, OA.TextQuoteSelector) in g:
            g.remove((frag, OA.refinedBy, s))


def _selector_of_its_own(g, parts):
    whole = g.value(parts[0], DCTERMS.isPartOf)
    g.add((whole, OA.hasSelector, g.value(parts[0], OA.hasSelector)))


def _earlier_page(g, parts):
    g.set((parts[1], RBC.page, Literal(int(g.value(parts[0], RBC.page)) - 1)))


@pytest.mark.slow
@pytest.mark.parametrize("break_it, message", [
    (_renumber, "numbered 1..n"),
    (_wrong_page, "on its own page"),
    (_one_target, "every part of it"),
    (_second_passage, "every part of it"),
    (_no_quote, "one TextQuoteSelector into the file's own text"),
    (_selector_of_its_own, "TextQuoteSelector into its source file"),
    (_earlier_page, "numbered 1..n"),
])
def test_shapes_check_parted_passages(built, break_it, message):
    g = Graph()
    g += built[2].graph
    _p, parts = _parted(g)
    break_it(g, parts)
    v = validate_graph(g)
    assert not v.conforms
    assert any(message in line for line in v.violations), v.violations[:5]


@pytest.mark.slow
def test_parted_passages_in_compacted_json_ld(built, tmp_path):
    from rubricate.ontology.store import jsonld_context, to_jsonld
    g = built[2].graph
    doc = json.loads(to_jsonld(g))
    assert doc["@context"] == jsonld_context()
    _p, parts = _parted(g)
    node = next(n for n in doc["@graph"] if n["id"] == str(parts[0]))
    assert "SpecificResource" in node["type"] and node["source"].startswith("https://w3id.org/rubricate/file/")
    ann = next(n for n in doc["@graph"] if n.get("type") == "Annotation" and str(parts[0]) in json.dumps(n["target"]))
    assert isinstance(ann["target"], list) and len(ann["target"]) == len(parts)


@pytest.mark.slow
def test_a_passage_not_in_the_files_text_is_left_out_with_a_warning(tmp_path, monkeypatch):
    """A passage no quote can select from the file (here: page 2's text layer read as empty)
    is not cited: the build warns, naming the file and page, and the rest still conforms."""
    import rubricate.ontology.build as build_module
    pdf, reg, review = _registry(tmp_path, "one-column")
    real = build_module.source_texts

    def without_page_2(path, media_type):
        texts = real(path, media_type)
        return {**texts, 2: ""} if 2 in texts else texts

    monkeypatch.setattr(build_module, "source_texts", without_page_2)
    result = build_kb(load_registry(reg), review)
    warning = next(w for w in result.warnings if "not found in the file's own text" in w)
    assert warning.startswith("guide.pdf: ") and "page(s) 2" in warning and "left out" in warning
    g = result.graph
    pages = {int(g.value(p, RBC.page)) for p in g.subjects(RDF.type, RBC.Passage)}
    assert pages and 2 not in pages
    assert validate_graph(g).conforms


def test_anchor_parts_splits_only_what_one_page_cannot_hold():
    texts = {1: "Header\nThe counsellor agrees a plan and sche-\n\nPage 1\n\x0c",
             2: "Header\ndules the next meeting today.\nAnother paragraph.\n\x0c"}
    parts = anchor_parts("The counsellor agrees a plan and schedules the next meeting today.", texts, 1)
    assert [(a.page, a.exact) for a in parts] == [(1, "The counsellor agrees a plan and sche-"),
                                                  (2, "dules the next meeting today.")]
    assert all(texts[a.page][a.start:a.end] == a.exact for a in parts)
    whole = anchor_parts("Another paragraph.", texts, 2)
    assert [(a.page, a.exact) for a in whole] == [(2, "Another paragraph.")]
    assert anchor_parts("A sentence that is in no page at all.", texts, 1) is None
    # a ligature glyph in the text layer matches the letters it stands for
    lig = anchor_parts("Confidentiality is defined first.", {1: "Con\ufb01dentiality is de\ufb01ned first.\n"}, 1)
    assert lig[0].exact == "Con\ufb01dentiality is de\ufb01ned first."
