"""Judge responses against rubric criteria with an LLM: the evaluator's entry point.

``judge_many`` runs every (response, criterion) judgement of a batch concurrently through
one ``Runner`` and hands each verdict to ``on_result`` as soon as it exists, so the caller
can append it to its JSONL and a killed run resumes where it stopped (and the cache makes
the re-run free). An answer is ``yes``/``no`` only when the judge gave one; request
failures and unreadable replies end as ``unknown`` with the reason recorded.
"""
from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any, Awaitable, Callable

from rubricate.guidelines.kernel.errors import RubricateError

from .cache import Cache
from .endpoint import BATCH_DISCOUNT, EndpointConfig
from .evidence import map_quotes
from .progress import Progress
from .protocols import Protocol, get_protocol
from .replies import Verdict
from .runner import Completion, Runner, RunStats, emit
from .session import run_all
from .steering import FLAG as STEERING_FLAG, detect


TRUNCATED_FLAG = "judge-reply-truncated"
MAX_REPLY_CHARS = 32_000  # a reply longer than this is treated as capped, whatever the server said
MAX_EXPLANATION_CHARS = 2_000  # kept in a verdict; the rest of a long explanation is dropped


@dataclass
class JudgeTask:
    """One response to judge: its stimulus conversation and the criterion dict(s)."""

    key: str
    messages: list[dict]
    response: str
    criteria: list[dict] | dict
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.criteria, dict):
            self.criteria = [self.criteria]
        for c in self.criteria:
            if not c.get("id"):
                raise RubricateError(f"judge task {self.key!r}: a criterion has no id")


@dataclass
class JudgeResult:
    """One verdict: answer yes/no/unknown, why, where in the response, and what it cost."""

    key: str
    criterion_id: str
    answer: str
    explanation: str = ""
    error: str | None = None
    cause: str | None = None  # why it failed, shared by every failure of that kind
    evidence: list[dict] = field(default_factory=list)
    unmatched_quotes: list[str] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    latency_s: float = 0.0
    cached: bool = False
    attempts: int = 0
    flags: list[str] = field(default_factory=list)
    steering: list[dict] = field(default_factory=list)
    protocol: str = ""
    protocol_version: str = ""
    model: str = ""
    raw: str | None = None

    @property
    def reason(self) -> str:
        """The judge's explanation, or why there is no answer."""
        return self.error or self.explanation

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reason"] = self.reason
        return out


UNPARSEABLE = "the judge's reply could not be read as an answer"
NOT_PROTOCOL = "not-study-protocol"  # the protocol's fixed temperature could not be used
OnResult = Callable[[JudgeResult], "Awaitable[None] | None"]


def _merge_usage(calls: list[Completion], shared_by: int, endpoint: EndpointConfig) -> dict:
    usage: dict[str, Any] = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    for c in calls:
        for k in usage:
            usage[k] += int(c.usage.get(k, 0))
    usage["requests"] = sum(c.attempts for c in calls)
    cost = None
    for c in calls:
        one = None if c.cached else endpoint.cost(int(c.usage.get("prompt_tokens", 0)),
                                                  int(c.usage.get("completion_tokens", 0)))
        if one is not None:
            if c.batch:
                usage["batch_savings_usd"] = usage.get("batch_savings_usd", 0.0) + one * BATCH_DISCOUNT
                one *= 1 - BATCH_DISCOUNT
            cost = (cost or 0.0) + one
    if cost is not None:
        usage["cost_usd"] = cost
    if any(c.batch for c in calls):
        usage["batch"] = 1
    if shared_by > 1:
        usage["shared_by"] = shared_by  # one call judged this many criteria
    return usage


async def _ask(runner: Runner, proto: Protocol, task: JudgeTask,
               group: list[dict]) -> tuple[dict[str, Verdict], list[Completion]]:
    """Ask once; if some answers are unreadable and the protocol allows, re-ask once."""
    messages = proto.build(task.messages, task.response, group)
    rf = proto.response_format(group) if proto.response_format else None
    # only replies that read as an answer are cached: an empty or unreadable one is re-asked
    call = dict(protocol=proto.name, version=proto.version, response_format=rf,
                temperature=proto.temperature, accept=lambda text: bool(proto.parse(text, group)),
                max_tokens=proto.max_tokens)
    first = await runner.complete(messages, **call)
    if first.text is None:
        return {}, [first]
    verdicts = proto.parse(first.text, group)
    missing = [c["id"] for c in group if c["id"] not in verdicts]
    if not missing or proto.corrective is None:
        return verdicts, [first]
    runner.stats.reasks += 1
    again = messages + [{"role": "assistant", "content": first.text},
                        {"role": "user", "content": proto.corrective(missing, group)}]
    second = await runner.complete(again, **call)
    if second.text is not None:
        for cid, v in proto.parse(second.text, group).items():
            verdicts.setdefault(cid, v)
    return verdicts, [first, second]


