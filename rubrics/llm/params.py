"""Which generation parameters a run sends, adapted to what the model accepts.

Why: real endpoints differ. OpenAI's reasoning models answer HTTP 400 to ``temperature``
other than 1 and to ``max_tokens``; some local servers reject ``seed`` or an unknown
extra field. Instead of failing every call (or, worse, turning structured output off for
any 400), a run starts from the model family's known rules (model_families.yaml) and, when a
400 names one parameter, drops or renames only that parameter for the rest of the run and
says so once. Only a 400 about ``response_format`` turns structured output off.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .retry import CallError, CircuitBreaker

log = logging.getLogger("rubricate.llm")

SAMPLING = ("temperature", "seed", "max_tokens", "max_completion_tokens", "reasoning_effort")
STRUCTURED = "response_format"
_NOT_PARAMS = {"model", "messages"}
_USE_INSTEAD = re.compile(r"use\s+['\"`]?([A-Za-z_][A-Za-z0-9_]*)['\"`]?\s+instead", re.I)


@lru_cache(maxsize=1)
def families() -> list[dict]:
    data = yaml.safe_load(Path(__file__).with_name("model_families.yaml").read_text("utf-8"))
    return list(data.get("families") or [])


def family_of(model: str) -> dict | None:
    """The family rules of ``model`` (a "provider/" prefix is ignored), or None."""
    name = model.rsplit("/", 1)[-1]
    for fam in families():
        if re.match(fam["pattern"], name, re.I):
            return fam
    return None


@dataclass
class Change:
    """One parameter the run stopped sending (or renamed), and why."""

    param: str
    action: str  # "dropped" | "renamed" | "structured-output-off"
    to: str | None = None
    why: str = ""

    def describe(self) -> str:
        what = {"dropped": f"'{self.param}' is no longer sent",
                "renamed": f"'{self.param}' is sent as '{self.to}'",
                "structured-output-off": "structured output (response_format) is off"}[self.action]
        return f"{what} ({self.why})" if self.why else what

    def to_dict(self) -> dict[str, Any]:
        return {"param": self.param, "action": self.action, "to": self.to, "why": self.why}


@dataclass
class ParamPolicy:
    """Parameters omitted or renamed for one model during one run, and whether the run was
    stopped (``fatal``: a reply every call would get, or the circuit breaker)."""

    model: str
    omit: set[str] = field(default_factory=set)
    rename: dict[str, str] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    explicit: frozenset[str] = frozenset()  # set by the user: sent even to a family that rejects it
    said: set[str] = field(default_factory=set)  # one-time notices already shown
    fatal: str | None = None  # set when a call failed in a way every call would: the rest are not sent
    fatal_cause: str = ""
    breaker: CircuitBreaker | None = None  # the run's circuit breaker; when it opens, ``fatal`` is set
    limiter: Any = None  # the run's limiter.AdaptiveLimiter: the limit found holds for every batch of the run

    @classmethod
    def for_model(cls, model: str, explicit: frozenset[str] = frozenset()) -> "ParamPolicy":
        pol = cls(model, explicit=explicit)
        fam = family_of(model)
        if fam:
            for p in fam.get("omit") or []:
                if p not in explicit:
                    pol.omit.add(p)
                    pol.changes.append(Change(p, "dropped", why=f"the {fam['name']} family rejects it"))
            for old, new in (fam.get("rename") or {}).items():
                pol.rename[old] = new
        return pol

    def body(self, model: str, messages: list[dict], settings: dict[str, Any],
             response_format: dict | None, extra_body: dict[str, Any] | None) -> dict[str, Any]:
        """The request body: settings that are set, extra fields merged (they win), then
        omissions and renames applied."""
        body: dict[str, Any] = {"model": model, "messages": messages}
        for name in SAMPLING:
            if settings.get(name) is not None:
                body[name] = settings[name]
        if response_format is not None:
            body[STRUCTURED] = response_format
        if extra_body:
            body.update(extra_body)
        for p in self.omit:
            body.pop(p, None)
        for old, new in self.rename.items():
            if old in body:
                value = body.pop(old)
                body.setdefault(new, value)
        return body

    def learn(self, err: CallError, body: dict[str, Any]) -> Change | None:
        """Adapt to a 400 that names one parameter of ``body``; None when it names none
        (the call then fails as it is). Each change is logged once."""
        if err.status not in (400, 422):
            return None
        param = rejected_param(err, body)
        if param is None:
            return None
        why = f"the server rejected it: {err.server_message[:160]}" if err.server_message else \
            "the server rejected it"
        if param == STRUCTURED:
            change = Change(param, "structured-output-off", why=why)
        else:
            m = _USE_INSTEAD.search(err.server_message or "")
            to = m.group(1) if m and m.group(1) != param and m.group(1) not in body else None
            if to:
                self.rename[param] = to
                change = Change(param, "renamed", to=to, why=why)
            else:
                self.omit.add(param)
                change = Change(param, "dropped", why=why)
        self.changes.append(change)
        log.warning("%s: %s for the rest of this run", self.model, change.describe())
        return change


def _top(param: str) -> str:
    """'response_format.json_schema' / 'body.seed' / "['body', 'seed']" -> the top-level name."""
    parts = [p for p in re.split(r"[.\[\]'\" ,]+", param) if p and p != "body" and not p.isdigit()]
    return parts[0] if parts else param


def rejected_param(err: CallError, body: dict[str, Any]) -> str | None:
    """The body parameter a 400 is about: the error's ``param`` field, else the one body
    key the message names (quoted or as a word)."""
    candidates = [k for k in body if k not in _NOT_PARAMS]
    if err.param:
        top = _top(err.param)
        if top in candidates:
            return top
    msg = err.server_message or ""
    if not msg:
        return None
    named = [k for k in candidates if re.search(rf"(?<![A-Za-z0-9_]){re.escape(k)}(?![A-Za-z0-9_])", msg)]
    if len(named) == 1:
        return named[0]
    if named:  # several named: the first one quoted, else the first mentioned
        quoted = [k for k in named if re.search(rf"['\"`]{re.escape(k)}['\"`]", msg)]
        pool = quoted or named
        return min(pool, key=lambda k: msg.find(k))
    return None
