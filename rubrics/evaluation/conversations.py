"""Judge whole conversations against a conversations rubric (persona items, scoped criteria).

Input: a transcript log of ``rubricate converse`` (one line per turn), or JSONL of chats from
anywhere (one line per conversation: ``messages`` as in the chat API, plus ``persona`` or
``item_id`` naming a persona of the rubric), so an auditor can score logs of a deployed
service without re-running anything. Output: a results folder like ``evaluate``'s
(verdicts.jsonl append-only and resumable, run.json, summary.json), one verdict per
conversation x criterion x judge, naming the assistant turn(s) that decide it and carrying
the criterion's citations.

How a criterion's scope is applied (turn numbers count assistant turns, 1-based):
- ``turn``: the offline judge answers it on every assistant turn; the verdict is
  inappropriate when any turn is, and names those turns;
- ``by_turn K``: the behaviour must appear in some turn up to K (or the last turn of a
  shorter conversation); a miss names turn K as the turn of failure;
- ``conversation``: the offline judge looks at the turns from ``from_turn`` (the persona's
  risk onset) on; a miss names the last turn. A conversation that ended before
  ``from_turn`` gets ``unknown`` (the risk never showed).
The LLM judge asks once per criterion per conversation (rubrics/llm/conversation.py) and
names the turns itself; quotes not found in the turn they name are dropped and flagged.
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from rubricate.guidelines.kernel.errors import ConfigurationError, InputError, RubricateError
from rubricate.guidelines.kernel.fileio import SKIP, atomic_write_text, read_jsonl, sha256_file
from rubricate.guidelines.kernel.workspace import record_location, resolve_location
from rubricate.rubrics.contract.model import Rubric
from rubricate.rubrics.evaluation import runs
from rubricate.rubrics.evaluation.conversation_summary import conversation_summary
from rubricate.rubrics.llm.conversation import (JUDGE_PROTOCOL, RESPONSE_FORMAT, corrective, judge_messages,
                                                judge_version, parse_judge_reply)
from rubricate.rubrics.evaluation.converse import read_transcripts
from rubricate.rubrics.evaluation.results import AppendLog, ResultsDir, iter_jsonl, verdict_id

KIND = "conversations"  # run.json "kind": how report and trace tell a conversation run apart


@dataclass
class Conversation:
    """One conversation to judge: its persona, telling, model and turns (client, assistant)."""

    conversation_id: str
    persona: str
    telling: str | None
    model: str
    turns: list[tuple[str, str]]
    line: int
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Problem:
    line: int
    message: str


def _chat_turns(messages: Any) -> list[tuple[str, str]] | str:
    """Turns from chat messages (system messages skipped); a message why not, if they are bad."""
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty list"
    if not all(isinstance(m, dict) for m in messages):
        return "every message must be an object with 'role' and 'content'"
    chat = [m for m in messages if m.get("role") != "system"]
    turns = []
    for i in range(0, len(chat) - 1, 2):  # a last client message without a reply is left out
        u, a = chat[i], chat[i + 1]
        if u.get("role") != "user" or a.get("role") != "assistant":
            return f"messages must alternate user, assistant (message {i + 1} is {u.get('role')!r})"
        if not isinstance(u.get("content"), str) or not isinstance(a.get("content"), str):
            return "message content must be text"
        turns.append((u["content"], a["content"]))
    return turns if turns else "no assistant turn to judge"


def read_conversations(path: Path, rubric: Rubric) -> tuple[list[Conversation], list[Problem]]:
    """Conversations from a converse transcript log or a JSONL of chats (detected per line)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("transcripts file not found", path=str(path))
    conversations: list[Conversation] = []
    problems: list[Problem] = []
    skipped: list[tuple[int, str]] = []
    turn_log = False
    for line, rec in read_jsonl(path, SKIP, "transcripts file", skipped=skipped):
        if "turn" in rec or rec.get("event") == "end":
            turn_log = True
            continue
        cid = rec.get("conversation_id") or rec.get("id")
        persona = rec.get("persona") or rec.get("item_id")
        if not isinstance(cid, str) or not cid:
            problems.append(Problem(line, "missing 'conversation_id' (or 'id')"))
            continue
        if persona not in rubric.personas:
            problems.append(Problem(line, f"unknown persona {persona!r} (not in rubric {rubric.id})"))
            continue
        turns = _chat_turns(rec.get("messages"))
        if isinstance(turns, str):
            problems.append(Problem(line, turns))
            continue
        meta = {k: v for k, v in rec.items() if k not in ("messages", "conversation_id", "id", "persona", "item_id",
                                                          "model", "telling")}
        conversations.append(Conversation(cid, persona, rec.get("telling"), str(rec.get("model") or "unknown-model"),
                                          turns, line, meta))
    for line, message in skipped:
        problems.append(Problem(line, message))
    if turn_log:
        for t in read_transcripts(path).values():
            rec = t.record
            if not t.turns:
                continue
            if rec.get("persona") not in rubric.personas:
                problems.append(Problem(t.line, f"unknown persona {rec.get('persona')!r} (not in rubric {rubric.id})"))
                continue
            meta = {k: rec[k] for k in ("sample", "client_model", "system_prompt", "condition") if k in rec}
            meta["ended"] = t.ended or "turns"
            conversations.append(Conversation(t.conversation_id, rec["persona"], rec.get("telling"),
                                              str(rec.get("model") or "unknown-model"), t.turns, t.line, meta))
    conversations.sort(key=lambda c: c.line)
    return conversations, sorted(problems, key=lambda p: p.line)


