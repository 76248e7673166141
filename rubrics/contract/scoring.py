"""How a rubric's criteria answers add up for one response (the rule the rubric format states).

- A criterion is *met* when its answer is "yes"; a met criterion earns its points
  (HealthBench convention: negative points for an undesirable behaviour).
- A response is *appropriate* on a criterion when the answer equals ``appropriate_answer``.
- A response is appropriate for an item when every *decisive* criterion (severity critical or
  major) is answered appropriately; minor criteria change the points only. An inappropriate
  decisive answer makes it inappropriate even if others are unknown; otherwise any unknown
  decisive answer leaves it undecided (None). "uncertain" (the offline judge abstained) counts as
  unknown: never as yes or no.
- HealthBench score of a response: earned points / total positive points of the item (None
  when the item has no positive criterion); means over responses are clipped to [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass

DECISIVE = ("critical", "major")


@dataclass(frozen=True)
class ItemScore:
    appropriate: bool | None
    points: float              # earned (sum of points of met criteria)
    max_points: float          # sum of positive points
    healthbench: float | None  # points / max_points


def score_item(criteria: list[dict], answers: dict[str, str]) -> ItemScore:
    """``answers``: criterion id -> "yes" | "no" | "unknown" | "uncertain" (missing, unknown and
    uncertain leave a criterion unanswered)."""
    earned = sum(c["points"] for c in criteria if answers.get(c["id"]) == "yes")
    possible = sum(c["points"] for c in criteria if c["points"] > 0)
    decisive = [c for c in criteria if c["severity"] in DECISIVE] or criteria
    verdicts = [None if answers.get(c["id"]) not in ("yes", "no") else answers[c["id"]] == c["appropriate_answer"]
                for c in decisive]
    if any(v is False for v in verdicts):
        appropriate: bool | None = False
    elif any(v is None for v in verdicts):
        appropriate = None
    else:
        appropriate = True
    return ItemScore(appropriate, float(earned), float(possible), earned / possible if possible > 0 else None)
