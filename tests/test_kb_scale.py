"""A knowledge base of many documents: deterministic Turtle, re-parsing only what changed, a
progress line per stage, and builds of generated guidelines (tests/guidegen.py).

Nothing here asserts a time: bench/kb_scale.py measures build and compile as the registry grows.
"""
from __future__ import annotations

import random
import re

import pytest
from click.testing import CliRunner
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD

from rubricate.guidelines.sources import anchor as anchoring
from rubricate.guidelines.sources import text as text_extractor
from rubricate.guidelines.kernel.workspace import using_workspace
from rubricate.ontology.progress import STAGES, parse_line
from rubricate.ontology.store import canonical_nt, kb_hash, load_kb, to_turtle
from tests.guidegen import WORDS_PER_PAGE, doc_id, guideline_markdown, touch_document, write_corpus


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """An empty workspace with its own parse cache; the process's workspace is reset after."""
    monkeypatch.setenv("RUBRICATE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("RUBRICATE_REGISTRY", raising=False)
    ws = tmp_path / "ws"
    ws.mkdir()
    with using_workspace(ws):
        yield ws


def test_generated_guidelines_are_deterministic_and_about_the_asked_length():
    one, again, other = guideline_markdown(7, pages=5), guideline_markdown(7, pages=5), guideline_markdown(8, pages=5)
    assert one == again and one != other
    words = len(re.sub(r"^#+ .*$", "", one, flags=re.M).split())
    assert 5 * WORDS_PER_PAGE <= words <= 5 * WORDS_PER_PAGE + 400
    assert one.count("\n## ") >= 1 and "- Recommendation " in one


def test_turtle_is_sorted_deterministic_and_loads_back(kb_build, tmp_path):
    g = kb_build.graph
    text = to_turtle(g)
    assert to_turtle(g) == text
    back = Graph().parse(data=text, format="turtle")
    assert set(back) == set(g)
    # a graph read back from the file writes the same bytes (no dependence on insertion order)
    assert to_turtle(back) == text and kb_hash(back) == kb_build.kb_sha256
    written = (kb_build.paths["turtle"]).read_text(encoding="utf-8")
    assert written == text
    subjects = [line.split(" ", 1)[0] for line in text.split("\n\n")[1:] if line]
    assert subjects == sorted(subjects)


def test_turtle_writes_awkward_literals_exactly():
    g = Graph()
    s, p = URIRef("https://example.org/s"), URIRef("https://example.org/p")
    for lit in (Literal('a "quoted" \\ back\nslash\r\ttab """ end"'), Literal("ünïcode ☃"), Literal("x", lang="en-GB"),
                Literal(7), Literal(-3), Literal(True), Literal("2024", datatype=XSD.gYear), Literal(1.5),
                Literal("https://example.org/a b", datatype=XSD.anyURI), Literal("")):
        g.add((s, p, lit))
    g.add((s, URIRef("https://w3id.org/rubricate/vocab#text"), URIRef("https://w3id.org/rubricate/passage/p-1#quote")))
    text = to_turtle(g)
    assert set(Graph().parse(data=text, format="turtle")) == set(g)
    assert " 7, " in text or " 7 ;" in text or ", 7" in text  # integers in canonical form are written bare
    assert "rbc:text" in text and "@prefix rbc:" in text and "@prefix oa:" not in text  # only used prefixes


def test_kb_hash_is_the_sorted_ntriples_of_rdflib(kb_build):
    lines = sorted(l for l in kb_build.graph.serialize(format="nt").splitlines() if l.strip())
    assert canonical_nt(kb_build.graph) == "\n".join(lines) + "\n"


def _regex_spans(passage: str, text: str, occurrence: int):
    spans = [m.span() for m in anchoring._pattern(passage, False).finditer(text)]
    return spans[min(occurrence, len(spans) - 1)] if spans else None


def test_anchoring_without_a_regex_finds_what_the_regex_finds():
    rnd = random.Random(20)
    pieces = ["a", "b", "ab", ">", "> b", "\n", " ", "\n  > ", "\t", "\n>", "x>y", "a\n", "b.", "\n\n"]
    for _ in range(3000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 30)))
        passage = " ".join(rnd.choice(["a", "b", "ab", "x>y", "a>", "b."]) for _ in range(rnd.randint(1, 4)))
        for occurrence in (0, 1, 2):
            expected = _regex_spans(passage, text, occurrence)
            got = anchoring.anchor(passage, {None: text}, None, occurrence)
            assert ((got.start, got.end) if got else None) == expected, (text, passage, occurrence)


