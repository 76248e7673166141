"""Follow one verdict back to the guideline: response -> criterion -> principle -> passages -> documents.

For an auditor each citation also says which file it was read from: the document's edition,
the file as the workspace names it (``sources/...pdf``, ``package:guidelines/digests/...``),
its SHA-256 and whether the file on disk still has it, so the quote can be checked on the
printed page of that very file. Text that comes from data (responses, quotes, titles) is
shown with control characters escaped, so a response cannot move the terminal's cursor or
recolour the output (the CLI's echo, kernel/textsafe.py).
"""
from __future__ import annotations

import json
from pathlib import Path

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.workspace import record_location, resolve_location, workspace_root
from rubricate.guidelines.sources.registry import Registry, load_registry, sha256_file
from rubricate.rubrics.evaluation.responses import Response, read_responses
from rubricate.rubrics.evaluation.results import ResultsDir, iter_jsonl
from rubricate.rubrics.contract.loader import load_rubric
from rubricate.rubrics.evaluation.conversations import load_transcript


def find_verdict(results: ResultsDir, vid: str) -> dict:
    for v in iter_jsonl(results.verdicts):
        if v["verdict_id"] == vid:
            return v
    raise RubricateError(f"no verdict {vid!r} in this results folder", path=str(results.verdicts))


def response_at(path: Path, line: int, expected_sha: str | None = None) -> tuple[Response | None, str | None]:
    """The response read from ``line`` of the responses file, and a note if it cannot be trusted."""
    path = Path(path)
    if not path.exists():
        return None, f"responses file {path} is gone; response text unavailable"
    note = None
    if expected_sha and sha256_file(path) != expected_sha:
        note = f"responses file {path} changed since the run; text may not match the verdict"
    for rec in read_responses(path):
        if isinstance(rec, Response) and rec.line == line:
            return rec, note
    return None, note or f"line {line} of {path} holds no readable response"


def trace(results_dir: Path, vid: str, rubric_path: Path | None = None) -> dict:
    results = ResultsDir(Path(results_dir))
    v = find_verdict(results, vid)
    manifest = json.loads(results.manifest.read_text()) if results.manifest.exists() else {}
    recorded = manifest.get("rubric_path")
    rubric = load_rubric(rubric_path or (resolve_location(recorded, results.path) if recorded else None),
                         validate=False)
    item = rubric.items.get(v["item_id"], {})
    criterion = rubric.criteria.get(v["criterion_id"], {})
    principle = rubric.principle(v.get("principle") or "") or {"id": v.get("principle")}
    if v.get("conversation") is not None:
        return _conversation_trace(v, results, rubric, criterion, principle)
    resp, note = response_at(resolve_location(manifest.get("responses_path") or "", results.path),
                             v.get("response_line", 0),
                             manifest.get("responses_sha256"))
    citations = [dict(c, file=source_file(c)) for c in criterion.get("citations") or []]
    return {
        "made_with": _made_with(rubric, v),
        "verdict": v,
        "response": {"id": v["response_id"], "model": v["model"], "text": resp.text if resp else None,
                     "evidence": v.get("evidence", []), "note": note},
        "stimulus": item.get("stimulus"),
        "criterion": {k: criterion.get(k) for k in ("id", "criterion", "question", "appropriate_answer",
                                                    "points", "severity", "tags")},
        "principle": {k: principle.get(k) for k in ("id", "label", "definition")},
        "passages": citations,
        "documents": _documents(citations),
    }


def _made_with(rubric, v: dict) -> dict:
    """The knowledge base, rubric and judge versions behind a verdict (see ``made_with``)."""
    return {"knowledge_base_sha256": (rubric.data.get("knowledge_base") or {}).get("sha256"),
            "rubric": rubric.id, "rubric_version": rubric.data.get("version"), "rubric_sha256": rubric.sha256,
            "judge": v.get("judge"), "judge_version": v.get("judge_version")}


def _documents(citations: list[dict]) -> list[dict]:
    documents: dict[str, dict] = {}
    for c in citations:
        documents.setdefault(c["document"], {"id": c["document"], "title": c.get("document_title"),
                                              "year": c.get("year"), "url": c.get("url")})
    return list(documents.values())


