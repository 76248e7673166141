"""SPARQL SELECT over the knowledge base, rendered as an aligned table, CSV or JSON."""
from __future__ import annotations

import csv
import io
import json

from rdflib import Graph

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.ontology.namespaces import DCTERMS, OA, PROV, RBC, SKOS

PREFIXES = {"rbc": RBC, "oa": OA, "prov": PROV, "dcterms": DCTERMS, "skos": SKOS}


def run_select(g: Graph, sparql: str) -> tuple[list[str], list[list[str]]]:
    try:
        res = g.query(sparql, initNs=PREFIXES)
    except Exception as exc:  # pyparsing / rdflib errors carry multi-line messages
        raise RubricateError(f"SPARQL error: {str(exc).splitlines()[0][:300]}") from None
    if res.type != "SELECT":
        raise RubricateError("only SELECT queries are supported")
    header = [str(v) for v in res.vars]
    rows = [["" if v is None else str(v) for v in row] for row in res]
    return header, rows


def render(header: list[str], rows: list[list[str]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([dict(zip(header, r)) for r in rows], indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
        return buf.getvalue()
    widths = [min(60, max([len(h)] + [len(r[i]) for r in rows])) for i, h in enumerate(header)]
    def line(cells: list[str]) -> str:
        return "  ".join((c if len(c) <= 60 else c[:57] + "...").ljust(w) for c, w in zip(cells, widths)).rstrip()
    out = [line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows]
    out.append(f"({len(rows)} rows)")
    return "\n".join(out) + "\n"