def _count_markdown_parses(monkeypatch) -> list[str]:
    """Every real read of a Markdown file by its extractor (a parse-cache hit reads nothing)."""
    seen: list[str] = []
    name, parse = text_extractor._PARSERS["text/markdown"]

    def counting(source: str):
        seen.append(source.splitlines()[0])
        return parse(source)
    monkeypatch.setitem(text_extractor._PARSERS, "text/markdown", (name, counting))
    return seen


def test_a_rebuild_reads_only_the_changed_document(workspace, monkeypatch):
    from rubricate.ontology.kb import build
    files = write_corpus(workspace, 3, pages=2)
    parses = _count_markdown_parses(monkeypatch)
    first = build(workers=1)
    assert first.ok and first.build.parsed == 13 and len(parses) == 13  # 10 bundled digests + 3 generated
    parses.clear()
    again = build(workers=1)
    assert again.build.parsed == 0 and parses == [] and again.kb_sha256 == first.kb_sha256
    touch_document(files[1])
    changed = build(workers=1)
    assert changed.build.parsed == 1 and len(parses) == 1 and parses[0].startswith("# Generated practice guide 2:")
    assert changed.kb_sha256 != first.kb_sha256
    assert len(changed.build.passages) == len(first.build.passages) + 1  # the added closing remark


def test_build_prints_a_line_per_stage_on_stderr_only(workspace):
    from rubricate.cli import main
    write_corpus(workspace, 2, pages=2)
    result = CliRunner().invoke(main, ["--workspace", str(workspace), "build", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "build:" not in result.stdout and "documents: 12" in result.stdout
    finals = [f for f in (parse_line(line) for line in result.stderr.splitlines()) if f]
    assert [stage for stage, _ in finals] == list(STAGES)
    assert all(seconds >= 0 for _, seconds in finals)
    assert re.search(r"build: parse: 12 files of 12 documents: 12 read, 0 from the parse cache", result.stderr)
    assert (workspace / "build" / "kb" / "kb.ttl").is_file()


def test_many_generated_documents_build_validate_and_load(workspace):
    from rubricate.ontology.kb import build
    write_corpus(workspace, 10, pages=3)
    result = build(out=workspace / "kb")
    assert result.ok and result.validation.conforms, result.validation.violations[:3]
    docs = {d for d in result.build.documents}
    assert {doc_id(i) for i in range(1, 11)} <= docs and len(docs) == 20
    generated = [p for p in result.build.passages.values() if p.doc_id.startswith("gen_guide_")]
    assert len(generated) >= 10 * 3 * WORDS_PER_PAGE // 120
    assert all(p.verified for p in generated)  # role source: locators read from the file itself
    loaded = load_kb(workspace / "kb")
    assert len(loaded) == len(result.graph) and kb_hash(loaded) == result.kb_sha256


@pytest.mark.slow
def test_thirty_page_guidelines_at_ten_documents(workspace):
    """The bench's document size (about 30 pages each), ten of them: the KB holds every passage."""
    from rubricate.ontology.kb import build
    write_corpus(workspace, 10, pages=30)
    result = build(out=workspace / "kb")
    assert result.ok and result.validation.conforms
    generated = [p for p in result.build.passages.values() if p.doc_id.startswith("gen_guide_")]
    assert len(generated) > 10 * 100
    text = (workspace / "kb" / "kb.ttl").read_text(encoding="utf-8")
    assert to_turtle(Graph().parse(data=text, format="turtle")) == text


def test_citations_walk_the_graph_to_the_rows_of_their_query(kb_build):
    from rubricate.ontology.citations import _Q, _rows
    g = kb_build.graph
    assert sorted(_rows(g)) == sorted(tuple(r) for r in g.query(_Q))


def test_validation_binds_no_prefix_per_passage(kb_build):
    """rdflib binds a new nsK prefix for each namespace it abbreviates, scanning ns1..nsK:
    pyshacl's report texts for every passage made validation quadratic."""
    from rubricate.ontology.validate import validate_graph
    g = kb_build.graph
    before = sorted(g.namespaces())
    assert validate_graph(g).conforms
    assert sorted(g.namespaces()) == before
