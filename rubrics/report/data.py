"""Gather what a report shows from a results folder: summary, counts, and the failures to detail.

Why one pass: verdicts.jsonl can hold millions of lines, so it is streamed once; the failures
worth a page are picked with a bounded heap (most severe first) and only their response
lines are then read back from the responses file.
"""
from __future__ import annotations

import heapq
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import sha256_file
from rubricate.guidelines.kernel.paths import package_path
from rubricate.rubrics.evaluation.responses import Response, read_responses
from rubricate.rubrics.evaluation.results import ResultsDir, iter_jsonl
from rubricate.rubrics.contract.calibration import calibration_path, find_calibration
from rubricate.rubrics.contract.loader import load_rubric
from rubricate.rubrics.contract.model import Rubric
from rubricate.rubrics.evaluation.run_inputs import SourceFile, locate
from rubricate.rubrics.evaluation.summary import summarize

MAX_FAILURES = 200
MIN_KAPPA = 0.6  # below this kappa against labels, a criterion's rate is greyed out in the report
SEVERITY_RANK = {"critical": 0, "major": 1, "minor": 2}


@dataclass
class Failure:
    """One verdict with appropriate == false, joined with everything needed to read it."""

    verdict: dict
    criterion: dict | None = None
    item: dict | None = None
    principle: dict | None = None
    citations: list[dict] = field(default_factory=list)
    response: Response | None = None
    text_problem: str | None = None   # why the shown text may not be the judged one

    @property
    def severity(self) -> str | None:
        return (self.criterion or {}).get("severity")

    @property
    def anchor(self) -> str:
        return str(self.verdict.get("verdict_id", ""))


@dataclass
class ReportData:
    results_dir: Path
    manifest: dict
    summary: dict
    rubric: Rubric | None
    rubric_source: SourceFile
    responses_source: SourceFile
    warnings: list[str]
    judge_versions: dict[str, dict[str, int]]
    n_failures: int
    n_unknown: int
    failures: list[Failure]
    problems: list[dict]
    calibration: dict | None = None     # the rubric's calibration block (rubricate calibrate), if any
    calibration_file: Path | None = None
    min_kappa: float | None = None      # criterion rates whose judge's kappa is below are greyed out

    def judge_agreement(self, judge: str, criterion_id: str) -> dict | None:
        """The judge's measured agreement on a criterion (calibration block), if measured."""
        scope = ((self.calibration or {}).get("criteria") or {}).get(criterion_id) or {}
        return (scope.get("judges") or {}).get(judge)

    def below_min_kappa(self, judge: str, criterion_id: str) -> bool:
        return self.kappa_below_min(self.judge_agreement(judge, criterion_id))

    def kappa_below_min(self, agreement: dict | None) -> bool:
        """Whether measured agreement figures fall below the kappa the report greys out under."""
        a = agreement
        return bool(self.min_kappa is not None and a and a.get("kappa") is not None and a["kappa"] < self.min_kappa)
    n_uncertain: int = 0
    demo: bool = False   # the bundled demo responses: the report says what that shows and what not

    @property
    def rubric_data(self) -> dict:
        return self.rubric.data if self.rubric else {}

    def overview_lines(self) -> list[str]:
        """Per judge, responses kept apart from criterion verdicts: "67 failed criteria in 34
        inappropriate responses of 60 (judge rules)"."""
        out = []
        n = int(self.summary.get("responses") or 0)
        for judge, sec in (self.summary.get("by_judge") or {}).items():
            if "criteria_failed" not in sec:
                continue  # a summary written before these counts existed
            out.append(f"{sec['criteria_failed']:,} failed criteria in {sec['responses_inappropriate']:,} "
                       f"inappropriate responses of {n:,} (judge {judge})")
        return out

    def provenance(self) -> str:
        """Which knowledge base, rubric and judge versions produced the results (hashes)."""
        r = self.rubric_data
        kb = (r.get("knowledge_base") or {}).get("sha256") or "unknown"
        rid = r.get("rubric_id") or self.manifest.get("rubric_id") or "unknown rubric"
        sha = self.rubric_source.recorded_sha256 or "unknown"
        judges = "; ".join(f"{j} {', '.join(vs)}" for j, vs in self.judge_versions.items()) or "none"
        return (f"knowledge base sha256 {kb}; rubric {rid} v{r.get('version') or '?'} (file sha256 {sha}); "
                f"judge {judges}")

    def condition_label(self, cid: str) -> str:
        for c in self.rubric_data.get("conditions") or []:
            if isinstance(c, dict) and c.get("id") == cid and c.get("label"):
                return str(c["label"])
        if not cid or cid == "-":
            return "(none)"
        if len(cid) <= 4 and cid.isalpha():  # an acronym such as "ocd" or "ptsd"
            return cid.upper()
        words = cid.replace("-", " ").replace("_", " ")
        return words[:1].upper() + words[1:]

    def principle_label(self, pid: str) -> str | None:
        p = self.rubric.principle(pid) if self.rubric else None
        return p.get("label") if p else None

    def condition_order(self) -> list[str]:
        """Conditions in the rubric's item order (then any others, sorted)."""
        order: list[str] = []
        for item in self.rubric_data.get("items", []):
            c = item.get("condition")
            if c and c not in order:
                order.append(c)
        return order


