"""The offline (rule-based, spaCy) judge: declarative checks answering a criterion's yes/no question.

Public API: ``compile_checks(criteria) -> CompiledChecks``; ``CompiledChecks.evaluate(
responses, criterion_ids_per_response) -> list[list[CheckResult]]``; ``validate_checks``;
``OFFLINE_JUDGE_VERSION``; ``DETECTORS`` (the detector registry). The detector vocabulary is
documented in README.md here and in rubrics/contract/schema/checks.schema.json.

The names are imported on first use (PEP 562) for start-up time: the rubric validator and
the CLI read the detector registry without loading spaCy.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DETECTORS": "detectors",
    "OFFLINE_JUDGE_VERSION": "engine", "CheckResult": "engine", "CompiledCheck": "engine",
    "CompiledChecks": "engine", "Evidence": "engine", "compile_checks": "engine",
    "checks_schema": "spec", "validate_checks": "spec",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
