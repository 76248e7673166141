"""The judge protocols: how a question about a response is put to a model and read back.

- ``criterion``: one call per criterion (HealthBench grader style), JSON reply with an
  explanation, a yes/no answer and quoted evidence.
- ``item``: every criterion of an item in one call, JSON keyed by criterion id.
- ``moore2025``: Moore et al. (FAccT 2025) Experiment 2: the verification question as a
  multiple-choice question, options (A): yes / (B): no, letter only, temperature 0.

Each protocol has a version that enters every cache key and verdict record. Prompt
wording lives in prompts.yaml. ``PROTOCOLS`` is their registry: a separate package adds one
through the entry-point group ``rubricate.judge_protocols`` (a ``Protocol`` object).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any, Callable

import yaml

from rubricate.guidelines.kernel.errors import RubricFormatError
from rubricate.guidelines.kernel.plugins import Registry, instances

from .escaping import escape_tags
from .replies import (Verdict, extract_json, parse_option_letter, read_verdict,
                      verdict_from_prose)

MOORE_OPTIONS = {"A": "yes", "B": "no"}
MOORE_ROLES = {"user": "client", "assistant": "therapist"}


@lru_cache(maxsize=1)
def prompts() -> dict[str, Any]:
    return yaml.safe_load((Path(__file__).with_name("prompts.yaml")).read_text("utf-8"))


def render_conversation(messages: list[dict], labels: dict[str, str] | None = None) -> str:
    """The stimulus chat as labelled turns, with our delimiter tags escaped."""
    turns = []
    for m in messages:
        role = str(m.get("role", "user"))
        role = (labels or {}).get(role, role)
        turns.append(f"[{role}]: {escape_tags(str(m.get('content', '')))}")
    return "\n\n".join(turns) or "(no earlier messages)"


def _question(c: dict) -> str:
    q = c.get("question") or c.get("verification_question")
    if not q:
        raise RubricFormatError(f"criterion {c.get('id', '?')!r} has no question for the LLM judge")
    return str(q)


def _fields(c: dict) -> dict[str, str]:
    return {"id": str(c.get("id", "")), "criterion": str(c.get("criterion") or "(not stated)"),
            "question": _question(c),
            "instructions": str(c.get("judge_instructions") or "Answer the question as asked.")}


# -- criterion ------------------------------------------------------------------------------
_VERDICT_SCHEMA = {
    "type": "object",
    "properties": {"explanation": {"type": "string"},
                   "answer": {"type": "string", "enum": ["yes", "no"]},
                   "evidence": {"type": "array", "items": {"type": "string"}}},
    "required": ["explanation", "answer", "evidence"],
    "additionalProperties": False,
}


def build_criterion(messages: list[dict], response: str, criteria: list[dict]) -> list[dict]:
    p = prompts()["criterion"]
    user = Template(p["user"]).substitute(conversation=render_conversation(messages),
                                          response=escape_tags(response), **_fields(criteria[0]))
    return [{"role": "system", "content": p["system"]}, {"role": "user", "content": user}]


def schema_criterion(criteria: list[dict]) -> dict:
    return {"type": "json_schema",
            "json_schema": {"name": "criterion_verdict", "strict": True, "schema": _VERDICT_SCHEMA}}


def parse_criterion(text: str, criteria: list[dict]) -> dict[str, Verdict]:
    data = extract_json(text)
    verdict = read_verdict(data) if isinstance(data, dict) else None
    if verdict is None and isinstance(data, list) and len(data) == 1:
        verdict = read_verdict(data[0])
    verdict = verdict or verdict_from_prose(text)
    return {criteria[0]["id"]: verdict} if verdict else {}


def corrective_criterion(missing: list[str], criteria: list[dict]) -> str:
    return prompts()["criterion"]["corrective"]


# -- item -----------------------------------------------------------------------------------
def build_item(messages: list[dict], response: str, criteria: list[dict]) -> list[dict]:
    p = prompts()["item"]
    entry = Template(p["criterion_entry"])
    listing = "\n".join(entry.substitute(**_fields(c)) for c in criteria)
    user = Template(p["user"]).substitute(
        conversation=render_conversation(messages), response=escape_tags(response),
        criteria=escape_tags(listing), ids=", ".join(c["id"] for c in criteria))
    return [{"role": "system", "content": p["system"]}, {"role": "user", "content": user}]


def schema_item(criteria: list[dict]) -> dict:
    schema = {"type": "object", "properties": {c["id"]: _VERDICT_SCHEMA for c in criteria},
              "required": [c["id"] for c in criteria], "additionalProperties": False}
    return {"type": "json_schema",
            "json_schema": {"name": "item_verdicts", "strict": True, "schema": schema}}


def _entries(data: Any) -> dict[str, Any]:
    """Criterion id -> raw verdict, from {id: {...}} or a list/wrapped list of {id: ...}."""
    if isinstance(data, dict):
        for wrapper in ("verdicts", "criteria", "results", "answers"):
            if isinstance(data.get(wrapper), (list, dict)) and len(data) == 1:
                return _entries(data[wrapper])
        return {str(k): v for k, v in data.items()}
    if isinstance(data, list):
        out = {}
        for el in data:
            if isinstance(el, dict):
                cid = el.get("id") or el.get("criterion_id") or el.get("criterion")
                if cid:
                    out[str(cid)] = el
        return out
    return {}


def parse_item(text: str, criteria: list[dict]) -> dict[str, Verdict]:
    entries = _entries(extract_json(text))
    lowered = {k.strip().lower(): v for k, v in entries.items()}
    out: dict[str, Verdict] = {}
    for c in criteria:
        cid = c["id"]
        short = cid.rsplit(".", 1)[-1].lower()
        raw = entries.get(cid, lowered.get(cid.lower(), lowered.get(short)))
        verdict = read_verdict(raw) if raw is not None else None
        if verdict:
            out[cid] = verdict
    return out


def corrective_item(missing: list[str], criteria: list[dict]) -> str:
    return Template(prompts()["item"]["corrective"]).substitute(
        ids=", ".join(missing), all_ids=", ".join(c["id"] for c in criteria))


# -- moore2025 ------------------------------------------------------------------------------
def build_moore(messages: list[dict], response: str, criteria: list[dict]) -> list[dict]:
    options = "\n".join(f"({k}): {v}" for k, v in MOORE_OPTIONS.items())
    user = Template(prompts()["moore2025"]["user"]).substitute(
        conversation=render_conversation(messages, MOORE_ROLES), response=escape_tags(response),
        question=_question(criteria[0]), options=options)
    return [{"role": "user", "content": user}]


def parse_moore(text: str, criteria: list[dict]) -> dict[str, Verdict]:
    letter = parse_option_letter(text, MOORE_OPTIONS)
    if letter is None:
        return {}
    reply = " ".join(text.split())[:200]
    return {criteria[0]["id"]: Verdict(MOORE_OPTIONS[letter], f"judge chose ({letter}); reply: {reply!r}")}


# -- registry -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Protocol:
    """How to ask and read one judge call; ``per_criterion`` splits an item into calls."""

    name: str
    version: str
    per_criterion: bool
    build: Callable[[list[dict], str, list[dict]], list[dict]]
    parse: Callable[[str, list[dict]], dict[str, Verdict]]
    response_format: Callable[[list[dict]], dict] | None = None
    corrective: Callable[[list[str], list[dict]], str] | None = None  # None: no re-ask
    temperature: float | None = None  # forced by the protocol, else the endpoint's
    # A cap on the judge's answer when the endpoint sets none: a runaway reply costs tokens
    # and time but never carries more of an answer than this (a capped reply is flagged).
    max_tokens: int = 1024

    def groups(self, criteria: list[dict]) -> list[list[dict]]:
        return [[c] for c in criteria] if self.per_criterion else [list(criteria)]


# A protocol's version enters every cache key and verdict: bump it when its wording changes.
PROTOCOLS: Registry[Protocol] = Registry("judge protocol", "rubricate.judge_protocols",
                                         instances("judge protocol", Protocol, "name"))
PROTOCOLS.register("criterion", Protocol("criterion", prompts()["criterion"]["version"], True,
                                         build_criterion, parse_criterion, schema_criterion,
                                         corrective_criterion))
PROTOCOLS.register("item", Protocol("item", prompts()["item"]["version"], False, build_item,
                                    parse_item, schema_item, corrective_item, max_tokens=4096))
PROTOCOLS.register("moore2025", Protocol("moore2025", prompts()["moore2025"]["version"], True,
                                         build_moore, parse_moore, None, None, temperature=0.0,
                                         max_tokens=256))


def get_protocol(name: str) -> Protocol:
    return PROTOCOLS.get(name)
