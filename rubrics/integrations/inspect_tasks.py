"""Inspect AI tasks that grade a model's replies with rubricate's criteria.

Registered through the ``inspect_ai`` entry point (pyproject: ``rubricate =
"rubricate.rubrics.integrations.inspect_tasks"``), so with ``pip install 'rubricate[inspect]'``::

    inspect eval rubricate/rubricate_default --model openai/gpt-4o-mini
    inspect eval rubricate/rubric_eval -T rubric=build/rubrics/my-rubric.json -T grader=model
    inspect eval rubricate/rubric_eval -T dataset=build/inspect.jsonl   # from `rubricate export`

Each sample is one rubric item; the model continues the item's chat (optionally after the
therapist system prompt compiled from the ontology's vocabulary, ``-T system_prompt=true``)
and the scorer answers every criterion of the item with one of rubricate's own judges:

- ``grader=rules`` (default): the offline judge's compiled checks (deterministic, no model);
- ``grader=model``: the LLM judge of ``rubricate.rubrics.llm`` (the same prompt builder,
  reply parser, corrective re-ask, retries, request cache and protocol versions as
  ``rubricate evaluate --judge llm``). The grader endpoint is ``-T grader_model=NAME
  -T grader_base_url=URL`` (key from ``$OPENAI_API_KEY`` or ``-T grader_api_key_env``), else
  the name and base URL of Inspect's ``grader`` model role, else of the model under test.

The rubric is the compiled one (the workspace's build/rubrics first, then the bundled
rubrics); creating a task never builds the knowledge base. Scores: ``appropriate`` (1 when
every decisive criterion gets its appropriate answer, see rubrics/contract/scoring.py; NaN,
Inspect's "unscored", when a decisive criterion is uncertain or unknown, so accuracy is over
the samples the judge decided) and ``points`` (HealthBench points earned). Each score's
metadata names the rubric id and version, the knowledge-base hash, and per criterion the
answer, evidence and citations.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample, json_dataset
from inspect_ai.model import ChatMessageAssistant, ChatMessageSystem, ChatMessageUser, get_model
from inspect_ai.scorer import Score, Target, accuracy, mean, scorer, stderr
from inspect_ai.solver import TaskState, generate, solver, system_message

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.rubrics.contract.scoring import score_item

GRADERS = ("rules", "model")
_ROLES = {"user": ChatMessageUser, "assistant": ChatMessageAssistant, "system": ChatMessageSystem}


# ---- dataset ---------------------------------------------------------------------------------

def _sample(record: dict) -> Sample:
    messages = [_ROLES[m["role"]](content=m["content"]) for m in record["input"]]
    return Sample(id=record["id"], input=messages, target=record["target"], metadata=record["metadata"])


def rubric_dataset(rubric: str = "rubricate-default") -> MemoryDataset:
    """The response items of a compiled rubric (file path or id) as Inspect samples."""
    # start-up time: Inspect imports this module to list tasks; the rubric code loads per task
    from rubricate.rubrics.contract.loader import find_rubric, load_rubric
    from rubricate.rubrics.integrations.inspect_dataset import inspect_records
    path = find_rubric(rubric)
    records = inspect_records(load_rubric(path).data)
    return MemoryDataset([_sample(r) for r in records], name=path.stem)


@functools.lru_cache(maxsize=1)
def _therapist_prompt() -> str:
    """The therapist prompt needs only the principles, i.e. the bundled vocabulary: no KB build."""
    # start-up time: the vocabulary is read only when a task asks for the prompt
    from rubricate.compiler.system_prompt import default_therapist_prompt
    return default_therapist_prompt()


# ---- grading ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _compiled(criteria_json: str):
    from rubricate.rubrics.checks.engine import compile_checks  # start-up time: spaCy only when grading
    return compile_checks(json.loads(criteria_json))


def rules_answers(criteria: list[dict], response: str) -> dict[str, dict]:
    """The offline judge's answer, reason, evidence and confidence per criterion; ``answer`` is
    "uncertain" where it abstained (its reading kept as ``rules_answer``), so the score leaves
    that criterion undecided rather than count it as yes or no."""
    key = json.dumps([{"id": c["id"], "checks": c.get("checks")} for c in criteria], sort_keys=True)
    results = _compiled(key).evaluate([response])[0]
    return {r.criterion_id: {**r.to_dict(), "answer": r.decision, "rules_answer": r.answer} for r in results}


def _stimulus(state: TaskState) -> list[dict]:
    """The chat before the reply, as the LLM judge's protocols take it (no system prompt)."""
    messages = state.input if isinstance(state.input, list) else [ChatMessageUser(content=str(state.input))]
    return [{"role": m.role, "content": m.text} for m in messages if m.role in ("user", "assistant")]


