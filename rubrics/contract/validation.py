"""The published JSON Schemas (rubrics/contract/schema/): validate rubrics and verdict records.

The rubric schema references the offline judge's checks schema by its ``$id``; both are
served to ``jsonschema`` from this package through a ``referencing`` registry (no network).
Reading a rubric file is rubricate.rubrics.contract.loader's job (the one ``load_rubric``).

Validating the default rubric takes a few tenths of a second, a large part of a one-response
``evaluate``; ``validate_rubric_once`` remembers in the workspace cache (``validated/``, one
empty file per rubric) that these exact bytes passed these exact schemas, so a rubric is
validated once per content, schema and jsonschema version, not on every run.
"""
from __future__ import annotations

import functools
import hashlib
import json
from importlib.metadata import version as _dist_version
from pathlib import Path
from typing import TYPE_CHECKING

from rubricate.guidelines.kernel.errors import InputError, RubricFormatError, RubricateError
from rubricate.guidelines.kernel.workspace import cache_dir
from rubricate.rubrics.checks.detectors import DETECTORS  # plug-in detector types are valid too
from rubricate.rubrics.checks.spec import schema_with_types

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

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
    from jsonschema import Draft202012Validator  # start-up time: not loaded when the rubric is known valid
    from referencing import Registry, Resource  # start-up time: as above

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
    from jsonschema import Draft202012Validator  # start-up time: loaded when a record is checked

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


@functools.lru_cache(maxsize=8)
def _schema_fingerprint(detector_types: tuple[str, ...]) -> bytes:
    """What a rubric's validity depends on besides its bytes: both schemas and the validator."""
    digest = hashlib.sha256(RUBRIC_SCHEMA.read_bytes())
    digest.update(json.dumps(schema_with_types(detector_types), sort_keys=True).encode())
    digest.update(_dist_version("jsonschema").encode())
    return digest.digest()


def _validated_marker(raw: bytes) -> Path | None:
    """The cache file saying these rubric bytes passed the current schemas (None: no cache)."""
    try:
        key = hashlib.sha256(_schema_fingerprint(tuple(DETECTORS.names())) + raw).hexdigest()
        return cache_dir("validated") / key
    except (OSError, RubricateError):  # no usable workspace: validate every time
        return None


def validate_rubric_once(rubric: dict, raw: bytes, path: str | None = None) -> None:
    """``validate_rubric``, skipped when these bytes already passed the same schemas (the
    workspace cache); a failure is never remembered, so errors are reported every time."""
    marker = _validated_marker(raw)
    if marker is not None and marker.is_file():
        return
    validate_rubric(rubric, path)
    if marker is not None:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:  # a read-only workspace: the next run validates again
            pass


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
