"""Layout patterns of real guideline PDFs (issue 11), each reproduced in a PDF the test
writes (tests/pdfgen.py): running footers with the printed page number inside, a rotated
watermark, a font without a Unicode map, bordered and unbordered tables, a heading over two
lines, body-size subheadings, symbol-font bullets, contents/declarations/glossary/references,
and a page-label table that disagrees with the printed numbers."""
from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from rubricate.cli import main
from rubricate.guidelines.sources.passages import make_passages
from rubricate.guidelines.sources.pdf import parse_pdf
from tests.pdfgen import DEJAVU, PATTERNS


def cli_run(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _read(path, reader="pdfium"):
    doc = parse_pdf(path, path.stem, "0" * 64, reader=reader)
    return doc, make_passages(doc, verified=True)


@pytest.fixture(scope="module", params=sorted(PATTERNS))
def case(request, tmp_path_factory):
    if request.param == "nomap" and not DEJAVU.is_file():
        pytest.skip("DejaVu font not installed")
    path = tmp_path_factory.mktemp("patterns") / f"{request.param}.pdf"
    pattern = PATTERNS[request.param](path)
    doc, passages = _read(path)
    return request.param, pattern, doc, passages


def _find(passages, start: str):
    found = [p for p in passages if p.text.startswith(start)]
    assert found, f"no passage starts with {start!r}: {[p.text[:50] for p in passages]}"
    return found[0]


def test_no_furniture_fragments_or_codes(case):
    name, pattern, doc, passages = case
    assert passages
    for p in passages:
        assert sum(c.isalpha() for c in p.text) >= 4, f"fragment passage {p.text!r}"
        assert "(cid:" not in p.text
    for text in pattern.absent:
        assert text not in doc.text, f"{name}: {text!r} leaked into the text"


def test_paragraphs_come_back_whole_with_printed_labels(case):
    name, pattern, doc, passages = case
    text = " ".join(p.text for p in passages)
    for para in pattern.body:
        assert para in text, f"{name}: paragraph not whole: {para[:50]!r}"
    if pattern.ordered:
        positions = [text.index(para) for para in pattern.body]
        assert positions == sorted(positions), f"{name}: paragraphs out of reading order"
    for start, label in pattern.labels.items():
        assert _find(passages, start).page_label == label


def test_kinds_sections_tables_and_list_items(case):
    name, pattern, doc, passages = case
    for start, kind in pattern.kinds.items():
        assert _find(passages, start).kind == kind, start
    for start, section in pattern.sections.items():
        assert _find(passages, start).section_path == section, start
    rows = [p.text for p in passages if p.kind == "table"]
    assert rows == pattern.table_rows
    for start, lead_in in pattern.items.items():
        item = _find(passages, start)
        assert (item.kind, item.lead_in) == ("list", lead_in)
    if pattern.items:
        assert len([p for p in passages if p.kind == "list"]) == len(pattern.items)


def test_pdfium_and_pdfplumber_readers_give_the_same_passages(case):
    name, pattern, doc, passages = case
    old_doc, old = _read(pattern.path, reader="pdfplumber")
    def key(ps):  # pdfminer guesses a few codes of an unmapped font ("." beside a marker)
        return [(re.sub("\ufffd\\S*", "\ufffd", p.text), p.page, p.page_label, p.section_path, p.kind,
                 p.lead_in) for p in ps]

    assert key(passages) == key(old)


def test_dropped_and_unmapped_text_is_reported(tmp_path):
    if DEJAVU.is_file():
        doc, passages = _read(PATTERNS["nomap"](tmp_path / "n.pdf").path)
        assert any("without a Unicode map on page(s) 1" in w and "p.1: 2" in w for w in doc.warnings)
        assert [p.text.count("\ufffd") for p in passages] == [1, 1]
    doc, _ = _read(PATTERNS["watermark"](tmp_path / "w.pdf").path)
    assert any("rotated or vertical text" in w and "page(s) 1-2" in w for w in doc.warnings)
    doc, _ = _read(PATTERNS["labels"](tmp_path / "l.pdf").path)
    assert any("page-label table disagrees" in w for w in doc.warnings)


def test_passages_command_lists_kinds_labels_and_table_rows(tmp_path, monkeypatch):
    monkeypatch.setenv("RUBRICATE_CACHE_DIR", str(tmp_path / "cache"))
    pattern = PATTERNS["tables"](tmp_path / "tables.pdf")
    result = cli_run("guidelines", "passages", str(pattern.path), "--format", "jsonl")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["kind"] for r in rows} >= {"heading", "body", "table", "caption"}
    assert [r["text"] for r in rows if r["kind"] == "table"] == pattern.table_rows
    assert all(r["page"] == 1 and isinstance(r["section"], list) for r in rows)
    table = cli_run("guidelines", "passages", str(pattern.path), "--kind", "table").stdout
    assert re.search(r"^1\s+-\s+table\s+\S.*Table 1: Treatment options for mild symptoms\s+"
                     r"Intervention: Guided self-help; What it involves: Workbook", table, re.M)
    assert table.strip().endswith("6 passage(s): 6 table")


def test_non_guidance_kinds_are_not_proposed_unless_included(tmp_path):
    from rubricate.guidelines.evidence.extract import extract_candidates
    _, passages = _read(PATTERNS["front_back"](tmp_path / "fb.pdf").path)
    kind_of = {p.id: p.kind for p in passages}
    proposed = {(kind_of[c.passage_id], c.feature) for c in extract_candidates(passages)}
    assert proposed == {("body", "dont-enable-suicidal-ideation")}  # not the declaration of interest
    everything = extract_candidates(passages, include=("declarations", "references", "glossary"))
    assert {kind_of[c.passage_id] for c in everything} == {"body", "declarations", "references", "glossary"}


def test_unknown_kind_is_a_one_line_error(tmp_path):
    pattern = PATTERNS["lists"](tmp_path / "lists.pdf")
    result = CliRunner().invoke(main, ["guidelines", "passages", str(pattern.path), "--kind", "bogus"])
    assert result.exit_code == 2 and "unknown passage kind(s) bogus" in result.output


@pytest.mark.slow
def test_long_document_shows_a_progress_bar(tmp_path, monkeypatch):
    from tests.pdfgen import synthetic_sections, write_pdf
    monkeypatch.setenv("RUBRICATE_CACHE_DIR", str(tmp_path / "cache"))
    gen = write_pdf(synthetic_sections(chapters=7, subsections=3, paragraphs=4), tmp_path / "long.pdf")
    assert gen.page_count >= 8
    result = cli_run("guidelines", "passages", str(gen.path))
    assert "reading long.pdf" in result.stderr and "reading" not in result.stdout
    again = cli_run("guidelines", "passages", str(gen.path))  # a cache hit reads no page
    assert "reading" not in again.stderr and again.stdout == result.stdout
