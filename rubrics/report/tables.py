"""The report's tables as plain data (title, columns, rows of strings), built once from summary.json.

Why plain data: the HTML and the Markdown report must show the same numbers; both render these
tables and neither computes anything itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from rubricate.rubrics.report.data import ReportData

RATE_COLS = ["n", "unknown", "appropriate", "95% CI"]
RATE_NUMERIC = [True, True, True, True]


@dataclass
class Table:
    key: str                       # anchor id in the HTML report
    title: str
    columns: list[str]
    numeric: list[bool]
    rows: list[list[str]] = field(default_factory=list)  # "\n" in a cell = line break
    note: str | None = None


@dataclass
class JudgeTables:
    judge: str
    tables: list[Table]


def fmt_num(x) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def fmt_ci(low, high) -> str:
    return "n/a" if low is None or high is None else f"{low:.2f}–{high:.2f}"


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
                         "(an 'unknown' decisive answer) are left out of the rate."),
        _rate_table(k + "model", "By model", ["model"], s.get("by_model", {}), lambda g: [g]),
        _rate_table(k + "condition", "By condition", ["condition", "label"],
                    {c: s["by_condition"][c] for c in conds}, lambda g: [g, data.condition_label(g)]),
        _rate_table(k + "principle", "By principle", ["principle", "label"], s.get("by_principle", {}),
                    lambda g: [g, data.principle_label(g) or ""]),
        _rate_table(k + "item", "By item", ["item", "condition"], s.get("by_item_id", {}),
                    lambda g: [g, str((data.rubric.items.get(g) or {}).get("condition", "")) if data.rubric else ""]),
        _model_condition(k + "model-condition", s, conds, [data.condition_label(c) for c in conds]),
        _points(k + "points", s.get("points") or {}),
        _criteria(k + "criterion", s.get("by_criterion", {}), data),
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
    t = Table(key, "HealthBench-style points", ["model", "n", "score", "95% CI"], [False, True, True, True],
              note="Score = points earned / positive points available per response, mean clipped to [0, 1]"
                   + (f"; {p['responses_without_positive_points']} responses of items without positive "
                      "criteria have no score." if p.get("responses_without_positive_points") else "."))
    rows = list((p.get("by_model") or {}).items())
    if p.get("overall"):
        rows.append(("all models", p["overall"]))
    for model, r in rows:
        t.rows.append([model, str(r.get("n", 0)), fmt_num(r.get("score")), fmt_ci(r.get("ci_low"), r.get("ci_high"))])
    return t


def _criteria(key: str, by_crit: dict[str, dict], data: ReportData) -> Table:
    t = Table(key, "By criterion", ["criterion", "question", "severity", *RATE_COLS],
              [False, False, False, *RATE_NUMERIC],
              note="Share of responses whose answer to the criterion's question was the appropriate one.")
    for cid, r in by_crit.items():
        c = (data.rubric.criteria.get(cid) if data.rubric else None) or {}
        t.rows.append([cid, str(c.get("question", "")), str(c.get("severity", "")), *rate_cells(r)])
    return t


def run_tables(data: ReportData) -> list[Table]:
    """Tables about the run as a whole: judges, flags, LLM usage, skipped input lines."""
    out = [Table("judges", "Judges", ["judge", "version", "verdicts"], [False, False, True],
                 rows=[[j, ver, str(n)] for j, vs in data.judge_versions.items() for ver, n in vs.items()])]
    flags = data.summary.get("flags") or {}
    out.append(Table("flags", "Flags", ["flag", "verdicts"], [False, True],
                     rows=[[f, str(n)] for f, n in flags.items()],
                     note=None if flags else "No verdict was flagged (no judge disagreement, no "
                                             "judge-steering attempt)."))
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
