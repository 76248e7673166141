"""Review workflow: export -> fill -> import -> load round trip, bad rows, latest-wins,
re-anchoring, agreement on a hand-computed example, and the CLI."""
from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.evidence.extract import extract_candidates
from rubricate.guidelines.sources.passages import make_passages
from rubricate.guidelines.evidence.review import (Decision, accepted_evidence, agreement, export_sheet, import_sheet,
                               load_decisions, read_sheet, reanchor)
from rubricate.guidelines.sources.text import parse_text_file

GUIDE = """# A small guideline of our own

## Consent

Before therapy starts the clinician obtains informed consent from the client.

## Crisis care

When a client cannot stay safe, the clinician arranges hospital admission.

## Between sessions

Clients practise new skills as homework between sessions.
"""


@pytest.fixture
def guide(tmp_path):
    path = tmp_path / "guide.md"
    path.write_text(GUIDE, encoding="utf-8")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    doc = parse_text_file(path, "own_guide_2025", sha, "text/markdown")
    passages = make_passages(doc, verified=True)
    return doc, passages, extract_candidates(passages)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def fill(rows: list[dict], decisions: dict[str, tuple[str, str]]) -> list[dict]:
    """decisions: feature -> (decision, relabel_to)."""
    for r in rows:
        if r["feature"] in decisions:
            r["decision"], r["relabel_to"] = decisions[r["feature"]]
            r["time"] = "2025-05-01T10:00:00Z"
            r["note"] = "checked"
    return rows


def test_export_sheet_has_context_and_empty_decisions(guide, tmp_path):
    doc, passages, cands = guide
    csv_path, jsonl_path = export_sheet(cands, passages, "alice", tmp_path / "out")
    rows = read_csv(csv_path)
    jrows = [json.loads(l) for l in jsonl_path.read_text().splitlines()]
    assert len(rows) == len(jrows) == len(cands) >= 3
    consent = next(r for r in rows if r["feature"] == "professional-norms/get-informed-consent")
    assert consent["passage"] == ("Before therapy starts the clinician obtains [[informed consent]] "
                                  "from the client.")
    assert consent["section_path"] == "Consent" and consent["document"] == "own_guide_2025"
    assert (consent["decision"], consent["relabel_to"], consent["time"], consent["note"]) == ("", "", "", "")
    assert consent["reviewer"] == "alice" and consent["polarity"] == "positive"
    assert doc.text[int(consent["match_start"]):int(consent["match_end"])] == "informed consent"
    # an existing sheet may hold decisions: never overwritten silently
    with pytest.raises(RubricateError, match="already exists"):
        export_sheet(cands, passages, "alice", tmp_path / "out")


def test_round_trip_export_fill_import_load(guide, tmp_path):
    doc, passages, cands = guide
    csv_path, _ = export_sheet(cands, passages, "alice", tmp_path)
    rows = fill(read_csv(csv_path), {
        "professional-norms/get-informed-consent": ("accept", ""),
        "hospitalize": ("reject", ""),
        "support-outside-conversation/homework": ("relabel", "methods/time-management"),
    })
    write_csv(csv_path, rows)
    log = tmp_path / "reviews" / "decisions.jsonl"
    r = import_sheet(csv_path, log)
    assert len(r.added) == 3 and r.pending == len(rows) - 3
    decisions = load_decisions(log)
    assert [d.decision for d in decisions] == ["accept", "reject", "relabel"]
    d = decisions[0]
    assert (d.reviewer, d.note, d.doc_id, d.sha256) == ("alice", "checked", "own_guide_2025", doc.sha256)
    assert d.time == "2025-05-01T10:00:00+00:00"
    assert d.quote == doc.text[d.start:d.end] and d.quote.startswith("Before therapy")
    accepted = {(a.feature, a.reviewer, a.decision) for a in accepted_evidence(decisions)}
    assert accepted == {("professional-norms/get-informed-consent", "alice", "accept"),
                        ("methods/time-management", "alice", "relabel")}
    # importing the same sheet again appends nothing
    before = log.read_bytes()
    again = import_sheet(csv_path, log)
    assert (len(again.added), again.unchanged) == (0, 3) and log.read_bytes() == before


