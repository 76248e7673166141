"""Read model responses (JSONL, CSV or Parquet) one record at a time, with exact error locations.

Every problem is an ``InputProblem`` naming file and line (a Parquet file: row). The caller decides: ``strict``
stops at the first, the default skips the record and counts it in the summary.
"""
from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from rubricate.guidelines.kernel.errors import InputError
from rubricate.guidelines.kernel.fileio import iter_jsonl_objects
from rubricate.guidelines.kernel.idset import HashedIdSet
from rubricate.guidelines.kernel.textsafe import has_unsafe_characters

MAX_RESPONSE_CHARS = 200_000  # longer responses are refused: no judge reads a 1 MB reply honestly
TEXT_FIELDS = ("response", "output", "completion", "text")
ITEM_FIELDS = ("item_id", "stimulus_id")
REFUSAL_FLAG = "refusal"
REPAIRED_FLAG = "repaired-text"
CONTROL_FLAG = "control-characters"
KNOWN = {"response_id", "model", "refusal", *TEXT_FIELDS, *ITEM_FIELDS}


@dataclass
class Response:
    response_id: str
    item_id: str
    model: str
    text: str
    line: int
    metadata: dict = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)  # e.g. repaired-text, control-characters


@dataclass
class InputProblem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"

    def error(self) -> InputError:
        return InputError(self.message, path=self.path, line=self.line)


def _unterminated(path: Path, line: int) -> InputError:
    return InputError("unterminated quoted field: the CSV row starting on this line has no closing "
                          "quote (the rest of the file would be read into one field)", path=str(path), line=line)


def _csv_rows(path: Path) -> Iterator[tuple[int, int, list[str] | InputProblem]]:
    """(first line, last line, row) per CSV record; one spanning a bad UTF-8 line is a problem.

    The csv module reads the lines itself (strict mode), so a quote inside an unquoted field
    is text and a quoted field may span lines. A quoted field that never closes is an error
    naming the line where it starts, instead of silently swallowing the rest of the file:
    either the file ends inside it, or it runs over several lines into a record that breaks
    (a stray quote later closes it) - a legitimate multi-line field does neither.
    """
    bad: dict[int, str] = {}

    def lines(fh) -> Iterator[str]:
        for n, raw in enumerate(fh, start=1):
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad[n] = f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
                yield raw.decode("utf-8", "replace")

    with open(path, "rb") as fh:
        reader = csv.reader(lines(fh), strict=True)
        start = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if str(exc) == "unexpected end of data" or reader.line_num > start:
                    raise _unterminated(path, start) from None
                yield start, start, InputProblem(str(path), start, f"malformed CSV: {exc}")
                start = reader.line_num + 1
                continue
            end = reader.line_num
            problem = next((n for n in range(start, end + 1) if n in bad), None)
            if problem is not None:
                yield start, end, InputProblem(str(path), problem, bad[problem])
            elif row:
                yield start, end, row
            start = end + 1


def _records(path: Path) -> Iterator[tuple[int, dict | InputProblem]]:
    if path.suffix.lower() == ".parquet":  # row numbers (from 1) stand where JSONL has line numbers
        from rubricate.rubrics.evaluation.parquet_io import iter_parquet_records  # start-up time: pyarrow only for Parquet
        yield from iter_parquet_records(path)
        return
    if path.suffix.lower() == ".csv":
        header: list[str] | None = None
        for n, end, row in _csv_rows(path):  # structure first: an unclosed quote stops before any judging
            if header is None and not isinstance(row, InputProblem):
                header = row
            elif header is not None and end > n and not isinstance(row, InputProblem) and len(row) != len(header):
                raise _unterminated(path, n)
        header = None
        for n, _, row in _csv_rows(path):
            if isinstance(row, InputProblem):
                yield n, row
                continue
            if header is None:
                header = [h.strip().lstrip("\ufeff") for h in row]
                continue
            if len(row) != len(header):
                yield n, InputProblem(str(path), n, f"expected {len(header)} columns, found {len(row)}")
                continue
            yield n, dict(zip(header, row))
        return
    for n, rec in iter_jsonl_objects(path, "responses file"):
        yield n, InputProblem(str(path), n, rec) if isinstance(rec, str) else rec


