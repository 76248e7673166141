"""One verdict's trace as a small HTML page an auditor can keep: the response with its
evidence spans, the criterion and principle, and each cited passage with the file it was
read from; a citation of a PDF links to that page of the file (``file.pdf#page=N``).

Rendered by the report pages' jinja2 environment (``templating``: autoescaping; every string
from the run or the knowledge base is data, control characters shown as marks) under the
report's no-script Content-Security-Policy; links are only http(s) URLs or relative paths to
registered files, never a scheme taken from data.
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote, urlsplit

import jinja2
from markupsafe import Markup

from rubricate.guidelines.kernel.fileio import atomic_write_text
from rubricate.guidelines.kernel.workspace import resolve_location, workspace_root
from rubricate.rubrics.evaluation.trace import made_with
from rubricate.rubrics.report.highlight import highlight_html, place_evidence
from rubricate.rubrics.report.templating import render_page


def _file_link(cit: dict, page_dir: Path) -> str | None:
    """A relative link from the page to the cited file, at its page when it is a PDF."""
    f = cit.get("file") or {}
    if not f.get("path") or f.get("state") == "missing":
        return None
    target = resolve_location(f["path"], workspace_root())
    if not target.is_file():
        return None
    rel = Path(os.path.relpath(target.resolve(), page_dir.resolve())).as_posix()
    link = quote(rel, safe="/._-")
    if f.get("media_type") == "application/pdf" and cit.get("page"):
        link += f"#page={int(cit['page'])}"
    return link


def _web_link(url: str | None) -> str | None:
    return url if url and urlsplit(url).scheme in ("http", "https") else None


def render_trace_page(t: dict, page_dir: Path) -> str:
    r = t.get("response") or {}
    response_html, cut = "", 0
    notes: list[str] = []
    if r.get("text") is not None:
        spans, notes = place_evidence(r["text"], r.get("evidence") or [])
        response_html, cut = highlight_html(r["text"], spans)
    turns = []  # a conversation verdict: each assistant turn with its evidence marked
    for turn in (t.get("conversation") or {}).get("turns") or []:
        spans, turn_notes = place_evidence(turn["assistant"], turn.get("evidence") or [])
        notes += turn_notes
        turns.append(dict(turn, assistant_html=Markup(highlight_html(turn["assistant"], spans)[0])))
    passages = [dict(c, file_link=_file_link(c, page_dir), web_link=_web_link(c.get("url")))
                for c in t["passages"]]
    return render_page("trace.html.j2", jinja2.ChainableUndefined,  # optional trace fields may be absent
                       t=t, v=t["verdict"], made_with=made_with(t), turns=turns, response_html=Markup(response_html),
                       cut=cut, notes=notes, passages=passages)


def write_trace_page(t: dict, out_dir: Path) -> Path:
    """``out_dir/<verdict id>.html`` (atomically)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{t['verdict']['verdict_id']}.html"
    atomic_write_text(path, render_trace_page(t, out_dir))
    return path
