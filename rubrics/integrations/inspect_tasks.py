"""Inspect AI tasks that grade a model's replies with rubricate's criteria.

Registered through the ``inspect_ai`` entry point (pyproject: ``rubricate =
"rubricate.rubrics.integrations.inspect_tasks"``), so with inspect-ai installed::

    inspect eval rubricate/rubricate_default --model openai/gpt-4o-mini
    inspect eval rubricate/rubric_eval -T rubric=rubrics/rubricate-default.json -T grader=model
    inspect eval rubricate/rubric_eval -T dataset=build/inspect.jsonl   # from `rubricate export`

Each sample is one rubric item; the model continues the item's chat (optionally after the
therapist system prompt compiled from the ontology, ``-T system_prompt=true``) and the
scorer answers every criterion of the item, either with the offline judge (``grader=rules``,
the default: deterministic, no second model) or with a grader model (``grader=model``, one
call per criterion; the grader is the ``grader`` model role, else the model under test).
Scores: ``appropriate`` (1 when every critical/major criterion gets its appropriate answer,
see rubrics/scoring.py) and ``points`` (HealthBench points earned). Per-criterion answers,
evidence and citations are in each score's metadata.
"""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample, json_dataset
from inspect_ai.model import ChatMessageAssistant, ChatMessageSystem, ChatMessageUser, get_model
from inspect_ai.scorer import Score, Target, accuracy, mean, scorer, stderr
from inspect_ai.solver import TaskState, generate, system_message

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.rubrics.contract.scoring import score_item
from rubricate.guidelines.kernel.yaml_lines import load_yaml

GRADER_PROMPT = Path(__file__).with_name("inspect_grader.yaml")
GRADERS = ("rules", "model")
_ROLES = {"user": ChatMessageUser, "assistant": ChatMessageAssistant, "system": ChatMessageSystem}


# ---- dataset ---------------------------------------------------------------------------------

def _sample(record: dict) -> Sample:
    messages = [_ROLES[m["role"]](content=m["content"]) for m in record["input"]]
    return Sample(id=record["id"], input=messages, target=record["target"], metadata=record["metadata"])


def rubric_dataset(rubric: str = "rubricate-default") -> MemoryDataset:
    """The response items of a rubric (file path or id in rubrics/) as Inspect samples."""
    # start-up time: Inspect imports this module to list tasks; the rubric code loads per task
    from rubricate.rubrics.integrations.inspect_dataset import inspect_records
    from rubricate.rubrics.integrations.export import resolve_rubric
    from rubricate.rubrics.contract.loader import load_rubric
    path = resolve_rubric(rubric)
    records = inspect_records(load_rubric(path).data)
    return MemoryDataset([_sample(r) for r in records], name=path.stem)


def _therapist_prompt() -> str:
    # start-up time: the knowledge base code loads only when a task asks for the prompt
    from rubricate.compiler.system_prompt import therapist_system_prompt
    from rubricate.ontology.kb import build
    return therapist_system_prompt(build().graph)


# ---- grading ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _compiled(criteria_json: str):
    from rubricate.rubrics.checks.engine import compile_checks  # start-up time: spaCy only when grading
    return compile_checks(json.loads(criteria_json))


def rules_answers(criteria: list[dict], response: str) -> dict[str, dict]:
    """The offline judge's answer, reason and evidence per criterion."""
    key = json.dumps([{"id": c["id"], "checks": c.get("checks")} for c in criteria], sort_keys=True)
    results = _compiled(key).evaluate([response])[0]
    return {r.criterion_id: r.to_dict() for r in results}


@functools.lru_cache(maxsize=1)
def _grader_frame() -> tuple[str, re.Pattern]:
    data = load_yaml(GRADER_PROMPT)
    return data["template"], re.compile(data["answer_pattern"])


def _conversation(messages: list) -> str:
    names = {"user": "Client", "assistant": "Therapist"}
    return "\n\n".join(f"{names[m.role]}: {m.text}" for m in messages if m.role in names)


async def model_answers(criteria: list[dict], state: TaskState, response: str,
                        grader_model: str | None) -> dict[str, dict]:
    """One grader call per criterion; an answer the pattern cannot find is "unknown"."""
    template, pattern = _grader_frame()
    model = get_model(grader_model) if grader_model else get_model(role="grader")
    conversation = _conversation(state.input if isinstance(state.input, list) else
                                 [ChatMessageUser(content=str(state.input))])
    out = {}
    for c in criteria:
        prompt = template.format(conversation=conversation, response=response, question=c["question"],
                                 judge_instructions=c["judge_instructions"])
        reply = await model.generate(prompt)
        found = pattern.findall(reply.completion)
        answer = found[-1].lower() if found else "unknown"
        out[c["id"]] = {"criterion_id": c["id"], "answer": answer,
                        "reason": reply.completion[-500:], "evidence": []}
    return out


@scorer(metrics={"appropriate": [accuracy(), stderr()], "points": [mean()]})
def rubric_criteria(grader: str = "rules", grader_model: str | None = None):
    """Answer every criterion of the sample's item and score the reply (see module docstring)."""
    if grader not in GRADERS:
        raise RubricateError(f"unknown grader {grader!r} (use {' or '.join(GRADERS)})")

    async def score(state: TaskState, target: Target) -> Score:
        criteria = state.metadata["criteria"]
        response = state.output.completion if state.output else ""
        if grader == "rules":
            answers = rules_answers(criteria, response)
        else:
            answers = await model_answers(criteria, state, response, grader_model)
        result = score_item(criteria, {cid: a["answer"] for cid, a in answers.items()})
        lines = [f"{c['id']}: {answers[c['id']]['answer']} (appropriate: {c['appropriate_answer']})"
                 for c in criteria]
        return Score(
            value={"appropriate": 1.0 if result.appropriate else 0.0, "points": result.points},
            answer=response,
            explanation="\n".join(lines) + ("" if result.appropriate is not None else
                                            "\nundecided: a decisive criterion was answered unknown"),
            metadata={"grader": grader, "appropriate": result.appropriate,
                      "healthbench": result.healthbench, "max_points": result.max_points,
                      "criteria": [{**answers[c["id"]], "appropriate_answer": c["appropriate_answer"],
                                    "points": c["points"], "citations": c.get("citations", [])}
                                   for c in criteria]})

    return score


# ---- tasks -----------------------------------------------------------------------------------

def _solver(system_prompt: bool):
    return [system_message(_therapist_prompt()), generate()] if system_prompt else [generate()]


# Inspect namespaces a task by the top-level package of its module, which here is
# "compiler", not the entry-point name; naming the tasks explicitly makes
# `inspect eval rubricate/<task>` resolve (with the editable install rubricate uses).
@task(name="rubricate/rubric_eval")
def rubric_eval(rubric: str = "rubricate-default", dataset: str | None = None, grader: str = "rules",
                grader_model: str | None = None, system_prompt: bool = False) -> Task:
    """Any rubric (path or id), or a dataset exported by `rubricate export --format inspect`."""
    data = json_dataset(dataset, sample_fields=_sample) if dataset else rubric_dataset(rubric)
    return Task(dataset=data, solver=_solver(system_prompt), scorer=rubric_criteria(grader, grader_model),
                metadata={"rubric": dataset or rubric, "grader": grader, "system_prompt": system_prompt})


@task(name="rubricate/rubricate_default")
def rubricate_default(grader: str = "rules", grader_model: str | None = None,
                      system_prompt: bool = False) -> Task:
    """rubricate's own stimulus set (rubrics/rubricate-default.json)."""
    return rubric_eval("rubricate-default", None, grader, grader_model, system_prompt)

