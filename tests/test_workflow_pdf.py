"""The researcher's workflow end to end, through the CLI: register a PDF of a document,
review the extraction proposals, rebuild, and the knowledge base then cites real pages."""
from __future__ import annotations

import csv
import json
import re
import shutil

import pytest

from rubricate.ontology.namespaces import DCTERMS, OA, RBC, RDF, document_iri, method_iri
from rubricate.ontology.store import load_kb
from tests.cli_run import run_cli
from tests.conftest import REPO

DOC = "national_institute_for_health_and_care_excellence_obsessive-compulsive_2005"


def cli(*args: str, env: dict | None = None):
    return run_cli(*args, cwd=REPO, env=env)


@pytest.fixture()
def workspace(tmp_path):
    pdfgen = pytest.importorskip("tests.pdfgen")
    reg_dir = tmp_path / "guidelines"
    shutil.copytree(REPO / "guidelines" / "digests", reg_dir / "digests")
    shutil.copy(REPO / "guidelines" / "registry.yaml", reg_dir / "registry.yaml")
    pdf = tmp_path / "nice-cg31.pdf"
    pdfgen.write_digest_pdf(reg_dir / "digests" / f"{DOC}.md", pdf, columns=2, roman_pages=2, header="NICE CG31 (synthetic)")
    return tmp_path, reg_dir / "registry.yaml", pdf


