"""The LLM judge as an evaluator ``Judge``: rubric tasks -> rubrics.llm calls -> outcomes."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rubricate.guidelines.kernel.errors import ConfigurationError
from rubricate.rubrics.evaluation.judges import JudgeBase, Outcome, Task
from rubricate.rubrics.llm import (EndpointConfig, JudgeTask, Price, RunStats, get_protocol,
                                   judge_many_sync, open_cache)
from rubricate.rubrics.contract.model import Rubric


def endpoint_from_options(llm_model: str | None, base_url: str | None, api_key_env: str,
                          max_concurrency: int, timeout: float, max_retries: int, seed: int,
                          temperature: float, price_table: Path | None) -> EndpointConfig:
    if not llm_model:
        raise ConfigurationError("--model is required for an LLM (name of the model at the endpoint)")
    price = None
    if price_table:
        try:
            table = json.loads(Path(price_table).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigurationError(f"cannot read price table: {exc}", path=str(price_table)) from None
        if llm_model in table:
            price = Price.from_dict(table[llm_model])
    cfg = EndpointConfig(model=llm_model, base_url=base_url, api_key_env=api_key_env,
                         temperature=temperature, seed=seed, timeout=timeout,
                         max_concurrency=max_concurrency, max_retries=max_retries, price=price)
    cfg.api_key()  # fail now, with a clear message, if a key is needed and missing
    return cfg


class LLMJudge(JudgeBase):
    """Tasks grouped by response -> one judge task each -> rubrics.llm judge calls -> outcomes.

    ``stats`` accumulates the run's request totals; closing releases the request cache.
    """

    name = "llm"

    def __init__(self, rubric: Rubric, llm_model: str | None = None, base_url: str | None = None,
                 api_key_env: str = "OPENAI_API_KEY", protocol: str = "criterion",
                 max_concurrency: int = 8, timeout: float = 60.0, max_retries: int = 6,
                 seed: int = 0, temperature: float = 0.0, cache_dir: Path | None = None,
                 no_cache: bool = False, price_table: Path | None = None,
                 progress: bool = True) -> None:
        self.endpoint = endpoint_from_options(llm_model, base_url, api_key_env, max_concurrency,
                                              timeout, max_retries, seed, temperature, price_table)
        self.protocol = protocol
        self.version = f"{self.endpoint.model}/{protocol}-{get_protocol(protocol).version}"
        self.cache = open_cache(cache_dir, no_cache)
        self.stats = RunStats()
        self.progress = progress
        # Enough responses per batch to keep every request slot busy, few enough that verdicts
        # reach disk often (an interrupted run then loses little, and the cache has the rest).
        self.batch_size = max(16, 4 * self.endpoint.max_concurrency)

    def __call__(self, tasks: list[Task]) -> list[Outcome]:
        by_response: dict[str, list[int]] = {}
        for i, t in enumerate(tasks):
            by_response.setdefault(t.response.response_id, []).append(i)
        jtasks = [JudgeTask(key=rid, messages=tasks[idx[0]].item["stimulus"]["messages"],
                            response=tasks[idx[0]].response.text,
                            criteria=[tasks[i].criterion for i in idx])
                  for rid, idx in by_response.items()]
        results = judge_many_sync(jtasks, self.endpoint, protocol=self.protocol, cache=self.cache,
                                  stats=self.stats, progress=self.progress)
        found = {(r.key, r.criterion_id): r for r in results}
        out = []
        for t in tasks:
            r = found[(t.response.response_id, t.criterion["id"])]
            usage = dict(r.usage)
            share = usage.pop("shared_by", 1) or 1  # one call judged several criteria
            usage = {k: (v / share if isinstance(v, (int, float)) else v) for k, v in usage.items()}
            usage.update(latency_s=r.latency_s, cached=r.cached)
            out.append(Outcome(answer=r.answer, reason=r.reason,
                               judge_version=f"{self.endpoint.model}/{self.protocol}-{r.protocol_version}",
                               evidence=r.evidence, protocol=self.protocol, usage=usage,
                               flags=list(r.flags)))
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
