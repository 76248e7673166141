"""The knowledge base: complete, valid, deterministic, and every statement traceable to text."""
from __future__ import annotations

import csv
import io
import subprocess
import sys

from rdflib import Graph, Literal

from rubricate.ontology.namespaces import OA, RBC, RDF, evidence_iri, passage_iri
from rubricate.ontology.store import load_kb
from rubricate.ontology.table import table_rows, to_csv
from rubricate.ontology.validate import validate_graph
from tests.cli_run import run_cli
from tests.conftest import REPO


def test_build_conforms_and_supports_every_study_cell(kb_build):
    assert kb_build.build.errors == []
    assert kb_build.build.unsupported == []
    assert kb_build.validation.conforms, kb_build.validation.violations
    assert set(kb_build.paths) == {"turtle", "jsonld", "report"}


def test_table_reproduces_the_study_cell_by_cell(kb_build, anchor):
    header, rows = table_rows(kb_build.graph)
    ours = list(csv.reader(io.StringIO(to_csv(header, rows))))
    with open(anchor / "mapping_review_annotations.csv", newline="", encoding="utf-8") as fh:
        theirs = list(csv.reader(fh))
    assert ours[0] == theirs[0]
    assert len(ours) == len(theirs)
    for r_ours, r_theirs in zip(ours, theirs):
        for col, a, b in zip(theirs[0], r_ours, r_theirs):
            assert a == b, f"{r_theirs[0]} / {col}: ours {a!r}, study {b!r}"


def test_every_evidence_quote_is_verbatim_in_the_text_the_build_read(kb_build):
    g = kb_build.graph
    texts = {p.sha256: p for docs in kb_build.build.documents.values() for p in docs}
    n = 0
    for ev in g.subjects(RDF.type, RBC.Evidence):
        passages = list(g.objects(ev, RBC.passage))
        assert passages, f"{ev} has no passage"
        for pas in passages:
            source = g.value(pas, OA.hasSource)
            sha = str(g.value(source, RBC.sha256))
            text = texts[sha].text
            extracted = g.value(pas, RBC.inExtractedText)  # the span in the extracted text
            assert g.value(extracted, OA.hasSource) == g.value(source, RBC.extractedText)
            for sel in g.objects(extracted, OA.hasSelector):
                if (sel, RDF.type, OA.TextQuoteSelector) in g:
                    exact = str(g.value(sel, OA.exact))
                    assert exact in text
                if (sel, RDF.type, OA.TextPositionSelector) in g:
                    start, end = int(g.value(sel, OA.start)), int(g.value(sel, OA.end))
                    assert text[start:end] == str(g.value(pas, RBC.text))
            n += 1
    assert n >= 150  # the study codes ~170 cells; each has at least one passage


def test_written_files_are_byte_identical_across_processes(kb_build, tmp_path):
    cmd = [sys.executable, "-m", "rubricate", "build", "--out", str(tmp_path)]
    subprocess.run(cmd, check=True, cwd=REPO, capture_output=True)
    for name in ("kb.ttl", "kb.jsonld"):
        assert (tmp_path / name).read_bytes() == kb_build.paths["turtle" if name.endswith("ttl") else "jsonld"].read_bytes()


def test_turtle_and_jsonld_hold_the_same_graph(kb_build):
    a = load_kb(kb_build.paths["turtle"])
    b = load_kb(kb_build.paths["jsonld"])
    assert len(a) == len(b) == len(kb_build.graph)


def test_dangling_evidence_link_fails_validation_with_a_clear_message(kb_build):
    g = Graph()
    g += kb_build.graph
    ev = next(iter(g.subjects(RDF.type, RBC.Evidence)))
    g.add((ev, RBC.passage, passage_iri("p-doesnotexist0000")))
    v = validate_graph(g)
    assert not v.conforms
    assert any(str(ev) in line and "passage that exists" in line for line in v.violations), v.violations


def test_evidence_without_agent_or_method_fails(kb_build):
    g = Graph()
    g += kb_build.graph
    bad = evidence_iri("broken")
    g.add((bad, RDF.type, RBC.Evidence))
    v = validate_graph(g)
    assert not v.conforms
    joined = "\n".join(v.violations)
    for needed in ("document", "passage", "principle", "agent", "method"):
        assert needed in joined
    assert all(str(bad) in line for line in v.violations)


def test_sparql_query_cli_outputs_csv(kb_build):
    q = ("SELECT ?doc (COUNT(?e) AS ?n) WHERE { ?e a rbc:Evidence ; rbc:document ?d . "
         "?d dcterms:identifier ?doc } GROUP BY ?doc ORDER BY ?doc")
    res = run_cli("query", q, "--kb", str(kb_build.paths["turtle"]), "--format", "csv", cwd=REPO)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["doc", "n"]
    assert len(rows) == 11
    assert all(int(n) > 0 for _, n in rows[1:])


def test_validate_cli_reports_violations_and_exit_code(kb_build, tmp_path):
    g = load_kb(kb_build.paths["turtle"])
    ev = next(iter(g.subjects(RDF.type, RBC.Evidence)))
    g.remove((ev, RBC.passage, None))
    bad = tmp_path / "bad.ttl"
    g.serialize(bad, format="turtle")
    res = run_cli("validate", str(bad), cwd=REPO)
    assert res.returncode == 1
    assert "at least one passage" in res.stderr
    ok = run_cli("validate", str(kb_build.paths["turtle"]), cwd=REPO)
    assert ok.returncode == 0 and "conforms" in ok.stdout


def test_every_principle_has_a_definition_and_conditions(kb_build):
    from rdflib.namespace import SKOS
    g = kb_build.graph
    principles = list(g.subjects(RDF.type, RBC.Principle))
    assert len(principles) == 17 + 22
    for p in principles:
        assert g.value(p, SKOS.definition) is not None
        if g.value(p, SKOS.broader) is None:  # top-level features name the conditions they concern
            assert list(g.objects(p, RBC.concernsCondition)), p


def test_evidence_is_attributed_to_the_study_with_its_method(kb_build):
    g = kb_build.graph
    from rubricate.ontology.namespaces import PROV, agent_iri, method_iri
    evs = list(g.subjects(RBC.method, method_iri("mapping-review-annotation")))
    assert evs
    for ev in evs:
        assert (ev, PROV.wasAttributedTo, agent_iri("moore2025")) in g
        assert g.value(ev, RBC.linkMethod) is not None
    assert Literal(False) in set(g.objects(None, RBC.locatorVerified))  # digests are unverified
