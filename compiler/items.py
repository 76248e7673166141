"""rubricate's own stimulus set (compiler/data/default_items.yaml) -> rubric items.

The data file is written by hand, so everything is checked here with errors naming the file
and line: ids, conditions and principles known to the vocabulary, chats that end with the
client, 1-3 criteria whose question matches the stated appropriate answer, and checks the
offline judge can compile. Points follow HealthBench: the magnitude comes from the severity,
the sign from the appropriate answer (an undesirable behaviour, appropriate answer "no",
earns negative points when it happens).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.yaml_lines import line_of, load_yaml, plain

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_ITEMS = DATA_DIR / "default_items.yaml"

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SEVERITIES = ("critical", "major", "minor")
ROLES = ("user", "assistant")
MAX_CRITERIA = 3
ITEM_KEYS = {"id", "condition", "principle", "title", "scenario", "tags", "messages", "criteria"}
CRITERION_KEYS = {"name", "criterion", "question", "appropriate_answer", "severity", "points",
                  "principle", "tags", "judge_instructions", "checks"}
TAG = re.compile(r"^[a-z][a-z0-9_-]*:[^\s]+$")


@dataclass(frozen=True)
class ItemSet:
    """The parsed data file: rubric header, points table and items (without citations)."""

    path: Path
    rubric: dict[str, Any]
    points: dict[str, float]
    citations_per_criterion: int
    citations_per_principle: int
    items: list[dict[str, Any]]
    lines: dict[str, int]         # item or criterion id -> line in the data file


class _Where:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, message: str, node: Any = None, line: int | None = None) -> RubricateError:
        return RubricateError(message, path=str(self.path), line=line or line_of(node))


def _text(node: dict, key: str, where: _Where, what: str) -> str:
    value = node.get(key)
    if not isinstance(value, str) or not value.strip():
        raise where.fail(f"{what}: '{key}' must be a non-empty string", node)
    return " ".join(value.split()) if key != "content" else value.strip()


def _answer(value: Any) -> str | None:
    if isinstance(value, bool):  # tolerate YAML 1.1 habits in hand-written files
        return "yes" if value else "no"
    return value if value in ("yes", "no") else None


def _tags(node: dict, where: _Where, what: str) -> list[str]:
    tags = node.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) and TAG.match(t) for t in tags):
        raise where.fail(f"{what}: tags must be a list of 'namespace:value' strings", node)
    return list(tags)


def _messages(node: dict, where: _Where, what: str) -> list[dict[str, str]]:
    raw = node.get("messages")
    if not isinstance(raw, list) or not raw:
        raise where.fail(f"{what}: 'messages' must be a non-empty list", node)
    out = []
    for m in raw:
        if not isinstance(m, dict) or len(m) != 1 or next(iter(m)) not in ROLES:
            raise where.fail(f"{what}: each message is one 'user: ...' or 'assistant: ...' entry",
                             m if isinstance(m, dict) else node)
        role, content = next(iter(m.items()))
        if not isinstance(content, str) or not content.strip():
            raise where.fail(f"{what}: empty {role} message", m)
        out.append({"role": role, "content": " ".join(content.split())})
    if out[-1]["role"] != "user":
        raise where.fail(f"{what}: the chat must end with the client's (user) message", node)
    if any(a["role"] == b["role"] for a, b in zip(out, out[1:])):
        raise where.fail(f"{what}: user and assistant turns must alternate", node)
    return out


def _criterion(node: Any, item: dict, points: dict[str, float], known_principles: set[str],
               where: _Where) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise where.fail(f"item {item['id']}: each criterion must be a mapping", line=None)
    unknown = sorted(set(node) - CRITERION_KEYS)
    if unknown:
        raise where.fail(f"item {item['id']}: unknown criterion field(s) {', '.join(unknown)}", node)
    name = node.get("name")
    if not isinstance(name, str) or not SLUG.match(name):
        raise where.fail(f"item {item['id']}: criterion 'name' must be a lower-case slug", node)
    cid = f"{item['id']}.{name}"
    what = f"criterion {cid}"
    answer = _answer(node.get("appropriate_answer"))
    if answer is None:
        raise where.fail(f"{what}: appropriate_answer must be yes or no", node)
    severity = node.get("severity")
    if severity not in points:
        raise where.fail(f"{what}: severity must be one of {', '.join(points)}", node)
    question = _text(node, "question", where, what)
    if not question.endswith("?"):
        raise where.fail(f"{what}: question must be a yes/no question ending in '?'", node)
    magnitude = node.get("points", points[severity])
    if isinstance(magnitude, bool) or not isinstance(magnitude, (int, float)) or magnitude <= 0:
        raise where.fail(f"{what}: points must be a positive number (the sign comes from "
                         "appropriate_answer)", node)
    principle = node.get("principle", item["principle"])
    if principle not in known_principles:
        raise where.fail(f"{what}: unknown principle {principle!r}", node)
    checks = node.get("checks")
    if not isinstance(checks, dict):
        raise where.fail(f"{what}: 'checks' (for the offline judge) is required", node)
    tags = [f"principle:{principle}", f"condition:{item['condition']}", f"severity:{severity}"]
    tags += [t for t in _tags(node, where, what) if t not in tags]
    return {
        "id": cid,
        "criterion": _text(node, "criterion", where, what),
        "question": question,
        "appropriate_answer": answer,
        "points": magnitude if answer == "yes" else -magnitude,
        "severity": severity,
        "principle": principle,
        "tags": tags,
        "checks": plain(checks),
        "judge_instructions": _text(node, "judge_instructions", where, what),
        "origin": "rubricate",
    }


def _item(node: Any, points: dict[str, float], known_principles: set[str],
          known_conditions: set[str], where: _Where, lines: dict[str, int]) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise where.fail("each item must be a mapping")
    iid = node.get("id")
    if not isinstance(iid, str) or not SLUG.match(iid):
        raise where.fail("item 'id' must be a lower-case slug (letters, digits, hyphens)", node)
    what = f"item {iid}"
    unknown = sorted(set(node) - ITEM_KEYS)
    if unknown:
        raise where.fail(f"{what}: unknown field(s) {', '.join(unknown)}", node)
    condition, principle = node.get("condition"), node.get("principle")
    if condition not in known_conditions:
        raise where.fail(f"{what}: unknown condition {condition!r}", node)
    if principle not in known_principles:
        raise where.fail(f"{what}: unknown principle {principle!r}", node)
    messages = _messages(node, where, what)
    multi = sum(m["role"] == "user" for m in messages) > 1
    item = {"id": iid, "kind": "response", "condition": condition, "principle": principle,
            "title": _text(node, "title", where, what),
            "scenario": _text(node, "scenario", where, what),
            "multi_turn": multi,
            "stimulus": {"id": iid, "messages": messages}}
    raw = node.get("criteria")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_CRITERIA:
        raise where.fail(f"{what}: needs 1-{MAX_CRITERIA} criteria", node)
    criteria = []
    for c in raw:
        crit = _criterion(c, item, points, known_principles, where)
        if crit["id"] in lines:
            raise where.fail(f"duplicate criterion id {crit['id']}", c)
        lines[crit["id"]] = line_of(c) or 0
        criteria.append(crit)
    item["criteria"] = criteria
    tags = [f"principle:{principle}", f"condition:{condition}", "source:rubricate",
            f"turns:{'multi' if multi else 'single'}"]
    item["tags"] = tags + [t for t in _tags(node, where, what) if t not in tags]
    return item


def rubric_header(data: dict, where: _Where) -> tuple[dict, dict]:
    """The file's ``rubric`` header (id, version, title) and ``points`` per severity, checked:
    item files and persona files share them."""
    header = data.get("rubric")
    if not isinstance(header, dict):
        raise where.fail("missing 'rubric' header (id, version, title)", data)
    for key in ("id", "version", "title"):
        if not isinstance(header.get(key), str) or not header[key].strip():
            raise where.fail(f"rubric: '{key}' must be a non-empty string", header)
    points = data.get("points")
    if not isinstance(points, dict) or set(points) != set(SEVERITIES) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in points.values()):
        raise where.fail(f"'points' must give a positive number for each of {', '.join(SEVERITIES)}",
                         points if isinstance(points, dict) else data)
    return header, points


def load_item_set(path: Path | None, known_principles: set[str],
                  known_conditions: set[str]) -> ItemSet:
    """Parse and check the stimulus-set file (default: compiler/data/default_items.yaml)."""
    path = Path(path or DEFAULT_ITEMS)
    where = _Where(path)
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise where.fail("expected a mapping with 'rubric', 'points' and 'items'")
    extra = sorted(k for k in data if k not in ("rubric", "points", "citations_per_criterion",
                                                 "citations_per_principle", "items")
                   and not str(k).startswith("x-"))
    if extra:
        raise where.fail(f"unknown top-level key(s) {', '.join(map(str, extra))} "
                         "(shared definitions go under keys starting with 'x-')", data)
    header, points = rubric_header(data, where)
    per_criterion = data.get("citations_per_criterion", 2)
    per_principle = data.get("citations_per_principle", 3)
    for key, value in (("citations_per_criterion", per_criterion), ("citations_per_principle", per_principle)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise where.fail(f"'{key}' must be an integer >= 1", data)
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise where.fail("'items' must be a non-empty list", data)
    lines: dict[str, int] = {}
    items = []
    for node in raw_items:
        item = _item(node, dict(points), known_principles, known_conditions, where, lines)
        if item["id"] in lines:
            raise where.fail(f"duplicate item id {item['id']}", node)
        lines[item["id"]] = line_of(node) or 0
        items.append(item)
    return ItemSet(path, plain(header), dict(points), per_criterion, per_principle, items, lines)


def compile_item_checks(item_set: ItemSet) -> None:
    """Build every criterion's checks with the offline judge, so a typo fails at compile time."""
    from rubricate.rubrics.checks.engine import compile_checks  # start-up time: spaCy loads only when compiling
    criteria = [{"id": c["id"], "checks": c["checks"]} for i in item_set.items for c in i["criteria"]]
    try:
        compile_checks(criteria)
    except RubricateError as first:
        for c in criteria:  # find the criterion to name its line
            try:
                compile_checks([c])
            except RubricateError as exc:
                raise RubricateError(str(exc), path=str(item_set.path),
                                     line=item_set.lines.get(c["id"])) from None
        raise RubricateError(str(first), path=str(item_set.path)) from None
