"""Write a stigma summary as JSON, CSV and a text table (atomically), plus per-row codes.

Why separate from scoring: the summary dict (rubrics.stigma.summarize) is the one result;
these are its renderings, each written to a temp file and moved into place so an
interrupted run never leaves a half-written result.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from rubricate.guidelines.kernel.fileio import atomic_write_text
from rubricate.guidelines.kernel.workspace import record_location
from rubricate.rubrics.stigma.rubric import load_stigma_rubric
from rubricate.rubrics.stigma.baseline import load_baseline
from rubricate.rubrics.stigma.score import ScoreRun, detect_instrument, score_outputs, summarize

CSV_FIELDS = ["model", "condition", "question_id", "question_label", "group", "measure",
              "n", "n_missing", "estimate", "ci_low", "ci_high", "human"]
AVG_ID = "avg-stigma"


def to_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:.4f}"


def csv_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Long format: one row per model x condition x question x measure (+ averages, humans)."""
    rows = []
    for c in summary["cells"]:
        measures = [("agree", c["agree"])] + ([("stigma", c["stigma"])] if c["stigma"] else [])
        for measure, s in measures:
            human = (c["human"] or {}).get(measure)
            rows.append({"model": c["model"], "condition": c["condition"],
                         "question_id": c["question"], "question_label": c["label"],
                         "group": c["group"], "measure": measure, "n": s["n"],
                         "n_missing": s["n_missing"], "estimate": _fmt(s["estimate"]),
                         "ci_low": _fmt(s["ci_low"]), "ci_high": _fmt(s["ci_high"]),
                         "human": _fmt(human)})
    for a in summary["average_stigma"]:
        rows.append({"model": a["model"], "condition": a["condition"], "question_id": AVG_ID,
                     "question_label": "average of stigma questions", "group": "stigma",
                     "measure": "stigma", "n": a["n"], "n_missing": a["n_missing"],
                     "estimate": _fmt(a["estimate"]), "ci_low": _fmt(a["ci_low"]),
                     "ci_high": _fmt(a["ci_high"]),
                     "human": _fmt((a["human"] or {}).get("estimate"))})
    return rows


def to_csv(summary: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(summary))
    return buf.getvalue()


def _cell_text(s: dict[str, Any] | None) -> str:
    if not s or s["estimate"] is None:
        return f"n/a (n={s['n'] if s else 0})"
    return f"{s['estimate']:.2f} [{s['ci_low']:.2f}, {s['ci_high']:.2f}] n={s['n']}"


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = lambda r: "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()  # noqa: E731
    return [fmt(header), "  ".join("-" * w for w in widths), *map(fmt, rows)]


