"""A run comparison as a terminal table, Markdown, and an HTML diff page in the report's style.

The HTML page is rendered by the report pages' jinja2 environment (``templating``: autoescaping,
control characters marked; every string from the runs, including model output quoted as
evidence, is data), under the same no-script Content-Security-Policy and stylesheet as the
evaluation report.
"""
from __future__ import annotations

import json
from pathlib import Path

from rubricate.guidelines.kernel.fileio import atomic_write_text
from rubricate.rubrics.contract.model import Rubric
from rubricate.rubrics.evaluation.compare import LEVELS, Comparison, Row, gate_line
from rubricate.rubrics.report.templating import render_page

MAX_LINKED = 5


def pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def signed(x: float | None) -> str:
    return "-" if x is None or x != x else f"{x * 100:+.1f} pt"


def _p(r: Row) -> str:
    return f"{r.p_adjusted:.3g}" + ("*" if r.significant else "")


def render_text(cmp: Comparison, levels: tuple[str, ...] = LEVELS, only_changed: bool = False) -> str:
    """Aligned tables per level; regressions marked with '!'."""
    out = [f"compare {cmp.rubric_id}: BASE {cmp.base}  NEW {cmp.new}  (judge {cmp.judge_base}"
           + (f" vs {cmp.judge_new})" if cmp.judge_new != cmp.judge_base else ")")]
    out += [f"note: {n}" for n in cmp.notes]
    for level in levels:
        rows = [r for r in cmp.rows if r.level == level and (not only_changed or r.significant)]
        if not rows:
            continue
        table = [(level, "BASE", "NEW", "diff", "95% CI", "p_adj", "n", "test")]
        for r in rows:
            test = f"paired -{r.flips_bad}/+{r.flips_good}" if r.paired else "unpaired"
            table.append((("! " if r.regression else "  ") + r.key, pct(r.rate_base), pct(r.rate_new),
                          signed(r.diff), f"{signed(r.ci_low)}..{signed(r.ci_high)}", _p(r), f"{r.n_base}/{r.n_new}",
                          test))
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        out.append("")
        for row in table:
            out.append("  ".join(c.ljust(w) if i in (0, 7) else c.rjust(w)
                                 for i, (c, w) in enumerate(zip(row, widths))).rstrip())
    out += ["", gate_line(cmp)]
    return "\n".join(out) + "\n"


def render_markdown(cmp: Comparison) -> str:
    out = [f"# Run comparison: `{cmp.rubric_id}`", "", f"- BASE: `{cmp.base}`", f"- NEW: `{cmp.new}`",
           f"- judge: `{cmp.judge_base}`" + (f" vs `{cmp.judge_new}`" if cmp.judge_new != cmp.judge_base else ""),
           f"- {cmp.correction}-adjusted p-values, alpha {cmp.alpha}, regression = significant drop >= "
           f"{cmp.max_drop:.0%}", "", f"**{gate_line(cmp)}**", ""]
    out += [f"> note: {n}" for n in cmp.notes]
    for level in LEVELS:
        rows = [r for r in cmp.rows if r.level == level]
        if not rows:
            continue
        out += ["", f"## By {level}", "", "| | BASE | NEW | NEW − BASE | 95% CI | p (adj.) | n | test |",
                "|---|---:|---:|---:|---:|---:|---:|---|"]
        for r in rows:
            key = r.key.replace("|", "\\|")
            test = f"paired: {r.flips_bad} worse, {r.flips_good} better" if r.paired else "unpaired"
            out.append(f"| {'**' + key + '** (regression)' if r.regression else key} | {pct(r.rate_base)} | "
                       f"{pct(r.rate_new)} | {signed(r.diff)} | {signed(r.ci_low)} to {signed(r.ci_high)} | "
                       f"{_p(r)} | {r.n_base}/{r.n_new} | {test} |")
    return "\n".join(out) + "\n"


def _citations_by_row(cmp: Comparison, rubric: Rubric) -> dict[str, list[dict]]:
    """Citations of each regressed row: its criterion's, or those of its group's failing criteria."""
    out: dict[str, list[dict]] = {}
    for r in cmp.rows:
        if not r.regression:
            continue
        if r.level == "criterion":
            cids = [r.key]
        else:
            cids = [c.key for c in cmp.rows if c.level == "criterion" and c.diff is not None and c.diff < 0
                    and _in_group(rubric, c.key, r)]
        seen, cits = set(), []
        for cid in cids:
            for c in (rubric.criteria.get(cid) or {}).get("citations", []):
                if isinstance(c, dict) and c.get("passage") not in seen and len(cits) < MAX_LINKED:
                    seen.add(c.get("passage"))
                    cits.append(c)
        out[r.key] = cits
    return out


def _in_group(rubric: Rubric, cid: str, row: Row) -> bool:
    item = rubric.items.get(rubric.criterion_item.get(cid, "")) or {}
    return {"item": item.get("id"), "condition": item.get("condition"),
            "principle": item.get("principle")}.get(row.level) == row.key


def _group_failing(cmp: Comparison, rubric: Rubric) -> None:
    """Give item/condition/principle regressions the failing verdicts of their criteria."""
    by_crit = {r.key: r for r in cmp.rows if r.level == "criterion"}
    for r in cmp.rows:
        if r.regression and r.level != "criterion" and not r.failing:
            for cid, crow in by_crit.items():
                if _in_group(rubric, cid, r):
                    r.failing.extend(crow.failing)
            r.failing = r.failing[:MAX_LINKED]


def render_html(cmp: Comparison, rubric: Rubric) -> str:
    _group_failing(cmp, rubric)
    regressions = cmp.regressions
    all_regressions = sorted((r for r in cmp.rows if r.regression), key=lambda r: (LEVELS.index(r.level), r.diff or 0))
    return render_page(
        "compare.html.j2", cmp=cmp, rows=cmp.rows, levels=LEVELS, regressions=regressions,
        all_regressions=all_regressions, gate=gate_line(cmp), citations=_citations_by_row(cmp, rubric), pct=pct,
        signed=signed, base_name=Path(cmp.base).name, new_name=Path(cmp.new).name)


def write_outputs(cmp: Comparison, rubric: Rubric, out: Path) -> dict[str, Path]:
    """compare.json, compare.md and compare.html in ``out`` (each written atomically)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "compare.json", "markdown": out / "compare.md", "html": out / "compare.html"}
    html = render_html(cmp, rubric)  # also attaches group failures, so JSON carries them too
    atomic_write_text(paths["json"], json.dumps(cmp.to_dict(), indent=2, sort_keys=True, allow_nan=False,
                                                default=str) + "\n")
    atomic_write_text(paths["markdown"], render_markdown(cmp))
    atomic_write_text(paths["html"], html)
    return paths
