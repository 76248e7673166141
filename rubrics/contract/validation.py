"""The published JSON Schemas (rubrics/contract/schema/): validate rubrics and verdict records.

The rubric schema references the offline judge's checks schema by its ``$id``; both are
served to ``jsonschema`` from this package through a ``referencing`` registry (no network).
Reading a rubric file is rubricate.rubrics.contract.loader's job (the one ``load_rubric``).
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from rubricate.guidelines.kernel.errors import InputError, RubricFormatError, RubricateError
from rubricate.rubrics.checks.detectors import DETECTORS  # plug-in detector types are valid too
from rubricate.rubrics.checks.spec import schema_with_types

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
RUBRIC_SCHEMA = SCHEMA_DIR / "rubric.schema.json"
CHECKS_SCHEMA = SCHEMA_DIR / "checks.schema.json"
VERDICT_SCHEMA = SCHEMA_DIR / "verdict.schema.json"
LABEL_SCHEMA = SCHEMA_DIR / "label.schema.json"
CALIBRATION_SCHEMA = SCHEMA_DIR / "calibration.schema.json"


def _load(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RubricateError("schema file not found", path=str(path)) from None


def validator() -> Draft202012Validator:
    """The rubric validator; detector types added through the detector registry are valid."""
    return _validator(tuple(DETECTORS.names()))


@functools.lru_cache(maxsize=8)
def _validator(detector_types: tuple[str, ...]) -> Draft202012Validator:
    rubric = _load(RUBRIC_SCHEMA)
    resources = [Resource.from_contents(rubric)]
    if CHECKS_SCHEMA.is_file():
        resources.append(Resource.from_contents(schema_with_types(detector_types)))
    registry = Registry().with_resources((r.id(), r) for r in resources)
    Draft202012Validator.check_schema(rubric)
    return Draft202012Validator(rubric, registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def _where(error) -> str:
    parts = []
    for p in error.absolute_path:
        parts.append(f"[{p}]" if isinstance(p, int) else f".{p}")
    return "$" + "".join(parts)


@functools.lru_cache(maxsize=4)
def _record_validator(path: Path) -> Draft202012Validator:
    """A validator of one self-contained record schema (verdict, label, calibration)."""
    schema = _load(path)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def verdict_validator() -> Draft202012Validator:
    return _record_validator(VERDICT_SCHEMA)


def _errors(validator_: Draft202012Validator, record: dict) -> list[str]:
    errors = sorted(validator_.iter_errors(record), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return [f"{_where(e)}: {e.message[:300]}" for e in errors]


def schema_errors(rubric: dict) -> list[str]:
    """Every violation as 'JSON path: message', best match first per location; [] if valid."""
    return _errors(validator(), rubric)


def verdict_errors(verdict: dict) -> list[str]:
    """Every violation of schema/verdict.schema.json by one verdict record; [] if valid."""
    return _errors(verdict_validator(), verdict)


def label_errors(record: dict) -> list[str]:
    """Every violation of schema/label.schema.json by one label record; [] if valid."""
    return _errors(_record_validator(LABEL_SCHEMA), record)


def calibration_errors(doc: dict) -> list[str]:
    """Every violation of schema/calibration.schema.json by a calibration document; [] if valid."""
    return _errors(_record_validator(CALIBRATION_SCHEMA), doc)


def validate_rubric(rubric: dict, path: str | None = None) -> None:
    """Raise a one-line RubricateError on the first violations."""
    errors = schema_errors(rubric)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise RubricFormatError(f"not a valid rubric: {errors[0]}{more}", path=path)


def read_rubric_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError("rubric file not found", path=str(path)) from None


def parse_rubric(raw: bytes, path: str | Path) -> dict:
    """A rubric file's bytes as a JSON object (not yet validated)."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise RubricFormatError("not valid UTF-8", path=str(path)) from None
    except json.JSONDecodeError as exc:
        raise RubricFormatError(f"invalid JSON: {exc.msg}", path=str(path), line=exc.lineno) from None
    if not isinstance(data, dict):
        raise RubricFormatError("a rubric must be a JSON object", path=str(path))
    return data
