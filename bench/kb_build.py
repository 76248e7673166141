"""How long `rubricate build` takes on the bundled corpus, with an empty and with a warm parse cache.

Each build is a child process (`cli.py build`, as a user runs it) with its own parse cache
folder: the first run parses every registered file and fills the cache (cold), the second
finds them all there (warm). The parse step alone is also timed in this process, without
and with the cache, because it is only a part of a build (the rest is the RDF graph, SHACL
validation and writing Turtle and JSON-LD). Prints one JSON object.

    .venv/bin/python bench/kb_build.py
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_of, cli  # noqa: E402


def _parse_step(repeat: int) -> dict:
    from rubricate.guidelines.sources.parse import parse_many
    from rubricate.guidelines.sources.registry import load_registry
    reg = load_registry()
    items = [(reg.resolve(f), d.id) for d in reg.documents for f in d.files]
    parse_many(items, 1)  # fill the cache (and pay imports) before timing
    cold, _, _ = best_of(lambda: parse_many(items, 1, cache=False), repeat)
    warm, _, _ = best_of(lambda: parse_many(items, 1, cache=True), repeat)
    return {"files": len(items), "parse_cold_s": cold, "parse_warm_s": warm,
            "parse_speedup": cold / warm if warm else None}


def measure(repeat: int = 3) -> dict:
    with tempfile.TemporaryDirectory(prefix="rubricate-bench-kb-") as tmp:
        env = {"RUBRICATE_CACHE_DIR": str(Path(tmp) / "cache")}
        cold = cli("build", "--out", str(Path(tmp) / "kb-cold"), env=env).check()
        warm = cli("build", "--out", str(Path(tmp) / "kb-warm"), env=env).check()
        report = json.loads((Path(tmp) / "kb-warm" / "build-report.json").read_text())
        same = (json.loads((Path(tmp) / "kb-cold" / "build-report.json").read_text())["kb_sha256"]
                == report["kb_sha256"])
        saved = os.environ.get("RUBRICATE_CACHE_DIR")
        os.environ["RUBRICATE_CACHE_DIR"] = env["RUBRICATE_CACHE_DIR"]
        try:
            parse = _parse_step(repeat)
        finally:
            if saved is None:
                os.environ.pop("RUBRICATE_CACHE_DIR", None)
            else:
                os.environ["RUBRICATE_CACHE_DIR"] = saved
    return {
        "corpus": {"documents": len(report["documents"]), "passages": report["passages"],
                   "triples": report["triples"]},
        "cold_s": cold.wall_s, "warm_s": warm.wall_s, "warm_over_cold": warm.wall_s / cold.wall_s,
        "cold_cpu_s": cold.cpu_s, "warm_cpu_s": warm.cpu_s,
        "cold_peak_rss_mb": cold.peak_rss_mb, "warm_peak_rss_mb": warm.peak_rss_mb,
        "same_kb_cold_and_warm": same,
        "parse_step": parse,
        "note": "wall time of `rubricate build` in a child process, interpreter start included; "
                "the bundled corpus is Markdown digests, quick to parse, so the cache saves little "
                "of a build here (see parse_step); for PDFs see pdf.parse_document_cached_s",
    }


def main() -> None:
    from _common import rounded
    print(json.dumps(rounded(measure()), indent=2))


if __name__ == "__main__":
    main()
