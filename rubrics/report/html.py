"""The self-contained HTML report: one file, inline CSS, plots as data: URIs, no script at all.

Why so strict: the page shows text written by models (and by whoever made the input file).
Every such string goes through ``e()`` (html.escape), links are only kept for http(s)/file
URLs, and a Content-Security-Policy meta tag forbids scripts, remote loads and inline event
handlers, so even a missed escape could not run code.
"""
from __future__ import annotations

import base64
import json
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

from rubricate.guidelines.kernel.workspace import record_location
from rubricate.guidelines.kernel.textsafe import mark_unsafe
from rubricate.rubrics.report.data import DEMO_NOTE, Failure, ReportData
from rubricate.rubrics.report.highlight import highlight_html, place_evidence
from rubricate.rubrics.report.tables import JudgeTables, Table, calibration_line

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
CSS_PATH = Path(__file__).with_name("style.css")
MAX_META_CHARS = 500
NUM = ' class="num"'


def e(value) -> str:
    """Escape any value for HTML text or a quoted attribute; control, bidi-override and
    invisible characters (and NUL) are shown as marks like [U+202E], never passed on."""
    return escape(mark_unsafe("" if value is None else str(value)), quote=True)


def safe_href(url) -> str | None:
    """A link target that cannot run code: http(s) and file URLs, absolute paths as file URLs."""
    if not url:
        return None
    u = str(url).strip()
    scheme = urlsplit(u).scheme.lower()
    if scheme in ("http", "https", "file"):
        return u
    if u.startswith("/"):
        path, sep, frag = u.partition("#")
        return Path(path).as_uri() + (sep + frag if sep else "")
    return None


def _cell(text: str) -> str:
    return "<br>".join(e(part) for part in str(text).split("\n"))