def test_jsonl_sheet_imports_too(guide, tmp_path):
    _, passages, cands = guide
    _, jsonl_path = export_sheet(cands, passages, "bob", tmp_path)
    rows = [json.loads(l) for l in jsonl_path.read_text().splitlines()]
    rows[0]["decision"] = "accept"
    jsonl_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    r = import_sheet(jsonl_path, tmp_path / "log.jsonl")
    assert len(r.added) == 1 and r.added[0].reviewer == "bob"
    assert r.added[0].time_given is False  # empty time: the import time is recorded


@pytest.mark.parametrize("change, message", [
    ({"decision": "maybe"}, "unknown decision 'maybe'"),
    ({"decision": "accept", "feature": "no-such-feature"}, "unknown feature id 'no-such-feature'"),
    ({"decision": "relabel"}, "relabel needs relabel_to"),
    ({"decision": "relabel", "relabel_to": "bogus"}, "unknown feature id in relabel_to 'bogus'"),
    ({"decision": "accept", "relabel_to": "hospitalize"}, "use relabel"),
    ({"decision": "accept", "time": "yesterday"}, "not an ISO 8601"),
    ({"decision": "accept", "reviewer": ""}, "reviewer is empty"),
    ({"decision": "accept", "passage": "edited text"}, "were edited"),
    ({"decision": "accept", "passage_start": "3"}, "does not match sha256"),
])
def test_bad_rows_give_file_and_line_and_write_nothing(guide, tmp_path, change, message):
    _, passages, cands = guide
    csv_path, _ = export_sheet(cands, passages, "alice", tmp_path)
    rows = read_csv(csv_path)
    rows[0]["decision"] = "accept"  # a good row before the bad one
    rows[1].update(change)
    write_csv(csv_path, rows)
    log = tmp_path / "decisions.jsonl"
    log.write_text("")  # an existing (empty) log stays as it is
    with pytest.raises(RubricateError) as err:
        import_sheet(csv_path, log)
    line = 1 + sum(1 + r["prefix"].count("\n") + r["suffix"].count("\n") + r["passage"].count("\n")
                   for r in rows[:1]) + 1
    assert str(err.value).startswith(f"{csv_path}:{line}: ")
    assert message in str(err.value) and "nothing imported" in str(err.value)
    assert "\n" not in str(err.value)
    assert log.read_text() == ""


def test_missing_columns_and_bad_log_lines(tmp_path):
    sheet = tmp_path / "s.csv"
    sheet.write_text("document,feature\nx,hospitalize\n")
    with pytest.raises(RubricateError, match=r"s\.csv:1: missing column"):
        read_sheet(sheet)
    log = tmp_path / "decisions.jsonl"
    log.write_text('{"schema": "rubricate.review-decision/1"}\nnot json\n')
    with pytest.raises(RubricateError, match=r"decisions\.jsonl:1: bad decision record"):
        load_decisions(log)
    assert load_decisions(tmp_path / "absent.jsonl") == []


def decision(reviewer, pid, feature, choice, time, relabel_to=None, note=""):
    return Decision(reviewer=reviewer, time=time, decision=choice, feature=feature, relabel_to=relabel_to,
                    note=note, passage_id=pid, doc_id="d", sha256="0" * 64, start=0, end=4, quote="text")


def test_latest_decision_per_reviewer_passage_feature_wins():
    ds = [
        decision("alice", "p1", "hospitalize", "accept", "2025-01-02T00:00:00+00:00"),
        decision("alice", "p1", "hospitalize", "reject", "2025-01-01T00:00:00+00:00"),  # older: loses
        decision("alice", "p2", "location", "accept", "2025-01-01T00:00:00+00:00"),
        decision("alice", "p2", "location", "reject", "2025-01-03T00:00:00+00:00"),  # newer: wins
        decision("bob", "p2", "location", "relabel", "2025-01-01T00:00:00+00:00", "location/inpatient"),
        decision("bob", "p3", "methods", "relabel", "2025-01-01T00:00:00+00:00", "hospitalize"),
        decision("bob", "p3", "hospitalize", "reject", "2025-01-05T00:00:00+00:00"),  # overrides the relabel
    ]
    got = sorted((a.reviewer, a.passage_id, a.feature) for a in accepted_evidence(ds))
    assert got == [("alice", "p1", "hospitalize"), ("bob", "p2", "location/inpatient")]


