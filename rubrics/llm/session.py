"""One run of many calls: a Runner (or, in batch mode, a BatchRunner) shared by its units.

Kept apart from runner.py because batch.BatchRunner is a Runner: the choice between the two
lives above both.
"""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from .batch import BatchRunner
from .endpoint import EndpointConfig
from .runner import Runner, RunStats


async def run_all(endpoint: EndpointConfig, cache: Any, stats: "RunStats | None", bar: Any, n: int,
                  one: Callable[["Runner", int], Awaitable[None]], batch: Any = None,
                  params: Any = None) -> None:
    """Run ``one(runner, i)`` for i in range(n) concurrently through one Runner (a
    BatchRunner with ``batch``, a batch.BatchOptions: the calls then go as batches).

    The first failure (e.g. the caller's ``on_result`` raising) is raised as itself rather
    than wrapped in an ExceptionGroup; the progress bar is closed either way.
    """
    if batch is not None:
        runner_cm: Runner = BatchRunner(endpoint, cache, stats=stats, progress=bar, options=batch, n_units=n,
                                        params=params)
    else:
        runner_cm = Runner(endpoint, cache, stats=stats, progress=bar, params=params)

    async def unit(runner: Runner, i: int) -> None:
        try:
            await one(runner, i)
        finally:
            if batch is not None:
                runner.unit_finished()  # type: ignore[attr-defined]

    try:
        async with runner_cm as runner:
            async with asyncio.TaskGroup() as tg:
                for i in range(n):
                    tg.create_task(unit(runner, i))
    except ExceptionGroup as group_error:
        raise group_error.exceptions[0]
    finally:
        bar.close()
