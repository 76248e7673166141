"""Exports: HealthBench JSONL, Inspect AI dataset, promptfoo YAML (structure and content)."""
from __future__ import annotations

import json

import pytest
import yaml

from rubricate.compiler.compile import DEFAULT_FILE, REPO, RUBRICS_DIR, STIGMA_FILE
from rubricate.rubrics.integrations.healthbench import healthbench_rows
from rubricate.rubrics.integrations.export import export
from rubricate.rubrics.contract.loader import load_rubric
from rubricate.guidelines.kernel.errors import RubricateError

SAMPLES = REPO / "rubrics" / "samples" / "default_responses.jsonl"


@pytest.fixture(scope="module")
def rubric() -> dict:
    return load_rubric(RUBRICS_DIR / DEFAULT_FILE).data


def _read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _check_citations(metadata: dict, item: dict) -> None:
    assert [c["id"] for c in metadata["criteria"]] == [c["id"] for c in item["criteria"]]
    for meta, crit in zip(metadata["criteria"], item["criteria"]):
        assert meta["citations"] == crit["citations"] and meta["citations"]


def test_healthbench_rows_have_the_published_fields_and_types(rubric, tmp_path):
    out = tmp_path / "hb.jsonl"
    assert export(RUBRICS_DIR / DEFAULT_FILE, "healthbench", out) == len(rubric["items"])
    rows = _read_jsonl(out)
    items = {i["id"]: i for i in rubric["items"]}
    assert len({r["prompt_id"] for r in rows}) == len(rows) == len(items)
    for row in rows:
        assert {"prompt", "prompt_id", "rubrics", "example_tags"} <= set(row)
        assert isinstance(row["prompt_id"], str)
        assert all(set(m) == {"role", "content"} and isinstance(m["content"], str) for m in row["prompt"])
        assert isinstance(row["example_tags"], list) and all(isinstance(t, str) for t in row["example_tags"])
        item = items[row["prompt_id"].split("/", 1)[1]]
        assert row["prompt"] == item["stimulus"]["messages"]
        for rb, crit in zip(row["rubrics"], item["criteria"], strict=True):
            assert set(rb) == {"criterion", "points", "tags"}
            assert isinstance(rb["criterion"], str) and isinstance(rb["points"], (int, float))
            assert all(isinstance(t, str) for t in rb["tags"]) and "level:example" in rb["tags"]
            assert rb["points"] == crit["points"] and f"criterion:{crit['id']}" in rb["tags"]
        assert sum(r["points"] for r in row["rubrics"] if r["points"] > 0) > 0
        _check_citations(row["metadata"], item)
    first = out.read_bytes()
    export(RUBRICS_DIR / DEFAULT_FILE, "healthbench", out)
    assert out.read_bytes() == first  # deterministic


def test_system_prompt_goes_first_when_asked(rubric):
    rows = healthbench_rows(rubric, system_prompt="Be a good therapist.")
    assert all(r["prompt"][0] == {"role": "system", "content": "Be a good therapist."} for r in rows)


def test_inspect_dataset_loads_with_inspects_own_loader(rubric, tmp_path):
    from inspect_ai.dataset import json_dataset
    from inspect_ai.model import ChatMessageAssistant, ChatMessageUser
    out = tmp_path / "inspect.jsonl"
    export("rubricate-default", "inspect", out)
    dataset = json_dataset(str(out))
    items = {i["id"]: i for i in rubric["items"]}
    assert len(dataset) == len(items)
    for sample in dataset:
        item = items[sample.id]
        assert isinstance(sample.input, list)
        assert [m.role for m in sample.input] == [m["role"] for m in item["stimulus"]["messages"]]
        assert all(isinstance(m, (ChatMessageUser, ChatMessageAssistant)) for m in sample.input)
        assert sample.input[-1].text == item["stimulus"]["messages"][-1]["content"]
        assert sample.target == [c["criterion"] for c in item["criteria"]]
        assert sample.metadata["rubric_id"] == "rubricate-default"
        _check_citations(sample.metadata, item)
        assert all(c["checks"] and c["judge_instructions"] for c in sample.metadata["criteria"])


def _flat(assertions: list[dict]) -> list[dict]:
    """Assertions with the non-decisive assert-set's members in place of the set."""
    return [m for a in assertions for m in (a["assert"] if a["type"] == "assert-set" else [a])]


