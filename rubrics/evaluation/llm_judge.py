"""The LLM judge as an evaluator ``Judge``: rubric tasks -> rubrics.llm calls -> outcomes."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from rubricate.rubrics.evaluation.judges import JudgeBase, Outcome, Task
from rubricate.rubrics.llm import (EndpointConfig, JudgeTask, RunStats, get_protocol,
                                   judge_many_sync, open_cache)
from rubricate.rubrics.llm.batch import BatchOptions
from rubricate.rubrics.llm.endpoint import endpoint_from_options
from rubricate.rubrics.llm.params import ParamPolicy
from rubricate.rubrics.contract.model import Rubric


class LLMJudge(JudgeBase):
    """Tasks grouped by response -> one judge task each -> rubrics.llm judge calls -> outcomes.

    ``stats`` accumulates the run's request totals; closing releases the request cache.
    ``endpoint`` is an EndpointConfig, else built (and checked) from ``endpoint_options``
    (the CLI's --base-url, --max-tokens, --extra-body, ...). With ``batch`` the calls go
    through the provider's batch API; the ledger of submitted batches lives in the results
    folder (``bind_results``), so ``--resume`` polls them instead of resubmitting.
    """

    name = "llm"

    def __init__(self, rubric: Rubric, llm_model: str | None = None, protocol: str = "criterion",
                 cache_dir: Path | None = None, no_cache: bool = False, progress: bool = True,
                 endpoint: EndpointConfig | None = None, batch: bool = False,
                 batch_fallback: str = "batch", batch_poll_interval: float = 10.0,
                 **endpoint_options: Any) -> None:
        seed = endpoint_options.pop("seed", None)  # a repeated judge gives each member its own
        if endpoint is None:
            endpoint = endpoint_from_options(llm_model, **endpoint_options,
                                             **({"seed": seed} if seed is not None else {}))
        elif seed is not None and seed != endpoint.seed:
            endpoint = replace(endpoint, seed=seed)
        self.endpoint = endpoint
        self.protocol = protocol
        self.version = f"{self.endpoint.model}/{protocol}-{get_protocol(protocol).version}"
        self.cache = open_cache(cache_dir, no_cache)
        self.stats = RunStats()
        self.progress = progress
        # What the model accepts, learned from 400s, holds for every batch of the run.
        self.params = ParamPolicy.for_model(self.endpoint.model, self.endpoint.explicit_params())
        self.batch, self.batch_fallback, self.batch_poll_interval = batch, batch_fallback, batch_poll_interval
        self.batch_options: BatchOptions | None = None
        # Enough responses per batch to keep every request slot busy, few enough that verdicts
        # reach disk often (an interrupted run then loses little, and the cache has the rest).
        # In batch mode one provider batch per 10,000 responses (OpenAI takes up to 50,000 requests).
        self.batch_size = 10_000 if batch else max(16, 4 * self.endpoint.concurrency_bound)

    def bind_results(self, folder: Path) -> None:
        """The evaluator's results folder: where batch mode keeps its ledger."""
        if self.batch:
            self.batch_options = BatchOptions(Path(folder) / "batches.jsonl", self.batch_fallback,
                                              self.batch_poll_interval)

    def describe(self) -> dict[str, Any]:
        """For run.json: the effective endpoint (no key), protocol and the run's usage."""
        return {"endpoint": self.endpoint.describe(), "protocol": self.protocol, "usage": self.stats.to_dict()}

    def __call__(self, tasks: list[Task]) -> list[Outcome]:
        by_response: dict[str, list[int]] = {}
        for i, t in enumerate(tasks):
            by_response.setdefault(t.response.response_id, []).append(i)
        jtasks = [JudgeTask(key=rid, messages=tasks[idx[0]].item["stimulus"]["messages"],
                            response=tasks[idx[0]].response.text,
                            criteria=[tasks[i].criterion for i in idx])
                  for rid, idx in by_response.items()]
        results = judge_many_sync(jtasks, self.endpoint, protocol=self.protocol, cache=self.cache,
                                  stats=self.stats, progress=self.progress, batch=self.batch_options,
                                  params=self.params)
        found = {(r.key, r.criterion_id): r for r in results}
        out = []
        for t in tasks:
            r = found[(t.response.response_id, t.criterion["id"])]
            usage = dict(r.usage)
            share = usage.pop("shared_by", 1) or 1  # one call judged several criteria
            usage = {k: (v / share if isinstance(v, (int, float)) else v) for k, v in usage.items()}
            usage.update(latency_s=r.latency_s, cached=r.cached, judge_model=self.endpoint.model)
            out.append(Outcome(answer=r.answer, reason=r.reason,
                               judge_version=f"{self.endpoint.model}/{self.protocol}-{r.protocol_version}",
                               evidence=r.evidence, protocol=self.protocol, usage=usage,
                               flags=list(r.flags), failed="judge-error" in r.flags, cause=r.cause))
        return out

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()


def llm_judge(rubric: Rubric, **options: Any) -> LLMJudge:
    """The LLM judge for ``rubric`` (options: those of ``LLMJudge``)."""
    return LLMJudge(rubric, **options)


def make_llm_judge(rubric: Rubric, *, workers: int = 1, **options: Any) -> LLMJudge:
    """Registry factory: the CLI's endpoint and protocol options (``workers`` is the offline
    judge's and does not apply)."""
    return LLMJudge(rubric, **options)
