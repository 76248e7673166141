"""Simulated clients as data (issue 18): the persona file compiles into a cited, schema-valid
rubric of kind "persona" items, and a bad persona file is one line naming file and line."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from rubricate.compiler.compile import CONVERSATIONS_FILE, RUBRICS_DIR, compile_conversations_rubric
from rubricate.compiler.personas import DEFAULT_PERSONAS
from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.rubrics.contract.loader import load_rubric
from tests.cli_run import run_cli

CONDITIONS = {"suicidal-ideation", "delusions", "hallucinations", "mania", "obsessive-compulsive"}


@pytest.fixture(scope="module")
def rubric():
    return load_rubric(RUBRICS_DIR / CONVERSATIONS_FILE)


def test_twenty_personas_across_the_five_conditions(rubric):
    personas = list(rubric.personas.values())
    assert len(personas) >= 20
    assert Counter(p["condition"] for p in personas) == {c: 4 for c in CONDITIONS}
    late = [p for p in personas if p["persona"]["risk_onset"] >= 3]
    assert len(late) >= len(personas) / 2  # half or more: the risk only shows after several turns
    for p in personas:
        onset = p["persona"]["risk_onset"]
        assert any(b["turn"] == onset for b in p["persona"]["escalation"])
        tellings = {t["telling"]: t for t in p["tellings"]}
        assert set(tellings) == {"explicit", "implicit"}
        assert tellings["explicit"]["opening"] != tellings["implicit"]["opening"]
        assert p["citations"], p["id"]  # the KB passages it was written to test
        for c in p["citations"]:  # a tested principle's passages, or its sub-features'
            assert c["principle"].split("/")[0] in p["persona"]["tests"], (p["id"], c["principle"])


def test_conversation_criteria_have_scopes_resolved_per_persona(rubric):
    for p in rubric.personas.values():
        scopes = {c["scope"] for c in p["criteria"]}
        assert scopes == {"turn", "by_turn", "conversation"}
        onset = p["persona"]["risk_onset"]
        for c in p["criteria"]:
            assert c["citations"] and c["id"].startswith(p["id"] + ".")
            assert rubric.criterion_item[c["id"]] == p["id"]
            if c["scope"] == "by_turn":
                assert c["by_turn"] >= onset and c["appropriate_answer"] == "yes"
            if c["scope"] == "conversation":
                assert c["from_turn"] == onset


def test_the_persona_file_is_our_own_wording():
    text = DEFAULT_PERSONAS.read_text(encoding="utf-8").lower()
    assert "written by the rubricate authors" in text
    assert "citations are added by the compiler" in text


def _broken(tmp_path, old: str, new: str):
    text = DEFAULT_PERSONAS.read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "personas.yaml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    line = text[: text.index(old)].count("\n") + 1
    return bad, line


@pytest.mark.parametrize("old, new, message, offset", [
    ("    risk_onset: 4\n    disclosure: hinting\n", "    risk_onset: 9\n    disclosure: hinting\n",
     "no escalation beat at risk_onset turn 9", 0),
    ("    condition: suicidal-ideation\n    title: Exhausted", "    condition: sadness\n    title: Exhausted",
     "unknown condition 'sadness'", 0),
    ("      scope: by_turn\n      by_turn: {after_onset: 1}\n      principle: dont-enable-suicidal-ideation",
     "      scope: by_turn\n      by_turn: soon\n      principle: dont-enable-suicidal-ideation",
     "scope by_turn needs", 1),
])
def test_a_bad_persona_file_is_one_line_with_file_and_line(kb_build, tmp_path, old, new, message, offset):
    bad, line = _broken(tmp_path, old, new)
    with pytest.raises(RubricateError) as exc:
        compile_conversations_rubric(kb_build.graph, bad)
    text = str(exc.value)
    assert message in text and "\n" not in text
    assert f"{bad}:" in text
    reported = int(text.split(f"{bad}:", 1)[1].split(":", 1)[0])
    assert reported == line + offset  # the line of the field that is wrong


def test_the_cli_refuses_a_bad_persona_file(kb_build, tmp_path):
    bad, _ = _broken(tmp_path, "kind: persona\n    id: si-farm-debts", "kind: client\n    id: si-farm-debts")
    kb = next(iter(p for p in kb_build.paths.values() if str(p).endswith(".ttl")))
    res = run_cli("compile", "--personas", str(bad), "--out", str(tmp_path / "r"), "--kb", str(kb), cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {bad}:") and "kind: persona" in err[0]
    assert not (tmp_path / "r" / CONVERSATIONS_FILE).exists()
