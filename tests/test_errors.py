"""One error hierarchy under RubricateError; the CLI prints any of them as one line, exit 2."""
from __future__ import annotations

import json

import pytest

from rubricate.guidelines.kernel.errors import (ConfigurationError, EndpointError, InputError, RubricateError,
                                                RubricFormatError)
from rubricate.guidelines.kernel.fileio import load_yaml_mapping
from rubricate.rubrics.contract.loader import load_rubric
from rubricate.rubrics.llm.endpoint import EndpointConfig
from tests.cli_run import run_cli
from tests.conftest import REPO, SAMPLES
from tests.openai_server import Fault, FaultRule, OpenAIServer


def cli(*args: str, env: dict | None = None):
    return run_cli(*args, cwd=REPO, env=env)


def one_line_exit_2(res, *needles: str) -> str:
    assert res.returncode == 2, (res.stdout, res.stderr)
    [line] = [l for l in res.stderr.splitlines() if l.startswith("error:")]
    assert "Traceback" not in res.stderr
    for needle in needles:
        assert needle in line, line
    return line


@pytest.mark.parametrize("kind", [InputError, RubricFormatError, ConfigurationError, EndpointError])
def test_every_kind_is_a_rubricate_error_with_the_same_one_line_form(kind):
    err = kind("bad\n  thing", path="x.jsonl", line=3)
    assert isinstance(err, RubricateError) and str(err) == "x.jsonl:3: bad thing"


def test_library_raises_the_kind_that_says_whose_problem_it_is(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_yaml_mapping(tmp_path / "missing.yaml")
    bad = tmp_path / "rubric.json"
    bad.write_text('{"schema_version": "1.0"}', encoding="utf-8")
    with pytest.raises(RubricFormatError, match="not a valid rubric"):
        load_rubric(bad)
    with pytest.raises(ConfigurationError, match="max_concurrency"):
        EndpointConfig(model="m", max_concurrency=0)


def test_cli_prints_input_and_format_errors_as_one_line(tmp_path):
    bad_line = tmp_path / "responses.jsonl"
    bad_line.write_bytes(SAMPLES.read_bytes().splitlines(keepends=True)[0] + b'{"item_id": \n')
    one_line_exit_2(cli("evaluate", "--responses", str(bad_line), "--strict", "--out", str(tmp_path / "o")),
                    "responses.jsonl:2: invalid JSON")
    bad = tmp_path / "rubric.json"
    bad.write_text(json.dumps({"schema_version": "1.0"}), encoding="utf-8")
    one_line_exit_2(cli("evaluate", "--rubric", str(bad), "--responses", str(SAMPLES), "--out", str(tmp_path / "o2")),
                    "rubric.json", "not a valid rubric")


def test_cli_reports_an_unusable_endpoint_by_cause(tmp_path):
    srv = OpenAIServer(rules=[FaultRule("", Fault("500", message="down"), times=10_000)]).start()
    try:
        out = tmp_path / "o"
        res = cli("evaluate", "--responses", str(SAMPLES), "--judge", "llm", "--model", "judge", "--base-url",
                  srv.base_url, "--no-cache", "--max-retries", "0", "--out", str(out))
    finally:
        srv.stop()
    # every call failed: exit 1 (the run happened, its purpose failed; 2 is for bad options or
    # input), one line for the cause with its count and one saying what to do, no traceback
    assert res.returncode == 1, (res.stdout, res.stderr)
    errors = [l for l in res.stderr.splitlines() if l.startswith("error:")]
    assert len(errors) == 2 and "Traceback" not in res.stderr
    assert "LLM judgement(s) failed: HTTP 500: down" in errors[0]
    assert "LLM judgements failed" in errors[1] and "--resume" in errors[1]
    assert (out / "failures.jsonl").stat().st_size > 0  # what was written is kept, to be asked again
