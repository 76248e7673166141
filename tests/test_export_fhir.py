"""The FHIR R5 export validates with a maintained FHIR model library (fhir.resources) and keeps
every criterion under its principle and every cited passage with its quote and locator."""
from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest

from rubricate.compiler.compile import DEFAULT_FILE, REPO, RUBRICS_DIR
from rubricate.rubrics.contract.loader import load_rubric
from rubricate.rubrics.integrations.export import export
from rubricate.rubrics.integrations.fhir import BASE, CPG_KRL, fhir_id
from tests.external_tools import python_module


@pytest.fixture(scope="module")
def rubric() -> dict:
    return load_rubric(RUBRICS_DIR / DEFAULT_FILE).data


@pytest.fixture(scope="module")
def bundle_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("fhir") / "bundle.json"
    res = subprocess.run([sys.executable, "-m", "rubricate", "export", "--format", "fhir", "--out", str(out)],
                         cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return out


def test_bundle_validates_with_fhir_resources_and_round_trips(bundle_file):
    bundle_mod = python_module("fhir.resources.bundle")
    data = json.loads(bundle_file.read_text(encoding="utf-8"))
    bundle = bundle_mod.Bundle.model_validate(data)  # R5 models: every resource, every datatype
    assert bundle.type == "collection"
    assert json.loads(bundle.model_dump_json(exclude_none=True)) == data  # nothing dropped or coerced
    kinds = {e.resource.get_resource_type() for e in bundle.entry}
    assert kinds == {"Citation", "PlanDefinition", "ArtifactAssessment"}


def test_a_broken_resource_is_refused_by_the_validator(bundle_file):
    bundle_mod = python_module("fhir.resources.bundle")
    data = json.loads(bundle_file.read_text(encoding="utf-8"))
    bad = copy.deepcopy(data)
    plan = next(e["resource"] for e in bad["entry"] if e["resource"]["resourceType"] == "PlanDefinition")
    del plan["status"]  # required (1..1)
    with pytest.raises(Exception, match="status"):
        bundle_mod.Bundle.model_validate(bad)
    bad = copy.deepcopy(data)
    aa = next(e["resource"] for e in bad["entry"] if e["resource"]["resourceType"] == "ArtifactAssessment")
    aa["content"][0]["classifier"] = "not a list of CodeableConcept"
    with pytest.raises(Exception, match="classifier"):
        bundle_mod.Bundle.model_validate(bad)


def test_every_reference_resolves_inside_the_bundle(bundle_file):
    data = json.loads(bundle_file.read_text(encoding="utf-8"))
    full = {e["fullUrl"] for e in data["entry"]}
    assert all(e["fullUrl"] == f"{BASE}{e['resource']['resourceType']}/{e['resource']['id']}" for e in data["entry"])
    refs = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("reference"), str):
                refs.append(node["reference"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(data)
    assert refs and all(f"{BASE}{r}" in full for r in refs)


def test_criteria_sit_under_their_principle_and_cite_quoted_passages(bundle_file, rubric):
    data = json.loads(bundle_file.read_text(encoding="utf-8"))
    res = {(e["resource"]["resourceType"], e["resource"]["id"]): e["resource"] for e in data["entry"]}
    plans = {r["identifier"][0]["value"]: r for (t, _), r in res.items() if t == "PlanDefinition"}
    assert set(plans) == {p["id"] for p in rubric["principles"]}
    for p in plans.values():
        assert {"url": CPG_KRL, "valueCode": "semi-structured"} in p["extension"]
        assert p["type"]["coding"][0]["code"] == "eca-rule" and p["status"] == "active"
    docs = {r["identifier"][0]["value"] for (t, _), r in res.items() if t == "Citation"}
    assert docs == {s["document"] for s in rubric["knowledge_base"]["sources"]}
    n = 0
    for item in rubric["items"]:
        for c in item["criteria"]:
            actions = [a for a in plans[c["principle"]].get("action", []) if a["code"]["coding"][0]["code"] == c["id"]]
            assert len(actions) == 1, c["id"]
            action = actions[0]
            assert action["title"] == c["criterion"] and c["question"] in action["description"]
            for cite, doc in zip(c["citations"], action["documentation"], strict=True):
                kind, rid = doc["resourceReference"]["reference"].split("/")
                aa = res[(kind, rid)]
                assert aa["artifactReference"]["reference"] == f"Citation/{fhir_id('document', cite['document'])}"
                content = aa["content"][0]
                assert content["summary"] == cite["quote"]
                assert content["classifier"][0]["coding"][0]["code"] == cite["principle"]
                locator = json.loads(next(x["summary"] for x in content["component"]
                                          if x["type"]["coding"][0]["code"] == "selectors"))
                assert locator["selectors"] == cite["selectors"] and locator["page"] == cite["page"]
                assert locator["locator_verified"] is cite["locator_verified"]
                n += 1
    assert n >= 40


def test_export_is_deterministic(bundle_file, tmp_path):
    again = tmp_path / "again.json"
    export("rubricate-default", "fhir", again)
    assert again.read_bytes() == bundle_file.read_bytes()


def test_fhir_ids_are_valid():
    import re
    for key in ("national_institute_for_health_and_care_excellence_obsessive-compulsive_2005",
                "dont-enable-mania/no-driving", "x" * 80, "foa_exposure_2012"):
        fid = fhir_id("document", key)
        assert re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", fid), fid
    assert fhir_id("document", "a_b") != fhir_id("document", "a-b")
