"""The one JSONL reader (kernel.fileio.read_jsonl) and its policies: strict, skip, torn tail."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from rubricate.guidelines.kernel.errors import InputError
from rubricate.guidelines.kernel.fileio import SKIP, STRICT, TORN_TAIL, read_jsonl
from rubricate.rubrics.evaluation.respond import done_keys
from rubricate.rubrics.evaluation.results import iter_jsonl
from tests.checkout import package_sources

REPO = Path(__file__).resolve().parents[1]
BAD = b'\xef\xbb\xbf{"a": 1}\n\n{"a": 2,\n[3]\n{"a": \xff}\n{"a": 4}\n{"a": 5'


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "x.jsonl"
    path.write_bytes(data)
    return path


def test_strict_stops_at_the_first_bad_line_with_its_number(tmp_path):
    path = write(tmp_path, BAD)
    rows = read_jsonl(path, STRICT, "test file")
    assert next(rows) == (1, {"a": 1})  # BOM dropped, blank line skipped
    with pytest.raises(InputError, match=r"x\.jsonl:3: invalid JSON"):
        next(rows)


def test_skip_leaves_bad_lines_out_and_reports_them(tmp_path):
    skipped: list = []
    rows = list(read_jsonl(write(tmp_path, BAD), SKIP, skipped=skipped))
    assert rows == [(1, {"a": 1}), (6, {"a": 4})]
    assert [n for n, _ in skipped] == [3, 4, 5, 7]
    assert "expected a JSON object" in skipped[1][1] and "not valid UTF-8" in skipped[2][1]


def test_torn_tail_leaves_out_only_an_unterminated_last_line(tmp_path):
    path = write(tmp_path, b'{"a": 1}\n{"a": 2}\n{"a": 3')  # the last append was interrupted
    assert [o for _, o in read_jsonl(path, TORN_TAIL)] == [{"a": 1}, {"a": 2}]
    assert list(iter_jsonl(path)) == [{"a": 1}, {"a": 2}]
    corrupt = write(tmp_path, b'{"a": 1}\n{"a": \n{"a": 3}\n')
    with pytest.raises(InputError, match=r"x\.jsonl:2: invalid JSON"):
        list(read_jsonl(corrupt, TORN_TAIL))


def test_an_open_binary_file_reads_the_same(tmp_path):
    path = write(tmp_path, b'{"a": 1}\n{"a": 2')
    with path.open("rb") as fh:
        assert list(read_jsonl(fh, TORN_TAIL)) == [(1, {"a": 1})]
    with path.open("rb") as fh, pytest.raises(InputError, match=r"x\.jsonl:2: invalid JSON"):
        list(read_jsonl(fh, STRICT))


def test_missing_files_and_unknown_policies(tmp_path):
    with pytest.raises(InputError, match=r"none\.jsonl: sheet not found"):
        list(read_jsonl(tmp_path / "none.jsonl", STRICT, "sheet"))
    assert list(read_jsonl(tmp_path / "none.jsonl", STRICT, missing_ok=True)) == []
    assert list(iter_jsonl(tmp_path / "none.jsonl")) == []
    with pytest.raises(ValueError):
        list(read_jsonl(write(tmp_path, b"{}\n"), "lenient"))


def test_resume_keys_skip_bad_lines(tmp_path):
    path = write(tmp_path, b'{"model": "m", "item_id": "i", "response": "r"}\nnot json\n'
                           b'{"model": "m", "item_id": "j", "sample": 1, "response": "r"}\n{"model": "m", "item_id": "k"')
    assert done_keys(path, "m", "response") == {("i", 0), ("j", 1)}


def test_no_other_jsonl_parser_in_the_package():
    """JSON Lines are parsed in kernel/fileio.py only (JSON documents elsewhere are fine)."""
    line_parse = re.compile(r"json\.loads\((line|l|ln)\b")
    for path in package_sources():
        rel = path.relative_to(REPO)
        if rel.parts[0] in ("tests", "bench", "build", "dist", ".git") or rel == Path("guidelines/kernel/fileio.py"):
            continue
        assert not line_parse.search(path.read_text(encoding="utf-8")), f"{rel} parses JSON lines itself"
