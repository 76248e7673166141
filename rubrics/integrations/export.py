"""`rubricate export`: a rubric (file or id) -> the files another evaluation tool reads.

Exporters are a registry (guidelines/kernel/plugins.py): each is a function
``(rubric: dict, out: Path, system_prompt: str | None) -> int`` (items written). Adding one
is a module with that function plus one ``EXPORTERS.add`` line below, or an entry point in
the group ``rubricate.exporters`` of a separate package; ``rubricate export --format``
offers every registered name.
"""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Callable, Protocol

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.plugins import Registry, callables
from rubricate.rubrics.contract.loader import find_rubric, load_rubric
from rubricate.rubrics.integrations.common import skipped_note


class Exporter(Protocol):
    def __call__(self, rubric: dict, out: Path, system_prompt: str | None = None) -> int: ...


EXPORTERS: Registry[Exporter] = Registry("exporter", "rubricate.exporters", callables(
    "exporter", "(rubric, out, system_prompt) -> int"))
EXPORTERS.add("healthbench", "rubricate.rubrics.integrations.healthbench:export_healthbench")
EXPORTERS.add("inspect", "rubricate.rubrics.integrations.inspect_dataset:export_inspect")
EXPORTERS.add("promptfoo", "rubricate.rubrics.integrations.promptfoo:export_promptfoo")
EXPORTERS.add("fhir", "rubricate.rubrics.integrations.fhir:export_fhir")


def export(ref: str | Path, fmt: str, out: Path, system_prompt: str | None = None,
           note: Callable[[str], None] | None = None, **options: str | None) -> int:
    """Write the export; returns the number of items exported. ``options`` (None values
    ignored) go to exporters that take them as keywords, e.g. promptfoo's provider, grader
    and base URLs; an option the format does not take is refused before anything is read.
    Conversation items (kind persona) are left out of every such format: ``note`` gets one line
    saying so."""
    exporter: Callable[..., int] = EXPORTERS.get(fmt)  # an unknown name fails before any reading
    given = {k: v for k, v in options.items() if v is not None}
    unknown = sorted(set(given) - set(inspect.signature(exporter).parameters))
    if unknown:
        raise RubricateError(f"format {fmt} takes no option {', '.join(unknown)}")
    rubric = load_rubric(find_rubric(ref)).data
    skipped = skipped_note(rubric, fmt)
    if skipped and note is not None:
        note(skipped)
    return exporter(rubric, Path(out), system_prompt, **given)
