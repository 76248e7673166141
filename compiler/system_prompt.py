"""The therapist system prompt, generated from the knowledge base's principles.

Moore et al. (FAccT 2025) gave models a system prompt describing good therapy to give them
their best chance. rubricate builds its own from the SKOS labels and definitions of the
principles (so the prompt changes when the ontology does), inside a frame kept as data in
compiler/data/system_prompt.yaml. Every top-level principle must appear exactly once.
"""
from __future__ import annotations

from pathlib import Path

from rdflib import Graph

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.compiler.vocab import principles
from rubricate.ontology.build import load_vocabulary
from rubricate.guidelines.kernel.yaml_lines import line_of, load_yaml

FRAME = Path(__file__).resolve().parent / "data" / "system_prompt.yaml"


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


def therapist_system_prompt(g: Graph, frame: Path | None = None) -> str:
    """Plain text: opening, one section per group of principles, closing."""
    path = Path(frame or FRAME)
    data = load_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("sections"), list):
        raise RubricateError("expected 'opening', 'sections' and 'closing'", path=str(path))
    ps = principles(g)
    top = [pid for pid, p in ps.items() if p.broader is None]
    seen: list[str] = []
    parts = [_sentence(str(data.get("opening", "")))] if data.get("opening") else []
    for section in data["sections"]:
        heading, ids = section.get("heading"), section.get("principles")
        if not isinstance(heading, str) or not isinstance(ids, list) or not ids:
            raise RubricateError("each section needs a 'heading' and a list of 'principles'",
                                 path=str(path), line=line_of(section))
        lines = [f"{heading}:"]
        for pid in ids:
            if pid not in ps or ps[pid].broader is not None:
                raise RubricateError(f"{pid!r} is not a top-level principle of the knowledge base",
                                     path=str(path), line=line_of(section))
            if pid in seen:
                raise RubricateError(f"principle {pid!r} appears twice", path=str(path), line=line_of(section))
            seen.append(pid)
            p = ps[pid]
            lines.append(f"- {p.label}: {_sentence(p.definition)}")
            lines += [f"  - {ps[n].label}: {_sentence(ps[n].definition)}" for n in p.narrower if n in ps]
        parts.append("\n".join(lines))
    missing = [pid for pid in top if pid not in seen]
    if missing:
        raise RubricateError(f"principle(s) missing from the prompt frame: {', '.join(missing)}", path=str(path))
    if data.get("closing"):
        parts.append(_sentence(str(data["closing"])))
    return "\n\n".join(parts) + "\n"


def default_therapist_prompt() -> str:
    """The therapist prompt from the bundled vocabulary alone: the principles' labels and
    definitions live there, so no knowledge-base build (no parsing) is needed for it."""
    return therapist_system_prompt(load_vocabulary())
