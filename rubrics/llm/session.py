"""One run of many calls: a Runner (or, in batch mode, a BatchRunner) shared by its units.

Kept apart from runner.py because batch.BatchRunner is a Runner: the choice between the two
lives above both.
"""
from __future__ import annotations

import asyncio
import gc
from contextlib import contextmanager
from typing import Any, Awaitable, Callable, Iterator

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

    # Online, units are started as slots free up (at most ``window`` alive), not all at once:
    # 100,000 judgements are then not 100,000 live tasks for the garbage collector to walk.
    # A batch run starts every unit: the batch runner gathers their calls into one batch.
    window = n if batch is not None else max(64, 2 * endpoint.concurrency_bound)
    admit = asyncio.Semaphore(window)

    async def admitted(runner: Runner, i: int) -> None:
        try:
            await unit(runner, i)
        finally:
            admit.release()

    try:
        with _lighter_gc():
            async with runner_cm as runner:
                async with asyncio.TaskGroup() as tg:
                    for i in range(n):
                        await admit.acquire()
                        tg.create_task(admitted(runner, i))
    except ExceptionGroup as group_error:
        raise group_error.exceptions[0]
    finally:
        bar.close()


@contextmanager
def _lighter_gc() -> Iterator[None]:
    """During a run, collect the young generation less often and leave what existed before
    it (the rubric, models, imports) out of full collections (``gc.freeze``): with hundreds of
    requests in flight the collector's passes over long-lived objects were about a quarter of
    the client's CPU per request. The previous thresholds are restored afterwards."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(before[0], 10_000), before[1], max(before[2], 100))
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
