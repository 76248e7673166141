"""Read model responses (JSONL or CSV) one record at a time, with exact error locations.

Every problem is an ``InputProblem`` naming file and line. The caller decides: ``strict``
stops at the first, the default skips the record and counts it in the summary.
"""
from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from rubricate.guidelines.kernel.errors import InputError
from rubricate.guidelines.kernel.fileio import iter_jsonl_objects

MAX_RESPONSE_CHARS = 200_000  # longer responses are refused: no judge reads a 1 MB reply honestly
TEXT_FIELDS = ("response", "output", "completion", "text")
ITEM_FIELDS = ("item_id", "stimulus_id")
KNOWN = {"response_id", "model", *TEXT_FIELDS, *ITEM_FIELDS}


@dataclass
class Response:
    response_id: str
    item_id: str
    model: str
    text: str
    line: int
    metadata: dict = field(default_factory=dict)


@dataclass
class InputProblem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"

    def error(self) -> InputError:
        return InputError(self.message, path=self.path, line=self.line)


def _lines(path: Path) -> Iterator[tuple[int, str | InputProblem]]:
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, start=1):
            try:
                yield n, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield n, InputProblem(str(path), n, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})")


def _records(path: Path) -> Iterator[tuple[int, dict | InputProblem]]:
    if path.suffix.lower() == ".csv":
        # csv needs whole text lines; decode line by line to keep the location of bad bytes
        header: list[str] | None = None
        buf = ""
        start_line = 0
        for n, line in _lines(path):
            if isinstance(line, InputProblem):
                yield n, line
                continue
            if not buf:
                start_line = n
            buf += line
            try:
                rows = list(csv.reader(io.StringIO(buf)))
            except csv.Error as exc:
                yield start_line, InputProblem(str(path), start_line, f"malformed CSV: {exc}")
                buf = ""
                continue
            if buf.count('"') % 2:  # a quoted field continues on the next line
                continue
            buf = ""
            if not rows:
                continue
            row = rows[0]
            if header is None:
                header = [h.strip().lstrip("\ufeff") for h in row]
                continue
            if len(row) != len(header):
                yield start_line, InputProblem(str(path), start_line,
                                               f"expected {len(header)} columns, found {len(row)}")
                continue
            yield start_line, dict(zip(header, row))
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
    seen: set[str] = set()
    for n, rec in _records(path):
        if isinstance(rec, InputProblem):
            yield rec
            continue
        item = next((str(rec[f]) for f in ITEM_FIELDS if rec.get(f) not in (None, "")), None)
        text = next((rec[f] for f in TEXT_FIELDS if rec.get(f) is not None), None)
        if item is None:
            yield InputProblem(str(path), n, "missing field item_id (or stimulus_id)")
            continue
        if text is None:
            present = [f for f in TEXT_FIELDS if f in rec]
            yield InputProblem(str(path), n, f"field {present[0]} is null (no response text)" if present
                               else "missing field response")
            continue
        if not isinstance(text, str):
            yield InputProblem(str(path), n, "field response must be a string")
            continue
        item = (item_aliases or {}).get(item, item)
        if known_items is not None and item not in known_items:
            yield InputProblem(str(path), n, f"unknown item id {item!r} (not in the rubric)")
            continue
        if not text.strip():
            yield InputProblem(str(path), n, "empty response")
            continue
        if len(text) > MAX_RESPONSE_CHARS:
            yield InputProblem(str(path), n, f"response of {len(text):,} characters exceeds the limit of {MAX_RESPONSE_CHARS:,}")
            continue
        model = str(rec.get("model") or "unknown-model")
        source = str(rec.get("conversation_id") or rec.get("source") or "")
        rid = str(rec.get("response_id") or response_id_for(item, model, text, source))
        if rid in seen:
            yield InputProblem(str(path), n, f"duplicate response_id {rid!r}")
            continue
        seen.add(rid)
        meta = {k: v for k, v in rec.items() if k not in KNOWN}
        yield Response(rid, item, model, text, n, meta)
