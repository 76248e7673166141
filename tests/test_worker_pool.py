"""Worker pools and Ctrl-C at the worst moment: while the pool forks its workers.

``os.register_at_fork`` sends SIGINT to the whole process group right after the first worker
is forked, so the parent is interrupted half-way through starting its pool and the new worker
receives the signal before it has set itself to ignore it. The command must still stop with
one clean interrupt: no traceback from a worker, and no worker left running (a leftover worker
keeps the command's pipes open, which hung a CI run)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from tests.checkout import use_this_checkout
from tests.test_interrupts import group_alive

CHILD = textwrap.dedent("""
    import os, signal, sys, time
    from rubricate.guidelines.kernel.workers import make_pool, stop

    def work(x):
        time.sleep(0.01)
        return x

    os.register_at_fork(after_in_parent=lambda: os.killpg(0, signal.SIGINT))
    pool = make_pool(2)
    try:
        print(sum(pool.map(work, range(40))), flush=True)
    except KeyboardInterrupt:
        stop(pool)
        print("interrupted", flush=True)
""")


def test_ctrl_c_while_the_pool_forks_its_workers_stops_cleanly():
    env = {**os.environ, "PYTHONPATH": str(use_this_checkout())}
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True, env=env)
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError("hung after Ctrl-C: a worker outlived its pool")
        assert out.strip() == "interrupted", (out, err)
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
        deadline = time.monotonic() + 10
        while group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not group_alive(proc.pid), "a worker outlived its pool"
