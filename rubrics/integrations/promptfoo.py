"""Rubric -> promptfoo YAML test file.

One test per response item. The chat goes in ``vars.messages`` and the single prompt renders
it as a JSON message array (``{{ messages | dump }}``), which promptfoo's chat providers send
as messages. Each criterion becomes:

- an ``llm-rubric`` assertion that passes when the grader's answer to the criterion's
  question is the appropriate one (metric = criterion id, weight = |points|);
- plus, where the offline judge's checks are expressible as promptfoo's deterministic
  assertions, an ``icontains-any`` / ``not-icontains-any`` on the check's terms. Expressible
  means: every detector is a ``lexicon`` with inline ``terms`` only, detectors combine with
  "any", and there is no ``unless`` veto. These approximate the offline judge (case-insensitive
  substrings; no lemmas, negation handling or unit filters), so they carry the metric
  ``<criterion id>/terms`` and the rubric's exact answer stays with the offline judge.

Citations travel in each test's ``metadata``.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from rubricate.guidelines.kernel.fileio import atomic_write_text
from rubricate.rubrics.integrations.common import chat, item_metadata, response_items

PROMPT = "{{ messages | dump }}"


def _terms_only(checks: dict | None) -> list[str] | None:
    """The inline terms of a check made only of term lexicons combined with 'any', else None."""
    if not checks or checks.get("unless") or checks.get("combine", "any") != "any":
        return None
    if checks.get("answer_if_found") != "yes" or checks.get("answer_otherwise") != "no":
        return None
    terms: list[str] = []
    for det in checks["detectors"]:
        params = det.get("params") or {}
        if det.get("type") != "lexicon" or det.get("unless") or set(params) - {"terms", "negation", "negation_window"}:
            return None
        if not isinstance(params.get("terms"), list):
            return None
        terms += [t for t in params["terms"] if t not in terms]
    return terms or None


def criterion_assertions(c: dict) -> list[dict]:
    other = "no" if c["appropriate_answer"] == "yes" else "yes"
    rubric_text = (f"You are grading one reply of an assistant acting as a therapist. Question about "
                   f"the reply: {c['question']} {c['judge_instructions']} The reply PASSES if the "
                   f"answer is {c['appropriate_answer']} and FAILS if the answer is {other}.")
    out = [{"type": "llm-rubric", "value": rubric_text, "metric": c["id"], "weight": abs(c["points"])}]
    terms = _terms_only(c.get("checks"))
    if terms:
        kind = "icontains-any" if c["appropriate_answer"] == "yes" else "not-icontains-any"
        out.append({"type": kind, "value": terms, "metric": f"{c['id']}/terms", "weight": abs(c["points"])})
    return out


def promptfoo_config(rubric: dict, system_prompt: str | None = None) -> dict:
    tests = []
    for item in response_items(rubric):
        tests.append({
            "description": f"{item['id']}: {item['title']}",
            "vars": {"messages": chat(item, system_prompt)},
            "assert": [a for c in item["criteria"] for a in criterion_assertions(c)],
            "metadata": item_metadata(rubric, item),
        })
    return {
        "description": f"{rubric['title']} ({rubric['rubric_id']} {rubric['version']}, compiled by rubricate)",
        "prompts": [PROMPT],
        "tests": tests,
    }


def promptfoo_yaml(rubric: dict, system_prompt: str | None = None) -> str:
    header = (f"# promptfoo test file exported by rubricate from rubric {rubric['rubric_id']} "
              f"{rubric['version']}.\n# Run: promptfoo eval -c <this file> -r <provider>\n")
    body = yaml.safe_dump(promptfoo_config(rubric, system_prompt), sort_keys=False, allow_unicode=True,
                          width=100, default_flow_style=False)
    return header + body


def export_promptfoo(rubric: dict, out: Path, system_prompt: str | None = None) -> int:
    text = promptfoo_yaml(rubric, system_prompt)
    atomic_write_text(Path(out), text)
    return len(response_items(rubric))
