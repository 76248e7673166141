"""The one rubric loader: read, parse, validate and index a compiled rubric file."""
from __future__ import annotations

import hashlib
from pathlib import Path

from rubricate.guidelines.kernel.paths import package_path
from rubricate.rubrics.contract.model import Rubric
from rubricate.rubrics.contract.validation import parse_rubric, read_rubric_bytes, validate_rubric

RUBRICS_DIR = package_path("rubrics")
DEFAULT_RUBRIC = RUBRICS_DIR / "rubricate-default.json"


def load_rubric(path: Path | str | None = None, validate: bool = True) -> Rubric:
    """The rubric at ``path`` (default: the bundled rubricate-default.json), checked against
    the schema unless ``validate`` is False, with its response items and criteria indexed."""
    path = Path(path or DEFAULT_RUBRIC)
    raw = read_rubric_bytes(path)
    data = parse_rubric(raw, path)
    if validate:
        validate_rubric(data, str(path))
    items: dict = {}
    criteria: dict = {}
    criterion_item: dict[str, str] = {}
    aliases: dict[str, str] = {}
    for item in data.get("items", []):
        if item.get("kind", "response") != "response":
            continue
        items[item["id"]] = item
        stim = (item.get("stimulus") or {}).get("id")
        if stim and stim != item["id"]:
            aliases[stim] = item["id"]
        for c in item.get("criteria", []):
            criteria[c["id"]] = c
            criterion_item[c["id"]] = item["id"]
    return Rubric(path=path, data=data, sha256=hashlib.sha256(raw).hexdigest(), items=items, criteria=criteria,
                  criterion_item=criterion_item, aliases=aliases)
