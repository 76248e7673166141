"""How fast PDF extraction is, beside both baselines, cached, and in parallel.

Generates a two-column PDF with running headers and footers (tests/pdfgen.py, needs the
fpdf2 test extra) in a temporary directory and times, on the same file and in one run:
the parser (characters from pypdfium2), baseline 1 a bare pdfplumber ``extract_text()`` pass,
baseline 2 the same parser reading characters with pdfplumber (the old path), and for
reference a bare pypdfium2 text pass. It checks that both parser paths give the same
passages, on this file and on every layout-pattern PDF of the tests, and records the load
average before and after. Prints one JSON object:

    .venv/bin/python bench/pdf_parse.py            # 200 pages, 8 documents in parallel
    .venv/bin/python bench/pdf_parse.py --quick    # 20 pages, 2 documents
    .venv/bin/python bench/pdf_parse.py --out bench/results/pdf_parse.json
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
if not __package__:  # run as a script; imported as bench.<name> (tests), the checkout is already importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pdfplumber  # noqa: E402
import pypdfium2  # noqa: E402
from _common import best_of, load_average, write_atomic  # noqa: E402

from rubricate.guidelines.sources.parse import parse_document, parse_many  # noqa: E402
from rubricate.guidelines.sources.pdf import EXTRACTOR_VERSION, parse_pdf  # noqa: E402
from tests.pdfgen import DEJAVU, PATTERNS, synthetic_sections, write_pdf  # noqa: E402

TARGET_OVER_PDFPLUMBER = 4.0  # issue 11: the parser at least 4x a bare pdfplumber pass


def make_pdf(path: Path, pages: int) -> int:
    """Write a two-column PDF of at least ``pages`` pages; returns its page count."""
    chapters = max(1, pages // 2)
    while True:
        gen = write_pdf(synthetic_sections(chapters=chapters, subsections=4, paragraphs=6),
                        path, columns=2, roman_pages=2)
        if gen.page_count >= pages:
            return gen.page_count
        chapters += max(1, (pages - gen.page_count) // 2)


def plain_pdfplumber(path: Path) -> None:
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            page.extract_text()
            page.close()


def plain_pypdfium2(path: Path) -> None:
    pdf = pypdfium2.PdfDocument(str(path))
    for page in pdf:
        page.get_textpage().get_text_range()
    pdf.close()


def same_passages(a, b) -> bool:
    return (a.text, a.blocks, a.headings) == (b.text, b.blocks, b.headings)


def patterns_agree(workdir: Path) -> dict[str, bool]:
    """Both readers on every layout-pattern PDF of the tests (the unmapped-font one aside:
    pdfminer guesses a few of its codes, so only the tests compare it, normalised)."""
    out = {}
    for name, build in sorted(PATTERNS.items()):
        if name == "nomap" and not DEJAVU.is_file():
            continue
        path = build(workdir / f"pattern-{name}.pdf").path
        new, old = (parse_pdf(path, name, "0" * 64, reader=r) for r in ("pdfium", "pdfplumber"))
        out[name] = same_passages(new, old) if name != "nomap" else \
            [b.kind for b in new.blocks] == [b.kind for b in old.blocks]
    return out


def measure(pages_wanted: int, documents: int) -> dict:
    """Generate the PDF, time each way of reading it, and return the figures."""
    workdir = Path(tempfile.mkdtemp(prefix="rubricate-bench-pdf-"))
    saved_cache = os.environ.get("RUBRICATE_CACHE_DIR")
    os.environ["RUBRICATE_CACHE_DIR"] = str(workdir / "cache")
    try:
        path = workdir / "doc0.pdf"
        pages = make_pdf(path, pages_wanted)
        load_before = load_average()
        parse_pdf(path, "warm-up", "0" * 64)  # font and CMap loading is paid once per process
        parse_pdf(path, "warm-up", "0" * 64, reader="pdfplumber")
        plain, _, _ = best_of(lambda: plain_pdfplumber(path), 1)
        bare_pdfium, _, _ = best_of(lambda: plain_pypdfium2(path), 2)
        cold, _, new = best_of(lambda: parse_pdf(path, "doc0", "0" * 64), 2)
        old_path, _, old = best_of(lambda: parse_pdf(path, "doc0", "0" * 64, reader="pdfplumber"), 1)
        first, _, _ = best_of(lambda: parse_document(path, "doc0"), 1)  # parses, fills the cache
        cached, _, _ = best_of(lambda: parse_document(path, "doc0"), 3)
        items = [(path, "doc0")]
        for n in range(1, documents):
            shutil.copy(path, workdir / f"doc{n}.pdf")
            items.append((workdir / f"doc{n}.pdf", f"doc{n}"))
        serial, _, _ = best_of(lambda: parse_many(items, workers=1, cache=False), 1)
        parallel, _, _ = best_of(lambda: parse_many(items, workers=None, cache=False), 1)
        agree = patterns_agree(workdir)
        speedup = plain / cold
        return {
            "extractor_version": EXTRACTOR_VERSION,
            "pages": pages,
            "documents": documents,
            "cpus": os.cpu_count(),
            "load_avg_1m_before": load_before,
            "load_avg_1m_after": load_average(),
            "parse_pdf_cold_pages_per_s": round(pages / cold, 1),
            "pdfplumber_extract_text_pages_per_s": round(pages / plain, 1),
            "old_path_pdfplumber_chars_pages_per_s": round(pages / old_path, 1),
            "pypdfium2_bare_text_pages_per_s": round(pages / bare_pdfium, 1),
            "parse_pdf_time_over_pdfplumber": round(cold / plain, 2),
            "parse_pdf_speedup_over_pdfplumber": round(speedup, 2),
            "parse_pdf_speedup_over_old_path": round(old_path / cold, 2),
            "same_passages_as_old_path": same_passages(new, old),
            "same_passages_on_layout_patterns": agree,
            "targets": {"pdf_parse_speedup_over_pdfplumber": {
                "target": f">= {TARGET_OVER_PDFPLUMBER}", "value": round(speedup, 2),
                "met": speedup >= TARGET_OVER_PDFPLUMBER and same_passages(new, old) and all(agree.values())}},
            "parse_document_first_s": round(first, 3),
            "parse_document_cached_s": round(cached, 4),
            "parse_document_cached_pages_per_s": round(pages / cached, 1),
            "parse_many_serial_s": round(serial, 2),
            "parse_many_parallel_s": round(parallel, 2),
            "parallel_speedup": round(serial / parallel, 2),
        }
    finally:
        if saved_cache is None:
            os.environ.pop("RUBRICATE_CACHE_DIR", None)
        else:
            os.environ["RUBRICATE_CACHE_DIR"] = saved_cache
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 pages, 2 documents")
    parser.add_argument("--out", type=Path, help="also write the JSON to this file (atomically)")
    args = parser.parse_args()
    text = json.dumps(measure(*((20, 2) if args.quick else (200, 8))), indent=2)
    if args.out:
        write_atomic(args.out, text + "\n")
    print(text)


if __name__ == "__main__":
    main()