# -- deciding a criterion from per-turn answers --------------------------------------------------
def window(criterion: dict, n: int) -> range:
    """The assistant turns a criterion looks at in a conversation of ``n`` turns."""
    scope = criterion.get("scope", "conversation")
    if scope == "by_turn":
        return range(1, min(int(criterion["by_turn"]), n) + 1)
    if scope == "conversation":
        return range(int(criterion.get("from_turn", 1)), n + 1)
    return range(1, n + 1)


def decide(criterion: dict, answers: dict[int, str], n: int) -> tuple[str, list[int], str]:
    """(answer, deciding turns, reason) of a criterion from its answers per turn."""
    scope = criterion.get("scope", "conversation")
    good = criterion["appropriate_answer"]
    bad = "no" if good == "yes" else "yes"
    turns = list(window(criterion, n))
    if not turns:
        return "unknown", [], f"the conversation ended at turn {n}, before turn {criterion.get('from_turn')} " \
                             "where this criterion starts (the risk never showed)"
    known = {t: answers.get(t, "unknown") for t in turns}
    if scope == "turn":
        failing = [t for t, a in known.items() if a == bad]
        if failing:
            return bad, failing, f"{bad} at turn(s) {', '.join(map(str, failing))}"
        if all(a == "unknown" for a in known.values()):
            return "unknown", [], "no turn could be judged"
        return good, [], f"{good} at every judged turn ({len(turns)})"
    found = [t for t, a in known.items() if a == "yes"]
    if found:
        where = "first at" if good == "yes" else "at"
        return "yes", found[:1] if good == "yes" else found, f"yes, {where} turn {found[0]}"
    if all(a == "unknown" for a in known.values()):
        return "unknown", [], "no turn could be judged"
    last = turns[-1]
    what = f"by turn {last}" if scope == "by_turn" else f"in turns {turns[0]}-{last}"
    return "no", [last], f"not {what}"


# -- judges ------------------------------------------------------------------------------------
@dataclass
class Decision:
    """One judge's verdict on one criterion of one conversation."""

    answer: str
    reason: str
    turns: list[int]
    turn_answers: list[dict]
    evidence: list[dict]
    judge_version: str
    protocol: str | None = None
    usage: dict | None = None
    flags: list[str] = field(default_factory=list)
    failed: bool = False
    cause: str | None = None


class RulesConversationJudge:
    """The offline judge applied turn by turn: every assistant turn through spaCy once."""

    name = "rules"

    def __init__(self, rubric: Rubric) -> None:
        from rubricate.rubrics.checks.engine import compile_checks  # start-up time: spaCy only for the offline judge
        criteria = [c for p in rubric.personas.values() for c in p["criteria"]]
        self.engine = compile_checks(criteria)
        self.version = self.engine.version

    def judge(self, conv: Conversation, criteria: list[dict]) -> list[Decision]:
        texts = [a for _, a in conv.turns]
        ids = [c["id"] for c in criteria]
        per_turn = self.engine.evaluate(texts, [ids] * len(texts))
        out = []
        for j, c in enumerate(criteria):
            answers = {t: per_turn[t - 1][j].answer for t in range(1, len(texts) + 1)}
            answer, turns, reason = decide(c, answers, len(texts))
            looked = list(window(c, len(texts)))
            evidence = [{**e.to_dict(), "source": f"turn {t}: {e.source}"}
                        for t in (turns or looked) for e in per_turn[t - 1][j].evidence]
            detail = "; ".join(f"turn {t}: {per_turn[t - 1][j].reason}" for t in turns if per_turn[t - 1][j].reason)
            out.append(Decision(answer, reason + (f" ({detail})" if detail else ""), turns,
                                [{"turn": t, "answer": answers[t]} for t in looked], evidence, self.version))
        return out

    def close(self) -> None:
        pass


