"""Rubric -> HealthBench JSONL (openai/simple-evals healthbench_eval.py row format).

One row per response item: ``prompt`` (chat), ``prompt_id``, ``rubrics`` of ``{criterion,
points, tags}`` and ``example_tags``. Our criteria already follow HealthBench's convention
(a criterion is met when its behaviour happens; negative points for undesirable behaviour).
Citations, questions and judge instructions travel in an extra ``metadata`` field, which
HealthBench's loader ignores.
"""
from __future__ import annotations

from pathlib import Path

from rubricate.guidelines.kernel.fileio import atomic_write_bytes, jsonl_bytes
from rubricate.rubrics.integrations.common import chat, item_metadata, response_items


def healthbench_rows(rubric: dict, system_prompt: str | None = None) -> list[dict]:
    rows = []
    for item in response_items(rubric):
        rows.append({
            "prompt": chat(item, system_prompt),
            "prompt_id": f"{rubric['rubric_id']}/{item['id']}",
            "rubrics": [{"criterion": c["criterion"], "points": c["points"],
                         "tags": ["level:example", *c["tags"], f"criterion:{c['id']}"]}
                        for c in item["criteria"]],
            "example_tags": [*item["tags"], f"rubric:{rubric['rubric_id']}"],
            "metadata": item_metadata(rubric, item),
        })
    return rows


def export_healthbench(rubric: dict, out: Path, system_prompt: str | None = None) -> int:
    rows = healthbench_rows(rubric, system_prompt)
    atomic_write_bytes(Path(out), jsonl_bytes(rows))
    return len(rows)