def grader_endpoint(grader_model: str | None, grader_base_url: str | None, grader_api_key_env: str,
                    max_retries: int = 6, timeout: float = 60.0):
    """The LLM judge's endpoint: the named one, else Inspect's grader role (or model under test)."""
    from rubricate.rubrics.llm import EndpointConfig  # start-up time: the LLM client loads for grader=model only
    if grader_model is None:
        inspect_model = get_model(role="grader")  # falls back to the model under test
        api = inspect_model.api
        # openai-api/<service>/<model>: the endpoint knows the model without the service prefix
        grader_model = api.service_model_name() if hasattr(api, "service_model_name") else inspect_model.name
        grader_base_url = grader_base_url or getattr(api, "base_url", None)
    cfg = EndpointConfig(model=grader_model, base_url=grader_base_url, api_key_env=grader_api_key_env,
                         max_retries=max_retries, timeout=timeout)
    cfg.api_key()  # a missing key fails now, with the variable's name (never the key) in the message
    return cfg


async def llm_answers(criteria: list[dict], state: TaskState, response: str, endpoint, protocol: str,
                      cache) -> dict[str, dict]:
    """Every criterion through the main LLM judge (``rubricate.rubrics.llm.judge_many``)."""
    from rubricate.rubrics.llm import JudgeTask, judge_many  # start-up time: as above
    jtask = JudgeTask(key=str(state.sample_id), messages=_stimulus(state), response=response, criteria=criteria)
    results = await judge_many([jtask], endpoint, protocol=protocol, cache=cache, progress=False)
    return {r.criterion_id: {"criterion_id": r.criterion_id, "answer": r.answer, "reason": r.reason,
                             "evidence": r.evidence, "flags": r.flags, "cached": r.cached,
                             "judge_version": f"{r.model}/{r.protocol}-{r.protocol_version}"}
            for r in results}


@scorer(metrics={"appropriate": [accuracy(), stderr()], "points": [mean()]})
def rubric_criteria(grader: str = "rules", grader_model: str | None = None, grader_base_url: str | None = None,
                    grader_api_key_env: str = "OPENAI_API_KEY", protocol: str = "criterion",
                    cache_dir: str | None = None, no_cache: bool = False):
    """Answer every criterion of the sample's item and score the reply (see module docstring)."""
    if grader not in GRADERS:
        raise RubricateError(f"unknown grader {grader!r} (use {' or '.join(GRADERS)})")
    state_of: dict = {}

    def llm_setup():
        if not state_of:  # resolved on the first sample: the model roles exist only inside eval()
            from rubricate.rubrics.llm import get_protocol, open_cache  # start-up time: as above
            get_protocol(protocol)  # an unknown protocol fails before any call
            state_of["endpoint"] = grader_endpoint(grader_model, grader_base_url, grader_api_key_env)
            state_of["cache"] = open_cache(Path(cache_dir) if cache_dir else None, no_cache)
        return state_of["endpoint"], state_of["cache"]

    async def score(state: TaskState, target: Target) -> Score:
        criteria = state.metadata["criteria"]
        response = state.output.completion if state.output else ""
        if grader == "rules":
            answers = rules_answers(criteria, response)
        else:
            endpoint, cache = llm_setup()
            answers = await llm_answers(criteria, state, response, endpoint, protocol, cache)
        result = score_item(criteria, {cid: a["answer"] for cid, a in answers.items()})
        lines = [f"{c['id']}: {answers[c['id']]['answer']} (appropriate: {c['appropriate_answer']})"
                 for c in criteria]
        meta = state.metadata
        # undecided (a decisive criterion answered uncertain or unknown): NaN is Inspect's
        # unscored sentinel, so accuracy leaves the sample out and counts it as unscored
        # instead of scoring it inappropriate
        appropriate = float("nan") if result.appropriate is None else float(result.appropriate)
        return Score(
            value={"appropriate": appropriate, "points": result.points},
            answer=response,
            explanation="\n".join(lines) + ("" if result.appropriate is not None else
                                            "\nundecided: a decisive criterion was answered unknown "
                                            "or uncertain"),
            metadata={"grader": grader, "protocol": protocol if grader == "model" else None,
                      "rubric_id": meta.get("rubric_id"), "rubric_version": meta.get("rubric_version"),
                      "knowledge_base_sha256": meta.get("knowledge_base_sha256"),
                      "item_id": meta.get("item_id", state.sample_id),
                      "appropriate": result.appropriate, "healthbench": result.healthbench,
                      "max_points": result.max_points,
                      "criteria": [{**answers[c["id"]], "appropriate_answer": c["appropriate_answer"],
                                    "points": c["points"], "citations": c.get("citations", [])}
                                   for c in criteria]})

    return score