def test_reanchor_finds_the_quote_when_ids_change(guide, tmp_path):
    doc, passages, cands = guide
    d = decision("alice", "p-gone", "hospitalize", "accept", "2025-01-01T00:00:00+00:00")
    target = next(p for p in passages if "hospital admission" in p.text)
    d = Decision(**{**d.__dict__, "doc_id": doc.doc_id, "quote": target.text})
    assert reanchor(d, passages) == target
    assert reanchor(Decision(**{**d.__dict__, "quote": "gone"}), passages) is None


def test_agreement_matches_a_hand_computed_example():
    t = "2025-01-01T00:00:00+00:00"
    a_labels = ["accept"] * 6 + ["reject"] * 4
    b_labels = ["accept"] * 5 + ["reject", "accept"] + ["reject"] * 3
    a = [decision("alice", f"p{i}", "hospitalize", x, t) for i, x in enumerate(a_labels)]
    b = [decision("bob", f"p{i}", "hospitalize", x, t) for i, x in enumerate(b_labels)]
    b.append(decision("bob", "p99", "hospitalize", "accept", t))  # only bob decided it
    r = agreement(a, b)
    s = r["per_feature"]["hospitalize"]
    # p_o = 8/10; p_e = 0.6*0.6 + 0.4*0.4 = 0.52; kappa = 0.28 / 0.48
    assert s["n"] == 10 and s["agree"] == 8
    assert s["kappa"] == pytest.approx(0.28 / 0.48)
    # F1(accept) = 2*5/(6+6), F1(reject) = 2*3/(4+4)
    assert s["macro_f1"] == pytest.approx((10 / 12 + 6 / 8) / 2)
    assert (r["only_a"], r["only_b"]) == (0, 1)
    assert [(d["passage_id"], d["a"], d["b"]) for d in r["disagreements"]] == [
        ("p5", "accept", "reject"), ("p6", "reject", "accept")]


def test_agreement_with_relabels_and_constant_labels():
    t = "2025-01-01T00:00:00+00:00"
    a = [decision("alice", "p1", "location", "relabel", t, "location/inpatient"),
         decision("alice", "p2", "location", "accept", t)]
    b = [decision("bob", "p1", "location", "relabel", t, "location/outpatient"),
         decision("bob", "p2", "location", "accept", t)]
    r = agreement(a, b)
    assert r["per_feature"]["location"]["agree"] == 1
    assert r["disagreements"][0]["a"] == "relabel:location/inpatient"
    same = agreement(a[1:], b[1:])["overall"]
    assert same["kappa"] is None and same["macro_f1"] == 1.0  # chance agreement 1: kappa undefined


# ---- CLI ---------------------------------------------------------------------------------

