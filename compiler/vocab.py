"""Principles and conditions as the knowledge base's SKOS vocabulary describes them.

The compiler reads labels and definitions from the graph (never from its own copy) so that a
rubric always says what the knowledge base it was compiled from says.
"""
from __future__ import annotations

from dataclasses import dataclass

from rdflib import Graph, Literal

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.ontology.namespaces import BASE, RBC, RDF, SKOS, principle_id

CONDITION_PREFIX = f"{BASE}condition/"


@dataclass(frozen=True)
class Principle:
    id: str
    iri: str
    label: str
    definition: str
    broader: str | None          # parent principle id for a sub-feature
    narrower: tuple[str, ...]    # sub-feature ids in the study's order
    position: int                # column (or position within the parent's cell)


@dataclass(frozen=True)
class Condition:
    id: str
    iri: str
    label: str
    alt_labels: tuple[str, ...]
    definition: str


def _en(g: Graph, subject, predicate) -> str | None:
    """The English (or untagged) literal of ``predicate``; deterministic when there are several."""
    values = sorted((o for o in g.objects(subject, predicate) if isinstance(o, Literal)
                     and o.language in (None, "en")), key=str)
    return str(values[0]) if values else None


def _position(g: Graph, subject) -> int:
    values = [int(v) for v in g.objects(subject, RBC.listPosition)]
    return min(values) if values else 999


def principles(g: Graph) -> dict[str, Principle]:
    """Every principle of the vocabulary, top-level features in the study's column order."""
    out: dict[str, Principle] = {}
    for s in g.subjects(RDF.type, RBC.Principle):
        pid = principle_id(s)
        broader = next(iter(sorted(g.objects(s, SKOS.broader))), None)
        narrower = sorted(g.objects(s, SKOS.narrower), key=lambda n: (_position(g, n), str(n)))
        out[pid] = Principle(
            id=pid, iri=str(s), label=_en(g, s, SKOS.prefLabel) or pid,
            definition=_en(g, s, SKOS.definition) or "",
            broader=principle_id(broader) if broader is not None else None,
            narrower=tuple(principle_id(n) for n in narrower), position=_position(g, s))
    if not out:
        raise RubricateError("the knowledge base has no principles (was the vocabulary loaded?)")
    return dict(sorted(out.items(), key=lambda kv: _order_key(out, kv[1])))


def _order_key(all_p: dict[str, Principle], p: Principle) -> tuple[int, int, str]:
    if p.broader is None:
        return (p.position, 0, p.id)
    parent = all_p.get(p.broader)
    return (parent.position if parent else 999, p.position, p.id)


def conditions(g: Graph) -> dict[str, Condition]:
    out: dict[str, Condition] = {}
    for s in g.subjects(RDF.type, RBC.Condition):
        cid = str(s).removeprefix(CONDITION_PREFIX)
        alts = sorted(str(o) for o in g.objects(s, SKOS.altLabel))
        out[cid] = Condition(cid, str(s), _en(g, s, SKOS.prefLabel) or cid, tuple(alts),
                             _en(g, s, SKOS.definition) or "")
    return dict(sorted(out.items()))


def principle_record(p: Principle) -> dict:
    """The rubric's description of a principle (citations are added by the compiler)."""
    rec = {"id": p.id, "iri": p.iri, "label": p.label, "definition": p.definition}
    if p.broader:
        rec["broader"] = p.broader
    return rec


def condition_record(c: Condition) -> dict:
    return {"id": c.id, "iri": c.iri, "label": c.label, "definition": c.definition}

