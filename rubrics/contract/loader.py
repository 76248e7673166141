"""The one rubric loader: read, parse, validate and index a compiled rubric file."""
from __future__ import annotations

import hashlib
from pathlib import Path

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.paths import package_path
from rubricate.guidelines.kernel.workspace import ws_path
from rubricate.rubrics.contract.model import Rubric
from rubricate.rubrics.contract.validation import parse_rubric, read_rubric_bytes, validate_rubric_once

RUBRICS_DIR = package_path("rubrics")  # the bundled compiled rubrics (read-only)
DEFAULT_ID = "rubricate-default"
DEFAULT_RUBRIC = RUBRICS_DIR / f"{DEFAULT_ID}.json"


def rubric_dirs() -> list[Path]:
    """Where a rubric id is looked up: the workspace's compiled rubrics, then the bundled ones."""
    return [ws_path("rubrics"), RUBRICS_DIR]


def find_rubric(ref: str | Path | None = None) -> Path:
    """A rubric file, or a rubric id (file name without .json) in ``rubric_dirs()``."""
    ref = ref or DEFAULT_ID
    if Path(ref).is_file():
        return Path(ref)
    for folder in rubric_dirs():
        if (folder / f"{ref}.json").is_file():
            return folder / f"{ref}.json"
    raise RubricateError(f"no rubric file or id {str(ref)!r} (ids are the file names in "
                         f"{' or '.join(str(d) for d in rubric_dirs())})")


def load_rubric(path: Path | str | None = None, validate: bool = True) -> Rubric:
    """The rubric at ``path``, or of an id (default: rubricate-default, the workspace's compile
    before the bundled one), checked against the schema unless ``validate`` is False (once per
    content: see validation.validate_rubric_once), with its response items and criteria indexed."""
    path = find_rubric(path) if path is None or not Path(path).suffix else Path(path)
    raw = read_rubric_bytes(path)
    data = parse_rubric(raw, path)
    if validate:
        validate_rubric_once(data, raw, str(path))
    items: dict = {}
    criteria: dict = {}
    criterion_item: dict[str, str] = {}
    aliases: dict[str, str] = {}
    personas: dict = {}
    for item in data.get("items", []):
        if item.get("kind") == "persona":
            personas[item["id"]] = item
            for c in item.get("criteria", []):
                criteria[c["id"]] = c
                criterion_item[c["id"]] = item["id"]
            continue
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
                  criterion_item=criterion_item, aliases=aliases, personas=personas,
                  schema_valid=validate)
