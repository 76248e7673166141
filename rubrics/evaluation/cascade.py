"""The cascade judge (``--judge cascade``): the offline rules first, the LLM judge only where needed.

Why: the rules judge a response in a millisecond and know when they are unsure (rubrics/checks/
confidence.py); the LLM judge is slower and costs money. The cascade keeps every confident
rules verdict and asks the LLM judge (llm_judge.py: its runner, cache, retries, batch mode) about
the verdicts the rules answered ``uncertain``, plus, with ``audit_rate`` > 0, a seeded random
sample of the confident ones, so a run measures how often the confident rules agree with the
LLM. Each verdict says which judge decided (``decided_by``), why the LLM was asked
(``routed``: uncertain | audit) and keeps the rules' reading (``rules_answer``) and confidence;
the summary reports the share routed and the calls, tokens and cost saved against an LLM-only run.
"""
from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

from rubricate.guidelines.kernel.errors import ConfigurationError
from rubricate.rubrics.contract.model import Rubric
from rubricate.rubrics.evaluation.judges import BATCH, JudgeBase, Outcome, Task
from rubricate.rubrics.evaluation.rules_judge import make_rules_judge

DECIDED = ("yes", "no")


def audit_draw(seed: int, response_id: str, criterion_id: str) -> float:
    """A number in [0, 1) fixed by the seed and the verdict's identity: the same confident
    verdicts are audited in every run and on resume, whatever the batch boundaries."""
    digest = hashlib.sha256(f"{seed}\x1f{response_id}\x1f{criterion_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def routing(outcome: Outcome, task: Task, audit_rate: float, seed: int) -> str | None:
    """Why a rules outcome goes to the LLM judge (uncertain | audit), or None: it stands."""
    if outcome.answer == "uncertain":
        return "uncertain"
    if audit_rate > 0 and outcome.answer in DECIDED and \
            audit_draw(seed, task.response.response_id, task.criterion["id"]) < audit_rate:
        return "audit"
    return None


class CascadeJudge(JudgeBase):
    """Rules first; uncertain (and audited) verdicts answered by the LLM judge."""

    name = "cascade"

    def __init__(self, rules: Any, llm: Any, audit_rate: float = 0.0, seed: int = 0) -> None:
        if not 0 <= audit_rate <= 1:
            raise ConfigurationError(f"--audit-rate must be between 0 and 1, got {audit_rate}")
        self.rules, self.llm = rules, llm
        self.audit_rate, self.seed = audit_rate, seed
        self.version = f"cascade({rules.version}|{llm.version})"
        # the rules' batch, unless the LLM judge in provider-batch mode wants one batch per many calls
        self.batch_size = max(BATCH, llm.batch_size) if getattr(llm, "batch", False) else BATCH

    def __call__(self, tasks: list[Task]) -> list[Outcome]:
        first = self.rules(tasks)
        why = [routing(o, t, self.audit_rate, self.seed) for o, t in zip(first, tasks)]
        routed = [i for i, w in enumerate(why) if w]
        asked = dict(zip(routed, self.llm([tasks[i] for i in routed]))) if routed else {}
        return [self._combine(first[i], why[i], asked.get(i)) for i in range(len(tasks))]

    @staticmethod
    def _combine(rules: Outcome, why: str | None, llm: Outcome | None) -> Outcome:
        if llm is None:
            return replace(rules, decided_by="rules")
        reading = rules.rules_answer if rules.answer == "uncertain" else rules.answer
        return replace(llm, confidence=rules.confidence, rules_answer=reading, decided_by="llm", routed=why,
                       reason=f"{llm.reason} [asked the LLM judge: rules {why} ({reading}, confidence "
                              f"{rules.confidence if rules.confidence is not None else 'n/a'})]")

    def bind_results(self, folder: Path) -> None:
        if hasattr(self.llm, "bind_results"):
            self.llm.bind_results(folder)

    def describe(self) -> dict[str, Any]:
        """For run.json: the LLM judge's endpoint and usage, and the audit settings."""
        out = self.llm.describe() if hasattr(self.llm, "describe") else {}
        return {**out, "cascade": {"rules_version": self.rules.version, "audit_rate": self.audit_rate,
                                   "audit_seed": self.seed}}

    def close(self) -> None:
        try:
            self.rules.close()
        finally:
            self.llm.close()

    def abort(self) -> None:
        try:
            getattr(self.rules, "abort", self.rules.close)()
        finally:
            getattr(self.llm, "abort", self.llm.close)()


def make_cascade_judge(rubric: Rubric, *, workers: int = 1, audit_rate: float = 0.0, **options: Any) -> CascadeJudge:
    """Registry factory: the rules judge (``workers`` processes) and the LLM judge (the CLI's
    endpoint options); ``audit_rate`` of the confident verdicts drawn with ``seed``."""
    from rubricate.rubrics.evaluation.llm_judge import LLMJudge  # start-up time: the LLM client loads on use
    llm = LLMJudge(rubric, **options)
    try:
        rules = make_rules_judge(rubric, workers=workers)
    except BaseException:
        llm.close()
        raise
    return CascadeJudge(rules, llm, audit_rate, seed=llm.endpoint.seed or 0)
