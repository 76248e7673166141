"""`rubricate build` as a function: build, validate, write, and say what happened."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from importlib.metadata import PackageNotFoundError, version
from typing import Callable

from rdflib import Graph, Literal

from rubricate.guidelines.evidence.review import (REREVIEW_COLUMNS, load_decisions, load_policy, rereview_rows, resolve,
                                                  sheet_csv)
from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import sha256_file
from rubricate.guidelines.kernel.workspace import ws_path
from rubricate.guidelines.sources.registry import FileEntry, Registry, load_registry
from rubricate.ontology.build import BUILD_ACTIVITY, SHAPES, VOCABULARY, AcceptedLink, BuildResult, build_kb
from rubricate.ontology.mapping_review import DEFAULT_MAPPING_REVIEW
from rubricate.ontology.namespaces import RBC, RDF
from rubricate.ontology.progress import Stages
from rubricate.ontology.store import KB_TURTLE, REPORT, kb_hash, load_kb, write_kb
from rubricate.ontology.validate import Validation, validate_graph


@dataclass
class PipelineResult:
    build: BuildResult
    validation: Validation
    kb_sha256: str
    paths: dict[str, Path]
    review: object = None  # guidelines.evidence.review.Resolution, when there are decisions

    @property
    def ok(self) -> bool:
        return self.build.ok and self.validation.conforms

    @property
    def graph(self):
        return self.build.graph


def review_resolution(decisions: Path | None, policy=None):
    """The review policy (given, else the one recorded beside the log, else consensus)
    applied to the decisions log; None when there is no log."""
    path = decisions or ws_path("decisions")
    if not Path(path).exists():
        return None
    return resolve(load_decisions(Path(path)), policy or load_policy(path))


def links_of(resolution) -> list[AcceptedLink]:
    if resolution is None:
        return []
    return [AcceptedLink(a.doc_id, a.feature, a.passage_id, a.reviewer, sha256=a.sha256, start=a.start,
                         quote=a.quote, prefix=a.prefix, suffix=a.suffix, page=a.page,
                         section_path=tuple(a.section_path), decision=a.decision, role=a.role,
                         activity=a.activity, imported=a.imported, time=a.time)
            for a in resolution.accepted]


def accepted_links(decisions: Path | None, policy=None) -> list[AcceptedLink]:
    """Reviewer decisions that accept a passage for a principle, under the review policy
    (default consensus; the latest decision per reviewer wins)."""
    return links_of(review_resolution(decisions, policy))


REREVIEW_SHEET = "needs-rereview.csv"


def build(registry: Path | None = None, decisions: Path | None = None, workers: int | None = None,
          out: Path | None = None, policy=None, progress: Callable[[str], None] | None = None) -> PipelineResult:
    """Build and validate; write only a knowledge base that conforms (the old one stays otherwise).

    Decisions on an earlier edition are re-anchored; those that cannot be are written to
    ``out/needs-rereview.csv`` (a review sheet) beside the knowledge base. ``progress`` gets
    one line per stage (ontology.progress)."""
    stages = Stages(progress)
    resolution = review_resolution(decisions, policy)
    reg = load_registry(registry)
    inputs = inputs_sha256(reg, decisions, resolution.policy if resolution is not None else None)
    result = build_kb(reg, accepted=links_of(resolution), workers=workers, stages=stages)
    if resolution is not None:
        result.graph.add((BUILD_ACTIVITY, RBC.reviewPolicy, Literal(str(resolution.policy))))
    with stages.timing("validate"):
        validation = validate_graph(result.graph)
    stages.done("validate", "SHACL " + ("conforms" if validation.conforms else
                                        f"{len(validation.violations):,} violations"))
    with stages.timing("serialise"):
        digest = kb_hash(result.graph)
        paths = _write(result, validation, digest, inputs, resolution, out)
    stages.done("serialise", "kb sha256 " + digest[:16] + (", wrote " + ", ".join(sorted(p.name for p in paths.values()))
                                                           if paths else ", nothing written"))
    return PipelineResult(result, validation, digest, paths, resolution)


def _write(result: BuildResult, validation: Validation, digest: str, inputs: str, resolution,
           out: Path | None) -> dict[str, Path]:
    """kb.ttl, kb.jsonld, the build report (and re-review sheet) in ``out``, when the build is good."""
    paths: dict[str, Path] = {}
    if out is not None and result.ok and validation.conforms:
        report = {
            "inputs_sha256": inputs,
            "kb_sha256": digest,
            "documents": {d: [{"sha256": p.sha256, "extractor": p.extractor,
                               "extractor_version": p.extractor_version, "path": p.path}
                              for p in parsed] for d, parsed in sorted(result.documents.items())},
            "passages": len(result.passages),
            "triples": len(result.graph),
            "warnings": result.warnings,
            "review": review_report(resolution, result),
        }
        extra = {REPORT: json.dumps(report, indent=2, sort_keys=True) + "\n"}
        lost = [(r.link, r.passage, r.score) for r in result.reanchored if r.status == "lost" and r.passage]
        if lost:
            extra[REREVIEW_SHEET] = sheet_csv(rereview_rows(lost), REREVIEW_COLUMNS)
        # the knowledge base, its build report and the re-review sheet as one set: a kill or a
        # Ctrl-C leaves the old set or the new one; a sheet from an earlier build is dropped
        paths = write_kb(result.graph, Path(out), extra=extra, drop=(REREVIEW_SHEET,))
        paths["report"] = paths.pop(REPORT)
        if lost:
            paths["rereview"] = paths.pop(REREVIEW_SHEET)
    return paths


def review_report(resolution, result: BuildResult) -> dict | None:
    """What happened to reviewers' decisions: policy, disagreements, re-anchoring."""
    if resolution is None:
        return None
    return {
        "policy": str(resolution.policy),
        "evidence_decisions": len(resolution.accepted),
        "disagreements": len(resolution.disagreements),
        "awaiting_adjudication": [d.to_dict() for d in resolution.pending],
        "reanchored": [{"document": r.link.doc_id, "principle": r.link.principle, "reviewer": r.link.reviewer,
                        "from_passage": r.link.passage_id, "from_page": r.link.page,
                        "status": r.status, "score": r.score, "moved": r.moved if r.status != "lost" else None,
                        "to_passage": r.passage.id if r.passage and r.status != "lost" else None,
                        "to_page": r.passage.page if r.passage and r.status != "lost" else None}
                       for r in result.reanchored],
    }


