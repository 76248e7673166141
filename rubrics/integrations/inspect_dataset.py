"""Rubric -> Inspect AI dataset (JSONL readable by ``inspect_ai.dataset.json_dataset``).

One sample per response item: ``id``, ``input`` (the chat as role/content messages),
``target`` (the criterion sentences, for graders that want a plain target) and ``metadata``
with every criterion (question, appropriate answer, points, severity, checks, judge
instructions, citations). The task module ``compiler.inspect_tasks`` grades such samples
with our criteria: ``inspect eval rubricate/rubric_eval -T dataset=<this file>``.
"""
from __future__ import annotations

from pathlib import Path

from rubricate.guidelines.kernel.fileio import atomic_write_bytes, jsonl_bytes
from rubricate.rubrics.integrations.common import chat, item_metadata, response_items


def inspect_records(rubric: dict, system_prompt: str | None = None) -> list[dict]:
    return [{"id": item["id"], "input": chat(item, system_prompt),
             "target": [c["criterion"] for c in item["criteria"]],
             "metadata": item_metadata(rubric, item)}
            for item in response_items(rubric)]


def export_inspect(rubric: dict, out: Path, system_prompt: str | None = None) -> int:
    rows = inspect_records(rubric, system_prompt)
    atomic_write_bytes(Path(out), jsonl_bytes(rows))
    return len(rows)
