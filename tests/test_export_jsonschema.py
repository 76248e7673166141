"""The single-file rubric schema works in generic validators as written: check-jsonschema
(PyPI) and ajv-cli (npm, draft 2020-12, strict mode), with no extra flags."""
from __future__ import annotations

import copy
import json
import subprocess

import pytest
from jsonschema import Draft202012Validator

from rubricate.compiler.compile import DEFAULT_FILE, RUBRICS_DIR, STIGMA_FILE
from rubricate.rubrics.contract.bundle import BUNDLED_ID, BUNDLED_SCHEMA, bundled_text
from rubricate.rubrics.contract.validation import schema_errors
from tests.external_tools import npm_tool, python_tool

RUBRICS = [RUBRICS_DIR / DEFAULT_FILE, RUBRICS_DIR / STIGMA_FILE]


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> list:
    """Two broken rubrics: a points sign against the answer, and an unknown detector type."""
    rubric = json.loads(RUBRICS[0].read_text(encoding="utf-8"))
    out = tmp_path_factory.mktemp("broken")
    a = copy.deepcopy(rubric)
    a["items"][0]["criteria"][0]["points"] = -a["items"][0]["criteria"][0]["points"]
    b = copy.deepcopy(rubric)
    b["items"][0]["criteria"][0]["checks"]["detectors"][0]["type"] = "telepathy"
    paths = []
    for name, doc in (("sign.json", a), ("detector.json", b)):
        assert schema_errors(doc)  # the modular schema rejects both
        (out / name).write_text(json.dumps(doc), encoding="utf-8")
        paths.append(out / name)
    return paths


def test_committed_bundle_is_generated_from_the_modular_schemas():
    assert BUNDLED_SCHEMA.read_text(encoding="utf-8") == bundled_text(), \
        "run: python -m rubricate.rubrics.contract.bundle"
    schema = json.loads(BUNDLED_SCHEMA.read_text(encoding="utf-8"))
    assert schema["$id"] == BUNDLED_ID
    Draft202012Validator.check_schema(schema)
    refs = [v for v in _walk(schema) if isinstance(v, str) and v.startswith(("urn:", "http"))]
    assert not [r for r in refs if "checks" in r], "every reference resolves inside the file"


def _walk(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def test_committed_rubrics_name_the_bundle_in_their_schema_key():
    for path in RUBRICS:
        assert json.loads(path.read_text(encoding="utf-8"))["$schema"] == BUNDLED_ID


def test_bundle_and_modular_schema_agree(broken):
    bundle = Draft202012Validator(json.loads(BUNDLED_SCHEMA.read_text(encoding="utf-8")))
    for path in RUBRICS:
        assert not list(bundle.iter_errors(json.loads(path.read_text(encoding="utf-8"))))
    for path in broken:
        assert list(bundle.iter_errors(json.loads(path.read_text(encoding="utf-8"))))


def test_check_jsonschema_accepts_rubrics_and_rejects_broken_ones(broken):
    tool = python_tool("check-jsonschema")
    ok = subprocess.run([tool, "--schemafile", str(BUNDLED_SCHEMA), *map(str, RUBRICS)],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    for path in broken:
        bad = subprocess.run([tool, "--schemafile", str(BUNDLED_SCHEMA), str(path)],
                             capture_output=True, text=True, timeout=120)
        assert bad.returncode == 1, bad.stdout + bad.stderr
        assert "items[0].criteria[0]" in bad.stdout + bad.stderr


@pytest.mark.slow
def test_ajv_strict_draft2020_accepts_rubrics_and_rejects_broken_ones(broken):
    tool = npm_tool("ajv")
    for path in RUBRICS:
        ok = subprocess.run([tool, "validate", "--spec=draft2020", "--strict=true", "-s", str(BUNDLED_SCHEMA),
                             "-d", str(path)], capture_output=True, text=True, timeout=120)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "strict mode" not in ok.stdout + ok.stderr and "valid" in ok.stdout + ok.stderr
    for path in broken:
        bad = subprocess.run([tool, "validate", "--spec=draft2020", "--strict=true", "-s", str(BUNDLED_SCHEMA),
                              "-d", str(path)], capture_output=True, text=True, timeout=120)
        assert bad.returncode != 0 and "invalid" in bad.stdout + bad.stderr, bad.stdout + bad.stderr