def _file_state(reg: Registry, f: FileEntry) -> str:
    try:
        path = reg.resolve(f)
        return sha256_file(path) if path.is_file() else "missing"
    except RubricateError as exc:
        return f"unresolvable: {exc}"


def inputs_sha256(registry: Registry | Path | None = None, decisions: Path | None = None, policy=None) -> str:
    """A fingerprint of everything a build reads: registry, the files' current bytes, reviewer
    decisions, vocabulary, shapes, the study's coding and the package version. A saved build
    whose fingerprint differs is stale."""
    reg = registry if isinstance(registry, Registry) else load_registry(registry)
    dec = Path(decisions or ws_path("decisions"))
    try:
        pkg = version("rubricate")
    except PackageNotFoundError:  # an uninstalled checkout
        pkg = "0+unknown"
    material = {
        "rubricate": pkg,
        "documents": [{**{k: v for k, v in asdict(d).items() if k != "files"},
                       "files": [[f.path, f.role, _file_state(reg, f)] for f in d.files]}
                      for d in reg.documents],
        "decisions": sha256_file(dec) if dec.is_file() else None,
        "policy": str(policy or load_policy(dec)) if dec.is_file() else None,
        "data": [sha256_file(p) for p in (VOCABULARY, SHAPES, DEFAULT_MAPPING_REVIEW)],
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


def saved_inputs(kb_dir: Path) -> str | None:
    """The inputs fingerprint a saved build recorded (None: no report, or an older build)."""
    try:
        return json.loads((Path(kb_dir) / REPORT).read_text(encoding="utf-8")).get("inputs_sha256")
    except (OSError, ValueError, AttributeError):
        return None


_MEMO: dict[str, Graph] = {}


def current_kb(kb_path: Path | None = None, note: Callable[[str], None] = lambda s: None) -> Graph:
    """The one "which knowledge base" policy of every command.

    A KB the user names is used (with a note if it was built from other inputs). Otherwise the
    workspace's build (build/kb) is used only while its recorded inputs match the current
    ones; a stale or missing build is never used silently: the KB is built in memory (once
    per process for the same inputs) and ``note`` says so.
    """
    inputs = inputs_sha256()
    if kb_path is not None:
        kb_dir = Path(kb_path) if Path(kb_path).is_dir() else Path(kb_path).parent
        recorded = saved_inputs(kb_dir)
        if recorded is not None and recorded != inputs:
            note(f"{kb_path} was built from other inputs than the current registry, files and "
                 "decisions (`rubricate build` refreshes it)")
        return load_kb(kb_path)
    kb_dir = ws_path("kb")
    if (kb_dir / KB_TURTLE).is_file():
        if saved_inputs(kb_dir) == inputs:
            return load_kb(kb_dir)
        note(f"{kb_dir} is out of date (registry, files, decisions or rubricate changed since it was "
             "built); using a fresh build in memory (`rubricate build` updates it)")
    if inputs not in _MEMO:
        result = build()
        if not result.ok:
            raise RubricateError("the knowledge base does not build cleanly; run `rubricate build` to see why")
        _MEMO.clear()
        _MEMO[inputs] = result.graph
    return _MEMO[inputs]


def report_lines(r: PipelineResult) -> list[str]:
    b = r.build
    lines = [f"error: {e}" for e in b.errors]
    lines += [f"warning: {w}" for w in b.warnings]
    lines += [f"error: {c.doc_id}: no passage supports {c.principle} (study cell without text)"
              for c in b.unsupported]
    lines += [f"violation: {v}" for v in r.validation.violations]
    lines += review_lines(r)
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


def review_lines(r: PipelineResult) -> list[str]:
    """One line each: decisions awaiting adjudication, re-anchored, and needing re-review."""
    lines = []
    if r.review is not None and r.review.pending:
        n = len(r.review.pending)
        lines.append(f"warning: {n} decision(s) await adjudication (reviewers disagree; policy "
                     f"{r.review.policy}): `rubricate review adjudicate --adjudicator NAME --out DIR`")
    done = [x for x in r.build.reanchored if x.status != "lost"]
    lost = [x for x in r.build.reanchored if x.status == "lost"]
    if done:
        fuzzy = [x for x in done if x.status == "fuzzy"]
        low = f", lowest score {min(x.score for x in fuzzy):.2f}" if fuzzy else ""
        lines.append(f"re-anchored {len(done)} reviewed decision(s) of earlier editions onto the current text "
                     f"({len(done) - len(fuzzy)} exact, {len(fuzzy)} fuzzy{low}; "
                     f"{sum(x.moved for x in done)} moved page or section), reviewers kept")
    if lost:
        docs = ", ".join(sorted({x.link.doc_id for x in lost}))
        where = r.paths.get("rereview")
        lines.append(f"warning: {len(lost)} reviewed decision(s) of {docs} could not be re-anchored on the new "
                     f"edition and need re-review" + (f": {where}" if where else " (sheet written with the build)"))
    return lines
