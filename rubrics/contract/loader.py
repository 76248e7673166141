"""Load a compiled rubric and index it for evaluation."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from rubricate.guidelines.kernel.paths import package_path
from rubricate.rubrics.contract.validation import parse_rubric, read_rubric_bytes, validate_rubric


RUBRICS_DIR = package_path("rubrics")
DEFAULT_RUBRIC = RUBRICS_DIR / "rubricate-default.json"


@dataclass
class Rubric:
    path: Path
    data: dict
    sha256: str
    items: dict[str, dict] = field(default_factory=dict)  # response items only (kind "response")
    criteria: dict[str, dict] = field(default_factory=dict)
    criterion_item: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # stimulus id -> item id

    @property
    def id(self) -> str:
        return self.data["rubric_id"]

    def principle(self, pid: str) -> dict | None:
        return next((p for p in self.data.get("principles", []) if p["id"] == pid), None)


def load_rubric(path: Path | str | None = None, validate: bool = True) -> Rubric:
    path = Path(path or DEFAULT_RUBRIC)
    raw = read_rubric_bytes(path)
    data = parse_rubric(raw, path)
    if validate:
        validate_rubric(data, str(path))
    r = Rubric(path=path, data=data, sha256=hashlib.sha256(raw).hexdigest())
    for item in data.get("items", []):
        if item.get("kind", "response") != "response":
            continue
        r.items[item["id"]] = item
        stim = (item.get("stimulus") or {}).get("id")
        if stim and stim != item["id"]:
            r.aliases[stim] = item["id"]
        for c in item.get("criteria", []):
            r.criteria[c["id"]] = c
            r.criterion_item[c["id"]] = item["id"]
    return r
