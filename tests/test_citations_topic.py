"""Citations stay on topic: relevance (condition, principle) first, a verified locator only
as a tie-break among relevant documents, so one reviewed PDF never changes the citations of
conditions its document does not cover."""
from __future__ import annotations

from rdflib import Graph, Literal

from rubricate.guidelines.sources.model import Passage
from rubricate.ontology.build import add_passage, condition_ids, load_vocabulary, principle_ids
from rubricate.ontology.citations import citations_for
from rubricate.ontology.namespaces import (DCTERMS, PROV, RBC, RDF, agent_iri, condition_iri, document_iri,
                                           evidence_iri, file_iri, method_iri, passage_iri, principle_iri)

NEW_DOC = "own_suicide_guide_2026"
COVERS = "suicidal-ideation"


def with_reviewed_pdf(g: Graph, principles: list[str]) -> Graph:
    """A copy of ``g`` plus a registered, reviewed PDF about one condition: one verified
    passage per principle, each accepted by a reviewer."""
    out = Graph()
    out += g
    d, f = document_iri(NEW_DOC), file_iri("f" * 64)
    for t in ((d, RDF.type, RBC.Document), (d, DCTERMS.title, Literal("Our suicide-care guide")),
              (d, DCTERMS.identifier, Literal(NEW_DOC)), (d, RBC.listPosition, Literal(11)),
              (d, RBC.coversCondition, condition_iri(COVERS)), (d, RBC.hasFile, f),
              (f, RDF.type, RBC.SourceFile), (f, RBC.role, Literal("source")), (f, RBC.sha256, Literal("f" * 64))):
        out.add(t)
    for i, p in enumerate(principles):
        pid = f"p-{i:016x}"
        add_passage(out, Passage(id=pid, doc_id=NEW_DOC, sha256="f" * 64, start=i * 100, end=i * 100 + 50,
                                 text=f"Reviewed sentence number {i}.", prefix="", suffix="", page=1 + i % 7,
                                 page_label=None, section_path=("Care",), extractor="rubricate.pdf",
                                 extractor_version="1", verified=True))
        e = evidence_iri(f"new-{i}")
        for t in ((e, RDF.type, RBC.Evidence), (e, RBC.document, d), (e, RBC.principle, principle_iri(p)),
                  (e, RBC.passage, passage_iri(pid)), (e, RBC.method, method_iri("human-review")),
                  (e, PROV.wasAttributedTo, agent_iri("reviewer/alice"))):
            out.add(t)
    return out


def test_a_reviewed_pdf_about_one_condition_leaves_other_conditions_citations_unchanged(kb_build):
    g = kb_build.graph
    principles = principle_ids(load_vocabulary())
    after_g = with_reviewed_pdf(g, principles)
    specific = {str(d) for d in g.subjects(RBC.coversCondition, None)}
    changed_own = checked = 0
    for condition in condition_ids():
        covering = {str(d) for d in g.subjects(RBC.coversCondition, condition_iri(condition))}
        for p in principles:
            before = [(c["document"], c["passage"]) for c in citations_for(g, p, condition)]
            after = [(c["document"], c["passage"]) for c in citations_for(after_g, p, condition)]
            if condition == COVERS:
                # relevant and verified: the new PDF is now cited first for its own condition
                assert after[0][0] == NEW_DOC, (p, after)
                changed_own += before != after
            elif any(str(document_iri(d)) in covering or str(document_iri(d)) not in specific
                     for d, _ in before):
                # a relevant document backs the principle: the new PDF changes nothing
                assert after == before, (p, condition)
                checked += 1
            # else: no relevant document has the principle; the fallback may now use the new PDF
    assert changed_own == len(principles) and checked > len(principles) * 4


def test_every_criterion_of_the_default_rubric_has_a_relevant_citation(kb_build):
    """So the guarantee above covers every criterion the bundled rubric compiles."""
    import json
    from tests.conftest import REPO
    g = kb_build.graph
    specific = {str(d) for d in g.subjects(RBC.coversCondition, None)}
    rubric = json.loads((REPO / "rubrics" / "rubricate-default.json").read_text())
    for item in rubric["items"]:
        covering = {str(d) for d in g.subjects(RBC.coversCondition, condition_iri(item["condition"]))}
        for crit in item["criteria"]:
            docs = [str(document_iri(c["document"])) for c in citations_for(g, crit["principle"], item["condition"])]
            assert any(d in covering or d not in specific for d in docs), crit["id"]


def test_verified_locator_is_only_a_tie_break_among_relevant_documents(kb_build):
    g = with_reviewed_pdf(kb_build.graph, ["dont-stigmatize"])
    ocd = citations_for(g, "dont-stigmatize", "obsessive-compulsive", limit=None)
    covering = {"national_institute_for_health_and_care_excellence_obsessive-compulsive_2005", "foa_exposure_2012"}
    docs = [c["document"] for c in ocd]
    assert NEW_DOC not in docs  # another condition's document, while relevant ones exist
    assert set(docs[:len(covering & set(docs))]) <= covering  # documents covering OCD come first
    # with no condition every document is relevant: the verified passage ranks first
    assert citations_for(g, "dont-stigmatize", None)[0]["document"] == NEW_DOC


def test_a_missing_source_file_is_reported_once_before_any_decision_message(kb_build, tmp_path):
    """One error line for the file, one summary line for its decisions, nothing per decision;
    an unknown condition in a hand-edited registry is an error too."""
    import json
    import shutil
    from click.testing import CliRunner
    from rubricate.cli import main
    from tests.conftest import REPO
    doc = "foa_exposure_2012"
    shutil.copytree(REPO / "guidelines" / "digests", tmp_path / "digests")
    shutil.copy(REPO / "guidelines" / "registry.yaml", tmp_path / "registry.yaml")
    (tmp_path / "digests" / f"{doc}.md").unlink()
    reg = tmp_path / "registry.yaml"  # a hand edit with a typo in a condition id
    reg.write_text(reg.read_text().replace("conditions: [mania, depression]", "conditions: [mania, depresion]"))
    rec = {"schema": "rubricate.review-decision/1", "reviewer": "alice", "time": "2026-01-01T00:00:00+00:00",
           "decision": "accept", "relabel_to": None, "note": "", "doc_id": doc, "sha256": "a" * 64,
           "quote": "text", "feature": "hospitalize"}
    log = tmp_path / "decisions.jsonl"
    log.write_text("".join(json.dumps({**rec, "passage_id": f"p-{i:016x}", "start": i * 10, "end": i * 10 + 4})
                           + "\n" for i in range(5)))
    r = CliRunner().invoke(main, ["build", "--registry", str(tmp_path / "registry.yaml"),
                                                  "--decisions", str(log), "--out", str(tmp_path / "kb")])
    assert r.exit_code == 1
    lines = r.stderr.splitlines()
    missing = [i for i, l in enumerate(lines) if f"{doc}.md" in l]
    assert len(missing) == 1 and lines[missing[0]].startswith("error: ")
    about = [i for i, l in enumerate(lines) if "decision" in l]
    assert len(about) == 1 and about[0] > missing[0]
    assert f"{doc}: 5 accepted decision(s) not applied" in lines[about[0]]
    assert any(l.startswith("error: ") and "covers unknown condition 'depresion'" in l for l in lines)
