"""The report's tables as plain data (title, columns, rows of strings), built once from summary.json.

Why plain data: the HTML and the Markdown report must show the same numbers; both render these
tables and neither computes anything itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from rubricate.rubrics.report.data import ReportData
from rubricate.rubrics.report.templating import anchor_id

RATE_COLS = ["n", "unknown", "appropriate", "95% CI"]
RATE_NUMERIC = [True, True, True, True]


@dataclass
class CellLink:
    """A cell shown as a link within the report (HTML only; the Markdown shows the plain text)."""

    href: str    # "#fragment" of an anchor the same report holds
    title: str   # what the link leads to, shown on hover


@dataclass
class Table:
    key: str                       # anchor id in the HTML report
    title: str
    columns: list[str]
    numeric: list[bool]
    rows: list[list[str]] = field(default_factory=list)  # "\n" in a cell = line break
    note: str | None = None
    row_classes: dict[int, str] = field(default_factory=dict)  # row index -> CSS class (e.g. greyed out)
    row_ids: dict[int, str] = field(default_factory=dict)      # row index -> anchor id (a link target)
    links: dict[tuple[int, int], CellLink] = field(default_factory=dict)  # (row, column) -> in-page link


@dataclass
class JudgeTables:
    judge: str
    tables: list[Table]


def fmt_num(x) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def fmt_ci(low, high) -> str:
    return "n/a" if low is None or high is None else f"{low:.2f}–{high:.2f}"


def ci_of(d: dict, stat: str) -> str:
    """The 95% CI of a statistic, stored beside it as ``<stat>_ci`` (agreement figures)."""
    return fmt_ci(*(d.get(f"{stat}_ci") or [None, None]))


def ceiling_stat(c: dict) -> tuple[str, str, str]:
    """People's agreement with each other as (symbol, value, CI): Cohen's κ for two labellers,
    Krippendorff's α for more."""
    stat, symbol = ("kappa", "κ") if "kappa" in c else ("alpha", "α")
    return symbol, fmt_num(c.get(stat)), ci_of(c, stat)


def rate_cells(r: dict | None) -> list[str]:
    if not r:
        return ["0", "0", "n/a", "n/a"]
    return [str(r.get("n", 0)), str(r.get("n_missing", 0)), fmt_num(r.get("estimate")),
            fmt_ci(r.get("ci_low"), r.get("ci_high"))]


def rate_cell(r: dict | None) -> str:
    """Compact cell for matrices: estimate, then CI and n on the next line."""
    if not r or r.get("estimate") is None:
        return "n/a" + (f"\nn={r.get('n', 0)}" if r else "")
    return f"{fmt_num(r['estimate'])}\n{fmt_ci(r.get('ci_low'), r.get('ci_high'))} · n={r.get('n', 0)}"


def _rate_table(key: str, title: str, first: list[str], groups: dict[str, dict], label_cells,
                note: str | None = None) -> Table:
    t = Table(key, title, first + RATE_COLS, [False] * len(first) + RATE_NUMERIC, note=note)
    for gid, r in groups.items():
        t.rows.append(label_cells(gid) + rate_cells(r))
    return t


def judge_tables(data: ReportData, judge: str) -> JudgeTables:
    s = data.summary["by_judge"][judge]
    k = f"{judge}-"
    conds = _ordered(list(s.get("by_condition", {})), data.condition_order())
    tables = [
        _rate_table(k + "overall", "Overall", ["scope"], {"all responses": s.get("overall")}, lambda g: [g],
                    note="A response is appropriate when every decisive (critical or major) criterion got its "
                         "appropriate answer; minor criteria change points only; undecided responses "
                         "(a decisive answer 'unknown', or 'uncertain' where the judge abstained; the "
                         "'unknown' column counts them) are left out of the rate."),
        _rate_table(k + "model", "By model", ["model"], s.get("by_model", {}), lambda g: [g]),
        _rate_table(k + "condition", "By condition", ["condition", "label"],
                    {c: s["by_condition"][c] for c in conds}, lambda g: [g, data.condition_label(g)]),
        _rate_table(k + "principle", "By principle", ["principle", "label"], s.get("by_principle", {}),
                    lambda g: [g, data.principle_label(g) or ""]),
        _rate_table(k + "item", "By item", ["item", "condition"], s.get("by_item_id", {}),
                    lambda g: [g, str((data.rubric.items.get(g) or {}).get("condition", "")) if data.rubric else ""]),
        _model_condition(k + "model-condition", s, conds, [data.condition_label(c) for c in conds]),
        _points(k + "points", s.get("points") or {}),
        _criteria(k + "criterion", s.get("by_criterion", {}), data, judge,
                  (s.get("uncertain") or {}).get("by_criterion")),
    ]
    return JudgeTables(judge, tables)


