"""The self-contained HTML report: one file, inline CSS, plots as data: URIs, no script at all.

Rendered by the report pages' jinja2 environment (``templating``): autoescaping of every value,
control and bidi characters marked, links kept only for http(s)/file URLs, and a
Content-Security-Policy that forbids scripts, remote loads and inline event handlers, so even a
missed escape could not run code. This module only gathers what the template shows; the page
itself is ``templates/report.html.j2`` with its parts in ``templates/report/``.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

from markupsafe import Markup

from rubricate.guidelines.kernel.workspace import record_location
from rubricate.rubrics.report.data import DEMO_NOTE, Failure, ReportData
from rubricate.rubrics.report.highlight import highlight_html, place_evidence
from rubricate.rubrics.report.tables import AGREEMENT_SECTION, JudgeTables, Table, calibration_line, rate_link
from rubricate.rubrics.report.templating import render_page, safe_href

MAX_META_CHARS = 500


def _shown(path: Path) -> str:
    """A folder as the report names it: relative to the working directory, no machine path."""
    return record_location(path, Path.cwd())


def _plots(plots: dict[str, dict[str, tuple[Path, bytes]]]) -> list[dict]:
    return [{"judge": judge, "uri": "data:image/svg+xml;base64," + base64.b64encode(files["svg"][1]).decode("ascii"),
             "png": files["png"][0].name, "svg": files["svg"][0].name} for judge, files in plots.items()]


def _response(f: Failure) -> dict | None:
    """The judged text with its evidence marked (highlight_html escapes it), and placement notes."""
    if f.response is None:
        return None
    spans, notes = place_evidence(f.response.text, f.verdict.get("evidence") or [])
    body, cut = highlight_html(f.response.text, spans)
    return {"html": Markup(body), "cut": cut, "notes": notes}


def _metadata(meta: dict) -> list[tuple[str, str]]:
    """Each metadata field as text, long values cut (a report is read, not a data dump)."""
    out = []
    for k, val in meta.items():
        text = val if isinstance(val, str) else json.dumps(val, ensure_ascii=False)
        out.append((str(k), text[:MAX_META_CHARS] + "…" if len(text) > MAX_META_CHARS else text))
    return out


def _citation(c: dict) -> dict:
    return dict(c, href=safe_href(c.get("url")))


def _failure(f: Failure, n: int, data: ReportData) -> dict:
    c = f.criterion or {}
    question = f.verdict.get("question") or c.get("question")
    return {"f": f, "n": n, "v": f.verdict, "c": c, "question": question,
            "text": c.get("criterion") if c.get("criterion") != question else None,
            "messages": ((f.item or {}).get("stimulus") or {}).get("messages") or [],
            "response": _response(f), "metadata": _metadata(f.verdict.get("metadata") or {}),
            "citations": [_citation(x) for x in f.citations],
            "agreement": rate_link(data, str(f.verdict.get("judge")), str(f.verdict.get("criterion_id")))}


def render_html(data: ReportData, judge_tables: list[JudgeTables], run_tables: list[Table],
                plots: dict[str, dict[str, tuple[Path, bytes]]], agreement_tables: list[Table] = ()) -> str:
    """The page; ``agreement_tables``: the calibration's per-criterion agreement, the rates' link targets."""
    r, m, s = data.rubric_data, data.manifest, data.summary
    n_skipped = (s.get("skipped_input") or {}).get("count", len(data.problems))
    counts = [("responses", s.get("responses", 0), False), ("verdicts", s.get("verdicts", 0), False),
              ("failed criteria (inappropriate answers)", data.n_failures, bool(data.n_failures)),
              ("unknown answers", data.n_unknown, False), ("uncertain (judge abstained)", data.n_uncertain, False),
              ("skipped input lines", n_skipped, bool(n_skipped))]
    return render_page(
        "report.html.j2", data=data,
        rid=r.get("rubric_id") or m.get("rubric_id") or s.get("rubric_id") or "unknown rubric",
        page_rid=r.get("rubric_id") or m.get("rubric_id") or "results", title=r.get("title"),
        version=r.get("version"), kb=(r.get("knowledge_base") or {}).get("sha256"), counts=counts,
        bootstrap=s.get("bootstrap") or {}, calibration=calibration_line(data),
        calibration_file=_shown(data.calibration_file) if data.calibration_file else None,
        results_shown=_shown(data.results_dir), demo_note=DEMO_NOTE if data.demo else None,
        plots=_plots(plots), judge_tables=judge_tables, run_tables=run_tables,
        agreement_tables=list(agreement_tables), agreement_section=AGREEMENT_SECTION,
        failures=[_failure(f, i, data) for i, f in enumerate(data.failures, 1)])
