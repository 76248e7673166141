"""Writing chosen ``uncertain_below`` thresholds into an item file's checks, in place.

Why: the thresholds are data of each criterion's checks (compiler/data/default_items.yaml);
bench/heldout.py chooses them by a rule (rubrics/checks/thresholds.py) and this writes them
back as one line per criterion, leaving every other line of the hand-written file as it was
(a round-trip dump would reflow its flow lists and anchors). ruamel.yaml finds the lines.
"""
from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import atomic_write_text


def _flow(thresholds: dict[str, float]) -> str:
    return "{" + ", ".join(f'"{a}": {thresholds[a]}' for a in ("yes", "no") if a in thresholds) + "}"


def write_uncertain_below(path: Path, chosen: dict[str, dict[str, float]]) -> list[str]:
    """Set each listed criterion's ``checks.uncertain_below`` (criterion id ``item.name`` ->
    {answer: threshold}; an empty mapping removes it). Returns the ids changed."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    doc = YAML().load(text)
    edits: dict[int, str | None] = {}   # line index -> new line (None: delete)
    inserts: dict[int, str] = {}        # line index -> line inserted before it
    found, changed = set(), []
    for item in doc.get("items") or []:
        for criterion in item.get("criteria") or []:
            cid = f"{item['id']}.{criterion['name']}"
            if cid not in chosen:
                continue
            found.add(cid)
            checks = criterion["checks"]
            want = chosen[cid]
            if dict(checks.get("uncertain_below") or {}) == want:
                continue
            changed.append(cid)
            if "uncertain_below" in checks:
                line, col = checks.lc.key("uncertain_below")
                edits[line] = f"{' ' * col}uncertain_below: {_flow(want)}\n" if want else None
            elif want:
                line, col = checks.lc.key("answer_if_found")
                inserts[line] = f"{' ' * col}uncertain_below: {_flow(want)}\n"
    missing = sorted(set(chosen) - found)
    if missing:
        raise RubricateError(f"no such criteria: {', '.join(missing)}", path=str(path))
    out = []
    for index, line in enumerate(lines):
        if index in inserts:
            out.append(inserts[index])
        if index in edits:
            if edits[index] is not None:
                out.append(edits[index])
            continue
        out.append(line)
    atomic_write_text(path, "".join(out))
    return changed