def _ordered(keys: list[str], preferred: list[str]) -> list[str]:
    return [c for c in preferred if c in keys] + sorted(c for c in keys if c not in preferred)


def _model_condition(key: str, s: dict, conds: list[str], labels: list[str]) -> Table:
    mc = s.get("by_model_condition", {})
    t = Table(key, "Model × condition", ["model", *labels, "all conditions"],
              [False] + [True] * (len(conds) + 1),
              note="Appropriate-response rate, 95% bootstrap CI and number of responses per cell.")
    for model, cells in mc.items():
        t.rows.append([model, *(rate_cell(cells.get(c)) for c in conds), rate_cell(s.get("by_model", {}).get(model))])
    return t


def _points(key: str, p: dict) -> Table:
    t = Table(key, "HealthBench-style points", ["model", "n", "score (clipped)", "95% CI", "mean (unclipped)",
                                                 "below 0"], [False, True, True, True, True, True],
              note="Score = points earned / positive points available per response; HealthBench reports the "
                   "mean clipped to [0, 1], which hides net-negative responses, so the unclipped mean and the "
                   "share of responses scoring below 0 stand beside it"
                   + (f"; {p['responses_without_positive_points']} responses of items without positive "
                      "criteria have no score." if p.get("responses_without_positive_points") else "."))
    rows = list((p.get("by_model") or {}).items())
    if p.get("overall"):
        rows.append(("all models", p["overall"]))
    for model, r in rows:
        share = r.get("share_below_zero")
        t.rows.append([model, str(r.get("n", 0)), fmt_num(r.get("score")), fmt_ci(r.get("ci_low"), r.get("ci_high")),
                       fmt_num(r.get("mean_unclipped")),
                       "-" if share is None else f"{share:.1%} ({r.get('below_zero', 0):,})"])
    return t


BELOW_MIN_KAPPA = "below-min-kappa"
AGREEMENT_SECTION = "calibration"


def agreement_anchor(criterion_id: str | None = None, judge: str | None = None) -> str:
    """Anchor id of the agreement table of a criterion (None: all criteria), or of one judge's row."""
    if criterion_id is None:
        return "cal-all" if judge is None else anchor_id("cal-all_", judge)
    return anchor_id("cal-c-", criterion_id, *([judge] if judge is not None else []))


def _agreement_cells(a: dict | None, ceiling: dict | None, below: str | None) -> list[str]:
    """Judge kappa and macro F1 with CIs, labelled n, and people's agreement (the ceiling)."""
    if not a:
        kappa, f1, n = "not measured", "", "0"
    else:
        kappa = fmt_num(a.get("kappa")) + "\n" + ci_of(a, "kappa")
        if below:
            kappa += "\n" + below
        f1 = fmt_num(a.get("macro_f1")) + "\n" + ci_of(a, "macro_f1")
        n = str(a.get("n", 0))
    if not ceiling:
        people = "n/a"
    else:
        symbol, value, ci = ceiling_stat(ceiling)
        people = f"{symbol} {value}\n{ci} · n={ceiling['n']}"
    return [kappa, f1, n, people]


def calibration_line(data: ReportData) -> str:
    """One sentence on the calibration shown (or its absence), the same in HTML and Markdown."""
    cal = data.calibration
    if not cal:
        return ("none: the criterion rates are not checked against labels here "
                "(label with `rubricate label`, then `rubricate calibrate`)")
    overall = cal.get("overall") or {}
    judges = "; ".join(f"{j} κ {fmt_num(a.get('kappa'))} ({ci_of(a, 'kappa')}), "
                       f"macro F1 {fmt_num(a.get('macro_f1'))}, n={a.get('n', 0)}"
                       for j, a in (overall.get("judges") or {}).items()) or "no judge measured"
    text = f"against {cal['reference']}: {judges}"
    c = overall.get("ceiling")
    if c:
        symbol, value, ci = ceiling_stat(c)
        text += f"; people with each other {symbol} {value} ({ci}), n={c['n']}"
    together = overall.get("references_agree")
    if together:
        symbol, value, ci = ceiling_stat(together)
        text += f"; reference sources with each other {symbol} {value} ({ci}), n={together['n']}"
    r = cal.get("reported_ceiling")
    if r:
        text += f"; reported between people: κ {r['kappa']:.2f} ({r['source']})"
    if data.min_kappa is not None:
        text += f"; criterion rates below judge κ {data.min_kappa:.2f} are greyed out"
    return text


