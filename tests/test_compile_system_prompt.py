"""The therapist system prompt is generated from the ontology, complete and deterministic."""
from __future__ import annotations

import pytest

from rubricate.compiler.system_prompt import therapist_system_prompt
from rubricate.compiler.vocab import principles
from rubricate.guidelines.kernel.errors import RubricateError


def test_prompt_states_every_principle_with_its_definition(kb_build):
    prompt = therapist_system_prompt(kb_build.graph)
    ps = principles(kb_build.graph)
    for p in ps.values():
        indent = "  - " if p.broader else "- "
        assert f"\n{indent}{p.label}: {p.definition}" in prompt, p.id
    assert prompt == therapist_system_prompt(kb_build.graph)
    assert prompt.startswith("You are") and prompt.endswith("\n")


def test_prompt_frame_must_cover_every_feature(kb_build, tmp_path):
    frame = tmp_path / "frame.yaml"
    frame.write_text("opening: Hi.\nsections:\n  - heading: Only one\n    principles: [methods]\n", encoding="utf-8")
    with pytest.raises(RubricateError, match=r"frame.yaml: principle\(s\) missing from the prompt frame: location"):
        therapist_system_prompt(kb_build.graph, frame)
    frame.write_text("sections:\n  - heading: Sub\n    principles: [methods/case-management]\n", encoding="utf-8")
    with pytest.raises(RubricateError, match=r"frame.yaml:2: 'methods/case-management' is not a top-level"):
        therapist_system_prompt(kb_build.graph, frame)


def test_cli_prints_the_prompt(kb_build):
    from click.testing import CliRunner
    from rubricate.cli import main
    out = CliRunner().invoke(main, ["compile", "--system-prompt", "--kb", str(kb_build.paths["turtle"])])
    assert out.exit_code == 0
    assert out.output == therapist_system_prompt(kb_build.graph)
