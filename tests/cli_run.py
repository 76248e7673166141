"""Run a rubricate command in this process and get back what a subprocess would give.

Most CLI tests check what a command prints, writes and exits with, not how a process behaves.
Running them through click's CliRunner saves a Python start-up and the imports (spaCy, rdflib,
openai) on every call, which was most of the time of the default test run. Tests of process
behaviour (signals and Ctrl-C, a kill and resume, two processes sharing a cache, worker
processes, start-up, an installed wheel) keep starting ``python -m rubricate``.
"""
from __future__ import annotations

import os
import traceback
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Completed:
    """The fields of ``subprocess.CompletedProcess`` the tests read."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: object, cwd: Path | str | None = None, env: dict[str, str] | None = None,
            drop: tuple[str, ...] = (), input: str | None = None) -> Completed:
    """``rubricate ARGS`` in process, with ``env`` set on top of this process' environment and
    ``drop`` removed from it for the call, from ``cwd`` when given. An exception the CLI lets
    through is a traceback on stderr and exit code 1, as the interpreter would make it."""
    from click.testing import CliRunner

    from rubricate.cli import main
    overrides: dict[str, str | None] = {**{k: None for k in drop}, **(env or {})}
    here = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = CliRunner(env=overrides).invoke(main, [str(a) for a in args], input=input,
                                                 prog_name="rubricate")
    finally:
        os.chdir(here)
    code, stderr = result.exit_code, result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(*result.exc_info))
        code = 1
    return Completed([str(a) for a in args], code, result.stdout, stderr)
