"""A fast OpenAI-compatible server on 127.0.0.1 for load tests and the LLM benchmark.

tests/openai_server.py (a thread per connection) scripts faults request by request; this one
is about capacity. It runs on one asyncio event loop (aiohttp.web, uvloop when installed), so
a single process answers thousands of requests a second and is not what a benchmark of the
client measures. Three knobs shape it:

- ``latency``: seconds each request is worked on;
- ``capacity``: how many are worked on at once (a hidden limit: the rest queue, so latency
  rises once more than ``capacity`` are in flight, as on a GPU server with a fixed batch);
- ``rate``: requests per second it accepts (a token bucket of ``burst``); above it, HTTP 429
  with ``Retry-After``, as a hosted API does.

It counts what it saw: replies, 429s, the most requests in flight, the in-flight count at
each arrival, and its own CPU time (``GET /stats``), so a test asserts behaviour (how many
were in flight, how many were refused) and a benchmark shows the server was not the limit.

Standalone (bench/llm_judge.py): ``python tests/load_server.py --latency 0.05 [--capacity C]
[--rate R]`` prints ``READY <base_url>``, serves until stdin closes, then prints its stats.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from typing import Any

from aiohttp import web

REPLY = json.dumps({"explanation": "scripted", "answer": "yes", "evidence": []})


class LoadServer:
    def __init__(self, latency: float = 0.05, capacity: int | None = None, rate: float | None = None,
                 burst: float | None = None, retry_after: float = 1.0) -> None:
        self.latency, self.capacity, self.rate = latency, capacity, rate
        self.burst = burst if burst is not None else (max(1.0, rate * 0.1) if rate else 0.0)
        self.retry_after = retry_after
        self.replies = self.rate_limited = self.in_flight = self.max_in_flight = 0
        self.arrivals: list[int] = []  # requests in flight (this one included) when each arrived
        self._tokens = self.burst
        self._refill = time.monotonic()
        self._slots: asyncio.Semaphore | None = None
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self._cpu0 = time.process_time()
        self._body = {"id": "chatcmpl-load", "object": "chat.completion", "created": 0, "model": "load",
                      "choices": [{"index": 0, "finish_reason": "stop",
                                   "message": {"role": "assistant", "content": REPLY}}],
                      "usage": {"prompt_tokens": 50, "completion_tokens": 12, "total_tokens": 62}}
        self._reply = json.dumps(self._body).encode()
        self._too_many = json.dumps({"error": {"message": "rate limit reached (load server)",
                                               "type": "rate_limit_error", "code": "rate_limit_exceeded"}}).encode()

    # -- the endpoint ---------------------------------------------------------------------
    def _admit(self) -> bool:
        if not self.rate:
            return True
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._refill) * self.rate)
        self._refill = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    async def _complete(self, request: web.Request) -> web.Response:
        await request.read()
        if not self._admit():
            self.rate_limited += 1
            return web.Response(status=429, body=self._too_many, content_type="application/json",
                                headers={"Retry-After": f"{self.retry_after:g}"})
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.arrivals.append(self.in_flight)
        try:
            if self._slots is not None:
                async with self._slots:
                    await asyncio.sleep(self.latency)
            elif self.latency:
                await asyncio.sleep(self.latency)
        finally:
            self.in_flight -= 1
        self.replies += 1
        return web.Response(body=self._reply, content_type="application/json")

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    def stats(self) -> dict[str, Any]:
        a = self.arrivals
        quarters = [sorted(a[i * len(a) // 4:(i + 1) * len(a) // 4]) for i in range(4)] if len(a) >= 4 else []
        return {"replies": self.replies, "rate_limited": self.rate_limited, "max_in_flight": self.max_in_flight,
                # the median number in flight at arrival, per quarter of the run: where a limiter settled
                "in_flight_median_by_quarter": [q[len(q) // 2] for q in quarters],
                "cpu_s": round(time.process_time() - self._cpu0, 3), "latency_s": self.latency,
                "capacity": self.capacity, "rate": self.rate}

    # -- lifecycle ------------------------------------------------------------------------
    async def serve(self, port: int = 0) -> str:
        """Start on the running loop; the base URL."""
        if self.capacity:
            self._slots = asyncio.Semaphore(self.capacity)
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._complete)
        app.router.add_get("/stats", self._stats)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port, backlog=2048)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.base_url

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "LoadServer":
        """Serve from a thread with its own event loop (tests)."""
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self.serve())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("load server did not start")
        return self

    def stop(self) -> None:
        if self._loop is None or self._runner is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> "LoadServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _fast_loop() -> str:
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


def _main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--capacity", type=int, default=None)
    ap.add_argument("--rate", type=float, default=None)
    ap.add_argument("--burst", type=float, default=None)
    ap.add_argument("--retry-after", type=float, default=1.0)
    args = ap.parse_args(argv)
    loop_name = _fast_loop()
    server = LoadServer(args.latency, args.capacity, args.rate, args.burst, args.retry_after)

    async def main() -> None:
        url = await server.serve()
        print(f"READY {url} {loop_name}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until stdin closes
        print(json.dumps(server.stats()), flush=True)

    asyncio.run(main())


if __name__ == "__main__":
    _main()
