"""The mapping-review table from a built KB: one row per document, one column per feature.

Cells follow the study's conventions: ``Yes`` for a whole feature, the sub-feature labels
joined by ", " (in the study's order, then vocabulary order), or empty.
"""
from __future__ import annotations

import csv
import io
from collections import defaultdict

from rdflib import Graph

from rubricate.ontology.namespaces import RBC, SKOS, principle_id

FIRST_COLUMN = "Natbib"


def table_rows(g: Graph) -> tuple[list[str], list[list[str]]]:
    features = g.query(f"""SELECT ?p ?col ?pos WHERE {{
        ?p a <{RBC}Principle> ; <{RBC}studyColumn> ?col ; <{RBC}listPosition> ?pos }}""")
    columns = sorted(((int(pos), principle_id(p), str(col)) for p, col, pos in features))
    docs = sorted((int(pos), str(ident)) for ident, pos in g.query(f"""SELECT ?id ?pos WHERE {{
        ?d a <{RBC}Document> ; <http://purl.org/dc/terms/identifier> ?id ; <{RBC}listPosition> ?pos }}"""))
    cells: dict[tuple[str, str], list[tuple[int, int, str]]] = defaultdict(list)
    whole: set[tuple[str, str]] = set()
    q = f"""SELECT DISTINCT ?docid ?p ?label ?epos ?vpos WHERE {{
        ?e a <{RBC}Evidence> ; <{RBC}document> ?d ; <{RBC}principle> ?p .
        ?d <http://purl.org/dc/terms/identifier> ?docid .
        ?p <{SKOS}prefLabel> ?label .
        OPTIONAL {{ ?e <{RBC}listPosition> ?epos }}
        OPTIONAL {{ ?p <{RBC}listPosition> ?vpos }} }}"""
    for docid, p, label, epos, vpos in g.query(q):
        pid = principle_id(p)
        feature, _, sub = pid.partition("/")
        if sub:
            order = int(epos) if epos is not None else 10_000
            cells[(str(docid), feature)].append((order, int(vpos or 0), str(label)))
        else:
            whole.add((str(docid), feature))
    header = [FIRST_COLUMN] + [col for _, _, col in columns]
    rows = []
    for _, docid in docs:
        row = [docid]
        for _, fid, _ in columns:
            subs = cells.get((docid, fid))
            if subs:
                seen: list[str] = []
                for _, _, label in sorted(subs):
                    if label not in seen:
                        seen.append(label)
                row.append(", ".join(seen))
            else:
                row.append("Yes" if (docid, fid) in whole else "")
        rows.append(row)
    return header, rows


def to_csv(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def to_markdown(header: list[str], rows: list[list[str]]) -> str:
    def esc(s: str) -> str:
        return s.replace("|", "\\|")
    lines = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"