def test_promptfoo_yaml_structure(rubric, tmp_path):
    out = tmp_path / "promptfooconfig.yaml"
    export("rubricate-default", "promptfoo", out)
    config = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert set(config) == {"description", "providers", "prompts", "defaultTest", "tests"}
    assert config["prompts"] == ["{{ messages | dump }}"]
    items = {i["id"]: i for i in rubric["items"]}
    assert len(config["tests"]) == len(items)
    n_terms = 0
    for test in config["tests"]:
        assert set(test) == {"description", "vars", "assert", "metadata"}
        item = items[test["metadata"]["item_id"]]
        assert test["vars"]["messages"] == item["stimulus"]["messages"]
        _check_citations(test["metadata"], item)
        flat = _flat(test["assert"])
        rubrics = [a for a in flat if a["type"] == "llm-rubric"]
        assert sorted(a["metric"] for a in rubrics) == sorted(c["id"] for c in item["criteria"])
        for a in flat:
            assert a["type"] in {"llm-rubric", "icontains-any", "not-icontains-any"}
            assert isinstance(a["value"], (str, list)) and a["weight"] > 0
        crit = {c["id"]: c for c in item["criteria"]}
        for a in rubrics:
            c = crit[a["metric"]]
            assert c["question"] in a["value"] and f"answer is {c['appropriate_answer']}" in a["value"]
        gating = [a["metric"] for a in test["assert"] if a["type"] == "llm-rubric"]
        decisive = [c["id"] for c in item["criteria"] if c["severity"] in ("critical", "major")]
        assert gating == (decisive or [c["id"] for c in item["criteria"]])
        n_terms += sum(a["type"] != "llm-rubric" for a in flat)
        # a criterion on which the offline judge may abstain gets no substring test (it cannot abstain)
        assert all(not crit[a["metric"].removesuffix("/terms")]["checks"].get("uncertain_below")
                   for a in flat if a["type"] != "llm-rubric")
    # lexicon-only criteria that never abstain become deterministic assertions (the default rubric's
    # uncertain_below took ocd-harm-thought-reassurance.gives-reassurance out of them)
    assert n_terms >= 2


def _substring_pass(assertion: dict, text: str) -> bool:
    hit = any(t.lower() in text.lower() for t in assertion["value"])
    return hit if assertion["type"] == "icontains-any" else not hit


def test_deterministic_promptfoo_assertions_agree_on_the_samples(rubric):
    from rubricate.rubrics.integrations.promptfoo import promptfoo_config
    config = promptfoo_config(rubric)
    by_metric = {a["metric"].removesuffix("/terms"): a for t in config["tests"] for a in _flat(t["assert"])
                 if a["type"] != "llm-rubric"}
    crit = {c["id"]: c for i in rubric["items"] for c in i["criteria"]}
    checked = 0
    for s in _read_jsonl(SAMPLES):
        for cid, answer in s["expected_answers"].items():
            if cid in by_metric:
                assert _substring_pass(by_metric[cid], s["response"]) == (answer == crit[cid]["appropriate_answer"]), \
                    (s["response_id"], cid)
                checked += 1
    assert checked >= 6


def test_an_option_the_format_does_not_take_is_refused(tmp_path):
    with pytest.raises(RubricateError, match="format healthbench takes no option provider"):
        export("rubricate-default", "healthbench", tmp_path / "x.jsonl", provider="openai:chat:m")
    assert not (tmp_path / "x.jsonl").exists()


def test_stigma_rubric_is_not_exported(tmp_path):
    with pytest.raises(RubricateError, match="no response items to export"):
        export(RUBRICS_DIR / STIGMA_FILE, "healthbench", tmp_path / "x.jsonl")
    assert not (tmp_path / "x.jsonl").exists()


def test_cli_export(tmp_path, rubric):
    from click.testing import CliRunner
    from rubricate.cli import main
    runner = CliRunner()
    out = tmp_path / "pf.yaml"
    result = runner.invoke(main, ["export", "--rubric", "rubricate-default", "--format", "promptfoo", "--out", str(out)])
    assert result.exit_code == 0 and f"{len(rubric['items'])} items" in result.output and out.is_file()
    bad = runner.invoke(main, ["export", "--rubric", "no-such-rubric", "--format", "inspect", "--out", str(out)])
    assert bad.exit_code == 2 and "no rubric file or id 'no-such-rubric'" in bad.output
