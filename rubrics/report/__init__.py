"""The evaluation report of a results folder: report.html (self-contained), report.md and plots.

``write_report(results_dir)`` reads verdicts.jsonl, summary.json and run.json, reopens the
rubric and responses file named in run.json (saying so when they moved or changed), and
writes everything atomically into ``out_dir`` (default: RESULTS/report).
"""
from __future__ import annotations

from pathlib import Path

from rubricate.guidelines.kernel.fileio import atomic_write_text
from rubricate.guidelines.kernel.safepath import confined, safe_name
from rubricate.rubrics.report.data import MAX_FAILURES, MIN_KAPPA, ReportData, load_report_data
from rubricate.rubrics.report.html import render_html
from rubricate.rubrics.report.markdown import render_markdown
from rubricate.rubrics.report.plots import write_rate_plot
from rubricate.rubrics.report.tables import agreement_tables, judge_tables, run_tables
from rubricate.rubrics.contract.model import Rubric

__all__ = ["write_report", "write_report_data", "load_report_data", "ReportData", "MAX_FAILURES"]


def _slug(name: str) -> str:
    return safe_name(name, "judge").replace(".", "-")


def write_report(results_dir: Path | str, out_dir: Path | str | None = None,
                 rubric: Rubric | Path | str | None = None, responses: Path | str | None = None,
                 max_failures: int = MAX_FAILURES, calibration: Path | str | None = None,
                 min_kappa: float | None = MIN_KAPPA) -> dict[str, Path]:
    """Write the report; return its files: "html", "markdown", "png:<judge>", "svg:<judge>".

    ``rubric`` (a Rubric or a path) / ``responses`` override the files recorded in run.json
    (e.g. after a move). ``calibration``: the rubric's calibration file (default: the
    workspace's); criterion rates whose judge's kappa is below ``min_kappa`` are greyed out. Problems with those files are stated in the report's header; to
    print them too, call ``load_report_data`` and ``write_report_data`` (as the CLI does).
    """
    data = load_report_data(results_dir, rubric=rubric, responses=responses, max_failures=max_failures,
                            calibration=calibration, min_kappa=min_kappa)
    return write_report_data(data, Path(out_dir) if out_dir else data.results_dir / "report")


def write_report_data(data: ReportData, out: Path) -> dict[str, Path]:
    """Render already-loaded data into ``out`` (lets callers show ``data.warnings`` first)."""
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    judges = [j for j in data.summary.get("judges", []) if j in data.summary.get("by_judge", {})]
    plots = {}
    for judge in judges:
        section = data.summary["by_judge"][judge]
        conds = [c for c in data.condition_order() if c in section.get("by_condition", {})]
        conds += sorted(c for c in section.get("by_condition", {}) if c not in conds)
        labels = {c: data.condition_label(c) for c in conds}
        title = f"Appropriate responses by condition and model (judge: {judge})"
        plots[judge] = write_rate_plot(section, conds, labels, title, confined(out, f"appropriate_rate_{_slug(judge)}"))
        for ext, (path, _) in plots[judge].items():
            paths[f"{ext}:{judge}"] = path
    jt = [judge_tables(data, j) for j in judges]
    rt, at = run_tables(data), agreement_tables(data)
    html_path, md_path = out / "report.html", out / "report.md"
    atomic_write_text(html_path, render_html(data, jt, rt, plots, at))
    atomic_write_text(md_path, render_markdown(data, jt, rt, {j: f["png"][0].name for j, f in plots.items()},
                                               html_name=html_path.name, agreement_tables=at))
    paths["html"], paths["markdown"] = html_path, md_path
    return paths
