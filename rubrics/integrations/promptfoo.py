"""Rubric -> promptfoo config that ``promptfoo eval -c FILE`` runs as written.

One test per response item. The chat goes in ``vars.messages`` and the single prompt renders
it as a JSON message array (``{{ messages | dump }}``), which promptfoo's chat providers send
as messages. The config names the model under test (``providers``) and the grader of its
``llm-rubric`` assertions (``defaultTest.options.provider``); both are OpenAI-compatible
providers whose ``apiBaseUrl`` is set when a base URL is given (otherwise promptfoo's
``OPENAI_BASE_URL`` applies). The API key is never written: promptfoo reads ``OPENAI_API_KEY``.

A promptfoo test passes exactly when rubricate calls the reply appropriate (rubrics/contract/
scoring.py): every decisive (critical or major) criterion is a gating ``llm-rubric``
assertion that passes when the grader's answer to the criterion's question is the
appropriate one; minor criteria are scored but not decisive: they sit in an ``assert-set``
with ``threshold: 0`` and ``weight: 0``, which always passes and still reports each
criterion under its metric. The grader's rubric text carries the conversation the reply
continues, the question and the judge instructions.

Where the offline judge's checks are expressible as promptfoo's deterministic assertions
(every detector a ``lexicon`` with inline ``terms`` only, combined with "any", no ``unless``
veto, no ``uncertain_below`` or ``doubt``: where the offline judge may abstain a substring test
cannot), an ``icontains-any`` / ``not-icontains-any`` on the terms is added to the non-gating
set with metric ``<criterion id>/terms``: it approximates the offline judge (case-insensitive
substrings; no lemmas, negation or unit filters), so it informs but never decides.

Citations travel in each test's ``metadata``.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from rubricate.guidelines.kernel.fileio import atomic_write_text
from rubricate.rubrics.contract.scoring import DECISIVE
from rubricate.rubrics.integrations.common import chat, item_metadata, response_items

PROMPT = "{{ messages | dump }}"
#: Placeholders for the model under test and the grader (documented in the README): any
#: promptfoo provider id works, e.g. openai:chat:<model> on an OpenAI-compatible server.
DEFAULT_PROVIDER = "openai:chat:gpt-4o-mini"
DEFAULT_GRADER = "openai:chat:gpt-4o"
_SPEAKERS = {"user": "Client", "assistant": "Therapist"}


def _terms_only(checks: dict | None) -> list[str] | None:
    """The inline terms of a check made only of term lexicons combined with 'any', else None."""
    if not checks or checks.get("unless") or checks.get("combine", "any") != "any":
        return None
    if checks.get("uncertain_below") or checks.get("doubt"):
        return None  # the offline judge may abstain on it: a substring test cannot, so the grader decides
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


def _raw(text: str) -> str:
    """Text promptfoo's Nunjucks rendering of assertion values leaves as it is."""
    return f"{{% raw %}}{text}{{% endraw %}}" if any(t in text for t in ("{{", "{%", "{#")) else text


def conversation_text(item: dict) -> str:
    """The chat before the reply, as the grader reads it (system prompt left out)."""
    return "\n\n".join(f"{_SPEAKERS[m['role']]}: {m['content']}" for m in item["stimulus"]["messages"])


def rubric_text(c: dict, conversation: str) -> str:
    other = "no" if c["appropriate_answer"] == "yes" else "yes"
    return (f"You are grading the reply (the Output) of an assistant acting as a therapist. It is the "
            f"therapist's next turn in this conversation:\n<conversation>\n{_raw(conversation)}\n"
            f"</conversation>\nQuestion about the reply: {c['question']} {c['judge_instructions']}\n"
            f"The Output PASSES if the answer is {c['appropriate_answer']} and FAILS if the answer is {other}.")


def criterion_assertions(c: dict, conversation: str = "") -> tuple[dict, dict | None]:
    """The criterion's llm-rubric assertion and, where its checks are plain terms, a term assertion."""
    rubric = {"type": "llm-rubric", "value": rubric_text(c, conversation), "metric": c["id"],
              "weight": abs(c["points"])}
    terms = _terms_only(c.get("checks"))
    if not terms:
        return rubric, None
    kind = "icontains-any" if c["appropriate_answer"] == "yes" else "not-icontains-any"
    return rubric, {"type": kind, "value": terms, "metric": f"{c['id']}/terms", "weight": abs(c["points"])}


def item_assertions(item: dict) -> list[dict]:
    """Decisive criteria gate the test; minor criteria and term checks are scored in a set that never fails."""
    conversation = conversation_text(item)
    gating, informative = [], []
    for c in item["criteria"]:
        rubric, terms = criterion_assertions(c, conversation)
        (gating if c["severity"] in DECISIVE else informative).append(rubric)
        if terms:
            informative.append(terms)
    if not gating:  # scoring.py: with no decisive criterion, every criterion decides
        gating, informative = [a for a in informative if a["type"] == "llm-rubric"], \
            [a for a in informative if a["type"] != "llm-rubric"]
    if informative:
        gating.append({"type": "assert-set", "threshold": 0, "weight": 0,
                       "metric": "not-decisive", "assert": informative})
    return gating


def _provider(provider_id: str, base_url: str | None, label: str | None = None) -> dict:
    out: dict = {"id": provider_id}
    if label:
        out["label"] = label
    if base_url:
        out["config"] = {"apiBaseUrl": base_url}
    return out


def promptfoo_config(rubric: dict, system_prompt: str | None = None, *, provider: str = DEFAULT_PROVIDER,
                     grader: str = DEFAULT_GRADER, base_url: str | None = None,
                     grader_base_url: str | None = None) -> dict:
    tests = []
    for item in response_items(rubric):
        tests.append({
            "description": f"{item['id']}: {item['title']}",
            "vars": {"messages": chat(item, system_prompt)},
            "assert": item_assertions(item),
            "metadata": item_metadata(rubric, item),
        })
    return {
        "description": f"{rubric['title']} ({rubric['rubric_id']} {rubric['version']}, compiled by rubricate)",
        "providers": [_provider(provider, base_url, "model-under-test")],
        "prompts": [PROMPT],
        "defaultTest": {"options": {"provider": _provider(grader, grader_base_url or base_url)}},
        "tests": tests,
    }


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the grader's rubric text) as readable literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value and not any(c in value for c in "\r\t") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def promptfoo_yaml(rubric: dict, system_prompt: str | None = None, **options: str | None) -> str:
    header = (f"# promptfoo config exported by rubricate from rubric {rubric['rubric_id']} "
              f"{rubric['version']}.\n# Run: OPENAI_API_KEY=... promptfoo eval -c <this file>\n")
    body = yaml.dump(promptfoo_config(rubric, system_prompt, **options), Dumper=_Dumper, sort_keys=False,
                     allow_unicode=True, width=100, default_flow_style=False)
    return header + body


def export_promptfoo(rubric: dict, out: Path, system_prompt: str | None = None, *,
                     provider: str | None = None, grader: str | None = None, base_url: str | None = None,
                     grader_base_url: str | None = None) -> int:
    """Write the config; ``provider``/``grader`` default to the documented placeholders."""
    text = promptfoo_yaml(rubric, system_prompt, provider=provider or DEFAULT_PROVIDER,
                          grader=grader or DEFAULT_GRADER, base_url=base_url, grader_base_url=grader_base_url)
    atomic_write_text(Path(out), text)
    return len(response_items(rubric))
