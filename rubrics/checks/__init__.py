"""The offline (rule-based, spaCy) judge: declarative checks answering a criterion's yes/no question.

Public API: ``compile_checks(criteria) -> CompiledChecks``; ``CompiledChecks.evaluate(
responses, criterion_ids_per_response) -> list[list[CheckResult]]``; ``validate_checks``;
``OFFLINE_JUDGE_VERSION``. The detector vocabulary is documented in README.md here and in
rubrics/contract/schema/checks.schema.json.
"""
from __future__ import annotations

from rubricate.rubrics.checks.detectors import DETECTORS
from rubricate.rubrics.checks.engine import (OFFLINE_JUDGE_VERSION, CheckResult, CompiledCheck, CompiledChecks,
                                   Evidence, compile_checks)
from rubricate.rubrics.checks.spec import checks_schema, validate_checks

__all__ = ["DETECTORS", "OFFLINE_JUDGE_VERSION", "CheckResult", "CompiledCheck", "CompiledChecks",
           "Evidence", "checks_schema", "compile_checks", "validate_checks"]
