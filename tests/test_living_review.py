"""The mapping review as a living document, end to end through the CLI: register a generated
multi-page guideline PDF, review it with two reviewers who disagree, adjudicate, build,
register a second edition with one page changed, rebuild. Every decision on an unchanged
page is re-anchored with its reviewer, the changed page's decisions are listed for
re-review, `diff` reports both, and the citations of other conditions do not change."""
from __future__ import annotations

import csv
import json
import shutil

import pytest
from click.testing import CliRunner

from rubricate.ontology.citations import citations_for
from rubricate.ontology.namespaces import PROV, RBC, RDF, agent_iri, condition_iri, document_iri, passage_iri
from rubricate.ontology.store import load_kb
from tests.conftest import REPO

pytestmark = pytest.mark.slow

# Bob rejects what Alice accepts on these features (disagreements); Carol adjudicates them.
BOB_REJECTS = {"location/inpatient", "support-outside-conversation/employment", "dont-stigmatize",
               "therapist-qualities/show-interest"}
CAROL_ACCEPTS = {"support-outside-conversation/employment", "therapist-qualities/show-interest"}
BOTH_REJECT = {"emotional-intelligence", "client-centered"}


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader), reader.fieldnames


def write_rows(path, rows, columns, delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, delimiter=delimiter)
        w.writeheader()
        w.writerows(rows)


def ok(result, code=0):
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("RUBRICATE_CACHE_DIR", str(tmp_path / "cache"))
    from rubricate.cli import main
    return lambda *args: CliRunner().invoke(main, [str(a) for a in args])