def _conversation_trace(v: dict, results: ResultsDir, rubric, criterion: dict, principle: dict) -> dict:
    """A conversation verdict: the transcript, its deciding turns marked, and the passages."""
    info = v["conversation"]
    try:
        conv = load_transcript(results.path, v["response_id"], rubric)
        note = None if conv else f"conversation {v['response_id']} is not in the transcripts any more"
    except RubricateError as exc:
        conv, note = None, str(exc)
    turns = []
    for n, (client, assistant) in enumerate(conv.turns if conv else [], 1):
        evidence = [{**e, "source": e["source"].split(": ", 1)[-1]} for e in v.get("evidence", [])
                    if str(e.get("source", "")).startswith(f"turn {n}:")]
        turns.append({"turn": n, "client": client, "assistant": assistant, "deciding": n in info["turns"],
                      "evidence": evidence})
    persona = rubric.personas.get(v["item_id"], {})
    citations = [dict(c, file=source_file(c)) for c in criterion.get("citations") or []]
    return {
        "made_with": _made_with(rubric, v),
        "verdict": v,
        "conversation": {"id": v["response_id"], "model": v["model"], "persona": v["item_id"],
                         "title": persona.get("title"), "telling": info.get("telling"), "scope": info["scope"],
                         "by_turn": info.get("by_turn"), "from_turn": info.get("from_turn"),
                         "deciding_turns": info["turns"], "turns": turns, "note": note},
        "criterion": {k: criterion.get(k) for k in ("id", "criterion", "question", "appropriate_answer",
                                                    "points", "severity", "tags", "scope", "by_turn", "from_turn")},
        "principle": {k: principle.get(k) for k in ("id", "label", "definition")},
        "passages": citations,
        "documents": _documents(citations),
    }


def _registry() -> Registry | None:
    try:
        return load_registry()
    except RubricateError:
        return None


def source_file(cit: dict, reg: Registry | None = None) -> dict:
    """Which registered file (and edition) a citation's ``file_sha256`` is: its location as the
    workspace names it, the document's edition, and whether the file on disk still matches."""
    reg = reg or _registry()
    sha = cit.get("file_sha256")
    out = {"path": None, "sha256": sha, "edition": None, "role": cit.get("source_kind"), "state": "not registered",
           "media_type": None}
    doc = next((d for d in (reg.documents if reg else []) if d.id == cit.get("document")), None)
    if doc is None or not sha:
        return out
    out["edition"] = doc.edition
    for f in doc.files:
        path = reg.resolve(f)
        current = f.sha256 or (sha256_file(path) if path.is_file() else None)
        if current == sha:
            state = "ok" if path.is_file() and (not f.sha256 or sha256_file(path) == sha) else \
                ("missing" if not path.is_file() else "changed on disk since registration")
            out.update(path=record_location(path, workspace_root()), role=f.role, state=state,
                       media_type="application/pdf" if path.suffix.lower() == ".pdf" else None)
            return out
        for e in f.previous:
            if e.sha256 == sha:
                older = resolve_location(e.path, f.base_dir or reg.path.parent)
                out.update(path=record_location(older, workspace_root()), role=f.role,
                           state=f"earlier edition (replaced {e.replaced or '-'}); rebuild to cite the current one",
                           media_type="application/pdf" if older.suffix.lower() == ".pdf" else None)
                return out
    return out


def made_with(t: dict) -> str:
    """The knowledge base, rubric and judge versions behind a trace, in one line (hashes)."""
    m = t.get("made_with") or {}
    return (f"knowledge base sha256 {m.get('knowledge_base_sha256') or 'unknown'}; rubric {m.get('rubric')} "
            f"v{m.get('rubric_version') or '?'} (file sha256 {m.get('rubric_sha256')}); "
            f"judge {m.get('judge')} {m.get('judge_version')}")


def highlight(text: str, spans: list[dict], on: str = "[[", off: str = "]]") -> str:
    out, pos = [], 0
    for s in sorted(spans, key=lambda s: (s["start"], s["end"])):
        if s["start"] < pos:
            continue
        out += [text[pos:s["start"]], on, text[s["start"]:s["end"]], off]
        pos = s["end"]
    out.append(text[pos:])
    return "".join(out)


