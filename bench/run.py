"""The benchmark suite: every figure of issue 7, each beside its baseline, in one JSON object.

    .venv/bin/python bench/run.py            # full run; bench/results/latest.json and latest.md
    .venv/bin/python bench/run.py --quick    # small sizes, well under a minute; bench/results/quick.json
    .venv/bin/python bench/run.py --million  # the scale section also at 1,000,000 responses

The full run takes about 13 minutes on 2 cores, 9 of them parsing 8 x 200-page PDFs, plus the
kb_scale section (about half an hour: three cold and three warm builds at each size). Each
section runs in its own child process, one after the other, so none measures in a heap or
garbage collector loaded by another.

Sections: startup (`rubricate --help` and a one-response `evaluate` beside `python -c pass`
and a bare spaCy import, interleaved, medians and spread), kb_build (bundled corpus cold/warm, a generated PDF against plain pdfplumber,
parallel parsing), kb_scale (`build` and `compile` with 10, 50 and 200 generated guidelines, the
KB's writers beside rdflib's own; bench/kb_scale.py), offline_judge (responses/s of `evaluate` with the rules judge beside a
bare nlp.pipe pass, one process and two, interleaved rounds with medians and spread, on
repeated and on all-distinct texts), llm_judge (a fast local OpenAI-compatible server
in its own process answering after 50 ms, at concurrency 1 to 512 beside bare AsyncOpenAI and
aiohttp loops, ``--max-concurrency auto`` beside fixed limits against a hidden-capacity and a
429 server, and a cached re-run), scale (peak memory
and time of `rubricate evaluate` as the input grows) and compile (rubric compile time and
size). ``targets`` gathers every target of the issue with its value and whether it is met;
``machine`` says what it ran on and how loaded the machine was. The JSON goes to stdout and,
atomically, to the ``--out`` file; a Markdown table of the same figures is written beside it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, anchor_dir, has_anchor, load_average, machine, rounded, run_child, write_atomic  # noqa: E402

RESULTS = REPO / "bench" / "results"

FULL = {"pdf_pages": 200, "pdf_documents": 8, "judge_responses": 6300, "judge_repeat": 3, "startup_repeat": 5,
        "scale_sizes": (10, 10_000, 100_000), "llm_quick": False, "compile_repeat": 3, "kb_repeat": 3,
        "kb_scale_sizes": (10, 50, 200), "kb_scale_pages": 30, "kb_scale_repeat": 3}
QUICK = {"pdf_pages": 3, "pdf_documents": 2, "judge_responses": 600, "judge_repeat": 1, "startup_repeat": 1,
         "scale_sizes": (500, 2000), "llm_quick": True, "compile_repeat": 1, "kb_repeat": 1,
         "kb_scale_sizes": (2, 4), "kb_scale_pages": 3, "kb_scale_repeat": 1}


SECTIONS = ("startup", "kb_build", "pdf", "compile", "kb_scale", "offline_judge", "llm_judge", "scale")
SHARED_ENV = "RUBRICATE_BENCH_SHARED"
MILLION_ENV = "RUBRICATE_BENCH_MILLION"  # --million: the scale section also at 1,000,000 responses


def section(name: str, quick: bool) -> dict:
    """One section's figures, measured in this (fresh) process."""
    sizes = QUICK if quick else FULL
    if name == "startup":
        import startup
        return startup.measure(sizes["startup_repeat"])
    if name == "kb_build":
        import kb_build
        return kb_build.measure(sizes["kb_repeat"])
    if name == "pdf":
        import pdf_parse
        return pdf_parse.measure(sizes["pdf_pages"], sizes["pdf_documents"])
    if name == "compile":
        import compile as compile_bench
        return compile_bench.measure(sizes["compile_repeat"], anchor=anchor_dir() if has_anchor() else None)
    if name == "kb_scale":
        import kb_scale
        return kb_scale.measure(sizes["kb_scale_sizes"], sizes["kb_scale_repeat"], pages=sizes["kb_scale_pages"])
    if name == "llm_judge":
        import llm_judge
        return llm_judge.measure(sizes["llm_quick"])
    import offline_judge
    shared = os.environ.get(SHARED_ENV)  # the study import, done once for both sections
    with tempfile.TemporaryDirectory(prefix="rubricate-bench-") as tmp:
        work = Path(tmp)
        inputs = offline_judge.prepare(Path(shared) if shared else work)
        if name == "offline_judge":
            return offline_judge.measure_throughput(inputs, work / "throughput", sizes["judge_responses"],
                                                    sizes["judge_repeat"])
        if name == "scale":
            million = (1_000_000,) if os.environ.get(MILLION_ENV) else ()
            return offline_judge.measure_scale(inputs, work / "scale", tuple(sizes["scale_sizes"]) + million)
    raise ValueError(f"unknown section {name!r}")