async def _judge_group(runner: Runner, proto: Protocol, task: JudgeTask, group: list[dict],
                       steering: list[dict]) -> list[JudgeResult]:
    verdicts, calls = await _ask(runner, proto, task, group)
    error = calls[-1].error
    flags = ([STEERING_FLAG] if steering else []) + (["judge-reasked"] if len(calls) > 1 else [])
    if proto.temperature is not None and not runner.sends("temperature") and not all(c.cached for c in calls):
        runner.say_once("protocol-temperature",
                        f"{proto.name}: model {runner.endpoint.model} does not accept temperature "
                        f"{proto.temperature:g}, so it ran at the model's default; these verdicts are "
                        f"flagged {NOT_PROTOCOL} (not the study's protocol)")
        flags.append(NOT_PROTOCOL)
    if any(c.finish_reason == "length" or len(c.text or "") > MAX_REPLY_CHARS for c in calls):
        flags.append(TRUNCATED_FLAG)  # the judge hit its token cap: its answer may be cut short
    usage = _merge_usage(calls, len(group), runner.endpoint)
    common = dict(usage=usage, cached=all(x.cached for x in calls),
                  latency_s=sum(x.latency_s for x in calls), attempts=sum(x.attempts for x in calls),
                  protocol=proto.name, protocol_version=proto.version, model=runner.endpoint.model,
                  raw=next((x.text[:MAX_REPLY_CHARS] for x in reversed(calls) if x.text is not None), None))
    results = []
    for c in group:
        r = JudgeResult(task.key, c["id"], "unknown", flags=list(flags),
                        steering=[dict(h) for h in steering], **{**common, "usage": dict(usage)})
        v = verdicts.get(c["id"])
        if v is not None:
            r.answer, r.explanation = v.answer, v.explanation[:MAX_EXPLANATION_CHARS]
            r.evidence, r.unmatched_quotes = map_quotes(v.quotes, task.response)
            if r.unmatched_quotes:
                r.flags.append("evidence-not-found")
        elif error:
            r.error = f"judge call failed: {error}"
            r.cause = calls[-1].cause or error
            r.flags.append("judge-error")
        elif calls[-1].refusal is not None:
            r.error = f"the judge refused: {calls[-1].refusal[:300]}"
            r.flags.append("judge-refused")
        else:
            r.cause = UNPARSEABLE
            r.error = "judge reply could not be read as an answer" + \
                (" (also after one corrective re-ask)" if len(calls) > 1 else "")
            r.flags.append("judge-unparseable")
        results.append(r)
    return results


async def judge_many(tasks: list[JudgeTask], endpoint: EndpointConfig, protocol: str = "criterion",
                     cache: Cache | None = None, on_result: OnResult | None = None, *,
                     stats: RunStats | None = None, progress: bool = True,
                     batch: Any = None, params: Any = None) -> list[JudgeResult]:
    """Judge every criterion of every task; results in task then criterion order.

    ``on_result`` (sync or async) gets each result as soon as it is ready; ``stats`` is
    filled with the run's totals; the progress line shows only on a terminal. ``batch``
    (a batch.BatchOptions) sends the calls through the provider's batch API; ``params`` (a
    params.ParamPolicy) carries what the model accepts across several calls of one run.
    """
    proto = get_protocol(protocol)
    hits = [[h.to_dict() for h in detect(task.response)] for task in tasks]
    units = [(task, group, hits[t]) for t, task in enumerate(tasks)
             for group in proto.groups(task.criteria)]
    bar = Progress(len(units), f"judge[{proto.name}]", enabled=progress)
    out: list[list[JudgeResult]] = [[] for _ in units]

    async def one(runner: Runner, i: int) -> None:
        task, group, steering = units[i]
        out[i] = await _judge_group(runner, proto, task, group, steering)
        bar.update(cached=all(r.cached for r in out[i]),
                   failed=any(r.answer == "unknown" for r in out[i]))
        for r in out[i]:
            await emit(on_result, r)

    await run_all(endpoint, cache, stats, bar, len(units), one, batch, params)
    return [r for group in out for r in group]


def judge_many_sync(*args: Any, **kwargs: Any) -> list[JudgeResult]:
    """``judge_many`` for synchronous callers (the CLI)."""
    return asyncio.run(judge_many(*args, **kwargs))
