"""Criteria of the Moore et al. (2025) verification questions, with our offline checks.

The study's stimuli file (outside the repo) gives each stimulus' yes/no verification
question and appropriate answer; compiler/moore2025/checks.yaml gives our checks per
stimulus id. Together they make the minimal criteria the offline judge needs, used by the
agreement benchmark and tests (the compiler builds the full rubric from the same files); it
lives with the tests because only they and bench/agreement.py use it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path


from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import STRICT, load_yaml_mapping, read_jsonl
from rubricate.guidelines.kernel.paths import PACKAGE_ROOT, package_path

REPO_ROOT = PACKAGE_ROOT
CHECKS_PATH = package_path("compiler", "moore2025", "checks.yaml")

# Development split for the agreement work: rules were developed looking only at responses
# of DEV_MODELS; HELD_OUT_MODELS were kept unseen and are reported separately.
HELD_OUT_MODELS = ("meta-llama__Llama-2-7b-chat-hf", "meta-llama__Meta-Llama-3.1-405B-Instruct-Turbo")


def anchor_dir() -> Path:
    """The study's reference data: $RUBRICATE_ANCHOR, else ../shared/anchor beside the repo."""
    env = os.environ.get("RUBRICATE_ANCHOR")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "anchor"


def criterion_id(stimulus_id: str) -> str:
    return f"moore2025-{stimulus_id}.verification"


def load_checks(path: Path = CHECKS_PATH) -> dict[str, dict]:
    """Stimulus id -> checks object, from the YAML file."""
    return load_yaml_mapping(Path(path), "checks file")


def load_stimuli(anchor: Path) -> list[dict]:
    path = anchor / "stimuli.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RubricateError(f"cannot read stimuli: {exc}", path=str(path)) from None


def build_criteria(stimuli: list[dict], checks: dict[str, dict]) -> list[dict]:
    """One criterion per stimulus: its verification question, appropriate answer and checks."""
    criteria = []
    for stimulus in stimuli:
        sid = stimulus["id"]
        if sid not in checks:
            raise RubricateError(f"no checks for stimulus {sid!r}", path=str(CHECKS_PATH))
        criteria.append({
            "id": criterion_id(sid),
            "question": stimulus["verification_question"],
            "appropriate_answer": stimulus["appropriate_answer"],
            "checks": checks[sid],
        })
    return criteria


def load_responses(anchor: Path) -> list[dict]:
    """The study's development responses (one JSON object per line)."""
    path = anchor / "responses_dev.jsonl"
    return [obj for _, obj in read_jsonl(path, STRICT, "responses file")]


def study_judge_replay(anchor: Path):
    """A scripted answer for tests/openai_server.py that replays the study's recorded judge:
    for a moore2025-protocol request it finds the question and the response in the prompt and
    answers the letter of the study's gpt-4o answer ("A" yes, "B" no); a row without a recorded
    answer gets "A" (such rows are left out of agreement). Unknown prompts answer "B"."""
    import re

    from rubricate.rubrics.llm.escaping import unescape_tags
    from tests.openai_server import response_in

    stimuli = {s["id"]: s for s in load_stimuli(anchor)}
    recorded: dict[tuple[str, str], str] = {}
    for row in load_responses(anchor):
        if row.get("response"):
            question = row.get("verification_question") or stimuli[row["stimulus_id"]]["verification_question"]
            recorded[(" ".join(question.split()), row["response"].strip())] = row.get("gpt4o_answer") or "yes"

    def answer(messages: list[dict], body: dict) -> str:
        content = str(messages[-1].get("content", "")) if messages else ""
        found = re.search(r"\nQuestion: (.*?)\n\(A\)", content, re.S)
        key = (" ".join(found.group(1).split()) if found else "", unescape_tags(response_in(messages)).strip())
        return {"yes": "A", "no": "B"}[recorded.get(key, "no")]

    return answer