def response_id_for(item_id: str, model: str, text: str, source: str = "") -> str:
    """An id for a record that has none: 128 bits of a hash of what it is (item, model, text and
    the record's own ``source`` / ``conversation_id`` when it has one), never of where it sits in
    a file, so the same record gets the same id in one file or split across shards, and ids do
    not collide at 10^8 records. Two identical records without ids are a duplicate."""
    h = hashlib.sha256(f"{item_id}\x1f{model}\x1f{source}\x1f{text}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"r-{h}"


def read_responses(path: Path, known_items: set[str] | None = None,
                   item_aliases: dict[str, str] | None = None) -> Iterator[Response | InputProblem]:
    """Yield responses in file order; problems are yielded in place of the bad records."""
    path = Path(path)
    if not path.exists():
        raise InputError("responses file not found", path=str(path))
    seen = _SeenIds(path, known_items, item_aliases)
    try:
        for n, rec in _records(path):
            got = rec if isinstance(rec, InputProblem) else _response(path, n, rec, known_items, item_aliases)
            if isinstance(got, Response):
                if seen.seen_before(got.response_id, n):
                    yield InputProblem(str(path), n, f"duplicate response_id {got.response_id!r}")
                    continue
                seen.add(got.response_id)
            yield got
    finally:
        seen.close()


class _SeenIds:
    """The response ids read so far, for the duplicate check, at 8 bytes an id (kernel.idset).

    A hash hit is confirmed exactly: the ids before that line are read again from the file
    into a plain set, which then answers for the rest of the file. Only a file that repeats
    an id (or, about 3 times in 10^8 at a million ids, holds two ids with one hash) pays
    for that, in time and memory; a clean file never does.
    """

    def __init__(self, path: Path, known_items: set[str] | None, item_aliases: dict[str, str] | None) -> None:
        self.path, self.known_items, self.item_aliases = path, known_items, item_aliases
        self.hashed: HashedIdSet | None = HashedIdSet()
        self.exact: set[str] | None = None

    def seen_before(self, rid: str, line: int) -> bool:
        if self.exact is None:
            assert self.hashed is not None
            if not self.hashed.might_contain(rid):
                return False
            self.exact = set(self._ids_before(line))
            self.hashed.close()
            self.hashed = None
        return rid in self.exact

    def _ids_before(self, line: int) -> Iterator[str]:
        for n, rec in _records(self.path):
            if n >= line:
                return
            if not isinstance(rec, InputProblem):
                got = _response(self.path, n, rec, self.known_items, self.item_aliases)
                if isinstance(got, Response):
                    yield got.response_id

    def add(self, rid: str) -> None:
        if self.exact is not None:
            self.exact.add(rid)
        else:
            assert self.hashed is not None
            self.hashed.add(rid)

    def close(self) -> None:
        if self.hashed is not None:
            self.hashed.close()
        self.exact = None


def _response(path: Path, n: int, rec: dict, known_items: set[str] | None,
              item_aliases: dict[str, str] | None) -> Response | InputProblem:
    """One record read as a response, or the problem that keeps it out (all but duplicates)."""
    item = next((str(rec[f]) for f in ITEM_FIELDS if rec.get(f) not in (None, "")), None)
    text = next((rec[f] for f in TEXT_FIELDS if rec.get(f) is not None), None)
    refusal = rec.get("refusal") if isinstance(rec.get("refusal"), str) and rec["refusal"].strip() else None
    refused = refusal is not None and not (isinstance(text, str) and text.strip())
    if refused:
        text = refusal  # the model under test declined: judged as a refusal, not as empty
    if item is None:
        return InputProblem(str(path), n, "missing field item_id (or stimulus_id)")
    if text is None:
        present = [f for f in TEXT_FIELDS if f in rec]
        return InputProblem(str(path), n, f"field {present[0]} is null (no response text)" if present
                            else "missing field response")
    if not isinstance(text, str):
        return InputProblem(str(path), n, "field response must be a string")
    item = (item_aliases or {}).get(item, item)
    if known_items is not None and item not in known_items:
        return InputProblem(str(path), n, f"unknown item id {item!r} (not in the rubric)")
    if not text.strip():
        return InputProblem(str(path), n, "empty response")
    if len(text) > MAX_RESPONSE_CHARS:
        return InputProblem(str(path), n, f"response of {len(text):,} characters exceeds the limit of {MAX_RESPONSE_CHARS:,}")
    model = str(rec.get("model") or "unknown-model")
    source = str(rec.get("conversation_id") or rec.get("source") or "")
    rid = str(rec.get("response_id") or response_id_for(item, model, text, source))
    meta = {k: v for k, v in rec.items() if k not in KNOWN}
    flags = [REFUSAL_FLAG] if refused else []
    if getattr(rec, "repaired", False):
        flags.append(REPAIRED_FLAG)  # lone surrogates replaced by U+FFFD
    if has_unsafe_characters(text) or has_unsafe_characters(model):
        flags.append(CONTROL_FLAG)  # terminal escapes / bidi overrides: shown escaped
    return Response(rid, item, model, text, n, meta, flags)
