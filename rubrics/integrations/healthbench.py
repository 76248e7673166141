"""Rubric -> HealthBench JSONL (openai/simple-evals healthbench_eval.py row format).

One row per response item: ``prompt`` (chat), ``prompt_id``, ``rubrics`` of ``{criterion,
points, tags}``, ``example_tags`` and ``ideal_completions_data`` (null: rubricate has no
physician-written completions; simple-evals reads the key in its physician-completion modes).
Our criteria already follow HealthBench's convention (a criterion is met when its behaviour
happens; negative points for undesirable behaviour). Citations, questions and judge
instructions travel in an extra ``metadata`` field, which HealthBench's loader ignores.

simple-evals reports one score per tag and puts example-level and rubric-level tags in the
same table, so the two levels must never share a tag: item tags become ``item_<ns>:<value>``
(plus ``rubric:<id>``), criterion tags ``criterion_<ns>:<value>`` beside HealthBench's own
``level:example``, ``axis:<axis>`` and ``criterion:<id>``.
"""
from __future__ import annotations

from pathlib import Path

from rubricate.guidelines.kernel.fileio import atomic_write_bytes, jsonl_bytes
from rubricate.rubrics.integrations.common import chat, item_metadata, response_items


#: Criterion tag namespaces HealthBench itself uses at the rubric level (kept as they are).
HEALTHBENCH_RUBRIC_NAMESPACES = ("axis",)


def example_tags(rubric: dict, item: dict) -> list[str]:
    """Item tags in the ``item_`` namespaces, plus the rubric id."""
    return [*(f"item_{t}" for t in item["tags"]), f"rubric:{rubric['rubric_id']}"]


def criterion_tags(c: dict) -> list[str]:
    """Rubric-level tags: never equal to an example-level tag, no duplicates."""
    out = ["level:example"]
    for t in c["tags"]:
        tag = t if t.split(":", 1)[0] in HEALTHBENCH_RUBRIC_NAMESPACES else f"criterion_{t}"
        if tag not in out:
            out.append(tag)
    out.append(f"criterion:{c['id']}")
    return out


def healthbench_rows(rubric: dict, system_prompt: str | None = None) -> list[dict]:
    rows = []
    for item in response_items(rubric):
        rows.append({
            "prompt": chat(item, system_prompt),
            "prompt_id": f"{rubric['rubric_id']}/{item['id']}",
            "rubrics": [{"criterion": c["criterion"], "points": c["points"], "tags": criterion_tags(c)}
                        for c in item["criteria"]],
            "example_tags": example_tags(rubric, item),
            "ideal_completions_data": None,
            "metadata": item_metadata(rubric, item),
        })
    return rows


def export_healthbench(rubric: dict, out: Path, system_prompt: str | None = None) -> int:
    rows = healthbench_rows(rubric, system_prompt)
    atomic_write_bytes(Path(out), jsonl_bytes(rows))
    return len(rows)
