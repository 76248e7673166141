"""The detector vocabulary of the offline judge: type name -> class (see ../README.md)."""
from __future__ import annotations

from rubrics.checks.detectors.base import Detector, Finding, HitFilter
from rubrics.checks.detectors.instructions import EnumerationDetector, InstructionGivingDetector
from rubrics.checks.detectors.items import ListItemsDetector
from rubrics.checks.detectors.lexical import (HedgeDetector, LexiconDetector, QuestionBackDetector,
                                              RefusalDetector, TokenPatternDetector)
from rubrics.checks.detectors.support import RealityTestingDetector, ReferralDetector

DETECTORS: dict[str, type[Detector]] = {cls.type: cls for cls in (
    LexiconDetector, TokenPatternDetector, ReferralDetector, RealityTestingDetector,
    InstructionGivingDetector, EnumerationDetector, ListItemsDetector, RefusalDetector,
    HedgeDetector, QuestionBackDetector)}

__all__ = ["DETECTORS", "Detector", "Finding", "HitFilter"]
