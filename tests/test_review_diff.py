"""`rubricate diff`: features gained/lost and citations added/removed between two KB files."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from rdflib import Graph, Literal, Namespace, RDF, URIRef

from rubricate.ontology.diff import diff_graphs, diff_kb_files, format_diff
from rubricate.guidelines.kernel.errors import RubricateError

RBC = Namespace("https://w3id.org/rubricate/vocab#")
BASE = "https://w3id.org/rubricate/"


def kb(evidence: list[tuple[str, str, list[str]]]) -> Graph:
    """evidence: (document key, principle id, passage ids)."""
    g = Graph()
    for doc, principle, passages in evidence:
        e = URIRef(f"{BASE}evidence/{doc}-{principle.replace('/', '-')}")
        g.add((e, RDF.type, RBC.Evidence))
        g.add((e, RBC.document, URIRef(f"{BASE}document/{doc}")))
        g.add((e, RBC.principle, URIRef(f"{BASE}principle/{principle}")))
        for pid in passages:
            p = URIRef(f"{BASE}passage/{pid}")
            g.add((e, RBC.passage, p))
            g.add((p, RBC.text, Literal(f"text of {pid}")))
    return g


OLD = kb([("doc_a", "hospitalize", ["p1"]), ("doc_a", "location/inpatient", ["p2"]),
          ("doc_b", "dont-stigmatize", [])])
NEW = kb([("doc_a", "hospitalize", ["p1", "p3"]), ("doc_a", "location/outpatient", ["p2"]),
          ("doc_b", "dont-stigmatize", []), ("doc_c", "client-centered", ["p9"])])


def test_diff_of_two_small_graphs():
    d = {x.doc_id: x for x in diff_graphs(OLD, NEW).documents}
    a = d["doc_a"]
    assert a.features_gained == ["location/outpatient"] and a.features_lost == ["location/inpatient"]
    assert [(c.principle, c.passage.rsplit("/", 1)[1], c.text) for c in a.citations_added] == [
        ("hospitalize", "p3", "text of p3"), ("location/outpatient", "p2", "text of p2")]
    assert [(c.principle, c.passage.rsplit("/", 1)[1]) for c in a.citations_removed] == [
        ("location/inpatient", "p2")]
    assert not d["doc_b"].changed
    assert d["doc_c"].features_gained == ["client-centered"]
    lines = format_diff(diff_graphs(OLD, NEW))
    assert "  + feature location/outpatient" in lines
    assert lines[-1] == "2 document(s) changed: features +2 -1, citations +3 -1"


def test_identical_builds_have_no_changes():
    assert format_diff(diff_graphs(OLD, OLD)) == ["0 document(s) changed: features +0 -0, citations +0 -0"]


def test_diff_files_and_cli(tmp_path):
    from rubricate.cli import main
    old, new = tmp_path / "old.ttl", tmp_path / "new" / "kb.ttl"
    new.parent.mkdir()
    OLD.serialize(old, format="turtle")
    NEW.serialize(new, format="turtle")
    assert diff_kb_files(old, new).to_dict()["documents"][0]["doc_id"] == "doc_a"
    r = CliRunner().invoke(main, ["diff", str(old), str(new.parent), "--format", "json"])
    assert r.exit_code == 1, r.output  # like diff(1): the builds differ
    assert CliRunner().invoke(main, ["diff", str(old), str(old)]).exit_code == 0
    assert [d["doc_id"] for d in json.loads(r.output)["documents"]] == ["doc_a", "doc_c"]
    bad = tmp_path / "bad.ttl"
    bad.write_text("this is not turtle .\n")
    r = CliRunner().invoke(main, ["diff", str(old), str(bad)])
    assert r.exit_code == 2 and r.output.startswith(f"error: {bad}") and "cannot read RDF" in r.output
    with pytest.raises(RubricateError, match="not found"):
        diff_kb_files(old, tmp_path / "missing.ttl")


def test_validate_prints_the_whole_parse_error(tmp_path):
    from rubricate.cli import main
    bad = tmp_path / "kb.ttl"
    bad.write_text('@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:d ex:e "unterminated .\n')
    r = CliRunner().invoke(main, ["validate", str(bad)])
    assert r.exit_code == 2
    assert r.output.startswith(f"error: {bad}:3: cannot parse as turtle: ")
    assert "newline found in string literal" in r.output  # the reason, not cut off after a colon
    assert r.output.count("\n") == 1


def test_diff_lists_reanchored_moved_and_lost_decisions_separately():
    from rdflib import XSD
    from rubricate.ontology.diff import PROV_REVISION

    def reanchoring(g, key, status, from_page, to_page=None, score=None):
        r = URIRef(f"{BASE}reanchoring/{key}")
        g.add((r, RDF.type, RBC.Reanchoring))
        g.add((r, RBC.document, URIRef(f"{BASE}document/doc_a")))
        g.add((r, RBC.principle, URIRef(f"{BASE}principle/hospitalize")))
        g.add((r, RBC.reviewer, URIRef(f"{BASE}agent/reviewer/alice")))
        g.add((r, RBC.anchorStatus, Literal(status)))
        g.add((r, RBC.fromPassage, URIRef(f"{BASE}passage/old-{key}")))
        g.add((r, RBC.fromPage, Literal(from_page, datatype=XSD.integer)))
        g.add((r, RBC.quote, Literal(f"quote {key}")))
        if score is not None:
            g.add((r, RBC.anchorScore, Literal(str(score), datatype=XSD.decimal)))
        if to_page is not None:
            new = URIRef(f"{BASE}passage/new-{key}")
            g.add((r, RBC.toPassage, new))
            g.add((new, RBC.page, Literal(to_page, datatype=XSD.integer)))
            g.add((new, URIRef(PROV_REVISION), URIRef(f"{BASE}passage/old-{key}")))

    new = Graph()
    new += NEW
    reanchoring(new, "k1", "exact", 3, 3)
    reanchoring(new, "k2", "fuzzy", 3, 4, 0.93)
    reanchoring(new, "k3", "lost", 5)
    d = {x.doc_id: x for x in diff_graphs(NEW, new).documents}["doc_a"]
    assert [m.from_passage for m in d.reanchored] == ["old-k1"]
    assert [(m.from_page, m.to_page, m.score) for m in d.moved] == [(3, 4, 0.93)]
    assert [m.status for m in d.lost] == ["lost"]
    lines = format_diff(diff_graphs(NEW, new))
    assert "  > moved hospitalize (alice, fuzzy 0.93): p.3 -> p.4 \"quote k2\"" in lines
    assert lines[-1].endswith("reviewed decisions: 1 re-anchored, 1 moved, 1 need re-review")
    # the same re-anchorings in both builds are not a change
    assert not diff_graphs(new, new).changed
