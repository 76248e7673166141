"""Ask a model under test: requests in, one appended JSON line per reply out, resumable.

Shared by ``rubricate respond`` (rubric items -> a responses file ``evaluate`` reads) and
``rubricate stigma probe``. The output file is append-only: each reply is written as one
complete line as soon as it arrives; a re-run skips the (item, sample) pairs already in the
file, so it sends only the rest. Failed calls (null content included) are not written
(counted; the next run retries). A refusal is written with its text in ``refusal``.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import SKIP, read_jsonl
from rubricate.rubrics.evaluation.results import AppendLog


@dataclass(frozen=True)
class Request:
    """One chat to send: ``messages`` for sample ``sample`` of item ``item_id``."""

    item_id: str
    sample: int
    messages: list[dict[str, str]]
    record: dict[str, Any] = field(default_factory=dict)  # output record minus model/text

    @property
    def key(self) -> tuple[str, int]:
        return (self.item_id, self.sample)


def system_prompt_tag(system_prompt: str | None) -> str:
    """How a run's system prompt is recorded: "none" or "sha256:<12 hex>" (not the text)."""
    if not system_prompt:
        return "none"
    return "sha256:" + hashlib.sha256(system_prompt.encode("utf-8")).hexdigest()[:12]


def done_keys(path: str | Path, model: str, text_field: str) -> set[tuple[str, int]]:
    """(item_id, sample) pairs of ``model`` already answered in ``path`` (bad lines ignored)."""
    keys = set()
    for _, rec in read_jsonl(Path(path), SKIP, "outputs file", missing_ok=True):
        if rec.get("model") == model and isinstance(rec.get(text_field), str):
            keys.add((rec.get("item_id"), rec.get("sample", 0)))
    return keys


def batch_ledger(out: str | Path) -> Path:
    """Where ``--batch`` records the batches it submitted for output file ``out``."""
    return Path(f"{out}.batches.jsonl")


def run_requests(requests: list[Request], endpoint: Any, out: str | Path, text_field: str,
                 samples: int = 1, cache: Any = None, progress: bool = True,
                 batch: Any = None) -> dict[str, Any]:
    """Send every pending request, appending ``{model, **record, text_field: reply}`` lines.

    ``requests`` hold every sample (0..samples-1) of every item, with identical messages per
    item; ``endpoint`` is a rubrics.llm.EndpointConfig, ``cache`` a rubrics.llm Cache or None;
    ``batch`` a rubrics.llm.batch.BatchOptions to go through the provider's batch API.
    """
    from rubricate.rubrics.llm import GenerateTask, RunStats, generate_many_sync  # start-up time: openai only when sending
    if samples < 1:
        raise RubricateError(f"samples must be >= 1, got {samples}")
    done = done_keys(out, endpoint.model, text_field)
    by_key = {r.key: r for r in requests}
    pending_items = list(dict.fromkeys(r.item_id for r in requests if r.key not in done))
    first = {r.item_id: r for r in requests if r.sample == 0}
    tasks = [GenerateTask(iid, first[iid].messages) for iid in pending_items]
    stats = RunStats()
    counts: dict[str, Any] = {"requests": len(requests), "already_done": len(done & set(by_key)),
                              "written": 0, "failed": 0, "errors": {}}
    with AppendLog(Path(out)) as sink:
        def on_result(g: Any) -> None:
            if (g.key, g.sample) in done or (g.key, g.sample) not in by_key:
                return
            if g.text is None:  # counted per cause, printed once each; the next run asks again
                counts["failed"] += 1
                cause = g.cause or g.error or "unknown error"
                counts["errors"][cause] = counts["errors"].get(cause, 0) + 1
                return
            extra = {"finish_reason": g.finish_reason}
            if g.refusal is not None:  # kept as a refusal, never as an empty answer
                extra["refusal"] = g.refusal
                counts["refusals"] = counts.get("refusals", 0) + 1
            if g.model and g.model != endpoint.model:
                extra["served_model"] = g.model
            sink.write([{"model": endpoint.model, **by_key[(g.key, g.sample)].record, text_field: g.text, **extra}])
            sink.commit()  # each reply is on disk before the next: a killed run re-asks nothing answered
            counts["written"] += 1
        if tasks:
            generate_many_sync(tasks, endpoint, cache, on_result, samples=samples, stats=stats,
                               progress=progress, batch=batch)
    counts["stats"] = stats.to_dict()
    return counts


def rubric_requests(rubric: dict, system_prompt: str | None = None, samples: int = 1,
                    model: str = "") -> list[Request]:
    """One request per response item x sample; records carry what ``evaluate`` reads."""
    tag = system_prompt_tag(system_prompt)
    out = []
    for item in rubric.get("items", []):
        if item.get("kind", "response") != "response":
            continue
        messages = ([{"role": "system", "content": system_prompt}] if system_prompt else [])
        messages += [dict(m) for m in item["stimulus"]["messages"]]
        for s in range(samples):
            rid = f"{item['id']}#{model}#{tag}#{s}"
            out.append(Request(item["id"], s, messages,
                               {"response_id": rid, "item_id": item["id"], "sample": s,
                                "condition": item.get("condition"), "system_prompt": tag}))
    return out