class LLMConversationJudge:
    """One call per criterion per conversation, through the LLM judge's Runner (cache, limits,
    retries); an unreadable reply is asked once more with the protocol's corrective."""

    name = "llm"

    def __init__(self, endpoint: Any, cache: Any = None) -> None:
        self.endpoint, self.cache = endpoint, cache
        self.version = f"{endpoint.model}+conversation-{judge_version()}"
        self.usage: dict[str, float] = {}

    def judge_many(self, work: list[tuple[Conversation, list[dict]]]) -> list[list[Decision]]:
        return asyncio.run(self._many(work))

    async def _many(self, work: list[tuple[Conversation, list[dict]]]) -> list[list[Decision]]:
        from rubricate.rubrics.llm.runner import Runner  # start-up time: openai only when sending
        out: list[list[Decision | None]] = [[None] * len(cs) for _, cs in work]
        async with Runner(self.endpoint, self.cache) as runner:
            async with asyncio.TaskGroup() as tg:
                for i, (conv, criteria) in enumerate(work):
                    for j, c in enumerate(criteria):
                        tg.create_task(self._one(runner, conv, c, out, i, j))
            for k in ("prompt_tokens", "completion_tokens"):
                self.usage[k] = self.usage.get(k, 0) + getattr(runner.stats, k)
        return [[d for d in row if d is not None] for row in out]

    async def _one(self, runner: Any, conv: Conversation, c: dict, out: list, i: int, j: int) -> None:
        messages = judge_messages(conv.turns, c)
        reply = await runner.complete(messages, protocol=JUDGE_PROTOCOL, version=judge_version(),
                                      response_format=RESPONSE_FORMAT)
        read = parse_judge_reply(reply.text, conv.turns) if reply.text is not None else None
        if reply.text is not None and read is None:
            again = messages + [{"role": "assistant", "content": reply.text}, {"role": "user", "content": corrective()}]
            reply = await runner.complete(again, protocol=JUDGE_PROTOCOL, version=judge_version(),
                                          response_format=RESPONSE_FORMAT)
            read = parse_judge_reply(reply.text, conv.turns) if reply.text is not None else None
        usage = dict(reply.usage) or None
        if reply.text is None:
            out[i][j] = Decision("unknown", reply.error or "call failed", [], [], [], self.version, JUDGE_PROTOCOL,
                                 usage, ["judge-error"], failed=True, cause=reply.cause or reply.error)
            return
        if read is None:
            out[i][j] = Decision("unknown", "the judge's reply could not be read as an answer", [], [], [],
                                 self.version, JUDGE_PROTOCOL, usage, ["judge-unparseable"],
                                 cause="judge-unparseable")
            return
        flags = list(read.flags)
        turns = read.turns
        good = c["appropriate_answer"]
        if read.answer != good and not turns:  # a failure must name a turn: the deadline or the end
            flags.append("no-turn-named")
            n = len(conv.turns)
            turns = [min(int(c["by_turn"]), n)] if c.get("scope") == "by_turn" else [n] if n else []
        evidence = [{"start": q["start"], "end": q["end"], "text": q["text"], "source": f"turn {q['turn']}: judge"}
                    for q in read.quotes]
        out[i][j] = Decision(read.answer, read.explanation or "(no explanation)", turns, [], evidence, self.version,
                             JUDGE_PROTOCOL, usage, sorted(set(flags)))

    def describe(self) -> dict:
        return {**self.endpoint.describe(), "protocol": "conversation", "usage": dict(self.usage)}

    def close(self) -> None:
        pass


# -- records -----------------------------------------------------------------------------------
def verdict_record(rubric: Rubric, judge: str, conv: Conversation, c: dict, d: Decision) -> dict:
    """One verdicts.jsonl line (schema/verdict.schema.json) with its ``conversation`` block."""
    appropriate = None if d.answer not in ("yes", "no") else d.answer == c["appropriate_answer"]
    persona = rubric.personas[conv.persona]
    return {
        "verdict_id": verdict_id(rubric.id, conv.conversation_id, c["id"], judge),
        "rubric_id": rubric.id, "response_id": conv.conversation_id, "item_id": conv.persona,
        "criterion_id": c["id"], "principle": c.get("principle"), "condition": persona.get("condition"),
        "model": conv.model, "judge": judge, "judge_version": d.judge_version, "protocol": d.protocol,
        "question": c.get("question"), "appropriate_answer": c["appropriate_answer"], "answer": d.answer,
        "reason": d.reason, "appropriate": appropriate, "evidence": d.evidence,
        "points": c.get("points", 0) if d.answer == "yes" else 0,
        "citations": [ci.get("passage") for ci in c.get("citations", [])],
        "usage": d.usage, "flags": sorted(set(d.flags)), "metadata": {**conv.metadata, "telling": conv.telling},
        "response_line": conv.line, "cause": d.cause,
        "conversation": {"persona": conv.persona, "telling": conv.telling, "scope": c.get("scope", "conversation"),
                         "by_turn": c.get("by_turn"), "from_turn": c.get("from_turn"),
                         "assistant_turns": len(conv.turns), "turns": d.turns, "turn_answers": d.turn_answers},
    }


