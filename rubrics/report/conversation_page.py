"""The report of a conversation run (``rubricate report`` on a converse or conversation results
folder): figures per model, persona, condition and telling, the survival curve, and every
failing conversation as a transcript with the failing turn highlighted and the guideline
passages of the failed criteria beside it.

Rendered by the report pages' jinja2 environment (``templating``: autoescaping, transcripts are
model and user text) under the same no-script Content-Security-Policy and stylesheet as the
evaluation report.
"""
from __future__ import annotations

import base64
import json
import re
from collections import defaultdict
from pathlib import Path

from rubricate.guidelines.kernel.fileio import atomic_write_text
from rubricate.guidelines.kernel.workspace import record_location, resolve_location
from rubricate.rubrics.contract.loader import load_rubric
from rubricate.rubrics.contract.scoring import DECISIVE
from rubricate.rubrics.evaluation.conversation_summary import summary_lines
from rubricate.rubrics.evaluation.conversations import read_conversations
from rubricate.rubrics.evaluation.results import ResultsDir, iter_jsonl
from rubricate.rubrics.report.highlight import highlight_html, place_evidence
from rubricate.rubrics.report.survival_plot import write_survival_plot
from rubricate.rubrics.report.templating import render_page

SEVERITY_ORDER = {"critical": 0, "major": 1, "minor": 2}
_TURN = re.compile(r"^turn (\d+):")


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def _ci(r: dict) -> str:
    return "" if r.get("ci_low") is None else f"{_pct(r['ci_low'])}–{_pct(r['ci_high'])}"


def _turn_of(evidence: dict) -> int | None:
    m = _TURN.match(str(evidence.get("source") or ""))
    return int(m.group(1)) if m else None


def _failing_conversations(verdicts: list[dict], rubric, conversations: dict, limit: int) -> list[dict]:
    """Each conversation with an inappropriate verdict: its turns, failing ones marked, and the failures."""
    by_conv: dict[str, list[dict]] = defaultdict(list)
    for v in verdicts:
        if v["appropriate"] is False:
            by_conv[v["response_id"]].append(v)
    out = []
    for cid, fails in by_conv.items():
        conv = conversations.get(cid)
        if conv is None:
            continue
        fails.sort(key=lambda v: (SEVERITY_ORDER.get((rubric.criteria.get(v["criterion_id"]) or {}).get("severity"), 9),
                                  min(v["conversation"]["turns"] or [99])))
        failing_turns: dict[int, list[dict]] = defaultdict(list)
        for v in fails:
            for t in v["conversation"]["turns"]:
                failing_turns[t].append(v)
        turns = []
        for n, (client, assistant) in enumerate(conv.turns, 1):
            evidence = [ev for v in failing_turns.get(n, []) for ev in v["evidence"] if _turn_of(ev) == n]
            spans, _ = place_evidence(assistant, evidence)
            html, _ = highlight_html(assistant, spans)
            turns.append({"n": n, "client": client, "assistant_html": html, "failing": failing_turns.get(n, [])})
        failures = []
        for v in fails:
            c = rubric.criteria.get(v["criterion_id"]) or {}
            failures.append({"v": v, "criterion": c, "severity": c.get("severity"), "citations": c.get("citations") or []})
        decisive = any(f["severity"] in DECISIVE for f in failures)
        out.append({"id": cid, "conv": conv, "turns": turns, "failures": failures, "decisive": decisive,
                    "anchor": "c-" + re.sub(r"[^A-Za-z0-9_-]+", "-", cid),
                    "first": min((t for v in fails for t in v["conversation"]["turns"]), default=None)})
    out.sort(key=lambda c: (not c["decisive"], min(SEVERITY_ORDER.get(f["severity"], 9) for f in c["failures"]),
                            c["first"] or 99, c["id"]))
    return out[:limit]


def write_conversation_report(results_dir: Path, out: Path | None = None, rubric_path: Path | None = None,
                              transcripts: Path | None = None, max_failures: int = 200) -> dict[str, Path]:
    """report.html, report.md and the survival plots of a conversation run; returns their paths."""
    results = ResultsDir(Path(results_dir))
    manifest = json.loads(results.manifest.read_text(encoding="utf-8"))
    summary = json.loads(results.summary.read_text(encoding="utf-8"))
    rubric = load_rubric(rubric_path or resolve_location(manifest["rubric_path"], results.path), validate=False)
    source = transcripts or resolve_location(manifest["responses_path"], results.path)
    conversations, _ = read_conversations(Path(source), rubric)
    by_id = {c.conversation_id: c for c in conversations}
    verdicts = list(iter_jsonl(results.verdicts))
    out = Path(out or results.path / "report")
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    plots = {}
    for judge, block in summary.get("by_judge", {}).items():
        files = write_survival_plot(block["by_model"], f"No decisive failure yet, by turn (judge: {judge})",
                                    out / f"survival_{re.sub(r'[^A-Za-z0-9._-]+', '-', judge)}")
        for ext, (path, _) in files.items():
            paths[f"{ext}:{judge}"] = path
        plots[judge] = "data:image/svg+xml;base64," + base64.b64encode(files["svg"][1]).decode("ascii")
    failing = _failing_conversations(verdicts, rubric, by_id, max_failures)
    shown = record_location(results.path, Path.cwd())
    html = render_page(
        "conversations.html.j2", rubric_id=rubric.id, manifest=manifest, summary=summary, plots=plots, failing=failing,
        n_failing=len({v["response_id"] for v in verdicts if v["appropriate"] is False}),
        personas=rubric.personas, pct=_pct, ci=_ci,
        results_shown=shown, transcripts_shown=manifest.get("responses_path"))
    html_path, md_path = out / "report.html", out / "report.md"
    atomic_write_text(html_path, html)
    md = [f"# Conversations: `{rubric.id}`", "", *[f"- {line}" for line in summary_lines(summary)], ""]
    md += [f"![survival ({judge})]({paths[f'png:{judge}'].name})" for judge in plots]
    atomic_write_text(md_path, "\n".join(md) + "\n")
    paths["html"], paths["markdown"] = html_path, md_path
    return paths
