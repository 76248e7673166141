"""Checks a rubric must pass before anything is judged with it.

The JSON Schema checks each object's shape; it cannot see across objects. Two items or
criteria with the same id would make verdict ids collide (one verdict silently standing for
two), and a citation to a document the rubric's knowledge base does not hold cannot be
traced back to a guideline, so either refuses the rubric in one line.
"""
from __future__ import annotations

from rubricate.guidelines.kernel.errors import RubricFormatError


def check_integrity(data: dict, path: str | None = None) -> None:
    """A RubricFormatError naming the first duplicate id or dangling citation in ``data``."""
    items: set[str] = set()
    criteria: set[str] = set()
    sources = {s.get("document") for s in (data.get("knowledge_base") or {}).get("sources") or []
               if isinstance(s, dict)}
    for item in data.get("items") or []:
        iid = item.get("id")
        if iid in items:
            raise RubricFormatError(f"rubric integrity: duplicate item id {iid!r}", path=path)
        items.add(iid)
        for c in item.get("criteria") or []:
            cid = c.get("id")
            if cid in criteria:
                raise RubricFormatError(f"rubric integrity: duplicate criterion id {cid!r} (item {iid!r})", path=path)
            criteria.add(cid)
            for ci in c.get("citations") or []:
                doc = ci.get("document") if isinstance(ci, dict) else None
                if not isinstance(ci, dict) or not ci.get("passage"):
                    raise RubricFormatError(f"rubric integrity: criterion {cid!r} has a citation without a passage",
                                         path=path)
                if sources and doc not in sources:
                    raise RubricFormatError(f"rubric integrity: criterion {cid!r} cites passage {ci['passage']!r} of "
                                         f"document {doc!r}, which the rubric's knowledge base does not hold",
                                         path=path)
