"""`rubricate build` and `compile` as the registry grows, and the KB's serialisers side by side.

For each size N (10, 50, 200; 1,000 with ``--large``) a fresh workspace registers N generated
guidelines (tests/guidegen.py: about 30 pages of text written for rubricate, no real guideline)
beside the 10 bundled documents, and runs, each as a child process the way a user runs it:

- ``build`` with an empty parse cache (cold), and again with nothing changed (warm);
- ``build`` after one generated document changed (incremental): the parse stage's line says
  how many files were read, so re-parsing is counted, not timed;
- ``compile`` of the rubrics from that build.

At 1,000 documents (``--large``) it runs one cold build, one compile and the incremental
build (no warm repeats): about an hour on 2 shared cores.

Wall time, CPU time and the child's peak RSS are recorded, and the seconds of each build stage
(parse, extract, graph, validate, serialise) are read from the progress lines the build writes
on stderr. ``scaling`` gives, between consecutive sizes, the exponent k of time ~ passages^k
(1 is linear) and the time per document and per 1,000 passages.

``serialisers`` times, in one process and interleaved, every way of writing the KB of a size:
rubricate's sorted Turtle writer (what kb.ttl is), the sorted N-Triples behind the KB hash,
rdflib's own turtle, longturtle and nt serialisers (the baselines), oxrdflib's Oxigraph
Turtle writer through the rdflib API (store order, so not deterministic as such) and
pyoxigraph fed sorted triples (deterministic); each output is checked to load back into the
same triples. rdflib's Turtle writers grow faster than the graph, so they are only timed up to
``--rdflib-turtle-max`` documents. Medians of ``--repeat`` runs with min and max; the load
average before and after each size. Prints one JSON object; ``--out`` writes it too.

    .venv/bin/python bench/kb_scale.py [--sizes 10 50 200] [--large] [--repeat 3] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
if not __package__:  # run as a script; imported as bench.<name> (tests), the checkout is already importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import ChildRun, cli, emit, load_average, machine, rounded  # noqa: E402

from tests.guidegen import doc_id, touch_document, write_corpus  # noqa: E402

SIZES = (10, 50, 200)
LARGE = 1000
PAGES = 30
SLOW_WRITER_S = 60.0


def _spread(values: list[float]) -> dict:
    vals = [v for v in values if v == v]
    if not vals:
        return {"median": None, "min": None, "max": None, "runs": 0}
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "runs": len(vals)}


def stage_seconds(stderr: str) -> dict[str, float]:
    from rubricate.ontology.progress import parse_line
    found = (parse_line(line) for line in stderr.splitlines())
    return dict(f for f in found if f is not None)


def _parse_counts(stderr: str) -> dict[str, int] | None:
    """Files read and files from the cache, from the parse stage's line."""
    m = re.search(r"build: parse: ([\d,]+) files of [\d,]+ documents: ([\d,]+) read, ([\d,]+) from the parse cache",
                  stderr)
    if m is None:
        return None
    n = [int(x.replace(",", "")) for x in m.groups()]
    return {"files": n[0], "read": n[1], "from_cache": n[2]}


def _run(ws: Path, *args: str, cache: Path) -> ChildRun:
    return cli("--workspace", str(ws), *args, env={"RUBRICATE_CACHE_DIR": str(cache)}).check()


def _build_record(run: ChildRun, ws: Path) -> dict:
    report = json.loads((ws / "build" / "kb" / "build-report.json").read_text())
    return {"wall_s": run.wall_s, "cpu_s": run.cpu_s, "peak_rss_mb": run.peak_rss_mb,
            "stages_s": stage_seconds(run.stderr), "parse": _parse_counts(run.stderr),
            "passages": report["passages"], "triples": report["triples"], "kb_sha256": report["kb_sha256"]}


def _summary(records: list[dict]) -> dict:
    out = {k: _spread([r[k] for r in records]) for k in ("wall_s", "cpu_s", "peak_rss_mb")}
    stages = sorted({s for r in records for s in r["stages_s"]})
    out["stages_s"] = {s: statistics.median([r["stages_s"].get(s, math.nan) for r in records]) for s in stages}
    out["parse"] = records[-1]["parse"]
    return out


def _log(what: str, record: dict) -> None:
    """Each run's figures on stderr as it ends (a long run killed half-way keeps them)."""
    print(f"kb_scale: {what}: " + json.dumps(rounded(record)), file=sys.stderr, flush=True)


