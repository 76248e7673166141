"""`rubricate build` as a function: build, validate, write, and say what happened."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rubricate.guidelines.kernel.fileio import atomic_write_text
from rubricate.guidelines.evidence.review import accepted_evidence, load_decisions
from rubricate.guidelines.sources.registry import load_registry
from rubricate.ontology.namespaces import RBC, RDF
from rubricate.ontology.build import AcceptedLink, BuildResult, build_kb
from rubricate.ontology.store import kb_hash, write_kb
from rubricate.ontology.validate import Validation, validate_graph
from rubricate.guidelines.kernel.paths import package_path

DEFAULT_DECISIONS = package_path("guidelines", "reviews", "decisions.jsonl")


@dataclass
class PipelineResult:
    build: BuildResult
    validation: Validation
    kb_sha256: str
    paths: dict[str, Path]

    @property
    def ok(self) -> bool:
        return self.build.ok and self.validation.conforms

    @property
    def graph(self):
        return self.build.graph


def accepted_links(decisions: Path | None) -> list[AcceptedLink]:
    """Reviewer decisions that accept a passage for a principle (latest decision wins)."""
    path = decisions or DEFAULT_DECISIONS
    if not Path(path).exists():
        return []
    return [AcceptedLink(a.doc_id, a.feature, a.passage_id, a.reviewer)
            for a in accepted_evidence(load_decisions(Path(path)))]


def build(registry: Path | None = None, decisions: Path | None = None, workers: int | None = None,
          out: Path | None = None) -> PipelineResult:
    """Build and validate; write only a knowledge base that conforms (the old one stays otherwise)."""
    result = build_kb(load_registry(registry), accepted=accepted_links(decisions), workers=workers)
    validation = validate_graph(result.graph)
    digest = kb_hash(result.graph)
    paths: dict[str, Path] = {}
    if out is not None and result.ok and validation.conforms:
        paths = write_kb(result.graph, Path(out))
        report = {
            "kb_sha256": digest,
            "documents": {d: [{"sha256": p.sha256, "extractor": p.extractor,
                               "extractor_version": p.extractor_version, "path": p.path}
                              for p in parsed] for d, parsed in sorted(result.documents.items())},
            "passages": len(result.passages),
            "triples": len(result.graph),
            "warnings": result.warnings,
        }
        paths["report"] = Path(out) / "build-report.json"
        atomic_write_text(paths["report"], json.dumps(report, indent=2, sort_keys=True) + "\n")
    return PipelineResult(result, validation, digest, paths)


def report_lines(r: PipelineResult) -> list[str]:
    b = r.build
    lines = [f"error: {e}" for e in b.errors]
    lines += [f"warning: {w}" for w in b.warnings]
    lines += [f"error: {c.doc_id}: no passage supports {c.principle} (study cell without text)"
              for c in b.unsupported]
    lines += [f"violation: {v}" for v in r.validation.violations]
    n_ev = len(set(b.graph.subjects(RDF.type, RBC.Evidence)))
    lines.append(f"documents: {len(b.documents)}  evidence statements: {n_ev}  passages: {len(b.passages)}  triples: {len(b.graph)}  "
                 f"kb sha256: {r.kb_sha256[:16]}")
    lines.append("SHACL: conforms" if r.validation.conforms else
                 f"SHACL: does not conform ({len(r.validation.violations)} violations)")
    if r.paths:
        lines.append("wrote " + ", ".join(str(p) for p in r.paths.values()))
    elif not r.ok:
        lines.append("nothing written: fix the errors above (the previous build, if any, is untouched)")
    return lines
