"""rubricate's simulated clients (compiler/data/personas.yaml) -> persona items of a rubric.

The file is written by hand, so everything is checked here with one-line errors naming the
file and line: the persona's condition and tested principles known to the vocabulary, a risk
onset that one of its escalation beats announces, both tellings, and conversation criteria
whose scope the judges can apply (``turn``, ``by_turn``, ``conversation``). A ``by_turn``
given relative to the risk onset (``{after_onset: N}``) and a conversation criterion's
``from: onset`` are resolved per persona here, so the rubric holds plain turn numbers.
Criteria reuse the response items' parser (items.py): same fields, points and checks.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rubricate.compiler.items import DATA_DIR, SLUG, _criterion, _tags, _text, _Where, rubric_header
from rubricate.guidelines.kernel.yaml_lines import key_line, line_of, load_yaml, plain

DEFAULT_PERSONAS = DATA_DIR / "personas.yaml"
RISKS = ("low", "moderate", "high", "imminent")
DISCLOSURES = ("direct", "hinting", "denying")
TELLINGS = ("explicit", "implicit")
SCOPES = ("turn", "by_turn", "conversation")
PERSONA_KEYS = {"kind", "id", "condition", "title", "tests", "risk", "risk_onset", "disclosure", "goals",
                "facts", "escalation", "tellings", "criteria", "tags"}
SCOPE_KEYS = {"scope", "by_turn", "from"}
TOP_KEYS = {"rubric", "points", "citations_per_criterion", "citations_per_persona", "max_turns", "criteria",
            "personas"}


@dataclass(frozen=True)
class PersonaSet:
    """The parsed persona file: rubric header, per-persona items (without citations)."""

    path: Path
    rubric: dict[str, Any]
    citations_per_criterion: int
    citations_per_persona: int
    items: list[dict[str, Any]]
    lines: dict[str, int]  # persona or criterion id -> line in the file


def _int(node: dict, key: str, where: _Where, what: str, low: int = 1, high: int | None = None) -> int:
    value = node.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise where.fail(f"{what}: '{key}' must be an integer {bound}", node, key_line(node, key))
    return value


def _strings(node: dict, key: str, where: _Where, what: str) -> list[str]:
    value = node.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise where.fail(f"{what}: '{key}' must be a non-empty list of strings", node)
    return [" ".join(v.split()) for v in value]


def _scope(node: dict, persona: dict, max_turns: int, where: _Where, what: str) -> dict[str, Any]:
    """The criterion's scope fields, resolved for this persona's risk onset."""
    scope = node.get("scope")
    if scope not in SCOPES:
        raise where.fail(f"{what}: 'scope' must be one of {', '.join(SCOPES)}", node, key_line(node, "scope"))
    onset = persona["persona"]["risk_onset"]
    out: dict[str, Any] = {"scope": scope}
    if scope == "by_turn":
        spec = node.get("by_turn")
        if isinstance(spec, dict) and set(spec) == {"after_onset"} and isinstance(spec["after_onset"], int) \
                and not isinstance(spec["after_onset"], bool) and spec["after_onset"] >= 0:
            out["by_turn"] = onset + spec["after_onset"]
        elif isinstance(spec, int) and not isinstance(spec, bool) and spec >= 1:
            out["by_turn"] = spec
        else:
            raise where.fail(f"{what}: scope by_turn needs 'by_turn: N' (a turn >= 1) or "
                             "'by_turn: {after_onset: N}'", node, key_line(node, "by_turn"))
        if out["by_turn"] > max_turns:
            raise where.fail(f"{what}: by_turn resolves to turn {out['by_turn']}, beyond max_turns {max_turns}", node)
        if node.get("appropriate_answer") != "yes":
            raise where.fail(f"{what}: a by_turn criterion asks whether something happened by then "
                             "(appropriate_answer must be \"yes\")", node)
    elif "by_turn" in node:
        raise where.fail(f"{what}: 'by_turn' applies only to scope by_turn", node)
    if scope == "conversation":
        start = node.get("from", "onset")
        if start == "onset":
            out["from_turn"] = onset
        elif isinstance(start, int) and not isinstance(start, bool) and start >= 1:
            out["from_turn"] = start
        else:
            raise where.fail(f"{what}: 'from' must be 'onset' or a turn number >= 1", node, key_line(node, "from"))
    elif "from" in node:
        raise where.fail(f"{what}: 'from' applies only to scope conversation", node)
    return out


def _criteria(nodes: Any, persona: dict, points: dict, principles: set[str], max_turns: int,
              where: _Where, lines: dict[str, int], anchor: Any) -> list[dict]:
    if not isinstance(nodes, list) or not nodes:
        raise where.fail(f"persona {persona['id']}: needs at least one conversation criterion "
                         f"(under criteria: {persona['condition']}, or its own 'criteria')", anchor)
    out = []
    for node in nodes:
        if not isinstance(node, dict):
            raise where.fail(f"persona {persona['id']}: each criterion must be a mapping", anchor)
        base = {k: v for k, v in node.items() if k not in SCOPE_KEYS}
        crit = _criterion(_with_line(base, node), persona, points, principles, where)
        what = f"criterion {crit['id']}"
        crit.update(_scope(node, persona, max_turns, where, what))
        crit["tags"] = crit["tags"] + [f"scope:{crit['scope']}"]
        if crit["id"] in lines:
            raise where.fail(f"duplicate criterion id {crit['id']}", node)
        lines[crit["id"]] = line_of(node) or 0
        out.append(crit)
    return out


def _with_line(copy: dict, node: Any) -> dict:
    """``copy`` keeps the YAML line of ``node`` (errors on it name the right line)."""
    out = type(node)(copy)
    if hasattr(node, "line"):
        out.line = node.line
    return out


def _escalation(node: dict, where: _Where, what: str, max_turns: int) -> list[dict]:
    raw = node.get("escalation")
    if not isinstance(raw, list) or not raw:
        raise where.fail(f"{what}: 'escalation' must be a non-empty list of {{turn, beat}}", node)
    out, last = [], 0
    for beat in raw:
        if not isinstance(beat, dict) or set(beat) != {"turn", "beat"}:
            raise where.fail(f"{what}: each escalation step is {{turn: N, beat: text}}", beat if isinstance(beat, dict) else node)
        turn = _int(beat, "turn", where, what, 1, max_turns)
        if turn <= last:
            raise where.fail(f"{what}: escalation turns must increase ({turn} after {last})", beat)
        last = turn
        out.append({"turn": turn, "beat": _text(beat, "beat", where, what)})
    return out


def _tellings(node: dict, where: _Where, what: str) -> list[dict]:
    raw = node.get("tellings")
    if not isinstance(raw, dict) or set(raw) != set(TELLINGS):
        raise where.fail(f"{what}: 'tellings' must give both {' and '.join(TELLINGS)}", node)
    out = []
    for name in TELLINGS:
        t = raw[name]
        if not isinstance(t, dict) or set(t) != {"opening", "note"}:
            raise where.fail(f"{what}: telling {name} needs 'opening' and 'note'", t if isinstance(t, dict) else raw)
        out.append({"telling": name, "opening": _text(t, "opening", where, f"{what} ({name})"),
                    "note": _text(t, "note", where, f"{what} ({name})")})
    if out[0]["opening"] == out[1]["opening"]:
        raise where.fail(f"{what}: the explicit and implicit openings must differ", raw)
    return out


def _persona(node: Any, shared: dict, points: dict, principles: set[str], conditions: set[str],
             max_turns: int, where: _Where, lines: dict[str, int]) -> dict:
    if not isinstance(node, dict):
        raise where.fail("each persona must be a mapping")
    if node.get("kind") != "persona":
        raise where.fail("each entry under 'personas' needs 'kind: persona'", node, key_line(node, "kind"))
    pid = node.get("id")
    if not isinstance(pid, str) or not SLUG.match(pid):
        raise where.fail("persona 'id' must be a lower-case slug (letters, digits, hyphens)", node)
    what = f"persona {pid}"
    unknown = sorted(set(node) - PERSONA_KEYS)
    if unknown:
        raise where.fail(f"{what}: unknown field(s) {', '.join(unknown)}", node)
    condition = node.get("condition")
    if condition not in conditions:
        raise where.fail(f"{what}: unknown condition {condition!r}", node, key_line(node, "condition"))
    tests = node.get("tests")
    if not isinstance(tests, list) or not tests:
        raise where.fail(f"{what}: 'tests' must list the principles the persona was written to test", node)
    for p in tests:
        if p not in principles:
            raise where.fail(f"{what}: unknown principle {p!r} in 'tests'", node, key_line(node, "tests"))
    if node.get("risk") not in RISKS:
        raise where.fail(f"{what}: 'risk' must be one of {', '.join(RISKS)}", node, key_line(node, "risk"))
    if node.get("disclosure") not in DISCLOSURES:
        raise where.fail(f"{what}: 'disclosure' must be one of {', '.join(DISCLOSURES)}", node,
                         key_line(node, "disclosure"))
    onset = _int(node, "risk_onset", where, what, 1, max_turns)
    escalation = _escalation(node, where, what, max_turns)
    if onset not in {b["turn"] for b in escalation}:
        raise where.fail(f"{what}: no escalation beat at risk_onset turn {onset} (say how the risk shows)", node,
                         key_line(node, "risk_onset"))
    item: dict[str, Any] = {
        "id": pid, "kind": "persona", "condition": condition, "principle": tests[0],
        "title": _text(node, "title", where, what),
        "persona": {"tests": list(dict.fromkeys(tests)), "risk": node["risk"], "risk_onset": onset,
                    "disclosure": node["disclosure"], "goals": _strings(node, "goals", where, what),
                    "facts": _strings(node, "facts", where, what), "escalation": escalation},
        "tellings": _tellings(node, where, what),
    }
    own = node.get("criteria") or []
    if not isinstance(own, list):
        raise where.fail(f"{what}: 'criteria' must be a list", node)
    item["criteria"] = _criteria(list(shared.get(condition) or []) + own, item, points, principles, max_turns,
                                 where, lines, node)
    tags = [f"condition:{condition}", f"risk:{node['risk']}", f"disclosure:{node['disclosure']}",
            f"onset:{'late' if onset >= 3 else 'early'}", "source:rubricate"]
    tags += [f"principle:{p}" for p in item["persona"]["tests"]]
    item["tags"] = tags + [t for t in _tags(node, where, what) if t not in tags]
    return item


def load_persona_set(path: Path | None, known_principles: set[str], known_conditions: set[str]) -> PersonaSet:
    """Parse and check the persona file (default: compiler/data/personas.yaml)."""
    path = Path(path or DEFAULT_PERSONAS)
    where = _Where(path)
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise where.fail("expected a mapping with 'rubric', 'points', 'criteria' and 'personas'")
    extra = sorted(str(k) for k in data if k not in TOP_KEYS and not str(k).startswith("x-"))
    if extra:
        raise where.fail(f"unknown top-level key(s) {', '.join(extra)} (shared definitions go under keys "
                         "starting with 'x-')", data)
    header, points = rubric_header(data, where)
    per_criterion = _int(data, "citations_per_criterion", where, "file") if "citations_per_criterion" in data else 2
    per_persona = _int(data, "citations_per_persona", where, "file") if "citations_per_persona" in data else 2
    max_turns = _int(data, "max_turns", where, "file") if "max_turns" in data else 30
    shared = data.get("criteria") or {}
    if not isinstance(shared, dict) or any(c not in known_conditions for c in shared):
        bad = next((c for c in shared if c not in known_conditions), None) if isinstance(shared, dict) else None
        raise where.fail(f"'criteria' maps conditions to criteria lists (unknown condition {bad!r})",
                         shared if isinstance(shared, dict) else data)
    raw = data.get("personas")
    if not isinstance(raw, list) or not raw:
        raise where.fail("'personas' must be a non-empty list", data)
    lines: dict[str, int] = {}
    items = []
    for node in raw:
        item = _persona(node, shared, dict(points), known_principles, known_conditions, max_turns, where, lines)
        if item["id"] in lines:
            raise where.fail(f"duplicate persona id {item['id']}", node)
        lines[item["id"]] = line_of(node) or 0
        items.append(item)
    return PersonaSet(path, plain(header), per_criterion, per_persona, items, lines)
