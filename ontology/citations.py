"""Citations out of the knowledge base: which passages back a principle, as plain dicts.

The dict shape is the rubric schema's Citation (see rubrics/schema): everything an auditor
needs to find the text again, and an honest flag saying whether the locator was read from
the source document or comes from one of rubricate's digests.
"""
from __future__ import annotations

from functools import lru_cache

from rdflib import Graph

from rubricate.ontology.namespaces import RBC, SKOS, condition_iri, document_id, principle_iri, principle_id

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
  ?pass rbc:text ?text ; rbc:locatorVerified ?verified ; oa:hasSource ?file ;
        oa:hasSelector ?q, ?pos .
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


@lru_cache(maxsize=8)
def _all(g: Graph) -> tuple[dict, ...]:
    return tuple(sorted((_citation(r) for r in g.query(_Q)), key=lambda c: (c["principle"], c["document"], c["passage"])))


def all_citations(g: Graph) -> list[dict]:
    return [dict(c) for c in _all(g)]


def citations_for(g: Graph, principle: str, condition: str | None = None, limit: int | None = 3,
                  include_narrower: bool = True) -> list[dict]:
    """Passages backing ``principle`` (and its sub-features), best first.

    Best = verified locators first, then documents that cover ``condition``, then documents
    in the order of the registry; one passage per document before a second from the same one.
    """
    wanted = {principle}
    if include_narrower:
        wanted |= {principle_id(n) for n in g.objects(principle_iri(principle),
                                                       SKOS.narrower)}
    covers = set()
    if condition:
        covers = {document_id(d) for d in g.subjects(RBC.coversCondition, condition_iri(condition))}
    order = {document_id(d): int(pos) for d, pos in g.subject_objects(RBC.listPosition)
             if str(d).startswith("https://w3id.org/rubricate/document/")}
    cands = [c for c in _all(g) if c["principle"] in wanted]
    seen_docs: dict[str, int] = {}
    ranked = []
    for c in sorted(cands, key=lambda c: (not c["locator_verified"], c["document"] not in covers,
                                          c["principle"] != principle, order.get(c["document"], 999),
                                          c["passage"])):
        n = seen_docs.get(c["document"], 0)
        seen_docs[c["document"]] = n + 1
        ranked.append((n, c))
    ranked = [dict(c) for _, c in sorted(ranked, key=lambda t: t[0])]  # stable: round-robin by document
    return ranked if limit is None else ranked[:limit]
