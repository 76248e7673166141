"""`bench/run.py --quick` runs end to end and reports every section with numeric figures.

A smoke test only: it checks the shape of the report, never how fast anything was (timings
belong in bench/results, not in assertions).
"""
from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from tests.conftest import REPO, anchor_dir

pytestmark = pytest.mark.slow  # runs every section of the benchmark (about a minute): .ci/run's slow pass


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def test_quick_benchmark_reports_every_section(tmp_path):
    out = tmp_path / "quick.json"
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)  # stdout is exactly one JSON object
    assert json.loads(out.read_text()) == report
    assert out.with_suffix(".md").read_text().count("|") > 20

    assert report["quick"] is True
    for key in ("cpu", "cores", "ram_gb", "python", "packages"):
        assert report["machine"][key], key
    failed = {k: v["error"] for k, v in report.items() if isinstance(v, dict) and "error" in v}
    assert not failed

    startup = report["startup"]
    for name in ("help", "evaluate_one"):
        assert _number(startup[name]["wall_s"]) and _number(startup[name]["cpu_s"])
    assert all(_number(b["wall_s"]) for b in startup["baseline"].values())
    assert {"help_wall_s", "evaluate_one_wall_s"} <= set(startup["targets"])

    kb = report["kb_build"]
    assert all(_number(kb[k]) for k in ("cold_s", "warm_s", "cold_peak_rss_mb"))
    assert kb["same_kb_cold_and_warm"] is True
    pdf = kb["pdf"]
    assert "error" not in pdf and pdf["pages"] >= 1
    assert all(_number(pdf[k]) for k in ("parse_pdf_cold_pages_per_s", "pdfplumber_extract_text_pages_per_s",
                                         "parse_pdf_time_over_pdfplumber", "parallel_speedup"))

    judge = report["offline_judge"]
    rubrics = ["default", "study"] if report["anchor"]["present"] else ["default"]
    if not report["anchor"]["present"]:
        assert judge["study"]["status"] == "skipped" and report["anchor"]["note"]
    assert judge["distinct"]["distinct_texts"] == judge["distinct"]["judged"]  # nothing repeats there
    for name in rubrics + ["distinct"]:
        j = judge[name]
        assert j["judged"] > 0
        assert _number(j["bare_nlp_pipe"]["responses_per_s"])
        for workers in ("workers_1", "workers_2"):
            e = j["evaluate"][workers]
            assert _number(e["responses_per_s"]) and _number(e["over_bare_pipe"])
            assert e["responses"] == j["judged"]

    llm = report["llm_judge"]
    assert [r["max_concurrency"] for r in llm["runs"]] == [1, 8, 32, 128]
    for r in llm["runs"]:
        assert _number(r["wall_s"]) and _number(r["ratio_to_ideal"]) and r["unknown"] == 0
    assert llm["cache"]["warm_requests_sent"] == 0  # the cache answers everything: a behaviour, not a timing
    assert llm["cache"]["cold"]["requests"] == llm["judgements"]

    scale = report["scale"]
    assert len(scale["runs"]) >= 2
    for r in scale["runs"]:
        assert r["judged"] == r["responses"] and _number(r["peak_rss_mb"]) and _number(r["wall_s"])

    comp = report["compile"]
    assert all(_number(comp[k]) for k in ("compile_default_warm_s", "compile_stigma_s"))
    assert all(_number(v) for v in comp["bytes"].values())
    if report["anchor"]["present"]:
        assert _number(comp["import_study_s"]) and comp["items"]["study"] > 0

    ks = report["kb_scale"]
    assert [s["generated_documents"] for s in ks["sizes"]] == [2, 4]
    for s in ks["sizes"]:
        assert s["passages"] > 0 and s["same_kb_every_build"] is True
        assert s["build_after_one_change"]["parse"]["read"] == 1  # a count, not a timing
        assert set(s["build_cold"]["stages_s"]) == {"parse", "extract", "graph", "validate", "serialise"}
        assert _number(s["build_cold"]["wall_s"]["median"]) and _number(s["compile"]["wall_s"]["median"])
    for ser in ks["serialisers"].values():
        for name, w in ser["writers"].items():
            assert w["same_bytes_every_run"] is True or name == "oxrdflib_turtle_store_order"
            assert w["loads_back_same_triples"] in (True, None), name
    assert {"build_stages_exponent_max", "files_read_after_one_change"} <= set(ks["targets"])

    assert report["targets"]
    for t in report["targets"].values():
        assert _number(t["value"]) and isinstance(t["met"], bool)


def test_anchor_path_is_shared_with_the_tests():
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from _common import anchor_dir as bench_anchor
    finally:
        sys.path.remove(str(REPO / "bench"))
    assert bench_anchor() == anchor_dir()
