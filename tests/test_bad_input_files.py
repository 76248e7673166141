"""Bad guideline files each give one RubricateError line naming the file (and the page or
line where that applies); parse_many reports them per document and parses the rest."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.sources.parse import parse_document, parse_many
from tests.pdfgen import synthetic_sections, write_pdf


def _text_pdf(pages: int = 1) -> FPDF:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for n in range(pages):
        pdf.add_page()
        pdf.cell(100, 10, f"Body text on page {n + 1} of a small test document.")
    return pdf


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (240, 120), "white").save(buffer, "PNG")
    return buffer.getvalue()


def _error(path: Path) -> str:
    with pytest.raises(RubricateError) as caught:
        parse_document(path, path.stem, cache=False)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RUBRICATE_CACHE_DIR", str(tmp_path / "cache"))


def test_encrypted_pdf(tmp_path):
    pdf = _text_pdf()
    pdf.set_encryption(owner_password="owner", user_password="reader")
    path = tmp_path / "locked.pdf"
    pdf.output(str(path))
    assert "encrypted" in _error(path)


def test_pdf_with_owner_password_only_still_reads(tmp_path):
    pdf = _text_pdf()
    pdf.set_encryption(owner_password="owner")  # opens without a password, like most readers
    path = tmp_path / "permissions.pdf"
    pdf.output(str(path))
    assert "Body text on page 1" in parse_document(path, "p", cache=False).text


def test_truncated_pdf(tmp_path):
    data = bytes(_text_pdf(3).output())
    path = tmp_path / "cut.pdf"
    path.write_bytes(data[: len(data) * 2 // 3])
    assert "truncated" in _error(path)


def test_corrupt_pdf(tmp_path):
    path = tmp_path / "garbled.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n")
    assert "damaged or unreadable" in _error(path)


def test_zero_byte_files(tmp_path):
    for name in ("empty.pdf", "empty.md"):
        path = tmp_path / name
        path.write_bytes(b"")
        assert "empty (0 bytes)" in _error(path)


def test_image_only_pdf(tmp_path):
    pdf = FPDF()
    for _ in range(2):
        pdf.add_page()
        pdf.image(io.BytesIO(_png()), x=10, y=10, w=120)
    path = tmp_path / "scan.pdf"
    pdf.output(str(path))
    message = _error(path)
    assert "no text layer" in message and "2 page(s)" in message and "OCR" in message


def test_pdf_with_some_image_only_pages_warns_with_page_numbers(tmp_path):
    pdf = _text_pdf(1)
    for _ in range(2):
        pdf.add_page()
        pdf.image(io.BytesIO(_png()), x=10, y=10, w=120)
    path = tmp_path / "mixed.pdf"
    pdf.output(str(path))
    doc = parse_document(path, "mixed", cache=False)
    assert "Body text on page 1" in doc.text
    assert any("no text layer on page(s) 2-3" in w and str(path) in w for w in doc.warnings)


@pytest.mark.parametrize("name, content, says", [
    ("saved-page.pdf", b"<!DOCTYPE html><html><body>Please sign in</body></html>", "HTML page"),
    ("photo.pdf", None, "PNG image"),
    ("notes.md", "pdf", "contains a PDF"),
    ("notes.txt", b"<html><head></head><body>x</body></html>", "HTML page"),
    ("report.docx", b"PK\x03\x04rest", "unsupported file type"),
])
def test_file_that_is_not_what_its_extension_says(tmp_path, name, content, says):
    if content is None:
        content = _png()
    elif content == "pdf":
        content = bytes(_text_pdf().output())
    path = tmp_path / name
    path.write_bytes(content)
    assert says in _error(path)


def test_non_utf8_text_names_the_line(tmp_path):
    path = tmp_path / "legacy.txt"
    path.write_bytes("First line is fine.\nSecond line has caf\u00e9 in Latin-1.\n".encode("latin-1"))
    message = _error(path)
    assert message.startswith(f"{path}:2: ") and "not valid UTF-8" in message


def test_missing_file(tmp_path):
    assert "file not found" in _error(tmp_path / "absent.pdf")


def test_parse_many_reports_errors_per_document(tmp_path):
    good = write_pdf(synthetic_sections(chapters=1), tmp_path / "good.pdf").path
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nA short paragraph.\n", encoding="utf-8")
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    html = tmp_path / "page.pdf"
    html.write_bytes(b"<html><body>not a pdf</body></html>")
    results = parse_many([(good, "good"), (empty, "empty"), (notes, "notes"), (html, "page")],
                         workers=2)
    assert results[0].doc_id == "good" and results[0].media_type == "application/pdf"
    assert results[0].blocks and results[0].page_count == 1
    assert isinstance(results[1], RubricateError) and str(empty) in str(results[1])
    assert results[2].media_type == "text/markdown" and "A short paragraph." in results[2].text
    assert isinstance(results[3], RubricateError) and results[3].path == str(html)
