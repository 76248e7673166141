"""The layers of rubricate, lowest first: the one place that says who may import whom.

A module belongs to the longest package prefix listed here. It may import modules of its own
layer or of lower layers, never of a higher one, and the packages of one layer must not import
each other in a cycle. An import inside a function (deferred) is allowed only to keep start-up
time low, with a comment saying so (``start-up time``) on the import, on a line right above
it, or once at the top of a module whose every deferred import is for start-up time (the CLI).
tests/test_layers.py reads every module's imports (module level and deferred) and enforces it.
"""
from __future__ import annotations

#: Layers, lowest first; each is a tuple of packages (dotted names under ``rubricate``).
LAYERS: tuple[tuple[str, ...], ...] = (
    # errors, atomic io, the JSONL and YAML readers, nlp, text matching, paths
    ("rubricate.guidelines.kernel",),
    # guideline files -> passages; passages -> evidence proposals and reviewer decisions
    ("rubricate.guidelines.sources", "rubricate.guidelines.evidence"),
    # evidence -> the knowledge base (RDF)
    ("rubricate.ontology",),
    # the rubric contract, the offline checks and the LLM client
    ("rubricate.rubrics.contract", "rubricate.rubrics.checks", "rubricate.rubrics.llm"),
    # knowledge base -> rubric (criteria with citations); the study's importer
    ("rubricate.compiler", "rubricate.compiler.moore2025"),
    # rubric + responses -> verdicts, reports, the labelling page, the stigma experiment, exports
    ("rubricate.rubrics.evaluation", "rubricate.rubrics.report", "rubricate.rubrics.labelling",
     "rubricate.rubrics.stigma", "rubricate.rubrics.integrations"),
    # `rubricate run`
    ("rubricate.rubrics.pipeline",),
    # the command line
    ("rubricate.cli",),
)

#: Package ``__init__`` files that only group sub-packages: they import nothing of rubricate
#: except what the root needs to run ``python -m rubricate``.
GROUPING_PACKAGES: tuple[str, ...] = ("rubricate", "rubricate.guidelines", "rubricate.rubrics")

#: The words a comment must contain to justify a deferred import.
DEFERRED_REASON = "start-up time"


def unit_of(module: str) -> str | None:
    """The declared package ``module`` belongs to (longest prefix), or None if undeclared."""
    best = None
    for layer in LAYERS:
        for package in layer:
            if (module == package or module.startswith(package + ".")) and (best is None or len(package) > len(best)):
                best = package
    return best


def layer_of(module: str) -> int | None:
    """Index of the layer (0 = kernel) of ``module``, or None if undeclared."""
    unit = unit_of(module)
    if unit is None:
        return None
    return next(i for i, layer in enumerate(LAYERS) if unit in layer)