def _criteria(key: str, by_crit: dict[str, dict], data: ReportData, judge: str,
              uncertain: dict[str, int] | None = None) -> Table:
    cal = data.calibration
    note = ("Share of responses whose answer to the criterion's question was the appropriate one. "
            "'uncertain': verdicts where the offline judge abstained (its confidence was below the "
            "criterion's threshold); they are among the 'unknown' ones, never counted as yes or no.")
    extra: list[str] = []
    if cal:
        extra = ["judge κ vs labels", "judge macro F1", "labelled", "people agree"]
        note += (f" Judge agreement measured against {cal['reference']} (calibration of "
                 f"{cal['rubric_id']} v{cal['rubric_version']}, {cal['created']}); 95% bootstrap CIs; "
                 "'people agree' is the labellers' agreement with each other, the ceiling.")
        if data.min_kappa is not None:
            note += f" Rates whose judge agrees below κ {data.min_kappa:.2f} are greyed out: do not rely on them."
    t = Table(key, "By criterion", ["criterion", "question", "severity", *RATE_COLS, "uncertain", *extra],
              [False, False, False, *RATE_NUMERIC, True, *([True] * len(extra))], note=note)
    for cid, r in by_crit.items():
        c = (data.rubric.criteria.get(cid) if data.rubric else None) or {}
        row = [cid, str(c.get("question", "")), str(c.get("severity", "")), *rate_cells(r),
               str((uncertain or {}).get(cid, 0))]
        if cal:
            below = data.below_min_kappa(judge, cid)
            scope = (cal.get("criteria") or {}).get(cid) or {}
            row += _agreement_cells(data.judge_agreement(judge, cid), scope.get("ceiling"),
                                    f"below {data.min_kappa:.2f}" if below else None)
            if below:
                t.row_classes[len(t.rows)] = BELOW_MIN_KAPPA
            link = rate_link(data, judge, cid)
            if link:
                t.links[(len(t.rows), t.columns.index("appropriate"))] = link
        t.rows.append(row)
    return t


def rate_link(data: ReportData, judge: str, cid: str) -> CellLink | None:
    """The link from a rate to its judge's measured agreement on the criterion (or to the
    criterion's agreement table, which says the judge was not measured there); None when the
    calibration does not cover the criterion."""
    if cid not in ((data.calibration or {}).get("criteria") or {}):
        return None
    a = data.judge_agreement(judge, cid)
    if not a:
        return CellLink("#" + agreement_anchor(cid), f"judge {judge} not measured on {cid}: see its agreement table")
    ci = ci_of(a, "kappa")
    kappa = fmt_num(a.get("kappa")) + (f" ({ci})" if ci != "n/a" else "")
    return CellLink("#" + agreement_anchor(cid, judge),
                    f"judge {judge} agreement with labels on {cid}: κ {kappa}, n={a.get('n', 0)}")


AGREEMENT_COLS = ["judge", "labelled", "decided", "κ", "κ 95% CI", "macro F1", "macro F1 95% CI", "accuracy",
                  "confusion (label: judge's answers)"]


def _confusion(cm: dict | None) -> str:
    """{label: {judge answer: n}} as one line per label: "label yes: yes 10, no 2" (lines end in
    ";" so that the Markdown table, which joins them, still reads). The matrix is square, so a
    judge-only answer such as "uncertain" has a row of its own, always empty: it is left out."""
    return ";\n".join(f"label {ref}: " + ", ".join(f"{ans} {n}" for ans, n in row.items())
                      for ref, row in (cm or {}).items() if ref in ("yes", "no") or any(row.values())) or "-"


def _agreement_table(key: str, title: str, scope: dict, data: ReportData, cid: str | None) -> Table:
    """Each judge's agreement with the labels on one scope, then people's with each other (the ceiling)."""
    t = Table(key, title, AGREEMENT_COLS, [False] + [True] * 7 + [False])
    judges = dict(scope.get("judges") or {})
    for judge in data.summary.get("judges") or []:
        judges.setdefault(judge, {})  # a judge of this run not measured here: said so, not left out
    for judge, a in judges.items():
        i = len(t.rows)
        t.row_ids[i] = agreement_anchor(cid, judge)
        if not a:
            t.rows.append([judge, "0", "0", "not measured", "", "", "", "", "-"])
            continue
        below = data.kappa_below_min(a)
        if below:
            t.row_classes[i] = BELOW_MIN_KAPPA
        t.rows.append([judge + (f"\n(below κ {data.min_kappa:.2f}: rates greyed out)" if below else ""),
                       str(a.get("n", 0)), str(a.get("decided", a.get("n", 0))), fmt_num(a.get("kappa")),
                       ci_of(a, "kappa"), fmt_num(a.get("macro_f1")), ci_of(a, "macro_f1"), fmt_num(a.get("accuracy")),
                       _confusion(a.get("confusion"))])
    c = scope.get("ceiling")
    if c:
        symbol, value, ci = ceiling_stat(c)
        t.row_classes[len(t.rows)] = "ceiling"
        t.rows.append([f"people with each other ({', '.join(c.get('sources') or [])}): the ceiling",
                       str(c.get("n", 0)), "", f"{symbol} {value}", ci, "", "", "", "-"])
        t.note = ("The ceiling is the labellers' agreement with each other"
                  + (": Krippendorff's α, more than two labellers." if symbol == "α" else ": Cohen's κ."))
    else:
        t.note = "No ceiling: fewer than two people labelled these responses."
    r = scope.get("references_agree")
    if r:
        symbol, value, ci = ceiling_stat(r)
        t.rows.append([f"reference sources with each other ({', '.join(r.get('sources') or [])}): not people",
                       str(r.get("n", 0)), "", f"{symbol} {value}", ci, "", "", "", "-"])
        t.note += (" The labels come from reference judges, not people: their agreement with each other is "
                   "shown instead, as how firm the reference is, not as a ceiling.")
    return t


