"""What every export shares: the response items of a rubric, their chats, compact metadata."""
from __future__ import annotations

from rubricate.guidelines.kernel.errors import RubricateError


def response_items(rubric: dict) -> list[dict]:
    """Items of kind "response" (stigma items are scored by their own protocol, not exported)."""
    items = [i for i in rubric["items"] if i.get("kind") == "response"]
    if not items:
        raise RubricateError(f"rubric {rubric.get('rubric_id')!r} has no response items to export "
                             "(stigma instruments are run with `rubricate stigma`, personas with "
                             "`rubricate converse`)")
    return items


def skipped_note(rubric: dict, fmt: str) -> str | None:
    """One line saying which conversation (persona) items a single-reply export leaves out."""
    n = sum(1 for i in rubric["items"] if i.get("kind") == "persona")
    if not n:
        return None
    return (f"skipped {n} conversation item(s) (kind persona): {fmt} exports single replies; hold and judge "
            "conversations with `rubricate converse`")


def chat(item: dict, system_prompt: str | None = None) -> list[dict]:
    """The item's stimulus as chat messages, with the optional therapist system prompt first."""
    messages = [{"role": m["role"], "content": m["content"]} for m in item["stimulus"]["messages"]]
    if system_prompt:
        messages.insert(0, {"role": "system", "content": system_prompt})
    return messages


def criterion_metadata(c: dict) -> dict:
    """Everything a grader or auditor needs about one criterion, citations included."""
    keys = ("id", "criterion", "question", "appropriate_answer", "points", "severity", "principle",
            "tags", "judge_instructions", "checks", "citations")
    return {k: c[k] for k in keys if k in c}


def item_metadata(rubric: dict, item: dict) -> dict:
    return {
        "rubric_id": rubric["rubric_id"],
        "rubric_version": rubric["version"],
        "knowledge_base_sha256": rubric["knowledge_base"]["sha256"],
        "item_id": item["id"],
        "title": item["title"],
        "condition": item["condition"],
        "principle": item["principle"],
        "multi_turn": bool(item.get("multi_turn", False)),
        "tags": item["tags"],
        "criteria": [criterion_metadata(c) for c in item["criteria"]],
    }
