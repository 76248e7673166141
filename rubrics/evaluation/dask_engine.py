"""The Dask adapter of the sharded evaluation: ``judge_shard`` mapped over a Dask cluster.

A local cluster (``LocalCluster``, one single-threaded worker process per ``--workers``) is
started and closed when no ``--address`` is given; with an address (``tcp://HOST:8786``) the
job runs on that scheduler's workers, as on SLURM/PBS (dask-jobqueue) or Kubernetes. The
rubric is scattered once to every worker, which compiles it once per process (shards.py).
A Ray or Spark user calls ``shards.judge_shard`` the same way from their own tasks.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from rubricate.guidelines.kernel.errors import RubricateError

try:  # the optional [dask] extra
    from distributed import Client, LocalCluster, as_completed
except ImportError:
    Client = LocalCluster = as_completed = None


@contextmanager
def dask_mapper(address: str | None = None, workers: int = 2):
    """Yield ``(mapper, info)``: ``mapper(fn, jobs, rubric_bytes)`` yields results as shards finish."""
    if Client is None:
        raise RubricateError("the Dask engine needs the dask extra: pip install 'rubricate[dask]'")
    cluster = None
    try:
        if address:
            client = Client(address, timeout="30s")
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None)
            client = Client(cluster)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise RubricateError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    n_workers = len(client.scheduler_info().get("workers", {}))
    info = {"engine_address": address or "local-cluster", "engine_workers": n_workers}

    def mapper(fn, jobs, rubric_bytes) -> Iterator:
        if not jobs:
            return
        shared = client.scatter(rubric_bytes, broadcast=True)
        futures = client.map(fn, jobs, rubric_bytes=shared, pure=False)
        try:
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            client.cancel(futures)

    try:
        yield mapper, info
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