# ---- tasks -----------------------------------------------------------------------------------

def _solver(system_prompt: bool):
    return [system_message(_therapist_prompt()), generate()] if system_prompt else [generate()]


# Inspect names a task from a package by the package's top-level name, here `rubricate`:
# `inspect eval rubricate/rubricate_default`, the same from an editable install and a wheel.
@task
def rubric_eval(rubric: str = "rubricate-default", dataset: str | None = None, grader: str = "rules",
                grader_model: str | None = None, grader_base_url: str | None = None,
                grader_api_key_env: str = "OPENAI_API_KEY", protocol: str = "criterion",
                cache_dir: str | None = None, no_cache: bool = False, system_prompt: bool = False) -> Task:
    """Any compiled rubric (path or id), or a dataset exported by `rubricate export --format inspect`."""
    data = json_dataset(dataset, sample_fields=_sample) if dataset else rubric_dataset(rubric)
    return Task(dataset=data, solver=_solver(system_prompt),
                scorer=rubric_criteria(grader, grader_model, grader_base_url, grader_api_key_env, protocol,
                                       cache_dir, no_cache),
                metadata={"rubric": dataset or rubric, "grader": grader, "system_prompt": system_prompt})


@task
def rubricate_default(grader: str = "rules", grader_model: str | None = None, grader_base_url: str | None = None,
                      grader_api_key_env: str = "OPENAI_API_KEY", protocol: str = "criterion",
                      cache_dir: str | None = None, no_cache: bool = False, system_prompt: bool = False) -> Task:
    """rubricate's own stimulus set (rubricate-default: the workspace's compile, else the bundled one)."""
    return rubric_eval("rubricate-default", None, grader, grader_model, grader_base_url, grader_api_key_env,
                       protocol, cache_dir, no_cache, system_prompt)


# ---- conversations (issue 18) ----------------------------------------------------------------
# A multi-turn task: each sample is one persona x telling of a conversations rubric; the solver
# alternates the model under test and a simulated client (Inspect's model role "client", else
# the model under test itself), the scorer applies the conversation criteria turn by turn with
# the offline judge. `rubricate converse` is the resumable, concurrent way to do the same.

def conversation_dataset(rubric: str = "rubricate-conversations", personas: str | None = None,
                         tellings: str = "explicit,implicit") -> MemoryDataset:
    """One sample per persona x telling: the telling's opening as input, the persona as metadata."""
    # start-up time: Inspect imports this module to list tasks; the rubric code loads per task
    from rubricate.rubrics.contract.loader import find_rubric, load_rubric
    path = find_rubric(rubric)
    loaded = load_rubric(path)
    wanted = {p.strip() for p in personas.split(",")} if personas else set(loaded.personas)
    unknown = sorted(wanted - set(loaded.personas))
    if unknown:
        raise RubricateError(f"no persona {unknown[0]!r} in rubric {loaded.id}")
    samples = []
    for pid, p in loaded.personas.items():
        if pid not in wanted:
            continue
        for t in p["tellings"]:
            if t["telling"] in tellings.split(","):
                samples.append(Sample(id=f"{pid}#{t['telling']}", input=[ChatMessageUser(content=t["opening"])],
                                      target="no decisive failure",
                                      metadata={"persona": p, "telling": t["telling"], "rubric_id": loaded.id,
                                                "rubric_version": loaded.data["version"],
                                                "knowledge_base_sha256": loaded.data["knowledge_base"]["sha256"]}))
    return MemoryDataset(samples, name=path.stem)


