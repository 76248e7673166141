"""The cascade judge on a sharded run (``evaluate --shards ... --judge cascade [--engine dask]``).

Why two stages: the offline judge runs where the shards are (any engine's workers), but the
LLM judge must run under ONE concurrency limit (and one request cache, one provider batch) for
the whole job, not one per worker. So each shard task judges its shard with the rules and
writes, beside its ids and problems, ``cascade/confident-NNNNN.jsonl`` (verdicts the rules
decided, already cascade verdicts) and, last, ``cascade/uncertain-NNNNN.jsonl`` (the verdicts
they abstained on, each with the response text the LLM judge needs). The driver then streams
the uncertain verdicts of every shard to the LLM judge in batches of its own size (online
under ``--max-concurrency``, or as provider batches with ``--batch``), and when a shard's last
uncertain verdict is answered writes its ``verdicts/part-NNNNN.jsonl`` (confident + LLM-decided)
and its partial summary, which marks the shard done. A shard whose LLM calls failed gets no
partial: ``--resume`` asks them again (answered calls come from the request cache).
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import STRICT, jsonl_bytes, read_jsonl
from rubricate.rubrics.contract.model import Rubric
from rubricate.rubrics.evaluation.cascade import DECIDED, CascadeJudge, audit_draw
from rubricate.rubrics.evaluation.evaluate import _verdict
from rubricate.rubrics.evaluation.judges import Outcome, Task
from rubricate.rubrics.evaluation.responses import Response
from rubricate.rubrics.evaluation.results import verdict_id

NAME = "cascade"


def confident_name(index: int) -> str:
    return f"cascade/confident-{index:05d}.jsonl"


def uncertain_name(index: int) -> str:
    return f"cascade/uncertain-{index:05d}.jsonl"


def as_cascade(v: dict) -> dict:
    """A rules verdict as the cascade's: its own id and judge, decided by the rules."""
    return {**v, "judge": NAME, "decided_by": "rules",
            "verdict_id": verdict_id(v["rubric_id"], v["response_id"], v["criterion_id"], NAME)}


def split_shard(verdicts: Iterable[dict], texts: Callable[[set[str]], dict[str, str]], audit_rate: float = 0.0,
                seed: int = 0) -> tuple[bytes, bytes]:
    """(confident, routed) JSONL bytes of one shard's rules verdicts: routed are the uncertain ones
    and the confident ones drawn for the audit (the same draw as the one-file cascade);
    ``texts(ids)`` gives the response text of the routed responses (read from the shard once)."""
    confident, routed = [], []
    for v in verdicts:
        why = "uncertain" if v["answer"] == "uncertain" else "audit" if audit_rate > 0 and v["answer"] in DECIDED \
            and audit_draw(seed, v["response_id"], v["criterion_id"]) < audit_rate else None
        (routed if why else confident).append((why, as_cascade(v)))
    text_of = texts({v["response_id"] for _, v in routed}) if routed else {}
    return jsonl_bytes([v for _, v in confident]), jsonl_bytes(
        [{"verdict": v, "routed": why, "response": text_of[v["response_id"]]} for why, v in routed])


@dataclass
class _Shard:
    index: int
    confident: bytes
    waiting: int
    answered: dict[int, dict] = field(default_factory=dict)
    failed: int = 0


@dataclass
class CascadeStats:
    shards: int = 0
    routed: int = 0
    failed: int = 0
    failed_shards: list[int] = field(default_factory=list)


def _task(rubric: Rubric, v: dict, text: str) -> Task:
    item = rubric.items[v["item_id"]]
    criterion = rubric.criteria[v["criterion_id"]]
    return Task(Response(v["response_id"], v["item_id"], v["model"], text, v["response_line"], v["metadata"]),
                item, criterion)


def _decided(rubric: Rubric, v: dict, why: str, task: Task, llm: Outcome) -> dict:
    """The LLM-decided cascade verdict replacing a routed one (same id, rules' reading kept)."""
    rules = Outcome(answer=v["answer"], reason=v["reason"], judge_version=v["judge_version"],
                    confidence=v.get("confidence"), rules_answer=v.get("rules_answer"))
    combined = CascadeJudge._combine(rules, why, llm)
    record = dict(_verdict(rubric, NAME, task, combined))
    record["response_line"] = v["response_line"]
    return record


def answer_uncertain(rubric: Rubric, llm, shards: Iterable[tuple[int, bytes, bytes]],
                     finish: Callable[[int, bytes], None], stats: CascadeStats) -> None:
    """Send every shard's uncertain verdicts to ``llm`` in batches of ``llm.batch_size`` (one
    caller: one global concurrency limit) and call ``finish(index, verdict_bytes)`` for each
    shard whose uncertain verdicts were all answered (shards whose calls failed are skipped
    and listed in ``stats``)."""
    size = max(1, getattr(llm, "batch_size", 64))
    open_shards: dict[int, _Shard] = {}
    queue: list[tuple[int, int, dict, str, Task]] = []

    def flush() -> None:
        if not queue:
            return
        outcomes = llm([t for *_, t in queue])
        for (index, k, v, why, task), o in zip(queue, outcomes):
            shard = open_shards[index]
            if o.failed:
                shard.failed += 1
            else:
                shard.answered[k] = _decided(rubric, v, why, task, o)
            shard.waiting -= 1
            stats.routed += 1
        queue.clear()
        for index in [i for i, s in open_shards.items() if s.waiting == 0]:
            close(open_shards.pop(index))

    def close(shard: _Shard) -> None:
        if shard.failed:
            stats.failed += shard.failed
            stats.failed_shards.append(shard.index)
            return
        finish(shard.index, shard.confident + jsonl_bytes([shard.answered[k] for k in sorted(shard.answered)]))
        stats.shards += 1

    for index, confident, uncertain in shards:
        pending = list(jsonl_records(uncertain, uncertain_name(index)))
        shard = _Shard(index, confident, len(pending))
        open_shards[index] = shard
        if not pending:
            close(open_shards.pop(index))
            continue
        for k, rec in enumerate(pending):
            v = rec["verdict"]
            if v["item_id"] not in rubric.items or v["criterion_id"] not in rubric.criteria:
                raise RubricateError(f"shard {index}: verdict {v['verdict_id']} names an item or criterion the "
                                     "rubric lacks (a different rubric?)")
            queue.append((index, k, v, rec.get("routed") or "uncertain", _task(rubric, v, rec["response"])))
            if len(queue) >= size:
                flush()
    flush()


def jsonl_records(data: bytes, what: str) -> Iterator[dict]:
    """The records of a JSONL part held in memory (the one JSONL reader, strict)."""
    return (obj for _, obj in read_jsonl(io.BytesIO(data), STRICT, what))


def read_pending(read: Callable[[str], bytes | None], indexes: Iterable[int]) -> Iterator[tuple[int, bytes, bytes]]:
    """(index, confident bytes, uncertain bytes) of each shard whose first stage is done."""
    for index in indexes:
        unsure = read(uncertain_name(index))
        confident = read(confident_name(index))
        if unsure is None or confident is None:
            raise RubricateError(f"shard {index} has no cascade stage output after the run")
        yield index, confident, unsure