def test_living_review_new_edition_dual_coding_and_adjudication(tmp_path, cli, kb_build):
    pytest.importorskip("fpdf")
    from tests import living_guide as guide
    reg_dir = tmp_path / "guidelines"
    shutil.copytree(REPO / "guidelines" / "digests", reg_dir / "digests")
    shutil.copy(REPO / "guidelines" / "registry.yaml", reg_dir / "registry.yaml")
    registry = reg_dir / "registry.yaml"
    pdf = reg_dir / "living-guide.pdf"  # beside the registry: recorded relative to it
    placed = guide.write_edition(pdf, 1)
    assert placed.page_count == 8
    log_dir = tmp_path / "decisions"
    log = log_dir / "decisions.jsonl"

    # 1. register the PDF (checked before parsing; a diff of this document's lines only)
    out = ok(cli("guidelines", "add", pdf, "--id", guide.DOC_ID, "--title", guide.TITLE, "--kind",
                 "therapy-manual", "--condition", *guide.CONDITIONS, "--year", "2026", "--registry", registry))
    assert "added (application/pdf, 8 pages" in out

    # 2. two reviewers code the proposals; Bob saves his sheet with semicolons
    for reviewer in ("alice", "bob"):
        ok(cli("review", "export", "--reviewer", reviewer, "--doc", guide.DOC_ID, "--out", tmp_path / "sheets",
               "--registry", registry))
        sheet = tmp_path / "sheets" / f"review-{reviewer}-{guide.DOC_ID}.csv"
        rows, columns = read_rows(sheet)
        for r in rows:
            rejected = r["feature"] in BOTH_REJECT or (reviewer == "bob" and r["feature"] in BOB_REJECTS)
            r["decision"] = "reject" if rejected else "accept"
            r["time"] = "2026-03-01T10:00:00Z"
        write_rows(sheet, rows, columns, delimiter=";" if reviewer == "bob" else ",")
        ok(cli("review", "import", sheet, "--decisions-dir", log_dir))
    pages = {r["feature"]: int(r["page"]) for r in rows}
    assert len(rows) >= 15 and guide.CHANGED_PAGE in pages.values()

    text = ok(cli("review", "agreement", "--reviewers", "alice", "bob", "--decisions-dir", log_dir))
    assert "95% CI [" in text and f"agree {len(rows) - len(BOB_REJECTS)}/{len(rows)}" in text
    agreement = json.loads(ok(cli("review", "agreement", "--decisions-dir", log_dir, "--format", "json")))
    assert agreement["overall"]["kappa"] < 1 and len(agreement["disagreements"]) == len(BOB_REJECTS)

    # 3. consensus: the disagreements are held back and reported by the build
    out = ok(cli("build", "--registry", registry, "--decisions", log, "--out", tmp_path / "kb-held"))
    assert f"{len(BOB_REJECTS)} decision(s) await adjudication" in out
    held = load_kb(tmp_path / "kb-held")
    features = {str(g).rsplit("principle/", 1)[-1] for e in held.subjects(RBC.document, document_iri(guide.DOC_ID))
                if (e, RDF.type, RBC.Evidence) in held for g in held.objects(e, RBC.principle)}
    assert features and not features & BOB_REJECTS

    # 4. Carol adjudicates the disagreements
    ok(cli("review", "adjudicate", "--adjudicator", "carol", "--out", tmp_path / "adj", "--decisions-dir", log_dir))
    sheet = tmp_path / "adj" / "adjudicate-carol.csv"
    rows_adj, columns = read_rows(sheet)
    assert {r["feature"] for r in rows_adj} == BOB_REJECTS
    assert all(r["coders"] == "alice=accept; bob=reject" for r in rows_adj)
    for r in rows_adj:
        r["decision"] = "accept" if r["feature"] in CAROL_ACCEPTS else "reject"
    write_rows(sheet, rows_adj, columns)
    out = ok(cli("review", "adjudicate", sheet, "--adjudicator", "carol", "--decisions-dir", log_dir))
    assert f"{len(BOB_REJECTS)} adjudication(s) by carol" in out and "0 disagreement(s) left" in out
    out = ok(cli("build", "--registry", registry, "--decisions", log, "--out", tmp_path / "kb-1"))
    assert "await adjudication" not in out
    kb1 = load_kb(tmp_path / "kb-1")
    activities = list(kb1.subjects(RDF.type, RBC.Adjudication))
    assert len(activities) == 1
    assert (activities[0], PROV.wasAssociatedWith, agent_iri("reviewer/carol")) in kb1
    assert kb1.value(activities[0], PROV.endedAtTime) is not None
    report1 = json.loads((tmp_path / "kb-1" / "build-report.json").read_text())
    assert report1["review"]["policy"] == "consensus" and report1["review"]["reanchored"] == []

    from rubricate.guidelines.evidence.review import load_decisions, resolve
    accepted = resolve(load_decisions(log)).accepted
    decided = {(a.reviewer, a.feature, a.page) for a in accepted}
    assert ("carol", "support-outside-conversation/employment", guide.CHANGED_PAGE) in decided
    assert not any(f in BOB_REJECTS - CAROL_ACCEPTS for _, f, _ in decided)

    # 5. a second edition with one page rewritten, registered over the same file
    guide.write_edition(pdf, 2)
    before = registry.read_text()
    out = ok(cli("guidelines", "add", pdf, "--id", guide.DOC_ID, "--registry", registry))
    assert "new edition (was sha256" in out
    after = registry.read_text().splitlines()
    start = after.index(f"  - id: {guide.DOC_ID}")
    assert after[:start] == before.splitlines()[:start]  # only this document's lines changed
    assert registry.read_text().count("previous:") == 1
    out = ok(cli("build", "--registry", registry, "--decisions", log, "--out", tmp_path / "kb-2"))
    on_changed = {d for d in decided if d[2] == guide.CHANGED_PAGE}
    unchanged = decided - on_changed
    assert on_changed and unchanged
    assert f"re-anchored {len(unchanged)} reviewed decision(s)" in out
    assert f"{len(on_changed)} reviewed decision(s) of {guide.DOC_ID} could not be re-anchored" in out

    report2 = json.loads((tmp_path / "kb-2" / "build-report.json").read_text())
    moves = report2["review"]["reanchored"]
    landed = {(m["reviewer"], m["principle"], m["from_page"]) for m in moves if m["status"] != "lost"}
    lost = {(m["reviewer"], m["principle"], m["from_page"]) for m in moves if m["status"] == "lost"}
    assert landed == unchanged and lost == on_changed
    assert all(m["status"] == "exact" and m["to_page"] == m["from_page"] for m in moves if m["status"] != "lost")

    kb2 = load_kb(tmp_path / "kb-2")
    for m in moves:
        if m["status"] == "lost":
            continue
        new_p = passage_iri(m["to_passage"])
        assert (new_p, PROV.wasRevisionOf, passage_iri(m["from_passage"])) in kb2
        evidence = [e for e in kb2.subjects(RBC.passage, new_p) if (e, RBC.document, document_iri(guide.DOC_ID)) in kb2]
        assert any((e, RBC.linkedBy, agent_iri(f"reviewer/{m['reviewer']}")) in kb2 for e in evidence), m
        assert kb2.value(new_p, RBC.locatorVerified).toPython() is True
    files = [f for f in kb2.objects(document_iri(guide.DOC_ID), RBC.hasFile)]
    assert any((f, PROV.wasRevisionOf, None) in kb2 for f in files)

    # the needs-re-review sheet: one row per lost decision, importable once decided again
    rereview = tmp_path / "kb-2" / "needs-rereview.csv"
    rows_rr, columns = read_rows(rereview)
    assert {(r["previous_reviewer"], r["previous_feature"], int(r["previous_page"])) for r in rows_rr} == on_changed
    assert all(int(r["page"]) == guide.CHANGED_PAGE for r in rows_rr)
    for r in rows_rr:
        r["decision"] = "reject"  # time left empty: the import time, after every earlier decision
    write_rows(rereview, rows_rr, columns)
    ok(cli("review", "import", rereview, "--decisions-dir", log_dir))
    # decided again: the earlier edition's decisions on that page no longer count or wait
    old_ids = {m["from_passage"] for m in moves if m["status"] == "lost"}
    after = resolve(load_decisions(log)).accepted
    assert not any(a.passage_id in old_ids for a in after)
    assert {(a.reviewer, a.feature, a.page) for a in after if a.page != guide.CHANGED_PAGE} == unchanged

    # 6. diff reports the re-anchored and the lost decisions separately (and exits 1)
    res = cli("diff", tmp_path / "kb-1", tmp_path / "kb-2")
    assert res.exit_code == 1, res.output
    assert res.output.count("  = re-anchored ") == len(unchanged)
    assert res.output.count("  ! needs re-review ") == len(on_changed)
    assert f"reviewed decisions: {len(unchanged)} re-anchored, 0 moved, {len(on_changed)} need re-review" in res.output

    # 7. citations of the conditions the new guide does not cover are unchanged
    base = kb_build.graph
    specific = {str(d) for d in base.subjects(RBC.coversCondition, None)}
    from rubricate.ontology.build import condition_ids, load_vocabulary, principle_ids
    checked = 0
    for condition in set(condition_ids()) - set(guide.CONDITIONS):
        covering = {str(d) for d in base.subjects(RBC.coversCondition, condition_iri(condition))}
        for p in principle_ids(load_vocabulary()):
            cites = [(c["document"], c["passage"]) for c in citations_for(base, p, condition)]
            if any(str(document_iri(d)) in covering or str(document_iri(d)) not in specific for d, _ in cites):
                for kb in (kb1, kb2):
                    assert [(c["document"], c["passage"]) for c in citations_for(kb, p, condition)] == cites
                checked += 1
    assert checked > 100
    # ... while its own condition now cites the reviewed PDF with verified page locators
    own = citations_for(kb2, "hospitalize", guide.CONDITIONS[0])
    assert own[0]["document"] == guide.DOC_ID and own[0]["locator_verified"] and own[0]["page"] == 4
