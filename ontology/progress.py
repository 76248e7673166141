"""How long each stage of a build took, and a progress line per stage on stderr.

A build of many documents runs for minutes; without a word until the end a user cannot tell
a slow stage from a hung one. Stages: parse (read files, or take them from the parse
cache), extract (passages and their anchors in the files), graph (RDF statements), validate
(SHACL) and serialise (the KB hash, Turtle and JSON-LD). Lines go to ``note`` (the CLI
passes stderr), never to stdout, so a command's own output stays clean.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

STAGES = ("parse", "extract", "graph", "validate", "serialise")
PREFIX = "build: "
RUNNING = "so far"
_FINAL = re.compile(re.escape(PREFIX) + r"(\w+): (.*) \(([0-9.]+) s\)$")


@dataclass
class Stages:
    note: Callable[[str], None] | None = None
    every_s: float = 10.0  # a running line at most this often within a long stage
    seconds: dict[str, float] = field(default_factory=dict)
    _last: float = field(default_factory=time.perf_counter)

    @contextmanager
    def timing(self, name: str) -> Iterator[None]:
        """Add the block's time to stage ``name`` (several blocks may add to one stage)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def running(self, name: str, done: int, total: int, unit: str) -> None:
        """A line while a long stage runs (at most every ``every_s`` seconds)."""
        now = time.perf_counter()
        if self.note is not None and now - self._last >= self.every_s and done < total:
            self._last = now
            self.note(f"{PREFIX}{name}: {done:,}/{total:,} {unit} {RUNNING} ({self.seconds.get(name, 0.0):.2f} s)")

    def done(self, name: str, detail: str) -> None:
        """The stage's line: what it did and how long it took."""
        self._last = time.perf_counter()
        if self.note is not None:
            self.note(f"{PREFIX}{name}: {detail} ({self.seconds.get(name, 0.0):.2f} s)")


def parse_line(line: str) -> tuple[str, float] | None:
    """(stage, seconds) of a stage's final line; None for a running line or any other line."""
    m = _FINAL.match(line.strip())
    if m is None or m.group(1) not in STAGES or m.group(2).endswith(RUNNING):
        return None
    return m.group(1), float(m.group(3))
