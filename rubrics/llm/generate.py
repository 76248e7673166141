"""Send stimuli to a model under test (``rubricate respond``, ``rubricate stigma probe``).

Same machinery as the judge (cache, bounded concurrency, retries, totals). Each of
``samples`` draws per task is its own call with seed ``seed + sample`` and its own cache
entry, so repeated sampling at temperature > 0 is reproducible where the server honours
seeds, and a re-run sends nothing.
"""
from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any, Awaitable, Callable

from .cache import Cache
from .endpoint import EndpointConfig
from .progress import Progress
from .runner import Runner, RunStats, emit
from .session import run_all

PROTOCOL = "generate"
VERSION = "1"


@dataclass
class GenerateTask:
    """One stimulus: the chat messages to send (a system prompt, if any, included)."""

    key: str
    messages: list[dict]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Generation:
    """One sampled reply; ``text`` is None when the call failed (``error`` says why)."""

    key: str
    sample: int
    text: str | None
    error: str | None = None
    cause: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    latency_s: float = 0.0
    cached: bool = False
    attempts: int = 0
    model: str = ""
    finish_reason: str | None = None
    flags: list[str] = field(default_factory=list)
    refusal: str | None = None  # the model declined; its text (``text`` is then "")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def generate_many(tasks: list[GenerateTask], endpoint: EndpointConfig,
                        cache: Cache | None = None,
                        on_result: Callable[[Generation], "Awaitable[None] | None"] | None = None,
                        *, samples: int = 1, stats: RunStats | None = None,
                        progress: bool = True, batch: Any = None, params: Any = None) -> list[Generation]:
    """``samples`` replies per task, in task then sample order."""
    units = [(t, s) for t in tasks for s in range(samples)]
    out: list[Generation | None] = [None] * len(units)
    bar = Progress(len(units), "generate", enabled=progress)

    async def one(runner: Runner, i: int) -> None:
        task, sample = units[i]
        c = await runner.complete(task.messages, protocol=PROTOCOL, version=VERSION, sample=sample)
        g = Generation(task.key, sample, c.text, c.error, c.cause, dict(c.usage), c.latency_s, c.cached,
                       c.attempts, c.model or endpoint.model, c.finish_reason, refusal=c.refusal)
        if c.refusal is not None:
            g.flags.append("refusal")
        elif c.text == "":
            g.flags.append("empty-response")
        if c.error:
            g.flags.append("generation-error")
        out[i] = g
        bar.update(cached=c.cached, failed=c.text is None)
        await emit(on_result, g)

    await run_all(endpoint, cache, stats, bar, len(units), one, batch, params)
    return [g for g in out if g is not None]


def generate_many_sync(*args: Any, **kwargs: Any) -> list[Generation]:
    return asyncio.run(generate_many(*args, **kwargs))
