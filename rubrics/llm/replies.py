"""Tolerant reading of judge replies: JSON in fences or prose, yes/no variants, letters.

Judges (especially small local models) wrap JSON in code fences, add prose, rename keys or
answer "Yes." instead of "yes". Anything read here is an answer the judge actually gave;
when no answer can be read the caller reports ``unknown`` and never guesses.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

ANSWER_KEYS = ("answer", "verdict", "criteria_met", "criterion_met", "met", "result", "decision")
EXPLANATION_KEYS = ("explanation", "reason", "rationale", "reasoning", "justification")
EVIDENCE_KEYS = ("evidence", "quotes", "quote", "evidence_quotes", "supporting_quotes")

_YES = {"yes", "y", "true", "met", "criteria met", "criterion met", "pass"}
_NO = {"no", "n", "false", "not met", "unmet", "criteria not met", "criterion not met", "fail"}
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.S)


@dataclass
class Verdict:
    """One answer read from a reply."""

    answer: str  # "yes" | "no"
    explanation: str = ""
    quotes: list[str] = field(default_factory=list)


def extract_json(text: str) -> Any | None:
    """The first JSON value found: the whole text, a fenced block, or an object in prose."""
    text = (text or "").strip()
    if not text:
        return None
    candidates = [text] + [m.group(1).strip() for m in _FENCE.finditer(text)]
    for cand in candidates:
        try:
            return json.loads(cand)
        except ValueError:
            pass
    decoder = json.JSONDecoder()
    for m in re.finditer(r"[{\[]", text):
        try:
            value, _ = decoder.raw_decode(text, m.start())
        except ValueError:
            continue
        if isinstance(value, (dict, list)) and value:
            return value
    return None


def normalize_answer(value: Any) -> str | None:
    """'yes'/'no' from the many ways a judge says it; None when it is neither."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, str):
        return None
    word = re.sub(r"[\s\"'*`.!:]+", " ", value).strip().lower()
    if word in _YES:
        return "yes"
    if word in _NO:
        return "no"
    return None


def _first(obj: dict, keys: tuple[str, ...]) -> Any:
    lowered = {str(k).lower(): v for k, v in obj.items()}
    for key in keys:
        if key in lowered:
            return lowered[key]
    return None


def read_verdict(obj: Any) -> Verdict | None:
    """A Verdict from a JSON object with answer/explanation/evidence keys (or variants)."""
    if isinstance(obj, (str, bool)):
        ans = normalize_answer(obj)
        return Verdict(ans) if ans else None
    if not isinstance(obj, dict):
        return None
    answer = normalize_answer(_first(obj, ANSWER_KEYS))
    if answer is None:
        return None
    explanation = _first(obj, EXPLANATION_KEYS)
    quotes = _first(obj, EVIDENCE_KEYS)
    if isinstance(quotes, str):
        quotes = [quotes] if quotes.strip() else []
    if not isinstance(quotes, list):
        quotes = []
    return Verdict(answer, str(explanation or ""), [str(q) for q in quotes if isinstance(q, str) and q.strip()])


_PROSE_ANSWER = re.compile(r"\b(?:answer|verdict)\b\s*(?:is)?\s*[:=]?\s*[\"'*]*\s*(yes|no)\b", re.I)


def verdict_from_prose(text: str) -> Verdict | None:
    """'Answer: yes' style replies without JSON; only when exactly one answer is stated."""
    found = {m.group(1).lower() for m in _PROSE_ANSWER.finditer(text or "")}
    if len(found) == 1:
        return Verdict(found.pop(), (text or "").strip()[:500])
    return None


def parse_option_letter(text: str, options: dict[str, str]) -> str | None:
    """The option letter a reply picks ("A", "(A)", "A: yes", "The answer is B", "**B**").

    Returns the letter, or None when the reply names no option, names several, or
    contradicts itself (e.g. "A: no" when A is yes).
    """
    letters = "".join(options)
    t = re.sub(r"[*_`]", "", text or "").strip().strip("\"'").strip()
    if not t:
        return None
    opt = rf"\(?([{letters}])\)?"
    label = "|".join(re.escape(v) for v in options.values())
    m = re.fullmatch(rf"(?:option\s+)?{opt}\s*(?:[:.)\-]\s*)?(?:({label})\b)?\s*\.?", t, re.I)
    if m and (m.group(1).isupper() or len(t) <= 3):
        letter = m.group(1).upper()
        if m.group(2) and options[letter].lower() != m.group(2).lower():
            return None
        return letter
    said = {x.upper() for x in re.findall(
        rf"\b(?:answer|option|choice)\b(?:\s+is)?\s*[:=]?\s*\(?([{letters}])\)?(?![A-Za-z])", t, re.I)}
    if not said:
        start = re.match(rf"^\(?([{letters}])\)?(?:\s*[:.)\-]|\s*$|\s+\(?(?:{label})\b)", t)
        if start:
            said = {start.group(1)}
    if len(said) == 1:
        return said.pop()
    if not said:
        word = normalize_answer(t)
        for letter, value in options.items():
            if word is not None and value.lower() == word:
                return letter
    return None
