"""Conversations between a simulated client and a model under test (``rubricate converse``).

Each conversation is one persona of a conversations rubric, told explicitly or implicitly,
sample k. Its first client message is the telling's opening, as written; later ones come
from the simulator (an LLM playing the persona, rubrics/llm/conversation.py), until the turn
limit or until the simulator ends it. Every completed turn (client message + the model's
reply) is appended to the transcript log as one JSON line, committed before the next turn
starts, so a kill at any point loses at most the turn in flight: a re-run reads the log and
continues each conversation from its last complete turn, never writing a turn twice. (Each
line is flushed to the OS at once, which a killed process cannot lose; the fsync that also
covers a power cut runs at most every FSYNC_INTERVAL seconds and at the end, because one
fsync per turn would stall every conversation of the event loop behind the disk.)
Conversations run concurrently through one Runner per endpoint (the same limits, retries
and cache as the LLM judge); turns within a conversation are sequential by nature.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from rubricate.guidelines.kernel.errors import ConfigurationError
from rubricate.guidelines.kernel.fileio import SKIP, read_jsonl
from rubricate.rubrics.contract.model import Rubric
from rubricate.rubrics.llm.conversation import SIMULATOR_PROTOCOL, client_ended, simulator_messages, simulator_version
from rubricate.rubrics.evaluation.respond import system_prompt_tag
from rubricate.rubrics.evaluation.results import AppendLog, cut_torn_tail

TELLINGS = ("explicit", "implicit")
GENERATE_PROTOCOL, GENERATE_VERSION = "generate", "1"  # the model under test: as `rubricate respond`
TURN_LIMIT = "turns"
FSYNC_INTERVAL = 0.25  # seconds between fsyncs of the transcript log
CLIENT_ENDED = "client"


@dataclass(frozen=True)
class Plan:
    """One conversation to hold: persona x telling x sample, for one model and system prompt."""

    conversation_id: str
    persona: dict
    telling: str
    sample: int


@dataclass
class Transcript:
    """A conversation as far as the log has it: complete turns, and whether it has ended."""

    conversation_id: str
    turns: list[tuple[str, str]] = field(default_factory=list)
    ended: str | None = None  # "client" when the simulator ended it
    record: dict[str, Any] = field(default_factory=dict)  # the fields every turn line repeats
    line: int = 0  # first line of the conversation in the log


def conversation_id(persona_id: str, telling: str, model: str, system_prompt: str | None, sample: int) -> str:
    return f"{persona_id}#{telling}#{model}#{system_prompt_tag(system_prompt)}#{sample}"


def plan_conversations(rubric: Rubric, model: str, system_prompt: str | None, conversations: int = 1,
                       personas: tuple[str, ...] = (), tellings: tuple[str, ...] = TELLINGS) -> list[Plan]:
    """Every persona (or those named) x telling x sample, in the rubric's order."""
    if not rubric.personas:
        raise ConfigurationError(f"rubric {rubric.id} has no personas (kind persona items); use "
                                 "rubricate-conversations or compile one from a persona file")
    unknown = [p for p in personas if p not in rubric.personas]
    if unknown:
        raise ConfigurationError(f"no persona {unknown[0]!r} in rubric {rubric.id}")
    chosen = [p for pid, p in rubric.personas.items() if not personas or pid in personas]
    return [Plan(conversation_id(p["id"], t, model, system_prompt, k), p, t, k)
            for p in chosen for t in tellings for k in range(conversations)]


def read_transcripts(path: Path) -> dict[str, Transcript]:
    """The conversations in a transcript log: each one's contiguous complete turns (a torn or
    repeated line is ignored), and how it ended."""
    out: dict[str, Transcript] = {}
    for line, rec in read_jsonl(Path(path), SKIP, "transcript log", missing_ok=True):
        cid = rec.get("conversation_id")
        if not isinstance(cid, str):
            continue
        t = out.setdefault(cid, Transcript(cid, line=line))
        if rec.get("event") == "end":
            t.ended = t.ended or str(rec.get("by") or CLIENT_ENDED)
            continue
        turn, client, assistant = rec.get("turn"), rec.get("client"), rec.get("assistant")
        if turn == len(t.turns) + 1 and isinstance(client, str) and isinstance(assistant, str) and not t.ended:
            t.turns.append((client, assistant))
            if not t.record:
                t.record = {k: v for k, v in rec.items() if k not in ("turn", "client", "assistant", "finish_reason")}
    return out


class _Log:
    """The transcript log: every line flushed at once, fsynced at most every FSYNC_INTERVAL."""

    def __init__(self, log: AppendLog) -> None:
        self.log, self.synced = log, time.monotonic()

    def write(self, record: dict) -> None:
        self.log.write([record])
        self.log.flush()
        if time.monotonic() - self.synced >= FSYNC_INTERVAL:
            self.log.commit()
            self.synced = time.monotonic()


