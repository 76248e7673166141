"""Put the stigma instrument to a model: requests (chat messages) and output records.

Why: ``rubricate stigma probe`` asks a model every vignette x question and writes one
output record per reply in exactly the shape ``rubricate stigma score`` reads (documented in
rubrics/stigma.py), so probing and scoring are two independent, resumable steps.

The output file is append-only: each reply is appended as one complete JSON line as soon as
it arrives; a re-run skips the (item, sample) pairs already in the file and sends only the
rest. Failed calls are not written (they are counted and retried by the next run).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.stigma import Instrument, item_id, render_prompt
from guidelines.errors import RubricateError


@dataclass(frozen=True)
class ProbeRequest:
    """One chat to send: ``messages`` for sample ``sample`` of item ``item_id``."""

    item_id: str
    sample: int
    messages: list[dict[str, str]]
    record: dict[str, Any] = field(default_factory=dict)  # output record minus model/output

    @property
    def key(self) -> tuple[str, int]:
        return (self.item_id, self.sample)


def system_prompt_tag(system_prompt: str | None) -> str:
    """How a run's system prompt is recorded: "none" or "sha256:<12 hex>" (not the text)."""
    if not system_prompt:
        return "none"
    return "sha256:" + hashlib.sha256(system_prompt.encode("utf-8")).hexdigest()[:12]


def probe_requests(instrument: Instrument, system_prompt: str | None = None,
                   samples: int = 1) -> list[ProbeRequest]:
    """One request per vignette x question x sample, in instrument order.

    Messages: an optional system message, then the user prompt (vignette, question,
    lettered options, "reply with one letter"; compiler.stigma.render_prompt).
    """
    if samples < 1:
        raise RubricateError(f"samples must be >= 1, got {samples}")
    conditions = {c.id: c for c in instrument.conditions}
    tag = system_prompt_tag(system_prompt)
    out = []
    for v in instrument.vignettes:
        for q in instrument.questions:
            messages = ([{"role": "system", "content": system_prompt}] if system_prompt else [])
            messages.append({"role": "user", "content": render_prompt(instrument, v, q)})
            base = {**v.attributes, "instrument": instrument.id, "item_id": item_id(v, q),
                    "vignette_id": v.id, "condition": conditions[v.condition].label,
                    "question_id": q.id, "question": q.text, "options": list(q.options),
                    "system_prompt": tag}
            for s in range(samples):
                out.append(ProbeRequest(item_id(v, q), s, messages, {**base, "sample": s}))
    return out


def output_record(request: ProbeRequest, model: str, output: str | None,
                  **extra: Any) -> dict[str, Any]:
    """The JSONL record for one reply (what ``rubricate stigma score`` reads)."""
    return {"model": model, **request.record, "output": output, **extra}


def done_keys(path: str | Path, model: str) -> set[tuple[str, int]]:
    """(item_id, sample) pairs of ``model`` already in an outputs file (bad lines ignored)."""
    p = Path(path)
    if not p.exists():
        return set()
    keys = set()
    with p.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if (isinstance(rec, dict) and rec.get("model") == model
                    and isinstance(rec.get("output"), str)):
                keys.add((rec.get("item_id"), rec.get("sample", 0)))
    return keys


class AppendOnlyJsonl:
    """Appends one complete JSON line per record and flushes it; never rewrites the file.

    If a previous run was killed mid-line, a newline is added first so that the partial
    line stays a single bad line (skipped by the scorer) and new records stay intact.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        needs_newline = False
        if self.path.exists() and self.path.stat().st_size:
            with self.path.open("rb") as fh:
                fh.seek(-1, 2)
                needs_newline = fh.read(1) != b"\n"
        self._fh = self.path.open("a", encoding="utf-8")
        if needs_newline:
            self._fh.write("\n")
        self.written = 0

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()
        self.written += 1

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> "AppendOnlyJsonl":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_probe(instrument: Instrument, endpoint: Any, out: str | Path,
              system_prompt: str | None = None, samples: int = 1, cache: Any = None,
              progress: bool = True) -> dict[str, Any]:
    """Ask the model every pending request, appending records to ``out``; return counts.

    ``endpoint`` is a rubrics.llm.EndpointConfig; ``cache`` a rubrics.llm Cache or None.
    """
    from rubrics.llm import GenerateTask, RunStats, generate_many_sync

    requests = probe_requests(instrument, system_prompt, samples)
    done = done_keys(out, endpoint.model)
    by_key = {r.key: r for r in requests}
    pending_items = list(dict.fromkeys(r.item_id for r in requests if r.key not in done))
    first = {r.item_id: r for r in requests if r.sample == 0}
    tasks = [GenerateTask(iid, first[iid].messages) for iid in pending_items]
    stats = RunStats()
    counts = {"requests": len(requests), "already_done": len(done & set(by_key)),
              "written": 0, "failed": 0, "errors": []}
    with AppendOnlyJsonl(out) as sink:
        def on_result(g: Any) -> None:
            if (g.key, g.sample) in done:
                return
            if g.text is None:
                counts["failed"] += 1
                if len(counts["errors"]) < 5:
                    counts["errors"].append(f"{g.key}#{g.sample}: {g.error}")
                return
            extra = {"finish_reason": g.finish_reason}
            if g.model and g.model != endpoint.model:
                extra["served_model"] = g.model
            sink.write(output_record(by_key[(g.key, g.sample)], endpoint.model, g.text, **extra))
            counts["written"] += 1

        if tasks:
            generate_many_sync(tasks, endpoint, cache, on_result, samples=samples, stats=stats,
                               progress=progress)
    counts["stats"] = stats.to_dict()
    return counts
