"""Citations out of the knowledge base: which passages back a principle, as plain dicts.

The dict shape is the rubric schema's Citation (see rubrics/schema): everything an auditor
needs to find the text again, and an honest flag saying whether the locator was read from
the source document or comes from one of rubricate's digests.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from itertools import product

from rdflib import Graph

from rubricate.ontology.namespaces import DCTERMS, OA, RBC, RDF, SKOS, condition_iri, document_id, document_iri, principle_iri, principle_id

_Q = f"""
PREFIX rbc: <{RBC}>
PREFIX oa: <http://www.w3.org/ns/oa#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?e ?p ?doc ?title ?year ?pass ?text ?prefix ?suffix ?start ?end ?page ?label ?section ?verified
       ?role ?sha ?method ?linkmethod ?url ?pdf WHERE {{
  ?e a rbc:Evidence ; rbc:principle ?p ; rbc:document ?doc ; rbc:passage ?pass ; rbc:method ?method .
  OPTIONAL {{ ?e rbc:linkMethod ?linkmethod }}
  ?doc dcterms:title ?title .
  OPTIONAL {{ ?doc dcterms:issued ?year }}
  OPTIONAL {{ ?doc rbc:publicUrl ?url }}
  OPTIONAL {{ ?doc dcterms:source ?pdf }}
  ?pass rbc:text ?text ; rbc:locatorVerified ?verified ; oa:hasSource ?file ; rbc:inExtractedText ?x .
  ?x oa:hasSelector ?q, ?pos .
  ?file rbc:role ?role ; rbc:sha256 ?sha .
  ?q a oa:TextQuoteSelector ; oa:prefix ?prefix ; oa:suffix ?suffix .
  ?pos a oa:TextPositionSelector ; oa:start ?start ; oa:end ?end .
  OPTIONAL {{ ?pass rbc:page ?page }}
  OPTIONAL {{ ?pass rbc:pageLabel ?label }}
  OPTIONAL {{ ?pass rbc:sectionPath ?section }}
}}"""


def _citation(row) -> dict:
    (e, p, doc, title, year, pas, text, prefix, suffix, start, end, page, label, section, verified,
     role, sha, method, linkmethod, url, pdf) = row
    page_n = int(page) if page is not None else None
    link = None
    if pdf is not None:
        link = f"{pdf}#page={page_n}" if page_n else str(pdf)
    elif url is not None:
        link = str(url)
    selectors = [
        {"type": "TextQuoteSelector", "exact": str(text), "prefix": str(prefix), "suffix": str(suffix)},
        {"type": "TextPositionSelector", "start": int(start), "end": int(end)},
    ]
    if page_n:
        selectors.append({"type": "FragmentSelector", "value": f"page={page_n}",
                          "conformsTo": "http://tools.ietf.org/rfc/rfc3778"})
    return {
        "document": document_id(doc),
        "document_title": str(title),
        "year": int(str(year)) if year is not None else None,
        "principle": principle_id(p),
        "passage": str(pas).rsplit("/", 1)[-1],
        "file_sha256": str(sha),
        "page": page_n,
        "page_label": str(label) if label is not None else None,
        "section_path": str(section).split(" > ") if section is not None else [],
        "quote": str(text),
        "selectors": selectors,
        "url": link,
        "locator_verified": bool(verified.toPython()),
        "source_kind": str(role),
        "evidence": str(e).rsplit("/", 1)[-1],
        "evidence_method": str(method).rsplit("/", 1)[-1],
        "link_method": str(linkmethod).rsplit("/", 1)[-1] if linkmethod is not None else None,
    }


def _rows(g: Graph) -> Iterator[tuple]:
    """The solutions of ``_Q``, in its column order, found by following the graph's indexes.

    rdflib evaluates ``_Q`` by joining the evidence side with every passage's selectors pair
    by pair, so its time grew with evidence x passages: 4 s on the bundled KB, more than ten
    minutes with 10 more documents of 30 pages. The query stays the definition (a test checks
    that both give the same rows); this walk gives the same multiset of rows in linear time.
    """
    def objs(s, p) -> list:
        return list(g.objects(s, p))

    def opt(s, p) -> list:
        return objs(s, p) or [None]

    for e in g.subjects(RDF.type, RBC.Evidence):
        for p, doc, pas, method in product(objs(e, RBC.principle), objs(e, RBC.document),
                                           objs(e, RBC.passage), objs(e, RBC.method)):
            sides = []
            for x in objs(pas, RBC.inExtractedText):
                selectors = objs(x, OA.hasSelector)
                quotes = [(q, pre, suf) for q in selectors if (q, RDF.type, OA.TextQuoteSelector) in g
                          for pre in objs(q, OA.prefix) for suf in objs(q, OA.suffix)]
                spans = [(pos, a, b) for pos in selectors if (pos, RDF.type, OA.TextPositionSelector) in g
                         for a in objs(pos, OA.start) for b in objs(pos, OA.end)]
                sides += list(product(quotes, spans))
            files = [(role, sha) for f in objs(pas, OA.hasSource)
                     for role in objs(f, RBC.role) for sha in objs(f, RBC.sha256)]
            for (linkmethod, title, year, url, pdf, text, verified, (role, sha), ((_q, prefix, suffix), (_p, start, end)),
                 page, label, section) in product(
                    opt(e, RBC.linkMethod), objs(doc, DCTERMS.title), opt(doc, DCTERMS.issued),
                    opt(doc, RBC.publicUrl), opt(doc, DCTERMS.source), objs(pas, RBC.text),
                    objs(pas, RBC.locatorVerified), files, sides, opt(pas, RBC.page), opt(pas, RBC.pageLabel),
                    opt(pas, RBC.sectionPath)):
                yield (e, p, doc, title, year, pas, text, prefix, suffix, start, end, page, label, section, verified,
                       role, sha, method, linkmethod, url, pdf)


def _order(c: dict) -> tuple:
    # (principle, document, passage) first, as ever; the rest only orders rows that tie on it
    return c["principle"], c["document"], c["passage"], c["evidence"], json.dumps(c, sort_keys=True, default=str)


@lru_cache(maxsize=8)
def _all(g: Graph) -> tuple[dict, ...]:
    return tuple(sorted((_citation(r) for r in _rows(g)), key=_order))


def all_citations(g: Graph) -> list[dict]:
    return [dict(c) for c in _all(g)]


def citations_for(g: Graph, principle: str, condition: str | None = None, limit: int | None = 3,
                  include_narrower: bool = True) -> list[dict]:
    """Passages backing ``principle`` (and its sub-features), best first.

    Relevance comes first. With a ``condition``, documents that cover it rank first, then
    general documents (covering no condition); documents about other conditions are cited
    only when neither has a passage for the principle. Within each, passages for the principle itself come before those for a sub-feature.
    A verified locator ranks ahead of an unverified one only among the relevant documents
    (those covering the condition; all documents when no condition is given), so reviewing
    one document's PDF never pulls its passages into another condition's citations. Then
    the registry's order; documents of a tier take turns (one passage each first).
    """
    wanted = {principle}
    if include_narrower:
        wanted |= {principle_id(n) for n in g.objects(principle_iri(principle),
                                                       SKOS.narrower)}
    covers, specific = set(), set()
    if condition:
        covers = {document_id(d) for d in g.subjects(RBC.coversCondition, condition_iri(condition))}
        specific = {document_id(d) for d in g.subjects(RBC.coversCondition, None)}
    order = {document_id(d): int(pos) for d, pos in g.subject_objects(RBC.listPosition)
             if str(d).startswith(str(document_iri("")))}

    def tier(c: dict) -> int:
        if not condition or c["document"] in covers:
            return 0
        return 2 if c["document"] in specific else 1

    def key(c: dict) -> tuple:
        t = tier(c)
        return (t, c["principle"] != principle, t == 0 and not c["locator_verified"],
                order.get(c["document"], 999), c["passage"])

    cands = [c for c in _all(g) if c["principle"] in wanted]
    if any(tier(c) < 2 for c in cands):  # another condition's document only when nothing relevant
        cands = [c for c in cands if tier(c) < 2]
    seen_docs: dict[str, int] = {}
    ranked = []
    for rank, c in enumerate(sorted(cands, key=key)):
        n = seen_docs.get(c["document"], 0)
        seen_docs[c["document"]] = n + 1
        ranked.append(((tier(c), n, rank), c))
    ranked = [dict(c) for _, c in sorted(ranked, key=lambda t: t[0])]  # round-robin within a tier
    return ranked if limit is None else ranked[:limit]
