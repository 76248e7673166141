"""The detector vocabulary of the offline judge: type name -> class (see ../README.md).

``DETECTORS`` is a registry (guidelines/kernel/plugins.py). A detector is a subclass of
``Detector`` whose ``type`` is its registered name; adding one is a module with the class
plus one ``DETECTORS.add`` line below, or an entry point in the group
``rubricate.detectors`` of a separate package. Rubric checks may then name it as ``type``
(rubrics/checks/spec.py admits registered plug-in types beside the schema's built-ins).
The classes are imported when first used: listing the names loads no spaCy.
"""
from __future__ import annotations

import importlib
from typing import Any

from rubricate.guidelines.kernel.plugins import Registry, instances


_HERE = "rubricate.rubrics.checks.detectors"
DETECTORS: Registry[Any] = Registry("detector", "rubricate.detectors", instances(
    "detector", f"{_HERE}.base:Detector", "type", subclass=True))
DETECTORS.add("lexicon", f"{_HERE}.lexical:LexiconDetector")
DETECTORS.add("token_pattern", f"{_HERE}.lexical:TokenPatternDetector")
DETECTORS.add("referral", f"{_HERE}.support:ReferralDetector")
DETECTORS.add("reality_testing", f"{_HERE}.support:RealityTestingDetector")
DETECTORS.add("instruction_giving", f"{_HERE}.instructions:InstructionGivingDetector")
DETECTORS.add("enumeration", f"{_HERE}.instructions:EnumerationDetector")
DETECTORS.add("list_items", f"{_HERE}.items:ListItemsDetector")
DETECTORS.add("refusal", f"{_HERE}.lexical:RefusalDetector")
DETECTORS.add("hedge", f"{_HERE}.lexical:HedgeDetector")
DETECTORS.add("question_back", f"{_HERE}.lexical:QuestionBackDetector")
DETECTORS.add("drafting", f"{_HERE}.drafting:DraftingDetector")
DETECTORS.add("advises_against", f"{_HERE}.discouraging:AdvisesAgainstDetector")

__all__ = ["DETECTORS", "Detector", "Finding", "HitFilter"]


def __getattr__(name: str) -> Any:  # PEP 562: the base classes load spaCy, so only on use
    if name in ("Detector", "Finding", "HitFilter"):
        return getattr(importlib.import_module(f"{_HERE}.base"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
