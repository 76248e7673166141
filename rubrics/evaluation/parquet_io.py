"""Parquet for sharded runs: verdict parts written and read back exactly, response shards read
row by row (pyarrow, the optional ``[parquet]`` extra).

Why a codec of our own rather than ``pyarrow.Table.from_pylist``: a verdict read back from a
Parquet part must equal the one the JSONL part holds (same keys, types, nulls and key order),
so every reader of a run gets the same verdicts whatever ``--format`` wrote them, and every
part has the same columns, so DuckDB, pandas or Dask can read ``verdicts/*.parquet`` as one table.

Verdict schema: one row per verdict, one column per property of the verdict JSON Schema
(rubrics/contract/schema/verdict.schema.json), in its order: strings and enums as ``string``,
booleans as ``bool``, integers as ``int64``, numbers (``points``) as ``double``; arrays and
objects (``citations``, ``evidence``, ``flags``, ``usage``, ``metadata``, ``repeats``,
``conversation``) as ``string`` columns of JSON text. A field outside the schema, or a value
that does not fit its column, is kept as JSON text too. The JSON-text columns of a part are
named in the schema metadata key ``rubricate.json_columns``; ``_absent`` (list of strings) names
the fields a verdict does not have (a null cell in any other column is a JSON ``null``).
"""
from __future__ import annotations

import datetime as _dt
import decimal
import io
import json
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from rubricate.guidelines.kernel.errors import InputError, RubricateError

JSON_COLUMNS_KEY = b"rubricate.json_columns"
INTEGRAL_KEY = b"rubricate.integral_columns"
FORMAT_KEY = b"rubricate.format"
FORMAT = "rubricate-verdicts/1"
ABSENT = "_absent"
BATCH_ROWS = 4096
VERDICT_SCHEMA = Path(__file__).resolve().parents[1] / "contract" / "schema" / "verdict.schema.json"


def pyarrow_modules():
    """(pyarrow, pyarrow.parquet), or a one-line error saying which extra to install."""
    try:
        # start-up time: pyarrow (an optional extra) loads only when Parquet is read or written
        import pyarrow
        import pyarrow.parquet as pq
    except ImportError:
        raise RubricateError("Parquet needs pyarrow: pip install 'rubricate[parquet]'") from None
    return pyarrow, pq


@lru_cache(maxsize=1)
def verdict_columns() -> tuple[tuple[str, str], ...]:
    """(field, kind) per verdict property; kind is string, bool, int, number or json."""
    props = json.loads(VERDICT_SCHEMA.read_text(encoding="utf-8"))["properties"]
    out = []
    for name, spec in props.items():
        types = spec.get("type", [])
        types = {types} if isinstance(types, str) else set(types)
        if "enum" in spec and all(isinstance(e, str) for e in spec["enum"] if e is not None):
            types |= {"string"}
        types.discard("null")
        kind = {frozenset({"string"}): "string", frozenset({"boolean"}): "bool",
                frozenset({"integer"}): "int", frozenset({"number"}): "number"}.get(frozenset(types), "json")
        out.append((name, kind))
    return tuple(out)


def _fits(kind: str, value) -> bool:
    if value is None:
        return True
    if kind == "string":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool) and -2**63 <= value < 2**63
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return False


def verdicts_to_parquet(verdicts: list[dict]) -> bytes:
    """One verdict part as Parquet bytes (the schema in the module docstring)."""
    pa, pq = pyarrow_modules()
    arrow = {"string": pa.string(), "bool": pa.bool_(), "int": pa.int64(), "number": pa.float64()}
    columns = list(verdict_columns())
    known = {name for name, _ in columns}
    extra = sorted({k for v in verdicts for k in v if k not in known and k != ABSENT})
    columns += [(k, "json") for k in extra]
    arrays, fields, json_cols, integral = [], [], [], []
    for name, kind in columns:
        values = [v.get(name) for v in verdicts]
        if kind != "json" and not all(_fits(kind, x) for x in values):
            kind = "json"
        if kind == "json":
            json_cols.append(name)
            values = [None if x is None else json.dumps(x, ensure_ascii=False, sort_keys=True) for x in values]
            typ = pa.string()
        else:
            typ = arrow[kind]
            if kind == "number" and all(isinstance(x, int) for x in values if x is not None):
                integral.append(name)
        arrays.append(pa.array(values, type=typ))
        fields.append(pa.field(name, typ))
    arrays.append(pa.array([[name for name, _ in columns if name not in v] for v in verdicts],
                           type=pa.list_(pa.string())))
    fields.append(pa.field(ABSENT, pa.list_(pa.string())))
    keys_sorted = all(list(v) == sorted(v) for v in verdicts)
    meta = {JSON_COLUMNS_KEY: json.dumps(json_cols).encode(), INTEGRAL_KEY: json.dumps(integral).encode(),
            FORMAT_KEY: FORMAT.encode(), b"rubricate.sorted_keys": b"true" if keys_sorted else b"false"}
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=meta))
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def iter_parquet_verdicts(source) -> Iterator[dict]:
    """The verdicts of one Parquet part (a path or binary file object), exactly as written."""
    _, pq = pyarrow_modules()
    pf = pq.ParquetFile(source)
    meta = pf.schema_arrow.metadata or {}
    json_cols = set(json.loads(meta.get(JSON_COLUMNS_KEY, b"[]")))
    integral = set(json.loads(meta.get(INTEGRAL_KEY, b"[]")))
    sort = meta.get(b"rubricate.sorted_keys", b"true") == b"true"
    names = pf.schema_arrow.names
    for batch in pf.iter_batches(batch_size=BATCH_ROWS):
        columns = [batch.column(i).to_pylist() for i in range(len(names))]
        for row in zip(*columns):
            cells = dict(zip(names, row))
            absent = set(cells.pop(ABSENT, None) or ())
            rec = {}
            for name, value in cells.items():
                if name in absent:
                    continue
                if value is not None and name in json_cols:
                    value = json.loads(value)
                elif value is not None and name in integral:
                    value = int(value)
                rec[name] = value
            yield dict(sorted(rec.items())) if sort else rec


def _plain(value):
    """A Parquet cell as the value a JSON reader would have given (dates as ISO text)."""
    if isinstance(value, dict):  # an Arrow struct has every field in every row: null = absent, as at the top
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value  # left as bytes: the reader reports the field as not text
    return value


def iter_parquet_records(path) -> Iterator[tuple[int, dict]]:
    """(row number from 1, record) for each row of a Parquet file of responses; a null cell is
    a missing field, as an absent key in JSONL. An unreadable file is one InputError."""
    _, pq = pyarrow_modules()
    try:
        pf = pq.ParquetFile(path)
        n = 0
        for batch in pf.iter_batches(batch_size=BATCH_ROWS):
            for row in batch.to_pylist():
                n += 1
                yield n, {k: _plain(v) for k, v in row.items() if v is not None}
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid / ArrowIOError derive from these
        raise InputError(f"not a readable Parquet file: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                         path=str(path)) from None
