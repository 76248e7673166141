"""How sure the offline judge is of a verdict: a confidence in [0, 1] from its detectors' findings.

Why: a rule that fires on one phrase, or stays silent while the topic is right there but
negated or asked as a question, is often wrong; one resting on several hits with nothing
against it rarely is. The confidence weighs what the finding rests on against what speaks
against it, as evidence odds: ``support / (support + against + prior)``.

- A verdict that the behaviour is there (``found``): support is the hits beyond each fired
  detector's threshold (capped), and a finding that rests on little text of a long reply
  counts less; against it are candidate hits the filters set aside (negated, framed, asked),
  hits inside hedged units, vetoes of other detectors and refusals in the reply.
- A verdict that it is not there: support is the clean absence (``prior_absent``); against it
  are near misses: topic hits set aside, partial findings below a threshold, findings vetoed,
  and the check's ``doubt`` detectors that fired (signs that the behaviour may be there in a
  form the detectors do not read: the topic named, a question that may be the move asked for).

The weights are data (rubrics/checks/confidence.yaml); each criterion's checks say below which
confidence the judge answers ``uncertain`` (``uncertain_below``).
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from rubricate.guidelines.kernel.fileio import load_yaml_mapping
from rubricate.guidelines.kernel.paths import package_path

WEIGHTS_PATH = package_path("rubrics", "checks", "confidence.yaml")


@dataclass(frozen=True)
class Weights:
    """The weights of confidence.yaml (documented there)."""

    prior_found: float
    prior_absent: float
    support_cap: float
    near: float
    partial: float
    vetoed: float
    hedged: float
    refusal: float
    thin_chars: int
    thin: float
    doubt: float


@functools.lru_cache(maxsize=1)
def weights() -> Weights:
    data = load_yaml_mapping(WEIGHTS_PATH, "confidence weights")
    return Weights(**{k: data[k] for k in Weights.__dataclass_fields__})


def weights_digest() -> str:
    """Short hash of the weights file: part of the offline judge's version."""
    return hashlib.sha256(WEIGHTS_PATH.read_bytes()).hexdigest()[:8]


@dataclass(frozen=True)
class Signals:
    """What one check's detectors found, summed (the inputs of the confidence)."""

    found: bool
    support: float = 0.0    # found: hits beyond thresholds; absent: unused
    near: int = 0           # candidate hits set aside by filters
    partial: int = 0        # hits of detectors that stayed below their threshold
    vetoed: int = 0         # findings cancelled by a veto
    hedged: int = 0         # supporting hits inside hedged units
    refusals: int = 0       # refusals in the reply
    evidence_chars: int = 0
    text_chars: int = 0
    doubts: int = 0         # absent: the check's ``doubt`` detectors that fired

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def score(s: Signals, w: Weights | None = None) -> float:
    """The confidence of a verdict with these signals, in [0, 1]."""
    w = w or weights()
    if s.found:
        support = min(s.support, w.support_cap)
        if s.text_chars and s.evidence_chars < w.thin_chars and s.text_chars > 4 * w.thin_chars:
            support *= w.thin
        against = w.near * s.near + w.hedged * s.hedged + w.vetoed * s.vetoed + w.refusal * s.refusals
        return support / (support + against + w.prior_found)
    against = w.near * s.near + w.partial * s.partial + w.vetoed * s.vetoed + w.doubt * s.doubts
    return w.prior_absent / (w.prior_absent + against)