@dataclass
class Counts:
    """What a converse run did: conversations, turns written, calls that failed (by cause)."""

    conversations: int = 0
    already_complete: int = 0
    turns_written: int = 0
    turns_before: int = 0
    ended_by_client: int = 0
    failed: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def fail(self, cause: str) -> None:
        self.failed += 1
        self.errors[cause] = self.errors.get(cause, 0) + 1


Event = Callable[[str, Transcript, str], None]  # (kind: turn|done|failed, transcript, detail)


async def _hold(plan: Plan, t: Transcript, max_turns: int, client: Any, model: Any, system_prompt: str | None,
                base: dict, log: AppendLog, counts: Counts, on_event: Event | None) -> None:
    """Continue one conversation from its last complete turn to the limit or the client's end."""
    while len(t.turns) < max_turns and not t.ended:
        k = len(t.turns) + 1
        if k == 1:
            client_text = next(x["opening"] for x in plan.persona["tellings"] if x["telling"] == plan.telling)
        else:
            c = await client.complete(simulator_messages(plan.persona, plan.telling, t.turns),
                                      protocol=SIMULATOR_PROTOCOL, version=simulator_version(), sample=plan.sample)
            if c.text is None:
                counts.fail(f"simulated client: {c.cause or c.error}")
                if on_event:
                    on_event("failed", t, f"simulated client: {c.error}")
                return
            if client_ended(c.text):
                log.write({"conversation_id": t.conversation_id, "event": "end", "by": CLIENT_ENDED,
                           "after_turn": k - 1})
                t.ended = CLIENT_ENDED
                counts.ended_by_client += 1
                break
            client_text = c.text.strip()
        messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
        for u, a in t.turns:
            messages += [{"role": "user", "content": u}, {"role": "assistant", "content": a}]
        messages.append({"role": "user", "content": client_text})
        r = await model.complete(messages, protocol=GENERATE_PROTOCOL, version=GENERATE_VERSION, sample=plan.sample)
        if r.text is None:
            counts.fail(f"model under test: {r.cause or r.error}")
            if on_event:
                on_event("failed", t, f"model under test: {r.error}")
            return
        log.write({**base, "turn": k, "client": client_text, "assistant": r.text,
                   "finish_reason": r.finish_reason})  # with the OS before the next turn: a kill never loses it
        t.turns.append((client_text, r.text))
        counts.turns_written += 1
        if on_event:
            on_event("turn", t, "")
    if on_event:
        on_event("done", t, t.ended or TURN_LIMIT)


async def _converse(plans: list[Plan], client_ep: Any, model_ep: Any, cache: Any, out: Path, max_turns: int,
                    system_prompt: str | None, rubric_id: str, counts: Counts, on_event: Event | None,
                    stats: dict) -> None:
    from rubricate.rubrics.llm.runner import Runner, RunStats  # start-up time: openai only when sending
    known = read_transcripts(out)
    client_stats, model_stats = RunStats(), RunStats()
    stats.update(client=client_stats, model=model_stats)
    cut_torn_tail(out)
    with AppendLog(out) as append:  # closing commits (fsync) whatever is left
        log = _Log(append)
        async with Runner(client_ep, cache, stats=client_stats) as client, \
                Runner(model_ep, cache, stats=model_stats) as model:
            async with asyncio.TaskGroup() as tg:
                for plan in plans:
                    t = known.get(plan.conversation_id) or Transcript(plan.conversation_id)
                    counts.turns_before += len(t.turns)
                    if t.ended or len(t.turns) >= max_turns:
                        counts.already_complete += 1
                        continue
                    base = {"conversation_id": plan.conversation_id, "rubric_id": rubric_id,
                            "persona": plan.persona["id"], "condition": plan.persona["condition"],
                            "telling": plan.telling, "sample": plan.sample, "model": model_ep.model,
                            "client_model": client_ep.model, "system_prompt": system_prompt_tag(system_prompt)}
                    tg.create_task(_hold(plan, t, max_turns, client, model, system_prompt, base, log, counts,
                                         on_event))


def converse(plans: list[Plan], client_ep: Any, model_ep: Any, out: Path, *, max_turns: int = 10,
             system_prompt: str | None = None, rubric_id: str = "", cache: Any = None,
             on_event: Event | None = None) -> tuple[Counts, dict]:
    """Hold every planned conversation to ``max_turns`` (or the client's end), appending turns to
    ``out``; returns the counts and the two endpoints' RunStats."""
    if max_turns < 1:
        raise ConfigurationError(f"--turns must be >= 1, got {max_turns}")
    counts = Counts(conversations=len(plans))
    stats: dict = {}
    asyncio.run(_converse(plans, client_ep, model_ep, cache, Path(out), max_turns, system_prompt, rubric_id,
                          counts, on_event, stats))
    return counts, {k: v.to_dict() for k, v in stats.items()}