def _in_child(name: str, quick: bool, shared: Path) -> tuple[dict, float]:
    """Run a section in its own interpreter: no section inherits another's heap, caches or
    garbage-collector load, and a crash is reported as that section's error."""
    run_ = run_child([sys.executable, str(Path(__file__).resolve()), "--section", name]
                     + (["--quick"] if quick else []), env={SHARED_ENV: str(shared)})
    if run_.returncode != 0:
        tail = " | ".join((run_.stderr or run_.stdout).strip().splitlines()[-3:])
        return {"error": f"exit {run_.returncode}: {tail}"}, run_.wall_s
    try:
        return json.loads(run_.stdout), run_.wall_s
    except ValueError:
        return {"error": "section printed no JSON: " + run_.stdout[-300:]}, run_.wall_s


def run(quick: bool) -> dict:
    sizes = QUICK if quick else FULL
    started = time.perf_counter()
    out: dict = {"bench": "rubricate", "quick": quick,
                 "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "machine": machine(), "sizes": {k: v for k, v in sizes.items()},
                 "method": "each section runs in its own child process, one after the other"}
    anchor = {"path": str(anchor_dir()), "present": has_anchor()}
    if not anchor["present"]:
        anchor["note"] = ("the study's release was not found: the study rubric is skipped and the "
                          "bundled default-rubric samples are repeated instead")
    out["anchor"] = anchor
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="rubricate-bench-shared-") as shared:
        for name in SECTIONS:
            out[name], timings[name] = _in_child(name, quick, Path(shared))
    out["kb_build"]["pdf"] = out.pop("pdf")
    out["targets"] = collect_targets(out)
    out["machine"]["load_avg_1m_at_end"] = load_average()
    out["section_seconds"] = {k: round(v, 1) for k, v in timings.items()}
    out["duration_s"] = round(time.perf_counter() - started, 1)
    return rounded(out)


def collect_targets(out: dict) -> dict:
    """Every target of the issue in one place: value, target and whether it is met."""
    targets: dict = {}
    judge = out.get("offline_judge") or {}
    for rubric in ("default", "study", "distinct"):
        for name, t in ((judge.get(rubric) or {}).get("targets") or {}).items():
            targets[f"offline_judge.{rubric}.{name}"] = t
    for section in ("startup", "kb_scale", "llm_judge", "scale"):
        for name, t in ((out.get(section) or {}).get("targets") or {}).items():
            targets[f"{section}.{name}"] = t
    for name, t in (((out.get("kb_build") or {}).get("pdf") or {}).get("targets") or {}).items():
        targets[f"pdf.{name}"] = t
    return targets


# ---- Markdown ---------------------------------------------------------------------------

