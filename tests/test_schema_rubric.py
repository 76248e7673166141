"""The published rubric JSON Schema: well-formed, referenced checks schema, useful errors."""
from __future__ import annotations

import copy
import json

import pytest
from jsonschema import Draft202012Validator

from rubricate.compiler.compile import DEFAULT_FILE, RUBRICS_DIR, STIGMA_FILE
from rubricate.rubrics.contract.loader import load_rubric
from rubricate.rubrics.contract.validation import CHECKS_SCHEMA, RUBRIC_SCHEMA, schema_errors, validate_rubric
from rubricate.guidelines.kernel.errors import RubricateError


@pytest.fixture(scope="module")
def default_rubric() -> dict:
    return json.loads((RUBRICS_DIR / DEFAULT_FILE).read_text(encoding="utf-8"))


def test_schema_is_draft_2020_12_with_id():
    schema = json.loads(RUBRIC_SCHEMA.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "https://w3id.org/rubricate/schema/rubric/1.0"
    Draft202012Validator.check_schema(schema)


def test_checks_are_referenced_by_the_checks_schema_id():
    checks_id = json.loads(CHECKS_SCHEMA.read_text(encoding="utf-8"))["$id"]
    schema_text = RUBRIC_SCHEMA.read_text(encoding="utf-8")
    assert f'"$ref": "{checks_id}"' in schema_text


@pytest.mark.parametrize("name", [DEFAULT_FILE, STIGMA_FILE])
def test_committed_rubrics_are_valid(name):
    rubric = load_rubric(RUBRICS_DIR / name).data  # validates
    assert rubric["schema_version"] == "1.0"
    assert schema_errors(rubric) == []


def _first_criterion(rubric: dict) -> dict:
    return rubric["items"][0]["criteria"][0]


def test_points_sign_must_follow_the_appropriate_answer(default_rubric):
    bad = copy.deepcopy(default_rubric)
    crit = _first_criterion(bad)
    assert crit["appropriate_answer"] == "no" and crit["points"] < 0
    crit["points"] = 5
    errors = schema_errors(bad)
    assert errors and errors[0].startswith("$.items[0].criteria[0].points")


def test_a_criterion_needs_a_citation(default_rubric):
    bad = copy.deepcopy(default_rubric)
    _first_criterion(bad)["citations"] = []
    assert any(e.startswith("$.items[0].criteria[0].citations") for e in schema_errors(bad))


def test_invalid_checks_are_reported_inside_the_criterion(default_rubric):
    bad = copy.deepcopy(default_rubric)
    _first_criterion(bad)["checks"]["detectors"][0]["type"] = "telepathy"
    errors = schema_errors(bad)
    assert any(e.startswith("$.items[0].criteria[0].checks.detectors[0]") for e in errors)


def test_stigma_items_are_checked_against_their_own_shape():
    rubric = json.loads((RUBRICS_DIR / STIGMA_FILE).read_text(encoding="utf-8"))
    bad = copy.deepcopy(rubric)
    del bad["items"][0]["coding"]
    assert any("$.items[0]" in e and "coding" in e for e in schema_errors(bad))


def test_validate_and_load_give_one_line_errors(tmp_path, default_rubric):
    bad = copy.deepcopy(default_rubric)
    bad["rubric_id"] = "Not A Slug"
    with pytest.raises(RubricateError) as exc:
        validate_rubric(bad, "x.json")
    assert str(exc.value).startswith("x.json: not a valid rubric: $.rubric_id")
    path = tmp_path / "broken.json"
    path.write_text('{"schema_version": "1.0",\n  oops}', encoding="utf-8")
    with pytest.raises(RubricateError, match=r"broken.json:2: invalid JSON"):
        load_rubric(path)


def test_readme_example_is_a_valid_rubric():
    text = (RUBRIC_SCHEMA.parent / "README.md").read_text(encoding="utf-8")
    example = text.split("```json\n", 1)[1].split("\n```", 1)[0]
    doc = json.loads(example)
    assert schema_errors(doc) == []
    assert doc["items"][0]["criteria"][0]["citations"]
