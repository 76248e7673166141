"""Measure each judge's agreement with labels, per criterion of a rubric: the calibration block.

Labels come from people (label files, several labellers) or from a reference judge (a results
folder). The reference a judge is compared with is one source, or the majority of several
(units where they tie are left out). Per criterion and judge: n, Cohen's kappa and macro F1
with seeded bootstrap CIs, accuracy, the confusion matrix. Where two or more people labelled
the same units, their agreement with each other is stored beside the judge's as the ceiling
(Cohen's kappa for two, Krippendorff's alpha for more); several reference judges' agreement
with each other is stored as ``references_agree``, never as the ceiling. A judge answer other
than yes/no (unknown, uncertain, or any state a newer judge adds) stays in the figures as a
disagreement and shows as its own column of the confusion matrix; ``decided`` counts the
yes/no answers.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from rubricate.guidelines.kernel.agreement import agreement_with_ci, cohen_kappa_ci, krippendorff_alpha_ci
from rubricate.guidelines.kernel.errors import InputError
from rubricate.guidelines.kernel.fileio import sha256_file
from rubricate.guidelines.kernel.workspace import record_location
from rubricate.rubrics.contract.calibration import binding
from rubricate.rubrics.contract.model import Rubric
from rubricate.rubrics.evaluation.labels import ANSWERS, HUMAN, LabelSource, Unit
from rubricate.rubrics.evaluation.results import ResultsDir, iter_jsonl
from rubricate.rubrics.evaluation.runs import now_utc

OVERALL = "overall"


@dataclass
class JudgeRun:
    """The verdicts of one judge in one results folder, by unit."""

    name: str
    results: Path
    run_id: str | None
    versions: set[str]
    answers: dict[Unit, str]


def read_judges(results_dirs: list[Path], rubric: Rubric, notes: list[str]) -> list[JudgeRun]:
    """Every judge of the given results folders (a judge in two folders: the later one's verdicts win)."""
    judges: dict[str, JudgeRun] = {}
    for d in results_dirs:
        results = ResultsDir(Path(d))
        if not results.verdicts.is_file():
            raise InputError("not a results folder (no verdicts.jsonl)", path=str(d))
        manifest = json.loads(results.manifest.read_text(encoding="utf-8")) if results.manifest.is_file() else {}
        if manifest.get("rubric_id") not in (None, rubric.id):
            raise InputError(f"this run used rubric {manifest['rubric_id']!r}, not {rubric.id!r}", path=str(d))
        if manifest.get("rubric_sha256") and manifest["rubric_sha256"] != rubric.sha256:
            notes.append(f"{d}: the run's rubric file differs from {rubric.path} (same id); "
                         "its verdicts are calibrated against this rubric's criteria")
        for v in iter_jsonl(results.verdicts):
            if v.get("rubric_id") != rubric.id:
                raise InputError(f"verdict {v.get('verdict_id')} is for rubric {v.get('rubric_id')!r}, "
                                 f"not {rubric.id!r}", path=str(results.verdicts))
            j = judges.setdefault(v["judge"], JudgeRun(v["judge"], Path(d), manifest.get("run_id"), set(), {}))
            j.results, j.run_id = Path(d), manifest.get("run_id")
            j.versions.add(str(v.get("judge_version")))
            j.answers[(v["response_id"], v["criterion_id"])] = str(v.get("answer"))
    if not judges:
        raise InputError("no verdicts to calibrate in " + ", ".join(str(d) for d in results_dirs))
    return [judges[k] for k in sorted(judges)]


def reference_of(sources: list[LabelSource]) -> tuple[dict[Unit, str], str, list[LabelSource]]:
    """The reference label per unit, what it is, and the sources it was made from.

    People's labels are the reference when there are any; reference judges' otherwise (mixing
    the two kinds is refused: which would be the truth?). Several sources: the majority.
    """
    kinds = {s.kind for s in sources}
    if len(kinds) > 1:
        raise InputError("label sources of people and of a reference judge were both given; calibrate "
                         "against one kind at a time (" + ", ".join(f"{s.name}: {s.kind}" for s in sources) + ")")
    if len(sources) == 1:
        return dict(sources[0].answers), sources[0].name, sources
    votes: dict[Unit, Counter] = defaultdict(Counter)
    for s in sources:
        for unit, label in s.answers.items():
            votes[unit][label] += 1
    ref = {}
    for unit, c in votes.items():
        (top, n), *rest = c.most_common()
        if not rest or rest[0][1] < n:
            ref[unit] = top
    return ref, "majority of " + ", ".join(s.name for s in sources) + " (ties left out)", sources


def sources_agreement(people: list[LabelSource], units: set[Unit], n_resamples: int = 1000, seed: int = 0,
                      level: float = 0.95) -> dict | None:
    """Label sources' agreement with each other on ``units``: kappa for two, Krippendorff's alpha
    for more. Only sources that labelled some of ``units`` count (a criterion two of five
    labellers answered is a two-source scope)."""
    people = [p for p in people if any(u in p.answers for u in units)]
    if len(people) < 2:
        return None
    names = [p.name for p in people]
    if len(people) == 2:
        a, b = people
        shared = sorted(u for u in units if u in a.answers and u in b.answers)
        k = cohen_kappa_ci([a.answers[u] for u in shared], [b.answers[u] for u in shared],
                           n_resamples=n_resamples, seed=seed, level=level)
        return {"sources": names, "n": len(shared), "kappa": k["kappa"], "kappa_ci": [k["ci_low"], k["ci_high"]]}
    rows = [[p.answers.get(u) for p in people] for u in sorted(units)]
    rows = [r for r in rows if sum(x is not None for x in r) >= 2]
    if not rows:
        return {"sources": names, "n": 0, "alpha": None, "alpha_ci": [None, None]}
    a = krippendorff_alpha_ci(rows, n_resamples=n_resamples, seed=seed, level=level)
    return {"sources": names, "n": a["units"], "alpha": a["alpha"], "alpha_ci": [a["ci_low"], a["ci_high"]]}


def _scope(units: list[Unit], ref: dict[Unit, str], judges: list[JudgeRun], people: list[LabelSource],
           n_resamples: int, seed: int, level: float, references: list[LabelSource] = ()) -> dict:
    out: dict = {"labelled": sum(u in ref for u in units), "judges": {}}
    for j in judges:
        shared = [u for u in units if u in ref and u in j.answers]
        if not shared:
            continue
        stats = agreement_with_ci([ref[u] for u in shared], [j.answers[u] for u in shared],
                                  n_resamples=n_resamples, seed=seed, level=level)
        stats["decided"] = sum(j.answers[u] in ANSWERS for u in shared)
        out["judges"][j.name] = stats
    ceiling = sources_agreement(people, set(units), n_resamples, seed, level)
    if ceiling is not None:
        out["ceiling"] = ceiling
    # reference judges (or model readers) that agree poorly with each other make a shaky
    # reference: shown, but never as the ceiling, which is people's
    together = sources_agreement(list(references), set(units), n_resamples, seed, level)
    if together is not None:
        out["references_agree"] = together
    return out


def calibrate(rubric: Rubric, sources: list[LabelSource], results_dirs: list[Path], out_path: Path,
              n_resamples: int = 1000, seed: int = 0, level: float = 0.95,
              reported_ceiling: dict | None = None) -> tuple[dict, list[str]]:
    """The calibration document for ``rubric`` (schema/calibration.schema.json) and notes."""
    notes: list[str] = []
    if not sources:
        raise InputError("no label sources given")
    for s in sources:
        unknown = {cid for _, cid in s.answers if cid not in rubric.criteria}
        if unknown:
            notes.append(f"{s.name}: {len(unknown)} criterion id(s) not in rubric {rubric.id} left out "
                         f"(e.g. {sorted(unknown)[0]})")
            s.answers = {u: v for u, v in s.answers.items() if u[1] in rubric.criteria}
    ref, ref_name, ref_sources = reference_of(sources)
    if not ref:
        raise InputError(f"no yes/no label for any criterion of rubric {rubric.id} in the label sources")
    judges = read_judges(results_dirs, rubric, notes)
    people = [s for s in ref_sources if s.kind == HUMAN]
    references = [s for s in ref_sources if s.kind != HUMAN]
    by_criterion: dict[str, list[Unit]] = defaultdict(list)
    all_units = sorted(set(ref) | {u for s in ref_sources for u in s.answers})
    for u in all_units:
        by_criterion[u[1]].append(u)
    unjudged = sum(1 for u in ref if not any(u in j.answers for j in judges))
    if unjudged:
        notes.append(f"{unjudged} labelled unit(s) have no verdict in the results given (left out)")
    base = Path(out_path).parent
    doc = {
        "schema_version": "1.0", **binding(rubric.data), "rubric_sha256": rubric.sha256, "created": now_utc(),
        "bootstrap": {"n_resamples": n_resamples, "seed": seed, "level": level},
        "reference": ref_name,
        "label_sources": [{"name": s.name, "kind": s.kind, "file": record_location(s.file, base),
                           "sha256": sha256_file(s.file) if s.file.is_file() else None, "labels": len(s.answers)}
                          for s in sources],
        "judges": [{"name": j.name, "versions": sorted(j.versions), "results": record_location(j.results, base),
                    "run_id": j.run_id} for j in judges],
        "criteria": {},
        "overall": _scope(all_units, ref, judges, people, n_resamples, seed, level, references),
    }
    for cid in sorted(by_criterion):
        scope = _scope(by_criterion[cid], ref, judges, people, n_resamples, seed, level, references)
        doc["criteria"][cid] = {"item_id": rubric.criterion_item[cid], **scope}
    if reported_ceiling:
        doc["reported_ceiling"] = reported_ceiling
    return doc, notes


def _fmt(x) -> str:
    return "  n/a" if x is None else f"{x:5.2f}"


def _ci(ci) -> str:
    return "" if not ci or ci[0] is None else f" [{ci[0]:.2f}, {ci[1]:.2f}]"


def render(doc: dict) -> str:
    """A terminal table: per criterion and judge, n, kappa and macro F1 with CIs, and the ceiling."""
    lines = [f"calibration of {doc['rubric_id']} v{doc['rubric_version']} (KB {doc['kb_sha256'][:12]}) "
             f"against {doc['reference']}", ""]
    rows = list(doc["criteria"].items()) + [("OVERALL", doc["overall"])]
    w = max(len(cid) for cid, _ in rows)
    lines.append(f"{'criterion':{w}} {'judge':10} {'n':>4} {'kappa [95% CI]':>22} {'macro F1 [95% CI]':>22}  people")
    refs = False
    for cid, scope in rows:
        c, r = scope.get("ceiling"), scope.get("references_agree")
        ceiling = _agree(c) if c else ("refs " + _agree(r) if r else "")
        refs = refs or (not c and bool(r))
        if not scope["judges"]:
            lines.append(f"{cid:{w}} {'-':10} {0:>4} {'(no verdicts)':>22} {'':>22}  {ceiling}")
        for name, s in scope["judges"].items():
            lines.append(f"{cid:{w}} {name:10} {s['n']:>4} {(_fmt(s['kappa']) + _ci(s['kappa_ci'])):>22} "
                         f"{(_fmt(s['macro_f1']) + _ci(s['macro_f1_ci'])):>22}  {ceiling}")
    if refs:
        lines.append("\nrefs: the reference sources' agreement with each other (reference judges, not people: "
                     "no ceiling)")
    if doc.get("reported_ceiling"):
        r = doc["reported_ceiling"]
        lines.append(f"\nreported agreement between people: kappa {r['kappa']:.2f} ({r['source']})")
    return "\n".join(lines) + "\n"


def _agree(c: dict) -> str:
    """Sources' agreement with each other for the terminal: "kappa 0.81 [0.70, 0.90] (n=40)"."""
    val, ci = (c.get("kappa"), c.get("kappa_ci")) if "kappa" in c else (c.get("alpha"), c.get("alpha_ci"))
    return f"{'kappa' if 'kappa' in c else 'alpha'} {_fmt(val).strip()}{_ci(ci)} (n={c['n']})"