def _f(value, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown(r: dict) -> str:
    """A README-ready table of the figures, the machine they were measured on, and the targets."""
    m = r["machine"]
    pk = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    lines = [f"Measured {r['date']} with `python bench/run.py{' --quick' if r['quick'] else ''}` on "
             f"{m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, {m['os']}, Python {m['python']} "
             f"({pk}); load average {m['load_avg_1m_at_start']} at start, {m.get('load_avg_1m_at_end')} "
             f"at end (other work was running on the machine).", "",
             "| Stage | Figure | Baseline | Result |", "|---|---|---|---|"]

    def row(stage, figure, baseline, result):
        lines.append(f"| {stage} | {figure} | {baseline} | {result} |")

    st = r.get("startup") or {}
    if "help" in st:
        base = st["baseline"]
        row("Start-up", f"`rubricate --help`, median of {st['help']['runs']} (load average "
            f"{_f(st.get('load_avg_1m_before'))} before, {_f(st.get('load_avg_1m_after'))} after)",
            f"`python -c pass` {_f(base['python_pass']['wall_s'])} s (CPU {_f(base['python_pass']['cpu_s'])} s)",
            f"{_f(st['help']['wall_s'])} s (CPU {_f(st['help']['cpu_s'])} s)")
        e = st["evaluate_one"]
        row("Start-up", "`rubricate evaluate`, one response, offline judge, warm",
            f"`import spacy; spacy.blank('en')` {_f(base['spacy_blank_en']['wall_s'])} s "
            f"(CPU {_f(base['spacy_blank_en']['cpu_s'])} s)",
            f"{_f(e['wall_s'])} s (CPU {_f(e['cpu_s'])} s, x{_f(e['over_spacy_blank_cpu'])} the floor's CPU); "
            f"cold {_f(st['evaluate_one_cold']['wall_s'])} s")
    kb = r.get("kb_build") or {}
    if "cold_s" in kb:
        row("KB build", f"bundled corpus ({kb['corpus']['documents']} documents), `rubricate build`",
            f"cold (empty parse cache) {_f(kb['cold_s'])} s", f"warm (cache hit) {_f(kb['warm_s'])} s")
    ks = r.get("kb_scale") or {}
    for size in ks.get("sizes", []):
        cold, comp = size["build_cold"], size["compile"]
        stages = ", ".join(f"{k} {_f(v)}" for k, v in cold["stages_s"].items())
        row("KB scale", f"`rubricate build`, {size['documents']:,} documents ({size['generated_documents']:,} generated, "
            f"{size['pages_per_document']} pages each): {size['passages']:,} passages, {size['triples']:,} triples",
            "-", f"cold {_f(cold['wall_s']['median'])} s ({_f(cold['wall_s']['min'])}-{_f(cold['wall_s']['max'])}; "
            f"stages: {stages}), peak RSS {_f(cold['peak_rss_mb']['median'])} MB; after one change "
            f"{_f(size['build_after_one_change']['wall_s'])} s, {size['build_after_one_change']['parse']['read']} file read; "
            f"`compile` {_f(comp['wall_s']['median'])} s")
    for n, ser in (ks.get("serialisers") or {}).items():
        w = ser["writers"]
        base = w.get("rdflib_turtle")
        row("KB scale", f"writing kb.ttl, {ser['triples']:,} triples ({n} generated documents)",
            f"rdflib turtle {_f(base['median']) if base else 'not timed'} s, rdflib nt {_f(w['rdflib_nt']['median'])} s",
            f"sorted Turtle {_f(w['rubricate_sorted_turtle']['median'])} s, sorted N-Triples (KB hash) "
            f"{_f(w['rubricate_sorted_ntriples']['median'])} s, JSON-LD {_f(w['rubricate_jsonld']['median'])} s")
    pdf = kb.get("pdf") or {}
    if "pages" in pdf:
        row("PDF parse", f"{pdf['pages']}-page two-column PDF (load average {_f(pdf.get('load_avg_1m_before'))} "
            f"before, {_f(pdf.get('load_avg_1m_after'))} after)",
            f"bare pdfplumber extract_text {_f(pdf['pdfplumber_extract_text_pages_per_s'])} pages/s; "
            f"old path (pdfplumber characters) {_f(pdf.get('old_path_pdfplumber_chars_pages_per_s'))} pages/s",
            f"{_f(pdf['parse_pdf_cold_pages_per_s'])} pages/s (x{_f(pdf.get('parse_pdf_speedup_over_pdfplumber'))} "
            f"bare pdfplumber, x{_f(pdf.get('parse_pdf_speedup_over_old_path'))} old path; same passages: "
            f"{_f(pdf.get('same_passages_as_old_path'))}); cached {_f(pdf['parse_document_cached_s'])} s")
        row("PDF parse", f"{pdf['documents']} documents in parallel", f"one process {_f(pdf['parse_many_serial_s'])} s",
            f"{_f(pdf['parse_many_parallel_s'])} s (speed-up x{_f(pdf['parallel_speedup'])})")
    judge = r.get("offline_judge") or {}
    for name in ("default", "study", "distinct"):
        j = judge.get(name) or {}
        if "evaluate" not in j:
            if j.get("status") == "skipped":
                row("Offline judge", f"{name} rubric", "-", f"skipped: {j['reason']}")
            continue
        e = j["evaluate"]
        w2 = e.get("workers_2") or {}
        rounds = e["workers_1"].get("over_bare_pipe_per_round") or []
        spread = f", rounds x{_f(min(rounds))}-x{_f(max(rounds))}" if len(rounds) > 1 else ""
        row("Offline judge", f"{j['rubric']} rubric{' (texts made distinct)' if name == 'distinct' else ''}, "
            f"{j['lines']:,} responses ({j['judged']:,} judged, {j['distinct_texts']:,} distinct, "
            f"{j['mean_chars']:,.0f} chars), responses/s, median of {j.get('rounds', 1)} interleaved rounds "
            f"(load average {_f(j.get('load_avg_1m_before'))} before, {_f(j.get('load_avg_1m_after'))} after)",
            f"bare nlp.pipe {_f(j['bare_nlp_pipe']['responses_per_s'])}/s",
            f"`evaluate` 1 process {_f(e['workers_1']['responses_per_s'])}/s (time x{_f(e['workers_1']['over_bare_pipe'])}"
            f"{spread}; judge alone x{_f(j['engine_only']['over_bare_pipe'])}); `--workers 2` {_f(w2.get('responses_per_s'))}/s")
    llm = r.get("llm_judge") or {}
    lines.extend(llm_rows(llm))
    if "cache" in llm:
        c = llm["cache"]
        row("LLM judge", "cached re-run", f"first run {c['cold']['requests']:,} requests, {_f(c['cold']['wall_s'])} s",
            f"{c['warm']['requests']} requests, {_f(c['warm']['wall_s'])} s")
    sc = r.get("scale") or {}
    for run_ in sc.get("runs", []):
        row("Scale", f"`rubricate evaluate` {run_['responses']:,} responses from disk"
            f" (load average {_f(run_.get('load_avg_1m_after'))} after)", "-",
            f"{_f(run_['wall_s'])} s, {_f(run_['responses_per_s'])}/s, peak RSS {_f(run_['peak_rss_mb'])} MB")
    cp = r.get("compile") or {}
    if "compile_default_warm_s" in cp:
        b = cp["bytes"]
        row("Compile", "default rubric", f"first compile {_f(cp['compile_default_first_s'])} s",
            f"{_f(cp['compile_default_warm_s'])} s, {cp['items']['default']} items, {b['default'] / 1024:,.0f} KiB")
        row("Compile", "stigma rubric", "-", f"{_f(cp['compile_stigma_s'])} s, {cp['items']['stigma']} items, "
            f"{b['stigma'] / 1024:,.0f} KiB")
        if "import_study_s" in cp:
            row("Compile", "study rubric (import moore2025)", "-", f"{_f(cp['import_study_s'])} s, "
                f"{cp['items']['study']} items, {b['study'] / 1024:,.0f} KiB")
    lines += ["", "| Target | Value | Met |", "|---|---|---|"]
    for name, t in r.get("targets", {}).items():
        lines.append(f"| {name} {t['target']} | {_f(t['value'])} | {_f(t['met'])} |")
    errors = [f"{k}: {v['error']}" for k, v in r.items() if isinstance(v, dict) and "error" in v]
    if errors:
        lines += ["", "Sections that failed: " + "; ".join(errors)]
    return "\n".join(lines) + "\n"


def llm_rows(llm: dict) -> list[str]:
    """The LLM judge's rows: share of ideal beside the bare client loops of the same run,
    then --max-concurrency auto beside the best fixed limit."""
    out = []
    base = {name: {b["max_concurrency"]: b for b in rows} for name, rows in (llm.get("baseline") or {}).items()}

    def share(x: dict) -> str:
        lo, hi = x.get("share_of_ideal_spread") or (None, None)
        spread = f" ({_f(100 * lo, 2)}-{_f(100 * hi, 2)})" if lo is not None and x.get("repeats", 1) > 1 else ""
        return f"{_f(100 * x['share_of_ideal'], 2)}%{spread}"
    for run_ in llm.get("runs", []) + llm.get("scaling", []):
        c = run_["max_concurrency"]
        bare = "; ".join(f"{name.replace('bare_', 'bare ')} {share(b[c])}, {_f(b[c]['client_cpu_ms_per_request'])} ms CPU/req"
                         for name, b in base.items() if c in b) or f"ideal {_f(run_['ideal_s'])} s"
        out.append(f"| LLM judge | {llm['judgements']:,} judgements, 50 ms server, concurrency {c}, share of ideal "
                   f"(median of {run_.get('repeats', 1)}, min-max) | {bare} | {share(run_)}, "
                   f"{_f(run_['client_cpu_ms_per_request'])} ms CPU/req{'; sampled' if run_.get('sampled') else ''} |")
    if "auto_plain" in llm:
        a = llm["auto_plain"]
        out.append(f"| LLM judge | `--max-concurrency auto`, plain 50 ms server, share of the ideal at 128 "
                   f"(interleaved with the fixed runs) | fixed 128: {share(next(r for r in llm['runs'] if r['max_concurrency'] == 128))} | "
                   f"{share(a)}, settled at {', '.join(str(x) for x in a.get('settled_at', []))} |")
    for name, a in (llm.get("auto") or {}).items():
        srv = a["server"]
        what = f"hidden capacity {srv['capacity']}" if srv.get("capacity") else f"429 above {srv['rate_per_s']:g}/s"
        best = a["runs"][str(a["best_fixed"])]
        auto = a["runs"]["auto"]
        out.append(f"| LLM judge | `auto` against a server with {what} | best fixed limit {a['best_fixed']}: "
                   f"{_f(best['judgements_per_s'])}/s, {best['rate_limited_429']} 429s | settled at {a['auto_settled_at']}, "
                   f"{_f(auto['judgements_per_s'])}/s (x{_f(a['auto_over_best_fixed'])} of best), "
                   f"{auto['rate_limited_429']} 429s |")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, under a minute (smoke test)")
    ap.add_argument("--out", type=Path, default=None,
                    help="JSON file to write (default bench/results/latest.json, or quick.json with --quick)")
    ap.add_argument("--million", action="store_true",
                    help="the scale section also at 1,000,000 responses (minutes more, ~3 GB of temporary disk)")
    ap.add_argument("--section", choices=SECTIONS, help=argparse.SUPPRESS)  # internal: one section, JSON to stdout
    args = ap.parse_args(argv)
    if args.million:
        os.environ[MILLION_ENV] = "1"  # the section's child process inherits it
    if args.section:
        print(json.dumps(rounded(section(args.section, args.quick))))
        return 0
    result = run(args.quick)
    out = args.out or RESULTS / ("quick.json" if args.quick else "latest.json")
    text = json.dumps(result, indent=2)
    write_atomic(out, text + "\n")
    write_atomic(out.with_suffix(".md"), markdown(result))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
