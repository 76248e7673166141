"""Which maker a model name belongs to (model_families.yaml, ``vendors``).

Why: a judge grading text written by a model of its own family tends to prefer it, so
``rubricate converse`` warns when the simulated client and the LLM judge share a maker.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml


@lru_cache(maxsize=1)
def vendors() -> list[dict]:
    data = yaml.safe_load(Path(__file__).with_name("model_families.yaml").read_text("utf-8"))
    return list(data.get("vendors") or [])


def vendor_of(model: str | None) -> str | None:
    """The maker of ``model`` ("provider/name" or a name with a ":tag"), or None if unknown."""
    if not model:
        return None
    name = model.rsplit("/", 1)[-1]
    for v in vendors():
        if re.match(v["pattern"], name, re.I):
            return v["name"]
    return None


def same_family_warning(client_model: str | None, judge_model: str | None) -> str | None:
    """One line when the simulated client and the judge come from the same maker, else None."""
    a, b = vendor_of(client_model), vendor_of(judge_model)
    if a is not None and a == b:
        return (f"the simulated client ({client_model}) and the judge ({judge_model}) are both {a} models: "
                "the judge grades conversations written partly by its own kind of model; prefer a judge "
                "from another family")
    return None
