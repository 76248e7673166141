"""The stigma experiment reads its instrument from a stigma rubric's kind "stigma" items.

Why: the compiled stigma rubric (rubrics/rubricate-stigma.json, or moore2025-stigma.json
from ``rubricate import moore2025``) is the contract of the experiment: each item holds the
exact prompt sent to a model (vignette, question, lettered options), its options with
their codes and the stigma rule, and the rubric's ``instrument`` block holds the
conditions, questions and coding. ``rubricate stigma probe`` sends the items' prompts and
``rubricate stigma score`` codes answers by the rubric's questions, so what is probed and
scored is what was compiled and cited, not a second reading of the instrument YAML.

Where the instrument comes from (:func:`load_stigma_rubric`):

- ``default`` / ``rubricate-default``: the bundled compiled rubric;
- ``PATH.json``: any compiled stigma rubric (e.g. build/moore2025/moore2025-stigma.json);
- ``moore2025`` (with the study's release folder) or ``PATH.yaml``: the same items,
  compiled in memory by compiler.stigma (``stigma_items`` + ``instrument_summary``; the
  citations, which neither probing nor scoring reads, are added only by the compiler).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rubricate.compiler.compile import STIGMA_FILE
from rubricate.compiler.stigma import (Condition, Instrument, Question, Vignette, import_instrument,
                                       instrument_summary, load_instrument_file, stigma_items)
from rubricate.guidelines.kernel.errors import ConfigurationError, RubricFormatError
from rubricate.rubrics.contract.loader import find_rubric, load_rubric

DEFAULT_NAMES = ("default", "rubricate-default")


@dataclass(frozen=True)
class StigmaRubric:
    """A stigma rubric's items (in probe order) and the instrument they code.

    ``instrument`` holds the conditions, questions and coding the rubric states; its
    vignettes carry ids, conditions and attributes only (each item's prompt holds the text).
    """

    id: str
    source: str
    instrument: Instrument
    items: tuple[dict[str, Any], ...]


def from_rubric(data: dict[str, Any], source: str) -> StigmaRubric:
    """The stigma view of a rubric document; a one-line error when it has no stigma items
    or its items disagree with its instrument block."""
    items = tuple(i for i in data.get("items", []) if i.get("kind") == "stigma")
    summary = data.get("instrument")
    if not items or not isinstance(summary, dict):
        raise RubricFormatError("not a stigma rubric (no items of kind 'stigma' and instrument block)",
                             path=source)
    texts: dict[str, str] = {}
    vignettes: dict[str, Vignette] = {}
    by_id = {q["id"]: q for q in summary["questions"]}
    for item in items:
        q = item["question"]
        stated = by_id.get(q["id"])
        if stated is None or [o["text"] for o in item["options"]] != list(stated["options"]):
            raise RubricFormatError(f"item {item['id']}: question {q['id']!r} or its options differ from "
                                 "the rubric's instrument block", path=source)
        texts.setdefault(q["id"], q["text"])
        v = item["vignette"]
        vignettes.setdefault(v["id"], Vignette(v["id"], item["condition"], dict(v["attributes"]), ""))
    questions = tuple(Question(
        id=q["id"], label=q["label"], group=q["group"], text=texts.get(q["id"], ""),
        options=tuple(q["options"]), agree=tuple(q["agree"]), disagree=tuple(q["disagree"]),
        dont_know=q["dont_know"], stigma_when=q["stigma_when"],
        baseline_match=tuple(q.get("baseline_match") or ())) for q in summary["questions"])
    conditions = tuple(Condition(c["id"], c["label"], bool(c["control"])) for c in summary["conditions"])
    instrument = Instrument(id=summary["id"], version=summary["version"], title=summary["title"],
                            source=summary["source"], conditions=conditions,
                            vignettes=tuple(vignettes.values()), questions=questions,
                            prompt_template="", option_format="")
    return StigmaRubric(str(data.get("rubric_id") or summary["id"]), source, instrument, items)


def from_instrument(instrument: Instrument) -> StigmaRubric:
    """An instrument's stigma items, compiled in memory (without citations)."""
    data = {"rubric_id": f"{instrument.id}-stigma", "instrument": instrument_summary(instrument),
            "items": stigma_items(instrument)}
    return from_rubric(data, instrument.source)


def load_stigma_rubric(name: str, anchor_dir: str | Path | None = None) -> StigmaRubric:
    """``default`` | ``rubricate-default`` | ``moore2025`` (needs ``anchor_dir``) |
    a compiled stigma rubric ``PATH.json`` | an instrument ``PATH.yaml``."""
    if name in DEFAULT_NAMES:  # the workspace's compile (build/rubrics) before the bundled one
        path = find_rubric(Path(STIGMA_FILE).stem)
        return from_rubric(load_rubric(path).data, str(path))
    if name == "moore2025":
        if anchor_dir is None:
            raise ConfigurationError("the moore2025 instrument needs --anchor DIR (the study's "
                                 "public release) or RUBRICATE_ANCHOR")
        return from_instrument(import_instrument(anchor_dir))
    suffix = Path(name).suffix.lower()
    if suffix == ".json":
        return from_rubric(load_rubric(name).data, name)
    if suffix not in (".yaml", ".yml") and not Path(name).is_file():
        raise ConfigurationError(f"unknown instrument {name!r}: use default, moore2025, a compiled "
                             "stigma rubric (.json) or the path of an instrument YAML file")
    return from_instrument(load_instrument_file(name))
