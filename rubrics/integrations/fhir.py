"""Rubric -> FHIR R5 Bundle (JSON) for health-IT tools: guideline knowledge with quoted evidence.

Computable guidelines live in FHIR as Clinical Practice Guidelines on FHIR (CPG) and quoted
evidence as Evidence-Based Medicine on FHIR (EBMonFHIR). The bundle (type ``collection``)
holds, from the rubric alone (plus the guideline registry for bibliographic details):

- each guideline document of the knowledge base: a ``Citation`` (title, publisher, year,
  public URL, the natbib key as identifier);
- each principle the rubric uses: a ``PlanDefinition`` shaped after the CPG recommendation
  definition (type ``eca-rule``, the CPG ``knowledgeRepresentationLevel`` extension with
  ``semi-structured``: a labelled, defined principle whose criteria are yes/no questions);
  its ``relatedArtifact`` lists the evidence that justifies it; each rubric criterion citing
  the principle is one of its ``action``s (the behaviour as title, the question and the
  appropriate answer as description, the criterion id as code, severity, points and
  appropriate answer as rubricate extensions, its citations as ``documentation``), so a criterion always sits under its principle;
- each evidence passage cited: an ``ArtifactAssessment`` of the document's Citation whose
  content carries the quote, the principle it supports (classifier and related artifact)
  and the locator (page, printed page label, section path, W3C Web Annotation selectors,
  file SHA-256, whether the locator was verified against the source).

What is and is not profile-conformant is stated in the README (section "Exports and the
tools that run them"). Ids are derived from content hashes, so the output is deterministic.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import atomic_write_text
from rubricate.guidelines.sources.registry import load_registry
from rubricate.rubrics.integrations.common import response_items

BASE = "https://w3id.org/rubricate/fhir/"
CPG_KRL = "http://hl7.org/fhir/uv/cpg/StructureDefinition/cpg-knowledgeRepresentationLevel"
PLAN_TYPE = "http://terminology.hl7.org/CodeSystem/plan-definition-type"
PRINCIPLE_SYSTEM = "https://w3id.org/rubricate/principle"
DOCUMENT_SYSTEM = "https://w3id.org/rubricate/document"
CRITERION_SYSTEM = "https://w3id.org/rubricate/criterion"
RUBRIC_SYSTEM = "https://w3id.org/rubricate/rubric"
LOCATOR_SYSTEM = "https://w3id.org/rubricate/locator"


def fhir_id(kind: str, key: str) -> str:
    """A valid FHIR id ([A-Za-z0-9.-]{1,64}): the key made safe, with a hash when it had to change."""
    safe = re.sub(r"[^A-Za-z0-9.-]", "-", key)
    if safe == key and len(safe) <= 64:
        return safe
    return f"{safe[:40].strip('-.')}-{hashlib.sha256(f'{kind}:{key}'.encode()).hexdigest()[:16]}"


def _ref(kind: str, rid: str) -> dict:
    return {"reference": f"{kind}/{rid}"}


def _entry(resource: dict) -> dict:
    return {"fullUrl": f"{BASE}{resource['resourceType']}/{resource['id']}", "resource": resource}


def _documents(rubric: dict) -> dict[str, dict]:
    """Bibliographic details of every document the rubric's knowledge base read."""
    try:
        registered = {d.id: d for d in load_registry().documents}
    except RubricateError:  # no readable bundled registry: fall back to what citations say
        registered = {}
    cited = {c["document"]: c for c in _all_citations(rubric)}
    out = {}
    for doc_id in sorted({s["document"] for s in rubric["knowledge_base"]["sources"]} | set(cited)):
        d, c = registered.get(doc_id), cited.get(doc_id, {})
        out[doc_id] = {
            "title": d.title if d else c.get("document_title", doc_id),
            "year": d.year if d else c.get("year"),
            "publisher": d.publisher if d else None,
            "creators": list(d.creators) if d else [],
            "url": (d.url if d else None) or None,
        }
    return out


def _all_citations(rubric: dict) -> list[dict]:
    cites = [c for p in rubric["principles"] for c in p["citations"]]
    cites += [c for i in response_items(rubric) for cr in i["criteria"] for c in cr["citations"]]
    return cites


def citation_resource(doc_id: str, doc: dict) -> dict:
    cited: dict = {"title": [{"text": doc["title"]}]}
    if doc["url"]:
        cited["webLocation"] = [{"url": doc["url"]}]
    form = {}
    if doc["publisher"]:
        form["publishedIn"] = {"publisher": {"display": doc["publisher"]}}
    if doc["year"]:
        form["publicationDateText"] = str(doc["year"])
    if form:
        cited["publicationForm"] = [form]
    if doc["creators"]:
        cited["contributorship"] = {"summary": [{"value": "; ".join(doc["creators"])}]}
    return {"resourceType": "Citation", "id": fhir_id("document", doc_id), "status": "active",
            "url": f"https://w3id.org/rubricate/document/{doc_id}",
            "identifier": [{"system": DOCUMENT_SYSTEM, "value": doc_id}],
            "title": doc["title"], "citedArtifact": cited}


def _passage_key(c: dict) -> str:
    return f"{c.get('evidence')}:{c['passage']}:{c['principle']}"