def _turns_of(state: TaskState) -> list[tuple[str, str]]:
    chat = [m for m in state.messages if m.role in ("user", "assistant")]
    return [(u.text, a.text) for u, a in zip(chat[::2], chat[1::2]) if u.role == "user" and a.role == "assistant"]


@solver
def simulated_client(turns: int = 10):
    """Model under test and simulated client take turns until ``turns`` replies or the client ends it."""
    from rubricate.rubrics.llm.conversation import client_ended, simulator_messages  # start-up time: as above

    async def solve(state: TaskState, generate_reply) -> TaskState:
        persona, telling = state.metadata["persona"], state.metadata["telling"]
        client = get_model(role="client")  # falls back to the model under test
        for k in range(1, turns + 1):
            state = await generate_reply(state)
            if k == turns:
                break
            prompt = [_ROLES[m["role"]](content=m["content"]) for m in
                      simulator_messages(persona, telling, _turns_of(state))]
            text = (await client.generate(prompt)).completion
            if client_ended(text):
                state.metadata["ended_by_client"] = True
                break
            state.messages.append(ChatMessageUser(content=text.strip()))
        return state

    return solve


@scorer(metrics={"no_decisive_failure": [accuracy(), stderr()], "failures": [mean()]})
def conversation_criteria():
    """The persona's conversation criteria, turn by turn with the offline judge (verdicts name turns)."""
    async def score(state: TaskState, target: Target) -> Score:
        # start-up time: the evaluator's conversation rules load when scoring
        from rubricate.rubrics.contract.scoring import DECISIVE
        from rubricate.rubrics.evaluation.conversations import decide, window
        persona = state.metadata["persona"]
        criteria = persona["criteria"]
        turns = _turns_of(state)
        key = json.dumps([{"id": c["id"], "checks": c.get("checks")} for c in criteria], sort_keys=True)
        per_turn = _compiled(key).evaluate([a for _, a in turns], [[c["id"] for c in criteria]] * len(turns))
        verdicts, first = [], None
        for j, c in enumerate(criteria):
            answers = {t: per_turn[t - 1][j].answer for t in range(1, len(turns) + 1)}
            answer, deciding, reason = decide(c, answers, len(turns))
            appropriate = None if answer == "unknown" else answer == c["appropriate_answer"]
            if appropriate is False and c["severity"] in DECISIVE and deciding:
                first = min(deciding) if first is None else min(first, min(deciding))
            verdicts.append({"criterion_id": c["id"], "scope": c["scope"], "answer": answer, "reason": reason,
                             "appropriate": appropriate, "turns": deciding,
                             "turn_answers": [{"turn": t, "answer": answers[t]} for t in window(c, len(turns))],
                             "citations": c.get("citations", [])})
        failures = sum(len(v["turns"]) for v in verdicts if v["appropriate"] is False)
        return Score(value={"no_decisive_failure": 1.0 if first is None else 0.0, "failures": float(failures)},
                     answer=f"{len(turns)} assistant turns",
                     explanation="\n".join(f"{v['criterion_id']}: {v['reason']}" for v in verdicts),
                     metadata={"persona": persona["id"], "telling": state.metadata["telling"],
                               "assistant_turns": len(turns), "first_decisive_failure_turn": first,
                               "rubric_id": state.metadata.get("rubric_id"), "verdicts": verdicts})

    return score


@task
def rubricate_conversations(rubric: str = "rubricate-conversations", personas: str | None = None,
                            tellings: str = "explicit,implicit", turns: int = 10,
                            system_prompt: bool = False) -> Task:
    """Multi-turn conversations with simulated clients (model role "client"), scored turn by turn."""
    solver_chain = ([system_message(_therapist_prompt())] if system_prompt else []) + [simulated_client(turns)]
    return Task(dataset=conversation_dataset(rubric, personas, tellings), solver=solver_chain,
                scorer=conversation_criteria(),
                metadata={"rubric": rubric, "turns": turns, "system_prompt": system_prompt})
