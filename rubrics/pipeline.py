"""`rubricate run`: the main job end to end, on the bundled data or the user's.

knowledge base -> rubrics -> offline evaluation of responses -> HTML report. Each step is
the same code the single commands run; this module only orders them. Every run gets a folder
of its own, ``<out>/runs/<run id>/`` (verdicts, summary, run.json and its report), so a re-run
never overwrites or mixes with an earlier one; `rubricate runs <out>` lists them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.compiler.compile import DEFAULT_FILE, compile_all, stale_files, write_rubrics
from rubricate.ontology.kb import build, report_lines
from rubricate.rubrics.contract.loader import RUBRICS_DIR, find_rubric, load_rubric
from rubricate.rubrics.evaluation.evaluate import evaluate, rules_judge
from rubricate.rubrics.evaluation.runs import new_run_dir
from rubricate.rubrics.report import write_report

DEFAULT_RESPONSES = RUBRICS_DIR / "samples" / "default_responses.jsonl"


@dataclass
class RunResult:
    out: Path
    rubric: Path
    results: Path
    summary: dict
    report: dict
    notes: list[str] = field(default_factory=list)


def run_main(out: Path, responses: Path | None = None, rubric: Path | None = None,
             judges_for: Callable | None = None, step: Callable[[str], None] = lambda s: None,
             progress: Callable[[int], None] | None = None,
             check: Callable[[dict], None] | None = None) -> RunResult:
    """Build, compile, evaluate and report; ``check(summary)`` runs before the report (the
    CLI exits there when nothing was judged)."""
    out = Path(out)
    notes: list[str] = []
    if rubric is None:
        step("building the knowledge base")
        kb = build(out=out / "kb")
        if not kb.ok:
            raise RubricateError("knowledge base build failed: " + "; ".join(
                l for l in report_lines(kb) if l.startswith(("error", "violation")))[:500])
        step("compiling rubrics")
        files = compile_all(kb.graph)
        write_rubrics(files, out / "rubrics")
        rubric = out / "rubrics" / DEFAULT_FILE
        used = find_rubric().parent  # what other commands read by default: the workspace's, else the bundled
        if stale_files(files, used):
            notes.append(f"the rubrics in {used} differ from this compile; `rubricate compile` writes them to "
                         "the workspace's build/rubrics")
    loaded = load_rubric(rubric)
    responses = Path(responses or DEFAULT_RESPONSES)
    results = new_run_dir(out / "runs")
    step(f"evaluating {responses}")
    with (judges_for(loaded) if judges_for else rules_judge(loaded)) as judge:
        summary = evaluate(loaded, responses, results, judge, progress=progress, run_id=results.name)
    if check:
        check(summary)
    step("writing the report")
    paths = write_report(results, results / "report", rubric=loaded)
    return RunResult(out, Path(rubric), results, summary, paths, notes)