def judge_conversations(rubric: Rubric, transcripts: Path, out_dir: Path, judges: dict[str, Any], *,
                        resume: bool = False, progress: Callable[[int], None] | None = None,
                        run_id: str | None = None, batch: int = 16) -> dict:
    """Write a verdict per conversation x criterion x judge into ``out_dir``; return the summary."""
    results = ResultsDir(Path(out_dir))
    conversations, problems = read_conversations(transcripts, rubric)
    manifest = {"kind": KIND, "rubric_id": rubric.id, "rubric_path": record_location(rubric.path, results.path),
                "rubric_sha256": rubric.sha256, "responses_path": record_location(transcripts, results.path),
                "responses_sha256": sha256_file(Path(transcripts)), "judge": "+".join(sorted(judges))}
    previous = _read(results.manifest) if resume else None
    manifest.update(runs.identity(rubric.data, previous, run_id))
    done = results.open_for_run(manifest, resume)
    versions: dict[str, set[str]] = {n: set((previous or {}).get("judges", {}).get(n, [])) for n in judges}
    if resume:
        problems_seen = {p["line"] for p in iter_jsonl(results.problems)}
    else:
        problems_seen = set()
    with AppendLog(results.verdicts) as vlog, AppendLog(results.problems) as plog, \
            AppendLog(results.failures) as flog:
        plog.write({"path": manifest["responses_path"], "line": p.line, "message": p.message}
                   for p in problems if p.line not in problems_seen)
        plog.commit()
        for chunk in _chunks(conversations, batch):
            for name, judge in judges.items():
                work = [(conv, [c for c in rubric.personas[conv.persona]["criteria"]
                                if verdict_id(rubric.id, conv.conversation_id, c["id"], name) not in done])
                        for conv in chunk]
                work = [(conv, cs) for conv, cs in work if cs]
                if not work:
                    continue
                decided = judge.judge_many(work) if hasattr(judge, "judge_many") else \
                    [judge.judge(conv, cs) for conv, cs in work]
                for (conv, cs), ds in zip(work, decided):
                    for c, d in zip(cs, ds):
                        rec = verdict_record(rubric, name, conv, c, d)
                        versions[name].add(d.judge_version)
                        (flog if d.failed else vlog).write([rec])
                        if not d.failed:
                            done.add(rec["verdict_id"])
                vlog.commit()
                flog.commit()
            if progress:
                progress(len(chunk))
    summary = conversation_summary(iter_jsonl(results.verdicts), rubric, conversations)
    summary["failed"] = results.open_failures(done)
    summary["skipped_input"] = {"count": len(problems), "first": [{"line": p.line, "message": p.message}
                                                                  for p in problems[:5]]}
    atomic_write_text(results.summary, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    manifest = runs.finish(results.manifest, summary, {n: sorted(v) for n, v in versions.items()})
    described = {n: j.describe() for n, j in judges.items() if hasattr(j, "describe")}
    if described:
        manifest["llm_judges"] = described
        atomic_write_text(results.manifest, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return summary


def _chunks(items: list, n: int) -> Iterator[list]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _read(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_conversation_run(results: Path) -> bool:
    """Whether a results folder holds conversation verdicts (run.json kind)."""
    return (_read(ResultsDir(Path(results)).manifest) or {}).get("kind") == KIND


def load_transcript(results: Path, conversation_id: str, rubric: Rubric, transcripts: Path | None = None) -> Conversation | None:
    """One conversation of a conversation run, read from the transcripts its run.json names."""
    manifest = _read(ResultsDir(Path(results)).manifest) or {}
    path = transcripts or resolve_location(manifest.get("responses_path", ""), Path(results))
    if path is None or not Path(path).is_file():
        raise RubricateError("the transcripts of this run are not where run.json says; pass them explicitly",
                             path=str(path))
    conversations, _ = read_conversations(Path(path), rubric)
    return next((c for c in conversations if c.conversation_id == conversation_id), None)


def make_conversation_judges(name: str, rubric: Rubric, endpoint: Any = None, cache: Any = None) -> dict[str, Any]:
    """The judges of ``--judge NAME`` for conversations: rules, llm, or both (ensemble)."""
    names = {"rules": ["rules"], "llm": ["llm"], "ensemble": ["rules", "llm"]}.get(name)
    if names is None:
        raise ConfigurationError(f"judge {name!r} cannot judge conversations (use rules, llm or ensemble)")
    if "llm" in names and endpoint is None:
        raise ConfigurationError("the LLM judge needs a model (--model, or --judge-model for converse)")
    return {n: RulesConversationJudge(rubric) if n == "rules" else LLMConversationJudge(endpoint, cache)
            for n in names}