def test_registered_pdf_reviewed_passages_become_verified_citations(workspace):
    tmp, registry, pdf = workspace
    env = {"RUBRICATE_CACHE_DIR": str(tmp / "cache")}
    # the PDF lies outside the registry's folder: refused unless a sources root holds it
    res = cli("guidelines", "add", str(pdf), "--id", DOC, "--registry", str(registry), env=env)
    assert res.returncode == 2 and "RUBRICATE_SOURCES" in res.stderr and len(res.stderr.splitlines()) == 1
    env["RUBRICATE_SOURCES"] = str(tmp)
    res = cli("guidelines", "add", str(pdf), "--id", DOC, "--registry", str(registry), env=env)
    assert res.returncode == 0, res.stderr
    assert "added (application/pdf" in res.stdout
    assert "${RUBRICATE_SOURCES}/nice-cg31.pdf" in registry.read_text() and str(tmp) not in registry.read_text()

    res = cli("review", "export", "--reviewer", "alice", "--doc", DOC, "--out", str(tmp / "review"),
              "--registry", str(registry), env=env)
    assert res.returncode == 0, res.stderr
    sheet = next((tmp / "review").glob("*.csv"))
    with sheet.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        columns = reader.fieldnames
    pdf_rows = [r for r in rows if r.get("page")]  # proposals in the PDF (digest passages have no page)
    assert pdf_rows, "extraction proposed nothing in the PDF"
    for r in rows:
        r["decision"] = "accept" if r in pdf_rows else "reject"
        r["reviewer"] = "alice"
        r["time"] = "2026-11-26T12:00:00Z"
    with sheet.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)
    res = cli("review", "import", str(sheet), "--decisions-dir", str(tmp / "decisions"), env=env)
    assert res.returncode == 0, res.stderr

    res = cli("build", "--registry", str(registry), "--decisions", str(tmp / "none.jsonl"), "--out", str(tmp / "kb-old"),
              env=env)
    assert res.returncode == 0, res.stderr + res.stdout
    res = cli("build", "--registry", str(registry), "--decisions", str(tmp / "decisions" / "decisions.jsonl"),
              "--out", str(tmp / "kb"), env=env)
    assert res.returncode == 0, res.stderr + res.stdout
    g = load_kb(tmp / "kb")
    assert not any(str(tmp) in (tmp / "kb" / name).read_text() for name in ("kb.ttl", "kb.jsonld", "build-report.json"))
    accepted = {(r["feature"]) for r in pdf_rows}
    reviewed = [e for e in g.subjects(RBC.document, document_iri(DOC))
                if (e, RBC.linkMethod, method_iri("human-review")) in g]
    assert reviewed
    for e in reviewed:
        for p in g.objects(e, RBC.passage):
            assert g.value(p, RBC.locatorVerified).toPython() is True
            assert int(g.value(p, RBC.page)) >= 1
            for r in list(g.objects(p, DCTERMS.hasPart)) or [p]:  # the passage, or each page part
                frag = [s for s in g.objects(r, OA.hasSelector) if (s, RDF.type, OA.FragmentSelector) in g]
                assert frag and str(g.value(frag[0], RDF.value)).startswith("page=")
            assert (e, RBC.linkedBy, None) in g
    # Web Annotation: the page fragment is refined by a quote and a position that select the
    # passage from that page of the PDF itself (its text layer as pdfminer reads it)
    from pdfminer.high_level import extract_text
    from rubricate.ontology.namespaces import PROV, RDFS
    def letters(t: str) -> str:  # the same words, whatever the line breaks and hyphenation
        return re.sub(r"[\s\-\u00ad\u2010]", "", t)

    pdf_file = next(f for f in g.objects(document_iri(DOC), RBC.hasFile) if str(g.value(f, RBC.role)) == "source")
    label = str(g.value(pdf_file, RDFS.label))  # no machine-specific path kept
    assert label.endswith(pdf.name) and str(tmp) not in label and not label.startswith("/")
    passages = [p for p in g.subjects(OA.hasSource, pdf_file) if (p, RDF.type, RBC.Passage) in g]
    anchored = parted = 0
    for p in passages:
        text = str(g.value(p, RBC.text))
        # a paragraph that runs on to the next page is selected part by part, one per page
        parts = sorted(g.objects(p, DCTERMS.hasPart), key=lambda r: int(g.value(r, RBC.partIndex)))
        parted += bool(parts)
        exacts = []
        for r in parts or [p]:
            page = int(g.value(r, RBC.page))
            page_text = extract_text(str(pdf), page_numbers=[page - 1])
            frag = next(s for s in g.objects(r, OA.hasSelector) if (s, RDF.type, OA.FragmentSelector) in g)
            assert str(g.value(frag, RDF.value)) == f"page={page}"
            refined = list(g.objects(frag, OA.refinedBy))
            quote = next(s for s in refined if (s, RDF.type, OA.TextQuoteSelector) in g)
            pos = next(s for s in refined if (s, RDF.type, OA.TextPositionSelector) in g)
            exact = str(g.value(quote, OA.exact))
            assert str(g.value(quote, OA.prefix)) + exact + str(g.value(quote, OA.suffix)) in page_text
            assert page_text[int(g.value(pos, OA.start)):int(g.value(pos, OA.end))] == exact
            exacts.append(exact)
        assert letters("".join(exacts)) == letters(text)
        anchored += 1
    assert anchored == len(passages) >= 10 and parted >= 1, (anchored, parted, len(passages))
    # each accepted decision is a PROV activity of its reviewer at the decision time
    reviews = list(g.subjects(RDF.type, RBC.Review))
    assert reviews
    for act in reviews:
        assert (act, RDF.type, PROV.Activity) in g
        assert str(g.value(act, PROV.wasAssociatedWith)).endswith("/reviewer/alice")
        assert str(g.value(act, PROV.endedAtTime)).startswith("2026-11-26T12:00:00")
    # study cells the reviewer confirmed in the PDF now cite it; the rest still cite the digest
    from rubricate.ontology.namespaces import principle_id
    confirmed = {principle_id(g.value(e, RBC.principle)) for e in reviewed}
    assert confirmed <= accepted | {f.split("/")[0] for f in accepted}
    diff = cli("diff", str(tmp / "kb-old"), str(tmp / "kb"), "--format", "json")
    assert diff.returncode == 1, diff.stderr  # the builds differ (exit status as diff(1))
    assert DOC in diff.stdout and "added" in diff.stdout