def to_table(summary: dict[str, Any]) -> str:
    """Plain-text tables: average of stigma questions, then each question, humans beside."""
    conds = summary["conditions"]
    boot = summary["bootstrap"]
    human_label = (summary.get("baseline") or {}).get("label", "Humans")
    lines = [f"Stigma - instrument {summary['instrument']['id']}, parser {summary['parser']}, "
             f"{boot['level']:.0%} bootstrap CI ({boot['n_resamples']} resamples, seed "
             f"{boot['seed']}); {summary['input']['n_scored']} outputs scored, "
             f"{summary['input']['n_skipped']} lines skipped", ""]
    header = ["model", *(c["label"] for c in conds)]
    if summary["average_stigma"]:
        lines.append("Average of stigma questions (share of answers expressing stigma)")
        avg = {(a["model"], a["condition"]): a for a in summary["average_stigma"]}
        rows = [[m, *(_cell_text(avg.get((m, c["id"]))) for c in conds)]
                for m in summary["models"]]
        if summary.get("baseline"):
            human = {a["condition"]: a["human"] for a in summary["average_stigma"]
                     if a["human"]}
            rows.append([human_label, *(f"{human[c['id']]['estimate']:.2f}"
                                        if c["id"] in human else "-" for c in conds)])
        lines += _grid(header, rows) + [""]
    cells = {(c["model"], c["condition"], c["question"]): c for c in summary["cells"]}
    for q in summary["questions"]:
        measure = "stigma" if q["stigma_when"] else "agree"
        rule = {"disagree": "stigma = unwilling (1 - code)",
                "agree": "stigma = agreeing (code)"}.get(q["stigma_when"] or "",
                                                        "share agreeing; not a stigma question")
        lines.append(f"{q['id']} ({q['label']}; {q['group']}): {rule}")
        rows = [[m, *(_cell_text((cells.get((m, c["id"], q["id"])) or {}).get(measure))
                      for c in conds)] for m in summary["models"]]
        if summary.get("baseline"):
            human = {x["condition"]: x["human"].get(measure) for x in summary["cells"]
                     if x["question"] == q["id"] and x["human"]}
            rows.append([human_label, *("-" if human.get(c["id"]) is None
                                        else f"{human[c['id']]:.2f}" for c in conds)])
        lines += _grid(header, rows) + [""]
    base = summary.get("baseline")
    if base:
        unmatched = "; ".join(f"line {u['line']} {u['row'][:40]!r} ({u['reason']})"
                              for u in base["unmatched"]) or "none"
        lines.append(f"Baseline {base['path']} (scale: {base['scale']}): "
                     f"{len(base['matches'])} rows matched, unmatched: {unmatched}")
    parse = summary["parse"]
    lines.append("Parsing: " + "; ".join(
        f"{m}: " + ", ".join(f"{k} {v}" for k, v in sorted(parse[m].items()))
        for m in summary["models"]))
    return "\n".join(lines).rstrip() + "\n"


def rows_jsonl(run: ScoreRun) -> str:
    return "".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in run.rows)


def write_results(summary: dict[str, Any], run: ScoreRun, out_dir: str | Path,
                  plot: bool = True) -> list[Path]:
    """Write summary JSON/CSV/table, per-row codes and (optionally) figures; return paths."""
    out = Path(out_dir)
    written = []
    for name, text in (("stigma_summary.json", to_json(summary)),
                       ("stigma_summary.csv", to_csv(summary)),
                       ("stigma_table.txt", to_table(summary)),
                       ("stigma_rows.jsonl", rows_jsonl(run))):
        atomic_write_text(out / name, text)
        written.append(out / name)
    if plot:
        from rubricate.rubrics.stigma.plot import plot_average, plot_questions  # start-up time: matplotlib only when plotting
        written += plot_average(summary, out / "stigma")
        if any(q["stigma_when"] for q in summary["questions"]):
            written += plot_questions(summary, out / "stigma_questions")
    return written


def score_and_write(outputs: str | Path, out_dir: str | Path | None, *, instrument: str = "auto",
                    anchor: str | Path | None = None, baseline: str | Path | None = None,
                    baseline_scale: str = "reported", parser: str = "tolerant",
                    strict: bool = False, n_resamples: int = 1000, seed: int = 0,
                    plot: bool = True) -> tuple[dict[str, Any], ScoreRun, list[Path]]:
    """What ``rubricate stigma score`` does: score, summarise, write (when ``out_dir``).

    ``instrument`` names the stigma rubric whose questions and coding are used
    (rubrics/stigma/rubric.py), or ``auto`` to detect it from the outputs.
    """

    inst = (detect_instrument(outputs, anchor) if instrument == "auto"
            else load_stigma_rubric(instrument, anchor).instrument)
    run = score_outputs(outputs, inst, parser=parser, strict=strict)
    base = load_baseline(baseline, inst, scale=baseline_scale) if baseline else None
    summary = summarize(run, base, n_resamples=n_resamples, seed=seed)
    if out_dir is not None:  # files named relative to the results folder: no machine path written
        shown = record_location(outputs, Path(out_dir))
        summary["input"]["path"] = shown
        summary["input"]["problems"] = [p.replace(str(outputs), shown, 1) for p in summary["input"]["problems"]]
        if summary.get("baseline"):
            summary["baseline"]["path"] = record_location(baseline, Path(out_dir))
    written = write_results(summary, run, out_dir, plot=plot) if out_dir is not None else []
    return summary, run, written