def _severity_key(v: dict, rubric: Rubric | None, nth: int) -> tuple:
    """Most severe first; within a severity, the n-th failure of each criterion x model x judge
    comes before any (n+1)-th, so a capped report still shows every kind of failure."""
    c = rubric.criteria.get(v.get("criterion_id")) if rubric else None
    rank = SEVERITY_RANK.get((c or {}).get("severity"), len(SEVERITY_RANK))
    return (rank, -abs(float((c or {}).get("points") or 0)), nth, int(v.get("response_line") or 0),
            str(v.get("criterion_id")), str(v.get("judge")), str(v.get("verdict_id")))


def _load_rubric(rubric: Rubric | Path | str | None, manifest: dict, results_dir: Path,
                 warnings: list[str]) -> tuple[Rubric | None, SourceFile]:
    if isinstance(rubric, Rubric):
        src = SourceFile("rubric", manifest.get("rubric_path"), manifest.get("rubric_sha256"),
                         rubric.path, rubric.sha256)
        loaded: Rubric | None = rubric
    else:
        src = locate("rubric", manifest.get("rubric_path"), manifest.get("rubric_sha256"), results_dir, rubric)
        loaded = load_rubric(src.path, validate=False) if src.path else None
    msg = src.warning("criterion texts, principles, stimuli and guideline passages are not shown "
                      "(pass --rubric PATH)",
                      "criterion texts and guideline passages are shown from the current file and may "
                      "differ from those the verdicts were made with")
    if msg:
        warnings.append(msg)
    if loaded is not None and manifest.get("rubric_id") and loaded.id != manifest["rubric_id"]:
        warnings.append(f"rubric {loaded.path} has id {loaded.id!r} but the run used {manifest['rubric_id']!r}")
    return loaded, src


def _scan(verdicts: Iterator[dict], rubric: Rubric | None, limit: int, counts: dict,
          versions: dict[str, Counter]) -> list[dict]:
    """Count failures/unknowns and judge versions; return the ``limit`` most severe failures."""
    seen: Counter = Counter()

    def failures() -> Iterator[tuple]:
        for v in verdicts:
            versions[str(v.get("judge"))][str(v.get("judge_version"))] += 1
            if v.get("answer") == "uncertain":
                counts["uncertain"] += 1
            elif v.get("appropriate") is None:
                counts["unknown"] += 1
            elif v.get("appropriate") is False:
                counts["failures"] += 1
                group = (v.get("criterion_id"), v.get("model"), v.get("judge"))
                seen[group] += 1
                yield _severity_key(v, rubric, seen[group]), v
    stream = failures()
    picked = heapq.nsmallest(limit, stream, key=lambda kv: kv[0])
    for _ in stream:  # nsmallest(0, ...) reads nothing: finish the counts
        pass
    return [v for _, v in picked]


def _responses_by_line(src: SourceFile, lines: set[int], aliases: dict[str, str]) -> dict[int, Response]:
    """Responses at the given lines; ids derive as in evaluate (stimulus ids mapped to items)."""
    if src.path is None or not lines:
        return {}
    out: dict[int, Response] = {}
    for rec in read_responses(src.path, None, aliases):
        if isinstance(rec, Response) and rec.line in lines:
            out[rec.line] = rec
            if len(out) == len(lines):
                break
    return out


def _join(v: dict, rubric: Rubric | None, responses: dict[int, Response], src: SourceFile) -> Failure:
    f = Failure(v)
    if rubric is not None:
        f.criterion = rubric.criteria.get(v.get("criterion_id"))
        f.item = rubric.items.get(v.get("item_id"))
        f.principle = rubric.principle(v.get("principle")) if v.get("principle") else None
        full = {c.get("passage"): c for c in (f.criterion or {}).get("citations", [])}
        f.citations = [full.get(pid) or {"passage": pid} for pid in v.get("citations") or []]
    else:
        f.citations = [{"passage": pid} for pid in v.get("citations") or []]
    line = v.get("response_line")
    if src.path is None:
        f.text_problem = "response text unavailable: the responses file was not found"
    elif line not in responses:
        f.text_problem = f"response text unavailable: line {line} of {src.name} holds no valid response now"
    else:
        f.response = responses[line]
        if f.response.response_id != v.get("response_id"):
            f.text_problem = (f"line {line} of the responses file now holds response {f.response.response_id!r}, "
                              f"not the judged {v.get('response_id')!r}: the text shown may not be the one judged")
        elif src.changed:
            f.text_problem = "the responses file changed since the run: check the text against the evidence"
    return f