def agreement_tables(data: ReportData) -> list[Table]:
    """The calibration's agreement per criterion (each rate of the criterion tables links here),
    all criteria first; empty without a calibration."""
    cal = data.calibration
    if not cal:
        return []
    out = [_agreement_table(agreement_anchor(), "All criteria", cal.get("overall") or {}, data, None)]
    for cid, scope in (cal.get("criteria") or {}).items():
        c = (data.rubric.criteria.get(cid) if data.rubric else None) or {}
        title = f"{cid}: {c['question']}" if c.get("question") else cid
        out.append(_agreement_table(agreement_anchor(cid), title, scope, data, cid))
    return out


def run_tables(data: ReportData) -> list[Table]:
    """Tables about the run as a whole: judges, flags, LLM usage, skipped input lines."""
    out = [Table("judges", "Judges", ["judge", "version", "verdicts"], [False, False, True],
                 rows=[[j, ver, str(n)] for j, vs in data.judge_versions.items() for ver, n in vs.items()])]
    flags = data.summary.get("flags") or {}
    out.append(Table("flags", "Flags", ["flag", "verdicts"], [False, True],
                     rows=[[f, str(n)] for f, n in flags.items()],
                     note=None if flags else "No verdict was flagged (no judge disagreement, no "
                                             "judge-steering attempt)."))
    for judge, c in (data.summary.get("cascade") or {}).items():
        out.append(_cascade_table(judge, c))
    usage = data.summary.get("usage") or {}
    if usage:
        out.append(Table("usage", "LLM usage", ["field", "total"], [False, True],
                         rows=[[k, f"{v:,.0f}" if float(v).is_integer() else f"{v:,.4f}"] for k, v in usage.items()]))
    skipped = data.summary.get("skipped_input") or {}
    n_skipped = skipped.get("count", len(data.problems))
    shown = data.problems[:20] or skipped.get("first", [])
    if n_skipped:
        out.append(Table("skipped", "Skipped input lines", ["file", "line", "problem"], [False, True, False],
                         rows=[[str(p.get(k, "")) for k in ("path", "line", "message")] for p in shown],
                         note=f"{n_skipped} input record(s) were skipped" + (
                             f"; the first {len(shown)} are listed (all in problems.jsonl)."
                             if n_skipped > len(shown) else ".")))
    return out


def _cascade_table(judge: str, c: dict) -> Table:
    """What the cascade judge routed to the LLM judge and what that saved."""
    rows = [["verdicts", str(c.get("verdicts", 0))],
            ["decided by the rules", str((c.get("decided_by") or {}).get("rules", 0))],
            ["decided by the LLM judge", str((c.get("decided_by") or {}).get("llm", 0))]]
    rows += [[f"routed: {why}", str(n)] for why, n in (c.get("routed") or {}).items()]
    share = c.get("share_routed")
    rows.append(["share routed to the LLM", "n/a" if share is None else f"{share:.1%}"])
    rows.append(["LLM calls saved (vs LLM-only)", str(c.get("llm_calls_saved", 0))])
    for k, v in (c.get("saved") or {}).items():
        est = (c.get("llm_only_estimate") or {}).get(k)
        rows.append([f"saved {k} (of an estimated LLM-only {est:,.4g})", f"{v:,.4g}"])
    if c.get("audit"):
        a = c["audit"]
        rows.append(["audit: LLM agreed with confident rules", f"{a['agreed']} of {a['n']} ({a['agreement']:.1%})"])
    return Table(f"cascade-{judge}", f"Cascade ({judge}): rules first, the LLM judge where they were uncertain",
                 ["", "value"], [False, True], rows=rows,
                 note="Each verdict records which judge decided (decided_by) and why the LLM judge was asked "
                      "(routed: uncertain, or audit for the seeded sample of confident verdicts).")