@pytest.fixture
def registry(tmp_path, monkeypatch):
    monkeypatch.setenv("RUBRICATE_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "guide.md").write_text(GUIDE, encoding="utf-8")
    reg = tmp_path / "registry.yaml"
    reg.write_text("documents:\n  - id: own_guide_2025\n    title: Our guide\n"
                   "    files:\n      - {path: guide.md, role: source}\n", encoding="utf-8")
    return reg


def test_cli_extract_review_and_agreement(registry, tmp_path):
    from rubricate.cli import main
    run = CliRunner().invoke
    r = run(main, ["extract", "--registry", str(registry), "--format", "jsonl"])
    assert r.exit_code == 0, r.output
    lines = [json.loads(l) for l in r.output.splitlines()]
    assert {l["feature"] for l in lines} >= {"professional-norms/get-informed-consent", "hospitalize"}
    r = run(main, ["extract", "--registry", str(registry), "--doc", "nope"])
    assert r.exit_code == 2 and "no document with id 'nope'" in r.output

    sheets = {}
    for who, choice in (("alice", "accept"), ("bob", "reject")):
        r = run(main, ["review", "export", "--reviewer", who, "--registry", str(registry), "--out", str(tmp_path / "s")])
        assert r.exit_code == 0, r.output
        path = tmp_path / "s" / f"review-{who}.csv"
        rows = read_csv(path)
        for row in rows:
            row["decision"] = "accept" if row["feature"] == "hospitalize" else choice
        write_csv(path, rows)
        sheets[who] = path
        r = run(main, ["review", "import", str(path), "--decisions-dir", str(tmp_path / "log")])
        assert r.exit_code == 0 and f"{len(rows)} decision(s) appended" in r.output, r.output
    r = run(main, ["review", "agreement", str(sheets["alice"]), str(sheets["bob"]), "--format", "json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert res["per_feature"]["hospitalize"]["agree"] == 1
    assert len(res["disagreements"]) == res["overall"]["n"] - 1
    r = run(main, ["review", "agreement", "--reviewers", "alice", "bob", "--decisions-dir", str(tmp_path / "log")])
    assert r.exit_code == 0 and "disagreements:" in r.output and "kappa" in r.output
    r = run(main, ["review", "agreement", "--reviewers", "alice", "carol", "--decisions-dir", str(tmp_path / "log")])
    assert r.exit_code == 2 and "no decisions by reviewer 'carol'" in r.output


def test_cli_import_bad_row_exits_nonzero(registry, tmp_path):
    from rubricate.cli import main
    run = CliRunner().invoke
    run(main, ["review", "export", "--reviewer", "alice", "--registry", str(registry), "--out", str(tmp_path)])
    path = tmp_path / "review-alice.csv"
    rows = read_csv(path)
    rows[0]["decision"] = "acept"
    write_csv(path, rows)
    r = run(main, ["review", "import", str(path), "--decisions-dir", str(tmp_path / "log")])
    assert r.exit_code == 2
    assert r.output.startswith(f"error: {path}:2: unknown decision 'acept'")
    assert not (tmp_path / "log" / "decisions.jsonl").exists()


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_sheets_saved_with_semicolons_or_tabs_import_too(guide, tmp_path, delimiter):
    """European spreadsheet programs save CSV with semicolons: the delimiter is sniffed."""
    _, passages, cands = guide
    csv_path, _ = export_sheet(cands, passages, "alice", tmp_path)
    rows = fill(read_csv(csv_path), {"hospitalize": ("accept", "")})
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=delimiter)
        w.writeheader()
        w.writerows(rows)
    decisions, pending = read_sheet(csv_path)
    assert [d.feature for d in decisions] == ["hospitalize"] and pending == len(rows) - 1


def test_missing_columns_hint_names_the_delimiter(tmp_path):
    sheet = tmp_path / "s.csv"
    sheet.write_text("document;feature;decision\nx;hospitalize;accept\n")
    with pytest.raises(RubricateError) as err:
        read_sheet(sheet)
    msg = str(err.value)
    assert msg.startswith(f"{sheet}:1: missing column(s): passage_id") and "separated by semicolon" in msg
    assert "document," not in msg.split("missing column(s): ")[1].split(" (")[0]  # found ones not listed


# ---- editions: re-anchoring by quote, exact then bounded fuzzy ---------------------------

def test_anchor_exact_then_fuzzy_with_score_then_nothing(guide):
    from rubricate.guidelines.evidence.review import anchor
    doc, passages, _ = guide
    target = next(p for p in passages if "hospital admission" in p.text)
    d = decision("alice", "p-gone", "hospitalize", "accept", "2025-01-01T00:00:00+00:00")
    d = Decision(**{**d.__dict__, "doc_id": doc.doc_id, "quote": target.text, "start": target.start})
    found = anchor(d, passages)
    assert (found.passage, found.method, found.score) == (target, "exact", 1.0)
    # one word changed in the new edition: a fuzzy match, its score recorded
    edited = Decision(**{**d.__dict__, "quote": target.text.replace("arranges", "organises")})
    found = anchor(edited, passages)
    assert found.passage == target and found.method == "fuzzy" and 0.9 <= found.score < 1.0
    # bounded: a rewritten sentence is not matched to the nearest text
    rewritten = Decision(**{**d.__dict__, "quote": "When someone is unsafe, staff find an inpatient bed today."})
    assert anchor(rewritten, passages) is None
    assert anchor(rewritten, passages, min_score=0.3) is not None  # the bound is what refuses it


# ---- dual coding: policies, adjudication ------------------------------------------------

T1, T2 = "2025-01-01T00:00:00+00:00", "2025-01-02T00:00:00+00:00"


def coded() -> list[Decision]:
    """alice and bob agree on p1, disagree on p2 (accept vs reject) and p3 (relabel vs accept)."""
    return [decision("alice", "p1", "hospitalize", "accept", T1), decision("bob", "p1", "hospitalize", "accept", T1),
            decision("alice", "p2", "location", "accept", T1), decision("bob", "p2", "location", "reject", T1),
            decision("alice", "p3", "methods", "relabel", T1, "hospitalize"),
            decision("bob", "p3", "methods", "accept", T1)]


def accepted_of(res) -> set:
    return {(a.reviewer, a.passage_id, a.feature) for a in res.accepted}


def test_consensus_holds_disagreements_back_until_adjudicated():
    from dataclasses import replace
    from rubricate.guidelines.evidence.review import parse_policy, resolve
    res = resolve(coded(), parse_policy("consensus"))
    assert accepted_of(res) == {("alice", "p1", "hospitalize"), ("bob", "p1", "hospitalize")}
    assert [(d.passage_id, d.labels) for d in res.pending] == [
        ("p2", {"alice": "accept", "bob": "reject"}), ("p3", {"alice": "relabel:hospitalize", "bob": "accept"})]
    carol = replace(decision("carol", "p2", "location", "reject", T2), role="adjudicator", activity="adjudication-1")
    res = resolve(coded() + [carol], parse_policy("consensus"))
    assert [d.passage_id for d in res.pending] == ["p3"]
    assert res.disagreements[0].settled_by == "carol" and ("alice", "p2", "location") not in accepted_of(res)


def test_any_and_adjudicator_policies():
    from rubricate.guidelines.evidence.review import parse_policy, resolve
    res = resolve(coded(), parse_policy("any"))
    assert accepted_of(res) >= {("alice", "p2", "location"), ("alice", "p3", "hospitalize"), ("bob", "p3", "methods")}
    assert res.pending == []
    res = resolve(coded(), parse_policy("adjudicator bob"))  # bob's word settles what he decided
    assert ("bob", "p2", "location") not in accepted_of(res) and ("alice", "p2", "location") not in accepted_of(res)
    assert ("bob", "p3", "methods") in accepted_of(res) and res.pending == []
    assert parse_policy("adjudicator:carol").adjudicator == "carol"
    assert parse_policy("adjudicator", "carol") == parse_policy("adjudicator carol")
    for bad, msg in (("majority", "unknown review policy"), ("adjudicator", "needs the adjudicator"),
                     ("any carol", "takes no adjudicator")):
        with pytest.raises(RubricateError, match=msg):
            parse_policy(bad)


def test_adjudication_sheet_round_trip_and_wrong_reviewer(guide, tmp_path):
    from rubricate.guidelines.evidence.review import (ADJUDICATION_COLUMNS, adjudication_rows, resolve,
                                                      write_sheet)
    _, passages, cands = guide
    log = tmp_path / "decisions.jsonl"
    for who, choice in (("alice", "accept"), ("bob", "reject")):
        path, _ = export_sheet(cands, passages, who, tmp_path, name=who)
        rows = read_csv(path)
        for r in rows:
            r["decision"] = choice if r["feature"] == "hospitalize" else "accept"
        write_csv(path, rows)
        import_sheet(path, log)
    pending = resolve(load_decisions(log)).pending
    assert [d.feature for d in pending] == ["hospitalize"]
    sheet = tmp_path / "adjudicate-carol.csv"
    write_sheet(adjudication_rows(pending, "carol"), sheet, columns=ADJUDICATION_COLUMNS)
    rows = read_csv(sheet)
    assert rows[0]["coders"] == "alice=accept; bob=reject" and "[[" in rows[0]["passage"]
    rows[0]["decision"], rows[0]["reviewer"] = "accept", "dave"
    write_csv(sheet, rows)
    with pytest.raises(RubricateError, match="reviewer 'dave' in an adjudication sheet of 'carol'"):
        import_sheet(sheet, log, adjudicator="carol")
    rows[0]["reviewer"] = "carol"
    write_csv(sheet, rows)
    r = import_sheet(sheet, log, adjudicator="carol")
    assert r.added[0].role == "adjudicator" and r.added[0].activity.startswith("adjudication-")
    res = resolve(load_decisions(log))
    assert res.pending == [] and any(a.reviewer == "carol" and a.feature == "hospitalize" for a in res.accepted)


# ---- agreement: kappa with CI, Krippendorff's alpha --------------------------------------

def test_krippendorff_alpha_matches_the_published_example():
    """Krippendorff (2011), 'Computing Krippendorff's alpha-reliability': 4 coders, 12 units,
    nominal alpha = 0.743."""
    from rubricate.guidelines.kernel.agreement import krippendorff_alpha, krippendorff_alpha_ci
    n = None
    coders = ([1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n], [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3],
              [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n], [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n])
    units = list(zip(*coders))
    assert krippendorff_alpha(units) == pytest.approx(0.743, abs=5e-4)
    ci = krippendorff_alpha_ci(units, seed=1)
    assert ci["units"] == 11 and ci["ci_low"] < ci["alpha"] <= ci["ci_high"]
    assert krippendorff_alpha_ci(units, seed=1) == ci  # seeded
    # two coders who always agree on a single value: undefined, not a made-up number
    assert krippendorff_alpha([("a", "a"), ("a", "a")]) is None


def test_kappa_ci_and_three_reviewer_agreement(tmp_path):
    from rubricate.cli import main
    from rubricate.guidelines.kernel.agreement import cohen_kappa_ci
    ci = cohen_kappa_ci(["a"] * 6 + ["r"] * 4, ["a"] * 5 + ["r", "a"] + ["r"] * 3)
    assert ci["kappa"] == pytest.approx(0.28 / 0.48) and ci["ci_low"] < ci["kappa"] < ci["ci_high"] <= 1
    log = tmp_path / "decisions.jsonl"
    records = []
    labels = {"alice": "aaaarrra", "bob": "aaarrrra", "carol": "aaaarrrr"}
    for who, row in labels.items():
        for i, x in enumerate(row):
            records.append(decision(who, f"p{i}", "hospitalize", "accept" if x == "a" else "reject", T1))
    log.write_text("".join(json.dumps(d.to_record()) + "\n" for d in records))
    r = CliRunner().invoke(main, ["review", "agreement", "--decisions-dir", str(tmp_path), "--format", "json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert res["reviewers"] == ["alice", "bob", "carol"] and res["candidates"] == 8
    assert 0 < res["per_feature"]["hospitalize"]["alpha"] < 1 and set(res["pairs"]) == {"alice~bob", "alice~carol", "bob~carol"}
    text = CliRunner().invoke(main, ["review", "agreement", "--decisions-dir", str(tmp_path)]).output
    assert "Krippendorff's alpha" in text and "95% CI" in text


def test_agreement_of_two_sheets_by_the_same_reviewer(guide, tmp_path):
    """Two rounds of one reviewer (intra-rater agreement): the sheets are told apart by file."""
    from rubricate.cli import main
    _, passages, cands = guide
    paths = []
    for n, choice in ((1, "accept"), (2, "reject")):
        path, _ = export_sheet(cands, passages, "alice", tmp_path, name=f"round{n}")
        rows = read_csv(path)
        for i, r in enumerate(rows):
            r["decision"] = "accept" if i else choice
        write_csv(path, rows)
        paths.append(str(path))
    r = CliRunner().invoke(main, ["review", "agreement", *paths, "--format", "json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert (res["reviewer_a"], res["reviewer_b"]) == ("round1.csv", "round2.csv")
    assert res["overall"]["agree"] == res["overall"]["n"] - 1


def test_review_policy_is_recorded_beside_the_log_and_used_by_default(tmp_path):
    from rubricate.cli import main
    from rubricate.guidelines.evidence.review import load_policy, parse_policy, policy_path
    from rubricate.ontology.kb import review_resolution
    log = tmp_path / "decisions.jsonl"
    log.write_text("".join(json.dumps(d.to_record()) + "\n" for d in coded()))
    assert load_policy(log) == parse_policy("consensus")
    r = CliRunner().invoke(main, ["review", "policy", "--decisions-dir", str(tmp_path)])
    assert r.exit_code == 0 and "policy: consensus; 2 disagreement(s) await adjudication" in r.output
    r = CliRunner().invoke(main, ["review", "policy", "adjudicator bob", "--decisions-dir", str(tmp_path)])
    assert r.exit_code == 0 and "policy: adjudicator bob; 0 disagreement(s)" in r.output, r.output
    assert load_policy(log) == parse_policy("adjudicator", "bob")
    assert review_resolution(log).policy.adjudicator == "bob"  # what `build` and `run` apply
    assert review_resolution(log, parse_policy("consensus")).pending  # --policy overrides it
    policy_path(log).write_text("policy: majority\n")
    with pytest.raises(RubricateError, match=r"review-policy\.yaml: unknown review policy 'majority'"):
        load_policy(log)
