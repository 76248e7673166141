"""Citations for rubric entries, taken from the knowledge base and never made up here.

A criterion, principle or stigma item cites the passages that ``ontology.citations`` ranks
best for its principle (and condition). No passage means no rubric entry: the compiler
refuses, naming where the principle was used.
"""
from __future__ import annotations

from rdflib import Graph

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.ontology.citations import all_citations, citations_for

# The Citation fields of the rubric schema (rubrics/contract/schema/rubric.schema.json#/$defs/citation).
CITATION_FIELDS = ("document", "document_title", "year", "principle", "passage", "file_sha256",
                   "page", "page_label", "section_path", "quote", "selectors", "url",
                   "locator_verified", "source_kind", "evidence", "evidence_method", "link_method")


def project(citation: dict) -> dict:
    """Only the schema's fields (a new field upstream does not silently change rubrics)."""
    return {k: citation.get(k) for k in CITATION_FIELDS}


def cite(g: Graph, principle: str, condition: str | None, limit: int, *, where: str,
         path: str | None = None, line: int | None = None) -> list[dict]:
    """Up to ``limit`` citations for ``principle``; a clear error when the KB has none."""
    found = citations_for(g, principle, condition, limit=limit)
    if not found:
        raise RubricateError(
            f"{where} uses principle {principle!r}, which has no supporting passage in the "
            "knowledge base (add a digest annotation or accept a passage in review, then rebuild)",
            path=path, line=line)
    return [project(c) for c in found]


def passage_index(g: Graph) -> dict[tuple[str, str], dict]:
    """(document, passage id) -> citation, for checking that a rubric's citations resolve."""
    return {(c["document"], c["passage"]): project(c) for c in all_citations(g)}
