"""The study's coding (ontology/mapping_review.yaml) as (document, principle, position) cells."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from rubricate.guidelines.kernel.errors import RubricateError

DEFAULT_MAPPING_REVIEW = Path(__file__).resolve().parent / "mapping_review.yaml"


@dataclass(frozen=True)
class Cell:
    doc_id: str
    principle: str  # feature id, or feature/sub-feature id
    position: int  # order of the sub-feature inside the study's cell (0 for a Yes cell)


def load_mapping_review(path: Path | None = None, known: set[str] | None = None) -> list[Cell]:
    path = Path(path or DEFAULT_MAPPING_REVIEW)
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    cells: list[Cell] = []
    for doc_id, features in (raw.get("documents") or {}).items():
        for feature, value in (features or {}).items():
            if value is True or value == "yes":
                ids = [(feature, 0)]
            elif isinstance(value, list):
                ids = [(f"{feature}/{sub}", i + 1) for i, sub in enumerate(value)]
            else:
                raise RubricateError(f"{doc_id}.{feature}: expected yes or a list of sub-features", path=str(path))
            for pid, pos in ids:
                if known is not None and pid not in known:
                    raise RubricateError(f"{doc_id}: unknown principle id {pid!r}", path=str(path))
                cells.append(Cell(doc_id, pid, pos))
    return cells