def _conversation_lines(c: dict) -> list[str]:
    scope = c["scope"] + (f" {c['by_turn']}" if c.get("by_turn") else "") + \
        (f" from turn {c['from_turn']}" if c.get("from_turn") else "")
    lines = [f"conversation {c['id']}  model={c['model']}",
             f"  persona {c['persona']} ({c.get('title')}), telling {c.get('telling')}; scope {scope}; "
             f"deciding turn(s): {', '.join(map(str, c['deciding_turns'])) or 'none'}"]
    for t in c["turns"]:
        mark = ">>" if t["deciding"] else "  "
        lines.append(f"{mark} [turn {t['turn']}] client: {t['client']}")
        lines.append(f"{mark} [turn {t['turn']}] assistant: {highlight(t['assistant'], t['evidence'])}")
    if c.get("note"):
        lines.append(f"  note: {c['note']}")
    return lines


def render_text(t: dict) -> str:
    v = t["verdict"]
    lines = [f"verdict   {v['verdict_id']}  judge={v['judge']} ({v['judge_version']})",
             f"made with {made_with(t)}",
             f"answer    {v['answer']} (appropriate answer: {v['appropriate_answer']}) -> "
             + ("UNCERTAIN (the offline judge abstained)" if v["answer"] == "uncertain" else
                {True: "APPROPRIATE", False: "INAPPROPRIATE", None: "UNKNOWN"}[v["appropriate"]]),
             f"reason    {v['reason']}"]
    if v.get("confidence") is not None:
        lines.append(f"offline   confidence {v['confidence']:.2f}" + (
            f"; reading {v['rules_answer']}" if v.get("rules_answer") else ""))
    if v.get("decided_by"):
        lines.append(f"cascade   decided by {v['decided_by']}"
                     + (f" (asked the LLM judge: rules {v['routed']})" if v.get("routed") else ""))
    lines.append("")
    stim = t.get("stimulus") or {}
    if "conversation" in t:
        lines += _conversation_lines(t["conversation"])
    else:
        lines.append(f"stimulus  {stim.get('id', v['item_id'])}")
        for m in stim.get("messages", []):
            lines.append(f"  {m['role']:>9}: {m['content']}")
        r = t["response"]
        lines += ["", f"response  {r['id']}  model={r['model']}"]
        if r["text"] is not None:
            lines.append("  " + highlight(r["text"], r["evidence"]))
        if r["note"]:
            lines.append(f"  note: {r['note']}")
    c = t["criterion"]
    lines += ["", f"criterion {c['id']}  points={c['points']}  severity={c['severity']}",
              f"  {c['criterion']}", f"  question: {c['question']}"]
    p = t["principle"]
    lines += ["", f"principle {p['id']}: {p.get('label')}", f"  {p.get('definition')}", "", "passages"]
    for i, cit in enumerate(t["passages"], 1):
        f = cit.get("file") or {}
        page = "no page"
        if cit.get("page"):
            page = (f"printed page {cit['page_label']} (physical page {cit['page']})" if cit.get("page_label")
                    else f"physical page {cit['page']} (no printed number)")
        flag = "verified" if cit.get("locator_verified") else f"UNVERIFIED locator ({cit.get('source_kind')})"
        lines += [f"  [{i}] {cit.get('document_title') or cit['document']} ({cit.get('year')})",
                  f"      document {cit['document']}; edition: {f.get('edition') or '-'}",
                  f"      file     {f.get('path') or '-'} [{f.get('role') or '-'}] sha256 {cit.get('file_sha256')}"
                  f" ({f.get('state', 'not registered')})",
                  f"      page     {page}; {flag}",
                  f"      section  {' > '.join(cit.get('section_path') or []) or '-'}",
                  f"      passage  {cit['passage']}",
                  f"      \"{cit['quote']}\""]
        if cit.get("url"):
            lines.append(f"      {cit['url']}")
    return "\n".join(lines) + "\n"