def measure_size(n: int, repeat: int, work: Path, pages: int = PAGES) -> dict:
    """Cold, warm and incremental builds and a compile with ``n`` generated documents; at
    ``LARGE`` documents and more one cold build, one compile and one incremental build."""
    load_before = load_average()
    ws = work / f"ws-{n}"
    t = time.perf_counter()
    files = write_corpus(ws, n, pages)
    generate_s = time.perf_counter() - t
    corpus_bytes = sum(f.stat().st_size for f in files)
    cold, warm, compiles = [], [], []
    for i in range(repeat):  # each cold build with its own empty parse cache
        cold.append(_build_record(_run(ws, "build", cache=work / f"cache-{n}-{i}"), ws))
        _log(f"{n} cold build", cold[-1])
    cache = work / f"cache-{n}-0"
    for _ in range(repeat if n < LARGE else 0):
        warm.append(_build_record(_run(ws, "build", cache=cache), ws))
        _log(f"{n} warm build", warm[-1])
    for _ in range(repeat):
        run = _run(ws, "compile", "--out", str(ws / "rubrics-out"), cache=cache)
        compiles.append({"wall_s": run.wall_s, "cpu_s": run.cpu_s, "peak_rss_mb": run.peak_rss_mb})
        _log(f"{n} compile", compiles[-1])
    touch_document(files[len(files) // 2])
    incremental = _build_record(_run(ws, "build", cache=cache), ws)
    _log(f"{n} build after one change", incremental)
    return {**size_entry(n, pages, cold, warm, compiles, incremental),
            "corpus_mb": corpus_bytes / 1e6, "generate_s": generate_s,
            "load_avg_1m_before": load_before, "load_avg_1m_after": load_average()}


def size_entry(n: int, pages: int, cold: list[dict], warm: list[dict], compiles: list[dict],
               incremental: dict | None) -> dict:
    """One size's figures from its runs' records (measured now, or read back from a log)."""
    first = cold[0]
    return {
        "generated_documents": n, "documents": n + 10, "pages_per_document": pages,
        "passages": first["passages"], "triples": first["triples"],
        "build_cold": _summary(cold), "build_warm": _summary(warm) if warm else None,
        "build_after_one_change": None if incremental is None else {
            **{k: incremental[k] for k in ("wall_s", "cpu_s", "peak_rss_mb", "stages_s")},
            "parse": incremental["parse"], "changed_document": doc_id(n // 2 + 1)},
        "compile": {k: _spread([c[k] for c in compiles]) for k in ("wall_s", "cpu_s", "peak_rss_mb")}
        if compiles else None,
        "same_kb_every_build": len({r["kb_sha256"] for r in cold + warm}) == 1,
    }


_LOGGED = re.compile(r"kb_scale: (\d+) (cold build|warm build|compile|build after one change): (\{.*\})$")


def sizes_from_log(text: str, pages: int = PAGES) -> list[dict]:
    """Sizes of a run from the records it wrote on stderr as each run ended (a run stopped
    before its JSON was written keeps what it measured)."""
    runs: dict[int, dict[str, list[dict]]] = {}
    for line in text.splitlines():
        m = _LOGGED.match(line.strip())
        if m:
            runs.setdefault(int(m.group(1)), {}).setdefault(m.group(2), []).append(json.loads(m.group(3)))
    return [size_entry(n, pages, r["cold build"], r.get("warm build", []), r.get("compile", []),
                       (r.get("build after one change") or [None])[-1])
            for n, r in sorted(runs.items()) if r.get("cold build")]


# ---- serialisers --------------------------------------------------------------------------

def _serialisers(include_rdflib_turtle: bool) -> dict:
    """name -> (function graph -> bytes, deterministic by construction, baseline)."""
    from rubricate.ontology.store import canonical_nt, to_jsonld, to_turtle
    ways = {
        "rubricate_sorted_turtle": (lambda g: to_turtle(g).encode(), "turtle"),
        "rubricate_sorted_ntriples": (lambda g: canonical_nt(g).encode(), "nt"),
        "rubricate_jsonld": (lambda g: to_jsonld(g).encode(), "json-ld"),
        "rdflib_nt": (lambda g: g.serialize(format="nt", encoding="utf-8"), "nt"),
    }
    if include_rdflib_turtle:
        ways["rdflib_turtle"] = (lambda g: g.serialize(format="turtle", encoding="utf-8"), "turtle")
        ways["rdflib_longturtle"] = (lambda g: g.serialize(format="longturtle", encoding="utf-8"), "turtle")
    try:
        import oxrdflib  # noqa: F401  (registers the ox-* plugins)
        import pyoxigraph
        from oxrdflib._converter import to_ox
    except ImportError:
        return ways
    ways["oxrdflib_turtle_store_order"] = (lambda g: g.serialize(format="ox-turtle", encoding="utf-8"), "turtle")

    def ox_sorted(g) -> bytes:
        from rubricate.ontology.store import TURTLE_PREFIXES
        triples = sorted(g, key=lambda t: (t[0].n3(), t[1].n3(), t[2].n3()))
        return pyoxigraph.serialize([pyoxigraph.Triple(to_ox(s), to_ox(p), to_ox(o)) for s, p, o in triples],
                                    format=pyoxigraph.RdfFormat.TURTLE, prefixes=TURTLE_PREFIXES)
    ways["pyoxigraph_sorted_turtle"] = (ox_sorted, "turtle")
    return ways


def measure_serialisers(ws: Path, cache: Path, repeat: int, include_rdflib_turtle: bool) -> dict:
    """Every writer on the same graph (built in this process from the warm parse cache)."""
    import os
    from rdflib import Graph
    from rubricate.guidelines.kernel.workspace import set_workspace
    from rubricate.ontology.kb import build
    os.environ["RUBRICATE_CACHE_DIR"] = str(cache)
    set_workspace(ws)
    try:
        g = build().graph
    finally:
        set_workspace(None)
    ways = _serialisers(include_rdflib_turtle)
    times: dict[str, list[float]] = {name: [] for name in ways}
    sizes, stable, last = {}, {}, {}
    for _ in range(repeat):  # interleaved: each round runs every writer once
        for name, (fn, _fmt) in ways.items():
            if times[name] and times[name][0] > SLOW_WRITER_S:
                continue  # one run of a writer this slow says enough ("runs" shows how many)
            t = time.perf_counter()
            data = fn(g)
            times[name].append(time.perf_counter() - t)
            stable[name] = stable.get(name, True) and last.get(name, data) == data
            sizes[name], last[name] = len(data), data
    loads = {}
    truth = set(g)
    for name, (fn, fmt) in ways.items():
        if fmt == "json-ld":
            continue  # tests/test_kb_linked_data.py round-trips kb.jsonld through PyLD
        back = Graph().parse(data=last[name], format=fmt)
        loads[name] = set(back) == truth
    base = statistics.median(times["rdflib_nt"])
    out = {"triples": len(g), "baseline": "rdflib_nt", "writers": {}}
    for name in ways:
        med = statistics.median(times[name])
        out["writers"][name] = {**_spread(times[name]), "bytes": sizes[name], "over_rdflib_nt": med / base,
                                "same_bytes_every_run": stable[name], "loads_back_same_triples": loads.get(name)}
    if "rdflib_turtle" in times:
        out["rubricate_turtle_speedup_over_rdflib_turtle"] = (statistics.median(times["rdflib_turtle"])
                                                              / statistics.median(times["rubricate_sorted_turtle"]))
    return out


def scaling(sizes: list[dict]) -> list[dict]:
    """Between consecutive sizes: exponent k of time ~ passages^k, per document, per 1,000 passages."""
    out = []
    for a, b in zip(sizes, sizes[1:]):
        row = {"from_documents": a["documents"], "to_documents": b["documents"]}
        for key in ("build_cold", "build_warm"):
            if not a[key] or not b[key]:
                continue
            ta, tb = a[key]["wall_s"]["median"], b[key]["wall_s"]["median"]
            row[f"{key}_exponent"] = math.log(tb / ta) / math.log(b["passages"] / a["passages"])
            ca, cb = a[key]["cpu_s"]["median"], b[key]["cpu_s"]["median"]  # what a loaded machine disturbs least
            row[f"{key}_cpu_exponent"] = math.log(cb / ca) / math.log(b["passages"] / a["passages"])
            work_a, work_b = sum(a[key]["stages_s"].values()), sum(b[key]["stages_s"].values())
            row[f"{key}_stages_exponent"] = math.log(work_b / work_a) / math.log(b["passages"] / a["passages"])
        for stage in b["build_cold"]["stages_s"]:
            sa, sb = a["build_cold"]["stages_s"].get(stage), b["build_cold"]["stages_s"].get(stage)
            if sa and sb and sa > 0.05:
                row[f"{stage}_exponent"] = math.log(sb / sa) / math.log(b["passages"] / a["passages"])
        if a["compile"] and b["compile"]:
            ca, cb = a["compile"]["wall_s"]["median"], b["compile"]["wall_s"]["median"]
            row["compile_exponent"] = math.log(cb / ca) / math.log(b["passages"] / a["passages"])
            ca, cb = a["compile"]["cpu_s"]["median"], b["compile"]["cpu_s"]["median"]
            row["compile_cpu_exponent"] = math.log(cb / ca) / math.log(b["passages"] / a["passages"])
        out.append(row)
    for s in sizes:
        kinds = [k for k in ("build_cold", "build_warm", "compile") if s[k]]
        s["per_document_s"] = {k: s[k]["wall_s"]["median"] / s["documents"] for k in kinds}
        s["per_1000_passages_s"] = {k: 1000 * s[k]["wall_s"]["median"] / s["passages"] for k in kinds}
    return out


def targets(out: dict) -> dict:
    """Nothing super-linear (stage time, build and compile CPU time against passages, exponent <= 1.15
    between any two sizes: 1 is linear, the margin is for a shared machine's noise); one file
    read after one change; serialising not the longest stage of a build at the largest size."""
    rows, sizes = out["scaling"], out["sizes"]
    found: dict = {}
    if rows:
        k = max(r["build_cold_stages_exponent"] for r in rows)
        found["build_stages_exponent_max"] = {"value": k, "target": "<= 1.15", "met": k <= 1.15}
        k = max(r["build_cold_cpu_exponent"] for r in rows)
        found["build_cpu_exponent_max"] = {"value": k, "target": "<= 1.15", "met": k <= 1.15}
        k = max((r["compile_cpu_exponent"] for r in rows if "compile_cpu_exponent" in r), default=math.nan)
        found["compile_cpu_exponent_max"] = {"value": k, "target": "<= 1.15", "met": k <= 1.15}
    if sizes:
        reads = max(s["build_after_one_change"]["parse"]["read"] for s in sizes if s["build_after_one_change"])
        found["files_read_after_one_change"] = {"value": reads, "target": "== 1", "met": reads == 1}
        stages = sizes[-1]["build_cold"]["stages_s"]
        share = stages.get("serialise", 0.0) / sum(stages.values())
        found["serialise_share_of_build_at_largest"] = {
            "value": share, "target": "not the longest stage",
            "met": stages.get("serialise", 0.0) < max(v for k, v in stages.items() if k != "serialise")}
    return found


def measure(sizes: tuple[int, ...] = SIZES, repeat: int = 3, rdflib_turtle_max: int = 50,
            serialiser_sizes: tuple[int, ...] | None = None, pages: int = PAGES) -> dict:
    out: dict = {"bench": "kb_scale", "machine": machine(), "repeat": repeat, "pages_per_document": pages,
                 "sizes": [], "serialisers": {}}
    serialiser_sizes = serialiser_sizes if serialiser_sizes is not None else tuple(n for n in sizes if n <= 200)
    with tempfile.TemporaryDirectory(prefix="rubricate-bench-kbscale-") as tmp:
        work = Path(tmp)
        for n in sizes:
            r = repeat if n < LARGE else 1
            print(f"kb_scale: {n} generated documents, {r} run(s) each", file=sys.stderr, flush=True)
            out["sizes"].append(measure_size(n, r, work, pages))
            if n in serialiser_sizes:
                out["serialisers"][str(n)] = measure_serialisers(work / f"ws-{n}", work / f"cache-{n}-0", repeat,
                                                                 n <= rdflib_turtle_max)
    out["scaling"] = scaling(out["sizes"])
    out["targets"] = targets(out)
    out["machine"]["load_avg_1m_at_end"] = load_average()
    return out


def merge(runs: list[dict]) -> dict:
    """Earlier runs as one: their sizes in order, serialisers, each run's machine and load."""
    out = {"bench": "kb_scale", "merged_runs": [{"machine": r["machine"], "repeat": r["repeat"], "log": r.get("log"),
                                                  "sizes": [s["generated_documents"] for s in r["sizes"]]} for r in runs],
           "sizes": sorted((s for r in runs for s in r["sizes"]), key=lambda s: s["generated_documents"]),
           "serialisers": {k: v for r in runs for k, v in r.get("serialisers", {}).items()}}
    out["scaling"] = scaling(out["sizes"])
    out["targets"] = targets(out)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--large", action="store_true", help=f"also {LARGE} generated documents (one run; long)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rdflib-turtle-max", type=int, default=50,
                    help="largest size at which rdflib's own Turtle writers are timed")
    ap.add_argument("--pages", type=int, default=PAGES, help="pages of each generated guideline")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--merge", type=Path, nargs="+", default=None,
                    help="no measuring: join the sizes of earlier runs (their JSON, or the stderr log of a run "
                         "stopped before writing it) and work out scaling and targets over all of them")
    args = ap.parse_args(argv)
    sizes = tuple(args.sizes) + ((LARGE,) if args.large and LARGE not in args.sizes else ())
    if args.merge:
        result = merge([json.loads(p.read_text()) if p.suffix == ".json" else
                        {"machine": None, "repeat": None, "log": p.name, "sizes": sizes_from_log(p.read_text())}
                        for p in args.merge])
    else:
        result = measure(sizes, args.repeat, args.rdflib_turtle_max, pages=args.pages)
    emit(result, args.out)


if __name__ == "__main__":
    main()
