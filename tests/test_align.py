"""`rubricate align` on generated PDFs whose text says the digests' evidence statements in
other words (tests/align_paraphrases.py), then the review workflow end to end: the accepted
alignments make the compiled rubric's citations of that document verified, on the pages the
PDF was laid out with."""
from __future__ import annotations

import csv
import json
import re

import pytest
from click.testing import CliRunner

from rubricate.cli import main
from tests.align_paraphrases import APA, DOCUMENTS, NICE, plain_sections, truths
from tests.conftest import REPO


def letters(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def same_text(passage: str, paragraph: str) -> bool:
    """A passage is the paragraph when their letters agree (line breaks, hyphenation aside)."""
    a, b = letters(passage), letters(paragraph)
    return a[:80] in b or b[:80] in a


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    pdfgen = pytest.importorskip("tests.pdfgen")
    root = tmp_path_factory.mktemp("align")
    ws = root / "ws"
    (ws / "sources").mkdir(parents=True)
    layouts = {}
    env = {"RUBRICATE_CACHE_DIR": str(root / "cache")}
    for doc, sections in DOCUMENTS.items():
        pdf = ws / "sources" / f"{doc}.pdf"
        layouts[doc] = pdfgen.write_pdf(plain_sections(sections), pdf, roman_pages=2, columns=1)
        res = invoke(ws, env, "guidelines", "add", str(pdf), "--id", doc)
        assert res.exit_code == 0, res.output
    return ws, env, layouts


def invoke(ws, env, *args):
    return CliRunner(env={**env, "RUBRICATE_REGISTRY": None}).invoke(main, ["--workspace", str(ws), *args])


def proposals(ws, env, doc: str, top: int = 3) -> list[dict]:
    res = invoke(ws, env, "align", "--doc", doc, "--format", "jsonl", "--top", str(top))
    assert res.exit_code == 0, res.output
    return [json.loads(line) for line in res.stdout.splitlines()]


def truth_of(row: dict, doc: str) -> str:
    table = truths(DOCUMENTS[doc])
    return next(text for key, text in table.items() if row["statement_text"].startswith(key))


def test_align_finds_the_true_passage_first_for_nine_in_ten_statements(ws):
    ws, env, _ = ws
    hits, total, in_top = 0, 0, 0
    for doc in DOCUMENTS:
        rows = proposals(ws, env, doc)
        by_statement: dict[str, list[dict]] = {}
        for r in rows:
            assert set(r) >= {"feature", "sub_feature", "rank", "passage_id", "page", "page_label", "section",
                              "kind", "score", "reasons", "text"}
            by_statement.setdefault(r["statement"], []).append(r)
        for st, ranked in by_statement.items():
            assert [r["rank"] for r in ranked] == [1, 2, 3]
            assert ranked[0]["score"] >= ranked[1]["score"] >= ranked[2]["score"]
            truth = truth_of(ranked[0], doc)
            total += 1
            hits += same_text(ranked[0]["text"], truth)
            in_top += any(same_text(r["text"], truth) for r in ranked)
            # recommendation text over the contents, front matter and boilerplate
            assert ranked[0]["kind"] == "body", ranked[0]
            assert ranked[0]["page"] and ranked[0]["reasons"]
    assert total == 29  # 17 NICE, 12 APA statements (one per digest paragraph and feature)
    assert hits / total >= 0.9, (hits, total)
    assert in_top == total
    # feature and sub-feature are split as the study's table names them
    rows = proposals(ws, env, NICE, top=1)
    assert {(r["feature"], r["sub_feature"]) for r in rows} >= {("care-modality", "audio"), ("client-centered", None)}


def test_table_output_and_errors(ws):
    ws, env, _ = ws
    res = invoke(ws, env, "align", "--doc", APA, "--top", "2")
    assert res.exit_code == 0, res.output
    assert "12 statement(s), 24 proposal(s)" in res.stdout and "meaning words" in res.stdout
    res = invoke(ws, env, "align", "--doc", "bellack_social_2004")
    assert res.exit_code == 2 and "no source file to align with" in res.stderr
    assert "guidelines add FILE --id bellack_social_2004" in res.stderr


@pytest.mark.slow
def test_reviewed_alignments_make_the_rubric_cite_verified_pages_and_trace_reaches_them(ws):
    ws, env, layouts = ws
    res = invoke(ws, env, "review", "export", "--reviewer", "alice", "--doc", NICE, "--from", "align",
                 "--out", str(ws / "review"))
    assert res.exit_code == 0, res.output
    sheet = ws / "review" / f"review-alice-{NICE}-align.csv"
    with sheet.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows, columns = list(reader), reader.fieldnames
    true_paragraphs = list(truths(DOCUMENTS[NICE]).values())
    # the reviewer accepts a proposal when the passage says what the statement says
    for r in rows:
        statement = r["matched"].removeprefix("aligns with: ")
        key = next(k for k in truths(DOCUMENTS[NICE]) if statement.startswith(k))
        right = same_text(r["passage"].replace("[[", "").replace("]]", ""), truths(DOCUMENTS[NICE])[key])
        r.update(decision="accept" if right else "reject", time="2026-12-06T12:00:00Z")
        assert r["method"] == "digest-alignment"
    assert sum(r["decision"] == "accept" for r in rows) >= 14
    with sheet.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)
    res = invoke(ws, env, "review", "import", str(sheet))
    assert res.exit_code == 0, res.output
    listed = invoke(ws, env, "guidelines", "list").stdout
    nice_line = next(l for l in listed.splitlines() if l.startswith(NICE))
    assert "verified 17/17" in nice_line, nice_line
    assert "verified 0/12" in next(l for l in listed.splitlines() if l.startswith(APA))

    res = invoke(ws, env, "build")
    assert res.exit_code == 0, res.output
    res = invoke(ws, env, "compile", "--kb", str(ws / "build" / "kb"))
    assert res.exit_code == 0, res.output
    rubric = json.loads((ws / "build" / "rubrics" / "rubricate-default.json").read_text(encoding="utf-8"))
    citations = [c for item in rubric["items"] for cr in item["criteria"] for c in cr.get("citations", [])]
    cited = [c for c in citations if c["document"] == NICE]
    assert len(cited) >= 5
    placed = layouts[NICE].paragraphs
    for c in cited:
        assert c["locator_verified"] is True and c["source_kind"] == "source", c
        where = next(p for p in placed if same_text(c["quote"], p.text))
        assert where.text in true_paragraphs or same_text(c["quote"], where.text)
        assert c["page"] == where.page and c["page_label"] == where.label, (c["page"], where)
        assert c["section_path"][-1] == where.section_path[-1]
    # the digest is only the fallback: no citation of this document points into it any more
    assert cited and all(c["link_method"] == "human-review" for c in cited)

    # the auditor's trace: from a verdict on an OCD item to the page of the registered PDF
    samples = [json.loads(l) for l in (REPO / "rubrics" / "samples" / "default_responses.jsonl")
               .read_text(encoding="utf-8").splitlines() if l.strip()]
    ocd = [s for s in samples if s["item_id"].startswith("ocd-")]
    hostile = dict(ocd[0], response="\x1b[31mRED\x1b[0m <script>alert(1)</script> " + ocd[0]["response"],
                   response_id="hostile-1")
    responses = ws / "responses.jsonl"
    responses.write_text("".join(json.dumps(r) + "\n" for r in ocd + [hostile]), encoding="utf-8")
    res = invoke(ws, env, "evaluate", "--rubric", str(ws / "build" / "rubrics" / "rubricate-default.json"),
                 "--responses", str(responses), "--out", str(ws / "out" / "results"))
    assert res.exit_code in (0, 1), res.output
    verdicts = [json.loads(l) for l in (ws / "out" / "results" / "verdicts.jsonl").read_text().splitlines()]
    criteria = {cr["id"]: cr for item in rubric["items"] for cr in item["criteria"]}
    nice_cited = [v for v in verdicts if any(c["document"] == NICE for c in criteria[v["criterion_id"]]["citations"])]
    v = next((v for v in nice_cited if v["response_id"] == "hostile-1"), nice_cited[0])
    res = invoke(ws, env, "trace", v["verdict_id"], "--open")
    assert res.exit_code == 0, res.output
    text = res.stdout
    cit = next(c for c in criteria[v["criterion_id"]]["citations"] if c["document"] == NICE)
    pdf_rel = f"sources/{NICE}.pdf"
    assert f"file     {pdf_rel} [source] sha256 {cit['file_sha256']} (ok)" in text
    assert f"printed page {cit['page_label']} (physical page {cit['page']}); verified" in text
    assert "edition: CG31, published 29 November 2005" in text
    assert "\x1b" not in text and "\\u001b[31m" in text
    kb_sha = rubric["knowledge_base"]["sha256"]
    assert f"made with knowledge base sha256 {kb_sha}; rubric rubricate-default" in text
    page = ws / "out" / "results" / "trace" / f"{v['verdict_id']}.html"
    assert page.is_file() and str(page) in res.stderr
    html = page.read_text(encoding="utf-8")
    assert f'href="../../../{pdf_rel}#page={cit["page"]}"' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "\x1b" not in html and "[U+001B][31m" in html
    assert re.search(r'id="provenance">Produced by: knowledge base sha256 ' + kb_sha, html)
    assert (page.parent / f"../../../{pdf_rel}").resolve() == (ws / pdf_rel).resolve()
