"""A one-line progress display on stderr: done/total, rate, ETA, cache hits, retries.

Silent unless the stream is a terminal, so logs, CI output and piped results stay clean.
"""
from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, label: str = "llm", enabled: bool = True,
                 stream: TextIO | None = None, min_interval: float = 0.1) -> None:
        self.stream = stream or sys.stderr
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.enabled = bool(enabled and total and isatty())
        self.total = total
        self.label = label
        self.done = 0
        self.cached = 0
        self.retries = 0
        self.failed = 0
        self.started = time.monotonic()
        self._last = 0.0
        self._min_interval = min_interval
        self.limiter = None  # the run's limiter (set by the Runner): its limit shows when it adapts

    def update(self, n: int = 1, *, cached: bool = False, failed: bool = False) -> None:
        self.done += n
        self.cached += n if cached else 0
        self.failed += n if failed else 0
        self._draw()

    def retry(self) -> None:
        self.retries += 1
        self._draw()

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        eta = f"{int(left // 60)}:{int(left % 60):02d}" if left == left else "?"
        pct = 100 * self.done / self.total if self.total else 100
        line = (f"{self.label} {self.done}/{self.total} ({pct:.0f}%) {rate:.1f}/s ETA {eta}"
                f"  cached {self.cached}  retries {self.retries}  failed {self.failed}")
        lim = self.limiter
        if lim is not None and (lim.auto or lim.slots < lim.max):  # auto, or cut by a rate limit
            line += f"  concurrency {lim.slots}" + (" (auto)" if lim.auto else f" of {lim.max}")
        return line

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self._min_interval and self.done < self.total:
            return
        self._last = now
        self.stream.write("\r\x1b[2K" + self.line())
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()
