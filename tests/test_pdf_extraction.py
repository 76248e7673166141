"""PDF extraction against PDFs generated with known layout (tests/pdfgen.py): every
paragraph must come back whole, in reading order, with its physical page, printed page
label and heading path, and without running headers, footers or line-end hyphens."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rubricate.guidelines.sources import parse as parse_module
from rubricate.guidelines.sources import pdf as pdf_module
from rubricate.guidelines.sources import parse_cache
from rubricate.guidelines.sources.model import ParsedDocument
from rubricate.guidelines.sources.parse import parse_document
from rubricate.guidelines.sources.pdf import EXTRACTOR_VERSION, parse_pdf
from tests.pdfgen import GeneratedPdf, roman, sections_from_markdown, synthetic_sections, write_pdf

DIGESTS = sorted((Path(__file__).resolve().parents[1] / "guidelines" / "digests").glob("*.md"))


def _parse(gen: GeneratedPdf) -> ParsedDocument:
    return parse_pdf(gen.path, "doc", "0" * 64)


def _check_paragraphs(gen: GeneratedPdf, doc: ParsedDocument) -> None:
    """Each written paragraph is one block, or (when a column or page break fell between two
    of its sentences) consecutive blocks split there; the first carries its locator."""
    starts = {b.start: b for b in doc.blocks}
    splits = 0
    for placed in gen.paragraphs:
        pattern = re.sub(r"(?<=[.!?])\\ ", r"(?: |\\n\\n)", re.escape(placed.text))
        found = re.search(rf"(?:^|\n\n)({pattern})(?:\n\n|$)", doc.text)
        assert found, f"paragraph not extracted whole: {placed.text[:60]!r}"
        block = starts[found.start(1)]
        assert (block.page, block.page_label, block.section_path) == \
            (placed.page, placed.label, placed.section_path), placed.text[:40]
        splits += found.group(1).count("\n\n")
    assert len(doc.blocks) == len(gen.paragraphs) + splits  # nothing else became a block


LAYOUTS = {
    "one-column": dict(columns=1, roman_pages=2),
    "two-column": dict(columns=2, roman_pages=2),
    # justified lines drawn word by word (no space characters), "title | 7" running header
    "two-column-justified": dict(columns=2, justify=True, number_in_header=True, body_size=9),
}


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def generated(request, tmp_path_factory) -> tuple[GeneratedPdf, ParsedDocument]:
    path = tmp_path_factory.mktemp("pdf") / f"{request.param}.pdf"
    gen = write_pdf(synthetic_sections(chapters=5, subsections=3, paragraphs=3), path,
                    **LAYOUTS[request.param])
    return gen, _parse(gen)


def test_every_paragraph_has_its_page_label_and_section(generated):
    gen, doc = generated
    assert gen.page_count >= 4 and doc.page_count == gen.page_count and doc.paginated
    assert any(p.page != q.page for p, q in zip(gen.paragraphs, gen.paragraphs[1:]))
    _check_paragraphs(gen, doc)
    assert {b.page_label for b in doc.blocks} == {gen.labels[b.page - 1] for b in doc.blocks}


def test_no_running_header_or_footer_in_text(generated):
    gen, doc = generated
    assert "Synthetic care guideline" not in doc.text
    assert not re.search(r"\bPage\b", doc.text)


def test_line_end_hyphens_are_repaired_and_compounds_kept(generated):
    gen, doc = generated
    assert gen.hyphenated, "the generator broke no word across lines"
    for word in gen.hyphenated:
        assert word in doc.text
    assert not re.search(r"[a-z]- [a-z]", doc.text)
    for compound in ("self-harm", "evidence-based", "Follow-up"):
        assert compound in doc.text


def test_reading_order_follows_columns(generated):
    gen, doc = generated
    tags = [re.match(r"Item [\d.]+", p.text).group() for p in gen.paragraphs]
    positions = [doc.text.index(tag + " ") for tag in tags]
    assert positions == sorted(positions)
    if gen.path.stem.startswith("two-column"):
        assert any(p.column == 1 for p in gen.paragraphs)


def test_headings_are_in_text_but_not_blocks(generated):
    gen, doc = generated
    for heading in gen.headings:
        assert f"{heading}\n\n" in doc.text
    assert all(not doc.text[b.start:b.end].startswith("Chapter") for b in doc.blocks)
    ends = [(b.start, b.end) for b in doc.blocks]
    assert ends == sorted(ends) and all(s < e for s, e in ends)
    assert all(a[1] < b[0] for a, b in zip(ends, ends[1:]))


def test_page_labels_from_catalog_without_printed_numbers(tmp_path):
    gen = write_pdf(synthetic_sections(), tmp_path / "catalog.pdf", columns=2, roman_pages=2,
                    page_numbers=False, catalog_labels=True)
    doc = _parse(gen)
    expected = [roman(n) if n <= 2 else str(n - 2) for n in range(1, gen.page_count + 1)]
    assert [b.page_label for b in doc.blocks] == [expected[b.page - 1] for b in doc.blocks]


def test_no_printed_numbers_means_no_label(tmp_path):
    gen = write_pdf(synthetic_sections(), tmp_path / "plain.pdf", page_numbers=False)
    doc = _parse(gen)
    _check_paragraphs(gen, doc)
    assert {b.page_label for b in doc.blocks} == {None}


def test_compound_broken_at_its_own_hyphen_keeps_it(tmp_path):
    gen = write_pdf(synthetic_sections(chapters=4, subsections=3), tmp_path / "compounds.pdf",
                    columns=2, break_compounds=True)
    assert gen.broken_compounds, "no compound fell at a line end"
    doc = _parse(gen)
    _check_paragraphs(gen, doc)
    assert "selfharm" not in doc.text and "evidencebased" not in doc.text


def test_markdown_digest_sections():
    sections = sections_from_markdown(
        "# Title\n<!-- note -->\n> Quoted\n> intro.\n\n## Part A\n\nFirst para\ncontinues.\n"
        "- one bullet\n- two\n\n### Sub\nText.\n")
    assert sections == [(("Title",), ["Quoted intro."]),
                        (("Title", "Part A"), ["First para continues.", "- one bullet", "- two"]),
                        (("Title", "Part A", "Sub"), ["Text."])]


@pytest.mark.skipif(not DIGESTS, reason="no digests in guidelines/digests yet")
@pytest.mark.parametrize("digest", DIGESTS, ids=lambda p: p.stem)
def test_digest_round_trip(digest, tmp_path):
    sections = sections_from_markdown(digest.read_text(encoding="utf-8"))
    gen = write_pdf(sections, tmp_path / "digest.pdf", columns=2, roman_pages=1)
    _check_paragraphs(gen, _parse(gen))


def test_parse_document_uses_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RUBRICATE_CACHE_DIR", str(tmp_path / "cache"))
    gen = write_pdf(synthetic_sections(chapters=1), tmp_path / "cached.pdf")
    first = parse_document(gen.path, "first")
    entry = parse_cache.entry_path(first.sha256, "application/pdf", EXTRACTOR_VERSION)
    assert entry.is_file() and json.loads(entry.read_text())["sha256"] == first.sha256

    def parse_again(*args):
        raise AssertionError("parsed again although the file is unchanged")

    monkeypatch.setattr(pdf_module, "parse_pdf", parse_again)  # what the registered PDF extractor calls
    second = parse_document(gen.path, "second")
    assert second.doc_id == "second" and second.text == first.text and second.blocks == first.blocks
    assert second.warnings == first.warnings

    entry.write_text("{torn", encoding="utf-8")  # an unreadable entry is a miss, then rewritten
    monkeypatch.setattr(pdf_module, "parse_pdf", parse_pdf)
    assert parse_document(gen.path, "third").blocks == first.blocks
    assert json.loads(entry.read_text())["blocks"]


def test_parse_many_in_parallel_matches_serial(tmp_path, monkeypatch):
    monkeypatch.setenv("RUBRICATE_CACHE_DIR", str(tmp_path / "cache"))
    items = []
    for n in range(3):
        gen = write_pdf(synthetic_sections(chapters=n + 1), tmp_path / f"d{n}.pdf", columns=2)
        items.append((gen.path, f"d{n}"))
    parallel = parse_many_results = parse_module.parse_many(items, workers=2, cache=False)
    serial = parse_module.parse_many(items, workers=1, cache=False)
    assert [d.doc_id for d in parse_many_results] == ["d0", "d1", "d2"]
    assert [(d.text, d.blocks) for d in parallel] == [(d.text, d.blocks) for d in serial]


def test_pdfium_reader_gives_the_old_path_passages(generated):
    """The pypdfium2 character reader and the old pdfplumber one feed the same layout code:
    on every generated layout the text, blocks and headings come out identical."""
    gen, doc = generated
    old = parse_pdf(gen.path, "doc", "0" * 64, reader="pdfplumber")
    assert (doc.text, doc.blocks, doc.headings) == (old.text, old.blocks, old.headings)


@pytest.mark.skipif(not DIGESTS, reason="no digests in guidelines/digests yet")
@pytest.mark.parametrize("digest", DIGESTS[:3], ids=lambda p: p.stem)
def test_both_readers_agree_on_digest_pdfs(digest, tmp_path):
    gen = write_pdf(sections_from_markdown(digest.read_text(encoding="utf-8")), tmp_path / "d.pdf",
                    columns=2, roman_pages=1)
    new, old = (parse_pdf(gen.path, "d", "0" * 64, reader=r) for r in ("pdfium", "pdfplumber"))
    assert (new.text, new.blocks, new.headings) == (old.text, old.blocks, old.headings)


@pytest.mark.parametrize("options", [
    dict(columns=2, roman_pages=2, page_numbers=False, catalog_labels=True),
    dict(page_numbers=False),
    dict(columns=2, break_compounds=True),
], ids=["catalog-labels", "no-numbers", "broken-compounds"])
def test_both_readers_agree_on_the_other_generated_layouts(options, tmp_path):
    gen = write_pdf(synthetic_sections(chapters=2, subsections=3), tmp_path / "o.pdf", **options)
    new, old = (parse_pdf(gen.path, "o", "0" * 64, reader=r) for r in ("pdfium", "pdfplumber"))
    assert (new.text, new.blocks, new.headings) == (old.text, old.blocks, old.headings)
