"""`rubricate export`: a rubric (file or id) -> HealthBench, Inspect or promptfoo files."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from rubricate.compiler.compile import RUBRICS_DIR
from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.rubrics.integrations.healthbench import export_healthbench
from rubricate.rubrics.integrations.inspect_dataset import export_inspect
from rubricate.rubrics.integrations.promptfoo import export_promptfoo
from rubricate.rubrics.contract.loader import load_rubric

FORMATS: dict[str, Callable[..., int]] = {
    "healthbench": export_healthbench,
    "inspect": export_inspect,
    "promptfoo": export_promptfoo,
}


def resolve_rubric(ref: str | Path) -> Path:
    """A rubric path, or the id of a rubric in rubrics/ (e.g. rubricate-default)."""
    path = Path(ref)
    if path.is_file():
        return path
    by_id = RUBRICS_DIR / f"{ref}.json"
    if by_id.is_file():
        return by_id
    raise RubricateError(f"no rubric file or id {str(ref)!r} (ids are the file names in {RUBRICS_DIR})")


def export(ref: str | Path, fmt: str, out: Path, system_prompt: str | None = None) -> int:
    """Write the export; returns the number of items exported."""
    if fmt not in FORMATS:
        raise RubricateError(f"unknown export format {fmt!r} (use {', '.join(FORMATS)})")
    rubric = load_rubric(resolve_rubric(ref)).data
    return FORMATS[fmt](rubric, Path(out), system_prompt)
