"""Validate a criterion's ``checks`` object against rubrics/contract/schema/checks.schema.json.

The published schema names the built-in detector types. A detector added through the
registry (rubrics/checks/detectors) is admitted too: ``checks_schema()`` adds every
registered type the file does not name, with free-form params (the detector's own
constructor checks them, with the same one-line errors).
"""
from __future__ import annotations

import copy
import functools
import json
from typing import TYPE_CHECKING

from rubricate.guidelines.kernel.errors import RubricFormatError
from rubricate.guidelines.kernel.paths import package_path
from rubricate.rubrics.checks.detectors import DETECTORS

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

SCHEMA_PATH = package_path("rubrics", "contract", "schema", "checks.schema.json")


@functools.lru_cache(maxsize=1)
def _file_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def checks_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a checks object and of every detector's params,
    with the registered plug-in detector types added to the type enum."""
    return schema_with_types(tuple(DETECTORS.names()))


@functools.lru_cache(maxsize=8)
def schema_with_types(types: tuple[str, ...]) -> dict:
    schema = _file_schema()
    enum = schema["$defs"]["detector"]["properties"]["type"]["enum"]
    extra = [t for t in types if t not in enum]
    if not extra:
        return schema
    schema = copy.deepcopy(schema)
    schema["$defs"]["detector"]["properties"]["type"]["enum"] = enum + extra
    return schema


@functools.lru_cache(maxsize=8)
def _validator_for(types: tuple[str, ...]) -> Draft202012Validator:
    from jsonschema import Draft202012Validator  # start-up time: not loaded for a rubric known valid

    return Draft202012Validator(schema_with_types(types))


def _validator() -> Draft202012Validator:
    return _validator_for(tuple(DETECTORS.names()))


def _leaves(errors):
    for error in errors:
        if error.context:
            yield from _leaves(error.context)
        yield error


def _most_specific(errors: list):
    """The deepest error; at equal depth an unknown key beats a missing one (likely a typo)."""
    candidates = list(_leaves(errors))
    return max(candidates, key=lambda e: (len(e.absolute_path),
                                          e.validator in ("unevaluatedProperties", "additionalProperties"),
                                          e.validator not in ("oneOf", "anyOf", "allOf")))


def validate_checks(checks, where: str = "checks") -> None:
    """Raise a one-line RubricateError naming the most specific offending place, if invalid."""
    errors = list(_validator().iter_errors(checks))
    if not errors:
        return
    from jsonschema.exceptions import best_match  # start-up time: only on an invalid checks object

    error = _most_specific(errors) if len(errors) > 1 or errors[0].context else best_match(errors)
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    raise RubricFormatError(f"{where}{path}: {error.message}")
