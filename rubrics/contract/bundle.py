"""The single-file rubric schema: rubric.schema.json with checks.schema.json inlined in ``$defs``.

Generic validators (check-jsonschema, ajv) resolve ``$ref`` only inside the file they are
given unless told where other schemas live; the modular schema's reference to the checks
schema by its URN then fails. The bundle moves the checks schema under ``$defs/checks`` (its
own ``$defs`` renamed ``checks-<name>``, references rewritten), so one file validates a
rubric with no extra flags. It is generated, never edited: ``python -m
rubricate.rubrics.contract.bundle`` rewrites it, and a test checks the committed file is current.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from rubricate.guidelines.kernel.fileio import atomic_write_text

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
RUBRIC_SCHEMA = SCHEMA_DIR / "rubric.schema.json"
CHECKS_SCHEMA = SCHEMA_DIR / "checks.schema.json"
BUNDLED_SCHEMA = SCHEMA_DIR / "rubric.bundled.schema.json"
#: Where the bundle is published; rubrics name it in their ``$schema`` key.
BUNDLED_ID = "https://w3id.org/rubricate/schema/rubric/1.0/bundled"
CHECKS_DEF = "checks"


def _rewrite_refs(node: Any, old_prefix: str, new_prefix: str, whole: dict[str, str]) -> Any:
    """Copy of ``node`` with every ``$ref`` moved from one $defs prefix to another."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                if v in whole:
                    v = whole[v]
                elif v.startswith(old_prefix):
                    v = new_prefix + v[len(old_prefix):]
            out[k] = _rewrite_refs(v, old_prefix, new_prefix, whole)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, old_prefix, new_prefix, whole) for v in node]
    return node


def bundled_schema(rubric_schema: dict | None = None, checks_schema: dict | None = None) -> dict:
    """The rubric schema with the checks schema inlined (one self-contained document)."""
    rubric = copy.deepcopy(rubric_schema or json.loads(RUBRIC_SCHEMA.read_text(encoding="utf-8")))
    checks = copy.deepcopy(checks_schema or json.loads(CHECKS_SCHEMA.read_text(encoding="utf-8")))
    checks_id = checks.pop("$id")
    checks.pop("$schema", None)
    inner = checks.pop("$defs", {})
    prefix = f"#/$defs/{CHECKS_DEF}-"
    checks = _rewrite_refs(checks, "#/$defs/", prefix, {})
    defs = rubric.setdefault("$defs", {})
    for name, sub in inner.items():
        defs[f"{CHECKS_DEF}-{name}"] = _rewrite_refs(sub, "#/$defs/", prefix, {})
    defs[CHECKS_DEF] = checks
    rubric = _rewrite_refs(rubric, "\x00", "\x00", {checks_id: f"#/$defs/{CHECKS_DEF}"})
    rubric["$id"] = BUNDLED_ID
    rubric["description"] = (rubric.get("description", "") + " Single-file bundle of rubric.schema.json "
                             f"with the checks schema ({checks_id}) inlined under $defs/{CHECKS_DEF}.").strip()
    return rubric


def bundled_text() -> str:
    return json.dumps(bundled_schema(), indent=1, ensure_ascii=False) + "\n"


def write_bundle(path: Path = BUNDLED_SCHEMA) -> bool:
    """Rewrite the committed bundle; True when its bytes changed."""
    text = bundled_text()
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    atomic_write_text(path, text)
    return True


if __name__ == "__main__":
    print(("wrote " if write_bundle() else "unchanged ") + BUNDLED_SCHEMA.name)
