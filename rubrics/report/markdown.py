"""The Markdown summary (report.md): the same tables as the HTML report and a list of failures.

Why escape here too: Markdown viewers render inline HTML and links, so model names, ids and
texts from the input are HTML-escaped and stripped of the characters that make tables or links.
"""
from __future__ import annotations

from html import escape
from urllib.parse import quote

from rubricate.guidelines.kernel.textsafe import mark_unsafe

from rubricate.rubrics.report.data import DEMO_NOTE, ReportData
from rubricate.rubrics.report.tables import JudgeTables, Table, calibration_line


def md(value) -> str:
    """Text safe inside a Markdown table cell or list item."""
    text = escape(mark_unsafe("" if value is None else str(value)), quote=False)
    for ch in ("\\", "|", "[", "]", "*", "_", "`"):
        text = text.replace(ch, "\\" + ch)
    return " ".join(text.split())


def render_table(t: Table) -> str:
    lines = [f"#### {md(t.title)}", "", "| " + " | ".join(md(c) for c in t.columns) + " |",
             "|" + "|".join("---:" if num else "---" for num in t.numeric) + "|"]
    for row in t.rows:
        lines.append("| " + " | ".join(md(v.replace("\n", " ")) for v in row) + " |")
    if not t.rows:
        lines.append("| " + " | ".join(["(none)"] + [""] * (len(t.columns) - 1)) + " |")
    if t.note:
        lines += ["", f"_{md(t.note)}_"]
    return "\n".join(lines) + "\n"


def render_markdown(data: ReportData, judge_tables: list[JudgeTables], run_tables: list[Table],
                    plot_files: dict[str, str], html_name: str = "report.html",
                    agreement_tables: list[Table] = ()) -> str:
    r, s = data.rubric_data, data.summary
    rid = r.get("rubric_id") or data.manifest.get("rubric_id") or s.get("rubric_id") or "unknown rubric"
    kb = (r.get("knowledge_base") or {}).get("sha256") or "unknown"
    n_skipped = (s.get("skipped_input") or {}).get("count", len(data.problems))
    out = [f"# Evaluation report: {md(r.get('title') or rid)}", "",
           f"- Rubric: {md(rid)} version {md(r.get('version') or 'unknown')}",
           f"- Knowledge base SHA-256: {md(kb)}",
           "- Judges: " + ("; ".join(f"{md(j)} ({', '.join(md(x) for x in vs)})"
                                      for j, vs in data.judge_versions.items()) or "none"),
           f"- Rubric file SHA-256: {md(data.rubric_source.recorded_sha256 or 'unknown')}",
           f"- Responses: {s.get('responses', 0):,}; criterion verdicts: {s.get('verdicts', 0):,}; failed criteria: "
           f"{data.n_failures:,}; unknown answers: {data.n_unknown:,}; uncertain (the offline judge abstained): "
           f"{data.n_uncertain:,}; skipped input lines: {n_skipped:,}",
           *(f"- **{md(line)}**" for line in data.overview_lines()),
           f"- Calibration: {md(calibration_line(data))}",
           f"- Full report with highlighted evidence and guideline passages: [{md(html_name)}]({html_name})", ""]
    if data.demo:
        out += [f"> **Demo:** {md(DEMO_NOTE)}", ""]
    for w in data.warnings:
        out.append(f"> **Warning:** {md(w)}")
        out.append("")
    for judge, name in plot_files.items():
        out += [f"![Appropriate-response rate by condition and model, judge {md(judge)}]({name})", ""]
    out += ["## Summary tables", ""]
    for jt in judge_tables:
        out += [f"### Judge: {md(jt.judge)}", ""] + [render_table(t) for t in jt.tables]
    if agreement_tables:
        out += ["## Judge agreement by criterion", "",
                f"Each judge's answers against {md(data.calibration['reference'])}: Cohen's κ and macro F1 with 95% "
                "bootstrap CIs, and people's agreement with each other (the ceiling).", ""]
        out += [render_table(t) for t in agreement_tables]
    out += ["## Judges, flags and input", ""] + [render_table(t) for t in run_tables]
    out += [f"## Failures ({data.n_failures:,})", ""]
    if data.n_failures > len(data.failures):
        out += [f"Showing the {len(data.failures):,} most severe of {data.n_failures:,} (within a severity, spread "
                "over criteria, models and judges); the others are in verdicts.jsonl (appropriate = false).", ""]
    for f in data.failures:
        v = f.verdict
        vid = md(f.anchor)
        out.append(f"- [{vid}]({html_name}#{quote(f.anchor, safe='-_.')}) **{md(f.severity or 'severity n/a')}** "
                   f"{md(v.get('model'))} · {md(v.get('criterion_id'))}: {md(v.get('question'))} "
                   f"answered {md(v.get('answer'))} (appropriate: {md(v.get('appropriate_answer'))})")
    if not data.n_failures:
        out.append("No verdict marked a response inappropriate.")
    return "\n".join(out).rstrip() + "\n"