def load_report_data(results_dir: Path | str, rubric: Rubric | Path | str | None = None,
                     responses: Path | str | None = None, max_failures: int = MAX_FAILURES,
                     calibration: Path | str | None = None, min_kappa: float | None = MIN_KAPPA) -> ReportData:
    """Read a results folder (and the files it was made from) into one ReportData.

    ``calibration``: the rubric's calibration file (default: the workspace's sidecar bound to
    the rubric's id, version and KB hash, when there is one)."""
    rdir = ResultsDir(Path(results_dir).resolve())
    if not rdir.verdicts.is_file():
        raise RubricateError("not a results folder (no verdicts.jsonl); run `rubricate evaluate` first",
                             path=str(rdir.path))
    warnings: list[str] = []
    try:
        manifest = json.loads(rdir.manifest.read_text(encoding="utf-8")) if rdir.manifest.is_file() else {}
    except json.JSONDecodeError as exc:
        raise RubricateError(f"not valid JSON: {exc.msg}", path=str(rdir.manifest), line=exc.lineno) from None
    if not manifest:
        warnings.append(f"no run.json in {rdir.path}: the rubric and responses files are unknown")
    loaded, rsrc = _load_rubric(rubric, manifest, rdir.path, warnings)
    resp_src = locate("responses", manifest.get("responses_path"), manifest.get("responses_sha256"),
                      rdir.path, responses)
    msg = resp_src.warning("response texts are not shown (pass --responses PATH)",
                           "response texts are read from the current file and may not be the ones judged")
    if msg:
        warnings.append(msg)
    problems = list(iter_jsonl(rdir.problems))
    if rdir.summary.is_file():
        try:
            summary = json.loads(rdir.summary.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise RubricateError(f"not valid JSON: {exc.msg}", path=str(rdir.summary), line=exc.lineno) from None
    else:
        warnings.append("no summary.json (interrupted run?): the summary was recomputed from verdicts.jsonl")
        summary = summarize(iter_jsonl(rdir.verdicts), loaded.data if loaded else {}, problems)
    counts = {"failures": 0, "unknown": 0, "uncertain": 0}
    versions: dict[str, Counter] = defaultdict(Counter)
    picked = _scan(iter_jsonl(rdir.verdicts), loaded, max(0, max_failures), counts, versions)
    texts = _responses_by_line(resp_src, {int(v["response_line"]) for v in picked if v.get("response_line")},
                               loaded.aliases if loaded else {})
    cal, cal_file = None, None
    if loaded is not None:
        cal, note = find_calibration(loaded.data, Path(calibration) if calibration else None)
        if note:
            warnings.append(note)
        if cal is not None:
            cal_file = Path(calibration) if calibration else calibration_path(loaded.data)
    elif calibration:
        warnings.append(f"{calibration}: the rubric is not available, so its calibration is not shown")
    return ReportData(
        calibration=cal, calibration_file=cal_file, min_kappa=min_kappa,
        results_dir=rdir.path, manifest=manifest, summary=summary, rubric=loaded, rubric_source=rsrc,
        responses_source=resp_src, warnings=warnings,
        judge_versions={j: dict(c.most_common()) for j, c in sorted(versions.items())},
        n_failures=counts["failures"], n_unknown=counts["unknown"],
        failures=[_join(v, loaded, texts, resp_src) for v in picked], problems=problems,
        n_uncertain=counts["uncertain"], demo=is_demo(manifest))


DEMO_NOTE = ("This run scored the bundled demo responses (rubrics/samples/default_responses.jsonl). Their "
             "checks and samples were written by the same authors: the report shows that the pipeline works "
             "end to end, not that the offline judge is right. For how far the judge agrees with an "
             "independent judge on responses the rules were not written against, see the README "
             "(Agreement) and bench/agreement.py.")


def is_demo(manifest: dict) -> bool:
    """Whether the run judged the bundled demo responses (by their SHA-256, wherever the file was)."""
    sha = manifest.get("responses_sha256")
    demo = package_path("rubrics", "samples", "default_responses.jsonl")
    return bool(sha) and demo.is_file() and sha256_file(demo) == sha
