"""Named runs: every results folder says what it is (run id, time, rubric, KB, judges, models,
usage), and `rubricate runs` lists the runs under a folder.

Why: comparing runs and gating on a baseline needs to know, from the folder alone, which
rubric version, knowledge base and judge produced it; and a run must never be overwritten, so
a new run gets a new folder (``new_run_dir``) rather than replacing the last one.
"""
from __future__ import annotations

import json
import os
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import atomic_write_text

MANIFEST = "run.json"
MAX_DEPTH = 4


def now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_id() -> str:
    """Sortable by time (to the millisecond), unique without coordination:
    ``20261206T141502.123Z-3f9a1c``."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S") + f".{now.microsecond // 1000:03d}Z-" + secrets.token_hex(3)


def identity(rubric_data: dict, resumed: dict | None = None, run_id: str | None = None) -> dict:
    """The fields naming a run: kept from the interrupted run when resuming."""
    if resumed and resumed.get("run_id"):
        return {k: resumed[k] for k in ("run_id", "created") if k in resumed}
    return {"run_id": run_id or new_run_id(), "created": now_utc(),
            "rubric_version": rubric_data.get("version"),
            "kb_sha256": (rubric_data.get("knowledge_base") or {}).get("sha256")}


def finish(manifest_path: Path, summary: dict, judge_versions: dict[str, list[str]]) -> dict:
    """Add what is known only at the end: judges and their versions, models, counts, usage."""
    try:
        manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RubricateError(f"cannot read the run manifest: {exc}", path=str(manifest_path)) from None
    models = sorted({m for j in (summary.get("by_judge") or {}).values() for m in (j.get("by_model") or {})})
    manifest.update({
        "finished": now_utc(),
        "judges": {name: sorted(versions) for name, versions in sorted(judge_versions.items())},
        "models": models,
        "responses": summary.get("responses", 0),
        "verdicts": summary.get("verdicts", 0),
        "usage": summary.get("usage") or {},
    })
    atomic_write_text(Path(manifest_path), json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def new_run_dir(root: Path) -> Path:
    """A fresh folder ``root/<run id>`` for a run that must not overwrite an earlier one."""
    for _ in range(5):
        path = Path(root) / new_run_id()
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise RubricateError("could not create a new run folder", path=str(root))


def default_results(out: Path) -> Path:
    """``out/results`` (what `evaluate` writes by default), else the newest run of `rubricate run`."""
    if (Path(out) / "results" / MANIFEST).is_file():
        return Path(out) / "results"
    named = sorted(p for p in (Path(out) / "runs").glob("*") if (p / MANIFEST).is_file()) \
        if (Path(out) / "runs").is_dir() else []
    if not named:
        raise RubricateError("no results folder found (pass --results)", path=str(Path(out) / "results"))
    return named[-1]  # run ids sort by their creation time


def iter_runs(root: Path) -> Iterator[tuple[Path, dict]]:
    """Every results folder (one holding run.json) under ``root``, at most a few levels down."""
    root = Path(root)
    if not root.is_dir():
        raise RubricateError("not a folder", path=str(root))
    for dirpath, dirnames, filenames in os.walk(root):
        depth = len(Path(dirpath).relative_to(root).parts)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if depth < MAX_DEPTH else []
        if MANIFEST in filenames:
            path = Path(dirpath)
            try:
                yield path, json.loads((path / MANIFEST).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                yield path, {"error": "unreadable run.json"}


def run_rows(root: Path) -> list[dict]:
    """One row per run, newest first (runs without an id, from older versions, last)."""
    rows = []
    for path, m in iter_runs(root):
        summary_path = path / "summary.json"
        overall = None
        if summary_path.is_file():
            try:
                s = json.loads(summary_path.read_text(encoding="utf-8"))
                by_judge = s.get("by_judge") or {}
                overall = {j: (v.get("overall") or {}).get("estimate") for j, v in by_judge.items()}
            except (OSError, json.JSONDecodeError):
                overall = None
        rows.append({
            "path": str(path.relative_to(root)) if path != Path(root) else ".",
            "run_id": m.get("run_id"), "created": m.get("created"), "finished": m.get("finished"),
            "rubric_id": m.get("rubric_id"), "rubric_version": m.get("rubric_version"),
            "kb_sha256": m.get("kb_sha256"), "judge": m.get("judge"), "judges": m.get("judges"),
            "models": m.get("models"), "responses": m.get("responses"), "verdicts": m.get("verdicts"),
            "appropriate": overall, "error": m.get("error"),
        })
    rows.sort(key=lambda r: (r["created"] or "", r["run_id"] or ""), reverse=True)  # ids order within a second
    return rows


def render_runs(rows: list[dict]) -> str:
    if not rows:
        return "no runs found\n"
    table = [("run id", "created", "rubric", "judge", "models", "responses", "appropriate", "folder")]
    for r in rows:
        rate = ", ".join(f"{j} {v:.1%}" for j, v in (r["appropriate"] or {}).items() if v is not None) or "-"
        rubric = f"{r['rubric_id'] or '-'}" + (f" v{r['rubric_version']}" if r.get("rubric_version") else "")
        table.append((r["run_id"] or "(unnamed)", r["created"] or "-", rubric, r["judge"] or "-",
                      ",".join(r["models"] or []) or "-", str(r["responses"] if r["responses"] is not None else "-"),
                      rate, r["path"]))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n" for row in table)
