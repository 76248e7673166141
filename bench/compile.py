"""Benchmark of the rubric compiler and exports; prints one JSON object.

    .venv/bin/python bench/compile.py [--repeat N]

Measures (wall-clock seconds, best of N): the in-memory knowledge-base build the compiler
starts from, compiling each committed rubric (first and warm) and, when the study's release
is present, importing its rubric (moore2025); the three exports of the default rubric, and
the offline judge on the bundled sample responses; plus sizes.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _best(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def measure(repeat: int = 3, graph=None, anchor: Path | None = None) -> dict:
    """Compile times and sizes; ``graph`` is a knowledge base already built (else built here)."""
    from rubricate.compiler.compile import compile_default_rubric, compile_stigma_rubric, dumps
    from rubricate.rubrics.integrations.export import EXPORTERS
    from rubricate.ontology.kb import build

    out: dict[str, object] = {}
    if graph is None:
        t = time.perf_counter()
        graph = build().graph
        out["kb_build_s"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    default = compile_default_rubric(graph)
    out["compile_default_first_s"] = round(time.perf_counter() - t, 3)
    secs, default = _best(lambda: compile_default_rubric(graph), repeat)
    out["compile_default_warm_s"] = round(secs, 3)
    secs, stigma = _best(lambda: compile_stigma_rubric(graph), repeat)
    out["compile_stigma_s"] = round(secs, 3)
    out["items"] = {"default": len(default["items"]), "stigma": len(stigma["items"])}
    out["criteria"] = sum(len(i["criteria"]) for i in default["items"])
    out["bytes"] = {"default": len(dumps(default)), "stigma": len(dumps(stigma))}
    if anchor is not None and (anchor / "stimuli.json").is_file():
        from rubricate.compiler.moore2025.importer import import_stimuli
        secs, study = _best(lambda: import_stimuli(anchor, graph), repeat)
        out["import_study_s"] = round(secs, 3)
        out["items"]["study"] = len(study["items"])
        out["bytes"]["study"] = len(dumps(study))
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, fn in EXPORTERS.items():
            path = Path(tmp) / f"export.{fmt}"
            secs, _ = _best(lambda: fn(default, path), repeat)
            out[f"export_{fmt}_s"] = round(secs, 4)
            out["bytes"][f"export_{fmt}"] = path.stat().st_size

    from rubricate.rubrics.checks.engine import compile_checks
    samples = [json.loads(line) for line in
               (REPO / "rubrics" / "samples" / "default_responses.jsonl").read_text().splitlines()]
    items = {i["id"]: i for i in default["items"]}
    compiled = compile_checks([c for i in default["items"] for c in i["criteria"]])
    ids = [[c["id"] for c in items[s["item_id"]]["criteria"]] for s in samples]
    secs, results = _best(lambda: compiled.evaluate([s["response"] for s in samples], ids), repeat)
    agree = sum(r.answer == s["expected_answers"][r.criterion_id] for s, rs in zip(samples, results) for r in rs)
    out["offline_judge_samples"] = {"responses": len(samples), "answers": sum(map(len, results)),
                                    "agree_with_expected": agree, "seconds": round(secs, 3)}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--anchor", type=Path, default=None,
                        help="the study's release, to time importing its rubric (default ../shared/anchor)")
    args = parser.parse_args(argv)
    anchor = args.anchor or Path(os.environ.get("RUBRICATE_ANCHOR") or REPO.parent / "shared" / "anchor")
    print(json.dumps(measure(args.repeat, anchor=anchor), indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
