"""Worker process pools that stop cleanly on Ctrl-C.

Why: a terminal's Ctrl-C sends SIGINT to the whole process group, so every worker of a
plain ProcessPoolExecutor raised KeyboardInterrupt too: tracebacks from each worker, a pool
marked broken (every pending document reported as "parser process failed"), and now and
then a hang with an orphaned worker. Here workers ignore SIGINT; the parent alone decides:
on an interrupt (or any error) it cancels what has not started, lets the tasks in flight
finish their atomic writes for a few seconds, then terminates what is left, so no worker
outlives the command and no file is left half-written by a killed task mid-flight.

A worker must not see a Ctrl-C before it ignores SIGINT, and the parent must not be
interrupted half-way through forking its workers (a forked worker not yet recorded by the pool
is never stopped and keeps the command's pipes open). So the pool forks its workers with SIGINT
blocked: a child starts with it blocked, ignores it, then unblocks; the parent receives a Ctrl-C
that came meanwhile just after ``submit`` returns, with every worker recorded.
Workers also die with their parent when it is killed outright (SIGKILL): no orphans.
"""
from __future__ import annotations

import ctypes
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterator

GRACE_S = 5.0  # how long tasks in flight may take to finish after an interrupt
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker when its parent dies (even by SIGKILL), so no
    orphaned worker keeps parsing or judging; a no-op elsewhere."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def _ignore_sigint(initializer: Callable[..., Any] | None, initargs: tuple) -> None:
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by the parent's fork
    if initializer is not None:
        initializer(*initargs)


class _Pool(ProcessPoolExecutor):
    """Submits (where the pool forks its workers) with Ctrl-C held back; see the module doc."""

    def submit(self, fn, /, *args, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            return super().submit(fn, *args, **kwargs)
        held: list[int] = []
        # Python runs signal handlers in the main thread, whichever thread the kernel picked:
        # blocking SIGINT here only keeps it from the children, the handler swap defers it here.
        handler = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            return super().submit(fn, *args, **kwargs)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            signal.signal(signal.SIGINT, handler)
            if held and callable(handler):
                handler(signal.SIGINT, None)  # the default handler raises KeyboardInterrupt


def make_pool(workers: int, initializer: Callable[..., Any] | None = None,
              initargs: tuple = ()) -> ProcessPoolExecutor:
    """A pool whose workers ignore SIGINT (the parent handles it); close with ``stop``."""
    return _Pool(max_workers=workers, initializer=_ignore_sigint, initargs=(initializer, initargs))


def stop(pool: ProcessPoolExecutor, grace_s: float = GRACE_S) -> None:
    """Cancel pending tasks, give running ones ``grace_s`` to finish, terminate the rest."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        p.join(grace_s)
    for p in processes:
        if p.is_alive():
            p.terminate()
            p.join(1.0)


@contextmanager
def worker_pool(workers: int, initializer: Callable[..., Any] | None = None,
                initargs: tuple = ()) -> Iterator[ProcessPoolExecutor]:
    """``with worker_pool(n) as pool``: normal exit waits for the work; an interrupt or an
    error stops the pool as ``stop`` does, then propagates."""
    pool = make_pool(workers, initializer, initargs)
    try:
        yield pool
    except BaseException:
        stop(pool)
        raise
    pool.shutdown(wait=True)