def assessment_resource(c: dict, labels: dict[str, str]) -> dict:
    """One cited passage as the evidence it is for one principle."""
    locator = {"page": c["page"], "page_label": c["page_label"], "section_path": c["section_path"],
               "selectors": c["selectors"], "file_sha256": c.get("file_sha256"),
               "locator_verified": c["locator_verified"], "source_kind": c["source_kind"]}
    where = [f"page {c['page']}" + (f" (printed {c['page_label']})" if c["page_label"] else "")] if c["page"] else []
    if c["section_path"]:
        where.append("section " + " > ".join(c["section_path"]))
    where.append("locator verified against the source" if c["locator_verified"]
                 else "locator unverified (rubricate's digest of the document)")
    principle = {"coding": [{"system": PRINCIPLE_SYSTEM, "code": c["principle"],
                             "display": labels.get(c["principle"], c["principle"])}]}
    pd_id = fhir_id("principle", c["principle"])
    content = [{
        "informationType": "container",
        "summary": c["quote"],
        "classifier": [principle],
        "relatedArtifact": [{"type": "supports", "resourceReference": _ref("PlanDefinition", pd_id)}],
        "component": [
            {"informationType": "comment", "type": {"coding": [{"system": LOCATOR_SYSTEM, "code": "locator"}]},
             "summary": "; ".join(where)},
            {"informationType": "container", "type": {"coding": [{"system": LOCATOR_SYSTEM, "code": "selectors"}]},
             "summary": json.dumps(locator, sort_keys=True, ensure_ascii=False)},
        ],
    }]
    if c.get("url"):
        content[0]["relatedArtifact"].append({"type": "cite-as", "document": {"url": c["url"]}})
    out = {"resourceType": "ArtifactAssessment", "id": fhir_id("assessment", _passage_key(c)),
           "identifier": [{"system": "https://w3id.org/rubricate/passage", "value": c["passage"]}],
           "title": f"Passage {c['passage']} of {c['document']} supporting {c['principle']}",
           "artifactReference": _ref("Citation", fhir_id("document", c["document"])),
           "content": content}
    if c.get("evidence"):
        out["identifier"].append({"system": "https://w3id.org/rubricate/evidence", "value": c["evidence"]})
    return out


def _documentation(cites: list[dict]) -> list[dict]:
    return [{"type": "justification", "label": c["passage"],
             "resourceReference": _ref("ArtifactAssessment", fhir_id("assessment", _passage_key(c)))}
            for c in cites]


def criterion_action(item: dict, c: dict) -> dict:
    return {
        "id": fhir_id("criterion", c["id"]),
        "title": c["criterion"],
        "description": f"{c['question']} Appropriate answer: {c['appropriate_answer']}. "
                       f"(Item {item['id']}: {item['title']}; condition {item['condition']}.)",
        "textEquivalent": c["judge_instructions"],
        "extension": [{"url": f"{BASE}StructureDefinition/criterion-severity", "valueCode": c["severity"]},
                      {"url": f"{BASE}StructureDefinition/criterion-points", "valueDecimal": c["points"]},
                      {"url": f"{BASE}StructureDefinition/criterion-appropriate-answer",
                       "valueCode": c["appropriate_answer"]}],
        "code": {"coding": [{"system": CRITERION_SYSTEM, "code": c["id"]}]},
        "documentation": _documentation(c["citations"]),
    }


def plan_definition(principle: dict, actions: list[dict]) -> dict:
    name = "".join(w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", principle["id"]) if w)
    out = {
        "resourceType": "PlanDefinition", "id": fhir_id("principle", principle["id"]),
        "extension": [{"url": CPG_KRL, "valueCode": "semi-structured"}],
        "url": principle["iri"], "identifier": [{"system": PRINCIPLE_SYSTEM, "value": principle["id"]}],
        "name": name if name[:1].isalpha() else f"P{name}", "title": principle["label"],
        "type": {"coding": [{"system": PLAN_TYPE, "code": "eca-rule"}]},
        "status": "active", "description": principle["definition"],
        "relatedArtifact": _documentation(principle["citations"]),
    }
    if actions:
        out["action"] = actions
    return out


def fhir_bundle(rubric: dict) -> dict:
    labels = {p["id"]: p["label"] for p in rubric["principles"]}
    entries = [_entry(citation_resource(d, doc)) for d, doc in _documents(rubric).items()]
    actions: dict[str, list[dict]] = {}
    for item in response_items(rubric):
        for c in item["criteria"]:
            actions.setdefault(c["principle"], []).append(criterion_action(item, c))
    for p in rubric["principles"]:
        entries.append(_entry(plan_definition(p, actions.get(p["id"], []))))
    seen = set()
    for c in _all_citations(rubric):
        key = _passage_key(c)
        if key not in seen:
            seen.add(key)
            entries.append(_entry(assessment_resource(c, labels)))
    return {"resourceType": "Bundle", "id": fhir_id("rubric", rubric["rubric_id"]), "type": "collection",
            "identifier": {"system": RUBRIC_SYSTEM, "value": f"{rubric['rubric_id']}/{rubric['version']}"},
            "meta": {"tag": [{"system": "https://w3id.org/rubricate/knowledge-base",
                              "code": rubric["knowledge_base"]["sha256"]}]},
            "entry": entries}


def export_fhir(rubric: dict, out: Path, system_prompt: str | None = None) -> int:
    """Write the bundle; returns the number of response items whose criteria it holds."""
    bundle = fhir_bundle(rubric)
    atomic_write_text(Path(out), json.dumps(bundle, indent=1, ensure_ascii=False) + "\n")
    return len(response_items(rubric))
