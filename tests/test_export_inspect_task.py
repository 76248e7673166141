"""The Inspect task grades with our criteria, found through the `inspect_ai` entry point.

The model under test is Inspect's own mockllm provider replaying rubricate's sample
responses; the model grader talks to a real OpenAI-compatible HTTP server on 127.0.0.1.
"""
from __future__ import annotations

import json
import re

import pytest

from rubricate.compiler.compile import REPO

inspect_ai = pytest.importorskip("inspect_ai")
from inspect_ai import eval as inspect_eval  # noqa: E402
from inspect_ai.model import ModelOutput, ModelUsage, get_model  # noqa: E402

SAMPLES = REPO / "rubrics" / "samples" / "default_responses.jsonl"


def _samples() -> list[dict]:
    return [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]


def _replaying_model(pick_appropriate: bool):
    """mockllm answering each item's chat with the first sample of the wanted kind."""
    from rubricate.rubrics.contract.loader import load_rubric
    rubric = load_rubric(REPO / "rubrics" / "rubricate-default.json").data
    by_item = {}
    for s in _samples():
        if s["expected_appropriate"] is pick_appropriate:
            by_item.setdefault(s["item_id"], s["response"])
    by_last_message = {i["stimulus"]["messages"][-1]["content"]: by_item[i["id"]] for i in rubric["items"]}

    def reply(messages, tools, tool_choice, config):
        text = by_last_message[messages[-1].text]
        return ModelOutput.from_content(model="mockllm", content=text).model_copy(
            update={"usage": ModelUsage(input_tokens=10, output_tokens=10, total_tokens=20)})

    return get_model("mockllm/model", custom_outputs=reply, memoize=False)


def _metrics(log) -> dict[str, float]:
    assert log.status == "success", log.error
    return {name: m.value for score in log.results.scores for name, m in score.metrics.items()}


@pytest.mark.parametrize("appropriate", [True, False])
def test_entry_point_task_scores_samples_with_the_offline_judge(tmp_path, appropriate):
    (log,) = inspect_eval("rubricate/rubricate_default", model=_replaying_model(appropriate),
                          log_dir=str(tmp_path), display="none", max_samples=4)
    metrics = _metrics(log)
    undecided = [s.metadata.get("item_id") for s in log.samples
                 if next(iter(s.scores.values())).metadata["appropriate"] is None]
    # the offline judge abstains (uncertain, below the default rubric's uncertain_below) on the
    # first appropriate del-dental-chip and hal-guide-medication samples: undecided, so Inspect
    # leaves them out of accuracy (unscored) instead of counting them inappropriate; points
    # still count them
    assert undecided == (["del-dental-chip", "hal-guide-medication"] if appropriate else [])
    assert metrics["accuracy"] == (1.0 if appropriate else 0.0)
    by_key = {s.name: s for s in log.results.scores}
    assert (by_key["appropriate"].unscored_samples or 0) == len(undecided)
    assert by_key["appropriate"].scored_samples == len(log.samples) - len(undecided)
    assert by_key["points"].scored_samples == len(log.samples)
    sample = log.samples[0]
    (score,) = sample.scores.values()
    crits = score.metadata["criteria"]
    assert crits and all(c["citations"] for c in crits) and score.metadata["grader"] == "rules"
    assert log.eval.task == "rubricate/rubricate_default"
    rubric = json.loads((REPO / "rubrics" / "rubricate-default.json").read_text(encoding="utf-8"))
    assert score.metadata["rubric_id"] == rubric["rubric_id"]
    assert score.metadata["knowledge_base_sha256"] == rubric["knowledge_base"]["sha256"]


def test_model_grader_asks_one_question_per_criterion(tmp_path, make_server, monkeypatch):
    """The model grader is the main LLM judge (criterion protocol: its prompt, parser, cache)."""
    def grade(messages, body):
        reply = re.search(r"<response>\n(.*?)\n</response>", messages[-1]["content"], re.S).group(1)
        question = re.search(r"\nQuestion: (.*)", messages[-1]["content"]).group(1)
        yes = "988" in reply if "crisis" in question.lower() else False
        return json.dumps({"explanation": "Looks clear.", "answer": "yes" if yes else "no", "evidence": []})

    server = make_server(answer=grade)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-not-secret")
    monkeypatch.setenv("RUBRICATE_CACHE_DIR", str(tmp_path / "cache"))
    grader = get_model("openai/test-model", base_url=server.base_url, memoize=False,
                       responses_api=False)  # the test server speaks chat completions
    from rubricate.rubrics.integrations.inspect_tasks import rubric_eval
    task = rubric_eval(rubric="rubricate-default", grader="model")
    (log,) = inspect_eval(task, model=_replaying_model(True), model_roles={"grader": grader},
                          log_dir=str(tmp_path), display="none", max_samples=2, limit=3)
    assert log.status == "success", log.error
    n_criteria = sum(len(s.metadata["criteria"]) for s in log.samples)
    assert len(server.completions) == n_criteria
    asked = [r.body["messages"][-1]["content"] for r in server.completions]
    for sample in log.samples:
        (score,) = sample.scores.values()
        assert score.metadata["grader"] == "model"
        for c, meta in zip(score.metadata["criteria"], sample.metadata["criteria"]):
            assert sum(meta["question"] in prompt and meta["judge_instructions"] in prompt for prompt in asked) == 1
            assert c["answer"] == ("yes" if "crisis" in meta["question"].lower() else "no"), (meta["id"], c)
    # the scripted grader finds every appropriate sample appropriate (the minor criterion
    # about securing the tablets is answered "no" but does not decide appropriateness)
    assert _metrics(log)["accuracy"] == 1.0
    # the LLM judge's own protocol version and request cache: a second run sends nothing
    from rubricate.rubrics.llm import get_protocol
    crit = log.samples[0].scores[next(iter(log.samples[0].scores))].metadata["criteria"][0]
    assert crit["judge_version"] == f"test-model/criterion-{get_protocol('criterion').version}"
    (again,) = inspect_eval(rubric_eval(rubric="rubricate-default", grader="model"), model=_replaying_model(True),
                            model_roles={"grader": grader}, log_dir=str(tmp_path), display="none",
                            max_samples=2, limit=3)
    assert again.status == "success" and len(server.completions) == n_criteria
    assert _metrics(again)["accuracy"] == 1.0


def test_system_prompt_option_sends_the_compiled_therapist_prompt(tmp_path, kb_build):
    from rubricate.rubrics.integrations.inspect_tasks import rubric_eval
    from rubricate.compiler.system_prompt import therapist_system_prompt
    seen = []

    def reply(messages, tools, tool_choice, config):
        seen.append([(m.role, m.text) for m in messages])
        return ModelOutput.from_content(model="mockllm", content="I hear you.").model_copy(
            update={"usage": ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)})

    model = get_model("mockllm/model", custom_outputs=reply, memoize=False)
    (log,) = inspect_eval(rubric_eval(system_prompt=True), model=model, log_dir=str(tmp_path),
                          display="none", limit=2)
    assert log.status == "success", log.error
    assert len(seen) == 2
    assert all(msgs[0] == ("system", therapist_system_prompt(kb_build.graph)) for msgs in seen)
    assert all(msgs[1][0] == "user" for msgs in seen)
