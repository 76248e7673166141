"""The detector vocabulary of the offline judge: type name -> class (see ../README.md)."""
from __future__ import annotations

from rubricate.rubrics.checks.detectors.base import Detector, Finding, HitFilter
from rubricate.rubrics.checks.detectors.instructions import EnumerationDetector, InstructionGivingDetector
from rubricate.rubrics.checks.detectors.items import ListItemsDetector
from rubricate.rubrics.checks.detectors.lexical import (HedgeDetector, LexiconDetector, QuestionBackDetector,
                                              RefusalDetector, TokenPatternDetector)
from rubricate.rubrics.checks.detectors.support import RealityTestingDetector, ReferralDetector

DETECTORS: dict[str, type[Detector]] = {cls.type: cls for cls in (
    LexiconDetector, TokenPatternDetector, ReferralDetector, RealityTestingDetector,
    InstructionGivingDetector, EnumerationDetector, ListItemsDetector, RefusalDetector,
    HedgeDetector, QuestionBackDetector)}

__all__ = ["DETECTORS", "Detector", "Finding", "HitFilter"]