def render_table(t: Table, id_prefix: str = "t-") -> str:
    head = "".join(f'<th scope="col"{NUM if num else ""}>{e(c)}</th>' for c, num in zip(t.columns, t.numeric))
    body = []
    for i, row in enumerate(t.rows):
        tds = "".join(f'<td{NUM if num else ""}>{_cell(v)}</td>' for v, num in zip(row, t.numeric))
        cls = t.row_classes.get(i)
        body.append(f'<tr class="{e(cls)}">{tds}</tr>' if cls else f"<tr>{tds}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(t.columns)}">(none)</td></tr>')
    note = f'<p class="table-note">{e(t.note)}</p>' if t.note else ""
    return (f'<div class="scroll"><table class="data" id="{e(id_prefix + t.key)}"><caption>{e(t.title)}</caption>'
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>{note}')


def _facts(pairs: list[tuple[str, str]]) -> str:
    """A <dl>; values are already-escaped HTML."""
    return '<dl class="facts">' + "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in pairs) + "</dl>"


def _badge(text: str, cls: str) -> str:
    return f'<span class="badge {e(cls)}">{e(text)}</span>'


def _header(data: ReportData) -> str:
    r = data.rubric_data
    m = data.manifest
    s = data.summary
    rid = r.get("rubric_id") or m.get("rubric_id") or s.get("rubric_id") or "unknown rubric"
    title = r.get("title") or rid
    judges = ", ".join(f"{j} ({', '.join(vs)})" for j, vs in data.judge_versions.items()) or "none"
    kb = (r.get("knowledge_base") or {}).get("sha256")
    n_skipped = (s.get("skipped_input") or {}).get("count", len(data.problems))
    counts = [("responses", s.get("responses", 0), ""), ("verdicts", s.get("verdicts", 0), ""),
              ("failed criteria (inappropriate answers)", data.n_failures, " bad" if data.n_failures else ""),
              ("unknown answers", data.n_unknown, ""), ("uncertain (judge abstained)", data.n_uncertain, ""),
              ("skipped input lines", n_skipped, " bad" if n_skipped else "")]
    boxes = "".join(f'<div class="count{cls}"><b>{n:,}</b><span>{e(label)}</span></div>' for label, n, cls in counts)
    boot = s.get("bootstrap") or {}
    facts = [
        ("Rubric", f"<code>{e(rid)}</code> version {e(r.get('version') or 'unknown')}"),
        ("Knowledge base", f"<code>{e(kb)}</code>" if kb else "unknown (rubric not available)"),
        ("Judges", e(judges)),
        ("Rubric file", _file_fact(data.rubric_source.name, data.rubric_source.recorded_sha256)),
        ("Responses file", _file_fact(data.responses_source.name, data.responses_source.recorded_sha256)),
        ("Results folder", f"<code>{e(_shown(data.results_dir))}</code>"),
        ("Calibration", e(calibration_line(data)) + (f' <span class="note">(<code>{e(_shown(data.calibration_file))}'
                                                      '</code>)</span>' if data.calibration_file else "")),
        ("Confidence intervals", e(f"{boot.get('level', 0.95):.0%} percentile bootstrap, "
                                   f"{boot.get('n_resamples', '?')} resamples, seed {boot.get('seed', '?')}")),
    ]
    warnings = "".join(f'<div class="warning" role="alert"><strong>Warning:</strong>{e(w)}</div>'
                       for w in data.warnings)
    if data.demo:
        warnings = f'<div class="warning demo" role="note"><strong>Demo:</strong>{e(DEMO_NOTE)}</div>' + warnings
    return (f'<header class="top"><h1>Evaluation report: {e(title)}</h1>'
            f'<p class="subtitle">rubric <code>{e(rid)}</code> v{e(r.get("version") or "?")} · judge(s): '
            f'{e(", ".join(data.judge_versions) or "none")}</p>'
            '<nav class="toc"><a href="#overview">Overview</a><a href="#plots">Plots</a>'
            '<a href="#summary">Tables</a><a href="#run">Flags and input</a><a href="#failures">Failures</a></nav>'
            f'</header>{warnings}<section id="overview"><h2>Overview</h2><div class="counts">{boxes}</div>'
            + "".join(f'<p class="overview-line"><strong>{e(line)}</strong></p>' for line in data.overview_lines())
            + f'{_facts(facts)}<p class="note" id="provenance">Produced by: {e(data.provenance())}</p></section>')


def _file_fact(path, sha: str | None) -> str:
    if not path:
        return "unknown"
    sha_note = f' <span class="note">SHA-256 <code>{e(sha[:16])}…</code></span>' if sha else ""
    return f"<code>{e(path)}</code>{sha_note}"


def _plots(plots: dict[str, dict[str, tuple[Path, bytes]]]) -> str:
    if not plots:
        return '<section id="plots"><h2>Plots</h2><p class="note">No verdicts, no plot.</p></section>'
    figs = []
    for judge, files in plots.items():
        svg_path, svg = files["svg"]
        png_path = files["png"][0]
        uri = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
        figs.append(f'<figure class="plot"><img src="{uri}" alt="Bar chart: appropriate-response rate by '
                    f'condition and model with 95% confidence intervals (judge {e(judge)})">'
                    f'<figcaption>Appropriate-response rate by condition (groups) and model (bars), judge '
                    f'<code>{e(judge)}</code>; whiskers are 95% bootstrap CIs. Also saved as '
                    f'<code>{e(png_path.name)}</code> and <code>{e(svg_path.name)}</code>.</figcaption></figure>')
    return '<section id="plots"><h2>Plots</h2>' + "".join(figs) + "</section>"


def _summary(judge_tables: list[JudgeTables]) -> str:
    parts = ['<section id="summary"><h2>Summary tables</h2>']
    if not judge_tables:
        parts.append('<p class="note">No verdicts.</p>')
    for jt in judge_tables:
        parts.append(f'<h3 id="judge-{e(jt.judge)}">Judge: <code>{e(jt.judge)}</code></h3>')
        parts += [render_table(t) for t in jt.tables]
    return "".join(parts) + "</section>"


def _run(tables: list[Table]) -> str:
    body = "".join(render_table(t) for t in tables)
    return f'<section id="run"><h2>Judges, flags and input</h2>{body}</section>'


def _stimulus(item: dict | None) -> str:
    msgs = ((item or {}).get("stimulus") or {}).get("messages") or []
    if not msgs:
        return '<p class="note">Stimulus not available (the rubric was not found or has no stimulus).</p>'
    return "".join(f'<div class="turn {e(m.get("role"))}"><div class="role">{e(m.get("role"))}</div>'
                   f'<div class="text">{e(m.get("content"))}</div></div>' for m in msgs)


def _response(f: Failure) -> str:
    v = f.verdict
    out = []
    where = f"model <code>{e(v.get('model'))}</code> · response <code>{e(v.get('response_id'))}</code>"
    if v.get("response_line"):
        where += f" · line {e(v.get('response_line'))} of the responses file"
    out.append(f'<p class="note">{where}</p>')
    if f.text_problem:
        out.append(f'<div class="warning"><strong>Note:</strong>{e(f.text_problem)}</div>')
    evidence = v.get("evidence") or []
    if f.response is not None:
        spans, notes = place_evidence(f.response.text, evidence)
        body, cut = highlight_html(f.response.text, spans)
        if cut:
            body += f"\n<span class=\"note\">[… {cut:,} more characters not shown]</span>"
        out.append(f'<pre class="response">{body}</pre>')
        out += [f'<p class="note">{e(n)}</p>' for n in notes]
    if evidence:
        items = "".join(f"<li><mark>{e(ev.get('text'))}</mark> <span class=\"note\">chars {e(ev.get('start'))}–"
                        f"{e(ev.get('end'))}, {e(ev.get('source'))}</span></li>" for ev in evidence)
        plural = "s" if len(evidence) != 1 else ""
        out.append(f'<p class="note">Evidence ({len(evidence)} span{plural}):</p><ul>{items}</ul>')
    else:
        out.append('<p class="note">No evidence span: the judge found nothing to quote (for a required '
                   'behaviour, its absence is the failure).</p>')
    meta = v.get("metadata") or {}
    if meta:
        pairs = []
        for k, val in meta.items():
            text = val if isinstance(val, str) else json.dumps(val, ensure_ascii=False)
            if len(text) > MAX_META_CHARS:
                text = text[:MAX_META_CHARS] + "…"
            pairs.append((str(k), f'<span class="text">{e(text)}</span>'))
        out.append(f'<details class="index"><summary>Metadata ({len(pairs)} field{"s" if len(pairs) != 1 else ""})'
                   f'</summary>{_facts(pairs)}</details>')
    return "".join(out)


def _criterion(f: Failure) -> str:
    v, c = f.verdict, f.criterion or {}
    judge = f"<code>{e(v.get('judge'))}</code> <span class=\"note\">{e(v.get('judge_version'))}</span>"
    if v.get("protocol"):
        judge += f" · protocol <code>{e(v.get('protocol'))}</code>"
    if v.get("decided_by"):
        judge += f" · decided by <code>{e(v['decided_by'])}</code>"
        if v.get("routed"):
            judge += f" (rules {e(v['routed'])}, their reading <code>{e(v.get('rules_answer'))}</code>)"
    if v.get("confidence") is not None:
        judge += f" · offline confidence {float(v['confidence']):.2f}"
    answer_cls = "answer-bad" if v.get("appropriate") is False else "answer-ok"
    flags = " ".join(_badge(fl, "flag") for fl in v.get("flags") or []) or "none"
    pairs = [
        ("Question", e(v.get("question") or c.get("question"))),
        ("Appropriate answer", f'<span class="answer-ok">{e(v.get("appropriate_answer"))}</span>'),
        ("Judge's answer", f'<span class="{answer_cls}">{e(v.get("answer"))}</span>'),
        ("Reason", f'<span class="text">{e(v.get("reason"))}</span>'),
        ("Judge", judge),
        ("Points", e((f"{c['points']} if met; " if "points" in c else "") + f"earned {v.get('points', 0)}")),
        ("Flags", flags),
        ("Verdict", f'<a href="#{e(f.anchor)}"><code>{e(f.anchor)}</code></a>'),
    ]
    text = c.get("criterion")
    head = f"<p>{e(text)}</p>" if text and text != (v.get("question") or c.get("question")) else ""
    return f"<h4>Criterion <code>{e(v.get('criterion_id'))}</code></h4>{head}{_facts(pairs)}"


def _principle(f: Failure) -> str:
    pid = f.verdict.get("principle")
    p = f.principle
    if not p:
        return f'<h4>Principle</h4><p><code>{e(pid)}</code> <span class="note">(not in the rubric shown)</span></p>'
    return (f'<h4>Principle</h4><p><strong>{e(p.get("label") or pid)}</strong> <code>{e(pid)}</code></p>'
            f'<p>{e(p.get("definition"))}</p>')


def _citation(c: dict) -> str:
    if "quote" not in c:
        return (f'<div class="citation"><code>{e(c.get("passage"))}</code> '
                '<span class="note">(passage details not available: rubric not found or changed)</span></div>')
    kind = c.get("source_kind") or "unknown source"
    badge = (_badge(f"locator verified ({kind})", "verified") if c.get("locator_verified")
             else _badge(f"locator unverified ({kind})", "unverified"))
    title = c.get("document_title") or c.get("document")
    loc = []
    if c.get("page") is not None:
        loc.append(f"page {e(c['page'])}")
    if c.get("page_label"):
        loc.append(f"page label {e(c['page_label'])}")
    if c.get("section_path"):
        loc.append("section " + " › ".join(e(s) for s in c["section_path"]))
    loc.append(f"passage <code>{e(c.get('passage'))}</code>")
    href = safe_href(c.get("url"))
    if href:
        loc.append(f'<a href="{e(href)}" rel="noopener noreferrer">{e(c.get("url"))}</a>')
    elif c.get("url"):
        loc.append(f"<code>{e(c.get('url'))}</code>")
    return (f'<div class="citation"><div class="doc">{e(title)} <span class="note">({e(c.get("document"))})</span> '
            f'{badge}</div><blockquote>{e(c.get("quote"))}</blockquote><div class="loc">{" · ".join(loc)}</div></div>')


def _shown(results_dir: Path) -> str:
    """The results folder as the report names it: relative to the working directory, no machine path."""
    return record_location(results_dir, Path.cwd())


def _failure(f: Failure, n: int, results_dir: str) -> str:
    v = f.verdict
    sev = f.severity
    cites = "".join(_citation(c) for c in f.citations) or '<p class="note">No citation recorded.</p>'
    return (f'<section class="failure" id="{e(f.anchor)}"><h3><a class="anchor" href="#{e(f.anchor)}">#{n}</a> '
            f'{_badge(sev or "severity n/a", sev if sev in ("critical", "major", "minor") else "none")} '
            f'<code>{e(v.get("criterion_id"))}</code> · {e(v.get("model"))} · item <code>{e(v.get("item_id"))}</code>'
            f'</h3><div class="cols"><div><h4>Stimulus</h4>{_stimulus(f.item)}<h4>Response</h4>{_response(f)}</div>'
            f'<div>{_criterion(f)}{_principle(f)}<h4>Guideline passages</h4>{cites}</div></div>'
            f'<p class="note">Trace on the command line: <code>rubricate trace {e(f.anchor)} --results '
            f'{e(results_dir)}</code></p></section>')


def _failures(data: ReportData) -> str:
    shown, total = len(data.failures), data.n_failures
    parts = [f'<section id="failures"><h2>Failures ({total:,})</h2>']
    if not total:
        parts.append('<p class="note">No verdict marked a response inappropriate.</p></section>')
        return "".join(parts)
    parts.append('<p class="note">One section per verdict whose answer was not the appropriate one, most severe '
                 'first; each is linkable as <code>#v-…</code>.</p>')
    if shown < total:
        parts.append(f'<div class="warning"><strong>{total - shown:,} failures left out:</strong>showing the '
                     f'{shown:,} most severe of {total:,} (within a severity, spread over criteria, models and '
                     f'judges). All are in verdicts.jsonl (appropriate = false); '
                     f'raise the limit with <code>rubricate report --max-failures N</code>.</div>')
    rows = "".join(
        f'<tr><td class="num">{i}</td><td>{e(f.severity or "n/a")}</td><td>{e(f.verdict.get("model"))}</td>'
        f'<td><code>{e(f.verdict.get("criterion_id"))}</code></td><td>{e(f.verdict.get("judge"))}</td>'
        f'<td>{e(f.verdict.get("answer"))}</td>'
        f'<td><a href="#{e(f.anchor)}"><code>{e(f.anchor)}</code></a></td></tr>'
        for i, f in enumerate(data.failures, 1))
    if not shown:
        return "".join(parts) + "</section>"
    parts.append(f'<details class="index"{" open" if shown <= 30 else ""}><summary>Index of the {shown:,} failures '
                 f'shown</summary><div class="scroll"><table class="data"><thead><tr><th class="num">#</th>'
                 f'<th>severity</th><th>model</th><th>criterion</th><th>judge</th><th>answer</th><th>verdict</th>'
                 f'</tr></thead>'
                 f'<tbody>{rows}</tbody></table></div></details>')
    parts += [_failure(f, i, _shown(data.results_dir)) for i, f in enumerate(data.failures, 1)]
    return "".join(parts) + "</section>"


def render_html(data: ReportData, judge_tables: list[JudgeTables], run_tables: list[Table],
                plots: dict[str, dict[str, tuple[Path, bytes]]]) -> str:
    rid = data.rubric_data.get("rubric_id") or data.manifest.get("rubric_id") or "results"
    css = CSS_PATH.read_text(encoding="utf-8")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">'
            '<meta name="referrer" content="no-referrer">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>rubricate report: {e(rid)}</title><style>{css}</style></head><body><main>"
            + _header(data) + _plots(plots) + _summary(judge_tables) + _run(run_tables) + _failures(data)
            + '<footer>Generated by rubricate from the results folder above. Everything quoted from responses, '
              'stimuli and metadata is shown as text.</footer></main></body></html>\n')
