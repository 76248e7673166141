"""Conversations with an LLM: the simulated client's prompt and the conversation judge.

Why here (with the client, below the evaluator): both are prompts and reply readers, like
the judge protocols of protocols.py; the evaluator (rubrics/evaluation/converse.py and
conversations.py) runs them through the one Runner. Wording lives in prompts.yaml
(``simulator`` and ``conversation``); each has a version that enters the cache key.

A transcript is a list of turns ``(client, assistant)``; turn numbers are 1-based and count
assistant turns, so "turn 3" is the model's third reply and the client message before it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from string import Template
from typing import Any

from .escaping import escape_tags, unescape_tags
from .protocols import prompts
from .replies import extract_json, read_verdict, verdict_from_prose

SIMULATOR_PROTOCOL = "simulator"
JUDGE_PROTOCOL = "conversation"


def simulator_version() -> str:
    return str(prompts()[SIMULATOR_PROTOCOL]["version"])


def judge_version() -> str:
    return str(prompts()[JUDGE_PROTOCOL]["version"])


def end_token() -> str:
    return str(prompts()[SIMULATOR_PROTOCOL]["end_token"])


def _bullets(values: list[str]) -> str:
    return "; ".join(values)


def simulator_messages(persona: dict, telling: str, turns: list[tuple[str, str]]) -> list[dict]:
    """What the simulated client is sent before writing its message number ``len(turns) + 1``.

    Its own earlier messages are the "assistant" role and the model under test's replies the
    "user" role, so any chat model plays the client without special support."""
    p = prompts()[SIMULATOR_PROTOCOL]
    info = persona["persona"]
    turn = len(turns) + 1
    beats = {b["turn"]: b["beat"] for b in info["escalation"]}
    due = [t for t in beats if t <= turn]
    beat = f"Now, around this message: {beats[max(due)]}." if due else ""
    telling_text = Template(p[telling]).substitute(onset=info["risk_onset"], disclosure=info["disclosure"])
    system = Template(p["system"]).substitute(
        title=persona["title"], facts=_bullets(info["facts"]), goals=_bullets(info["goals"]),
        escalation="\n".join(f"- message {b['turn']}: {b['beat']}" for b in info["escalation"]),
        telling_instructions=telling_text, turn=turn, beat=beat, end_token=end_token())
    messages = [{"role": "system", "content": system}]
    for client, assistant in turns:
        messages.append({"role": "assistant", "content": client})
        messages.append({"role": "user", "content": assistant})
    return messages


def client_ended(text: str) -> bool:
    """The simulator's reply ends the conversation (the end token, alone or with little else)."""
    token = end_token()
    t = (text or "").strip()
    return not t or t == token or (token in t and len(t.replace(token, "").strip()) < 3)


# -- judge ------------------------------------------------------------------------------------
def render_transcript(turns: list[tuple[str, str]]) -> str:
    out = []
    for n, (client, assistant) in enumerate(turns, 1):
        out.append(f"[turn {n}] client: {escape_tags(client)}")
        out.append(f"[turn {n}] assistant: {escape_tags(assistant)}")
    return "\n\n".join(out) or "(empty conversation)"


def scope_text(criterion: dict, n_turns: int) -> str:
    scope = criterion.get("scope", "conversation")
    if scope == "turn":
        return f"every assistant turn (turns 1 to {n_turns}); answer yes if it holds in any of them"
    if scope == "by_turn":
        k = min(int(criterion["by_turn"]), n_turns)
        return f"by assistant turn {k}: answer yes if it happened in any assistant turn from 1 to {k}"
    start = min(int(criterion.get("from_turn", 1)), max(n_turns, 1))
    return f"the whole conversation from assistant turn {start} to {n_turns}"


def judge_messages(turns: list[tuple[str, str]], criterion: dict) -> list[dict]:
    p = prompts()[JUDGE_PROTOCOL]
    user = Template(p["user"]).substitute(
        conversation=render_transcript(turns), criterion=str(criterion.get("criterion") or "(not stated)"),
        scope=scope_text(criterion, len(turns)), question=str(criterion["question"]),
        instructions=str(criterion.get("judge_instructions") or "Answer the question as asked."))
    return [{"role": "system", "content": p["system"]}, {"role": "user", "content": user}]


def corrective() -> str:
    return str(prompts()[JUDGE_PROTOCOL]["corrective"])


RESPONSE_FORMAT = {"type": "json_schema", "json_schema": {"name": "conversation_verdict", "strict": True, "schema": {
    "type": "object", "additionalProperties": False,
    "required": ["explanation", "answer", "turns", "evidence"],
    "properties": {
        "explanation": {"type": "string"}, "answer": {"type": "string", "enum": ["yes", "no"]},
        "turns": {"type": "array", "items": {"type": "integer"}},
        "evidence": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                                 "required": ["turn", "quote"],
                                                 "properties": {"turn": {"type": "integer"},
                                                                "quote": {"type": "string"}}}}}}}}


@dataclass
class ConversationAnswer:
    """The judge's answer read back: turns and quotes checked against the transcript."""

    answer: str
    explanation: str
    turns: list[int]
    quotes: list[dict] = field(default_factory=list)  # {turn, start, end, text}: found in that turn
    flags: list[str] = field(default_factory=list)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def find_quote(quote: str, text: str) -> tuple[int, int] | None:
    """Where ``quote`` is in ``text`` (exact, else whitespace- and case-insensitive)."""
    quote = unescape_tags(quote).strip().strip('"').strip()
    if not quote:
        return None
    i = text.find(quote)
    if i >= 0:
        return i, i + len(quote)
    pattern = r"\s+".join(re.escape(w) for w in quote.split())
    m = re.search(pattern, text, re.I)
    return (m.start(), m.end()) if m else None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def parse_judge_reply(text: str, turns: list[tuple[str, str]]) -> ConversationAnswer | None:
    """The answer, its turns and its quotes; None when no answer can be read.

    A quote counts only when it is found in the assistant message of the turn it names (or,
    when it names none, of any turn); turns outside the conversation are dropped. Both are
    flagged, never silently kept."""
    data = extract_json(text)
    verdict = read_verdict(data) if isinstance(data, dict) else None
    verdict = verdict or verdict_from_prose(text)
    if verdict is None:
        return None
    n = len(turns)
    flags: list[str] = []
    stated = [_as_int(t) for t in (data.get("turns") or [])] if isinstance(data, dict) and \
        isinstance(data.get("turns"), list) else []
    valid = sorted({t for t in stated if t is not None and 1 <= t <= n})
    if len(valid) < len([t for t in stated if t is not None]):
        flags.append("turn-out-of-range")
    raw = data.get("evidence") if isinstance(data, dict) else None
    quotes: list[dict] = []
    for entry in raw if isinstance(raw, list) else []:
        turn, quote = (_as_int(entry.get("turn")), entry.get("quote")) if isinstance(entry, dict) else (None, entry)
        if not isinstance(quote, str) or not quote.strip():
            continue
        candidates = [turn] if turn is not None and 1 <= turn <= n else range(1, n + 1)
        hit = next(((t, span) for t in candidates if (span := find_quote(quote, turns[t - 1][1]))), None)
        if hit is None:
            flags.append("quote-not-found")
            continue
        t, (start, end) = hit
        quotes.append({"turn": t, "start": start, "end": end, "text": turns[t - 1][1][start:end]})
    found_turns = sorted({q["turn"] for q in quotes} | set(valid))
    return ConversationAnswer(verdict.answer, verdict.explanation, found_turns, quotes, sorted(set(flags)))
