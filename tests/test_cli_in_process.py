"""Commands run in process (click's CliRunner, a notebook) one after another: each invocation's
--workspace and its 'note:' lines belong to that invocation only."""
from __future__ import annotations

import logging
from pathlib import Path

from click.testing import CliRunner

from rubricate.cli import main
from rubricate.guidelines.kernel import workspace
from tests.conftest import many_responses

GUIDE = "# Our notes\n\n## Safety\n\nWhen a client cannot stay safe, the clinician arranges urgent care.\n"


def test_the_workspace_option_holds_for_its_invocation_only(tmp_path, monkeypatch):
    monkeypatch.delenv("RUBRICATE_WORKSPACE", raising=False)
    monkeypatch.setenv("RUBRICATE_CACHE_DIR", str(tmp_path / "cache"))
    ws, elsewhere = tmp_path / "ws", tmp_path / "elsewhere"
    ws.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    (ws / "notes.md").write_text(GUIDE, encoding="utf-8")
    r = CliRunner().invoke(main, ["--workspace", str(ws), "guidelines", "add", str(ws / "notes.md"),
                                  "--id", "own_notes_2026", "--title", "Our notes", "--kind", "other"])
    assert r.exit_code == 0, r.output
    assert (ws / "registry.yaml").is_file() and not any(elsewhere.iterdir())
    assert workspace.workspace_root() == Path(".")  # the option did not outlive its command
    assert "own_notes_2026" not in CliRunner().invoke(main, ["guidelines", "list"]).output
    assert "own_notes_2026" in CliRunner().invoke(main, ["--workspace", str(ws), "guidelines", "list"]).output
    monkeypatch.setenv("RUBRICATE_WORKSPACE", str(ws))  # the variable, read per invocation too
    assert "own_notes_2026" in CliRunner().invoke(main, ["guidelines", "list"]).output
    monkeypatch.delenv("RUBRICATE_WORKSPACE")
    assert workspace.workspace_root() == Path(".")


def test_notes_go_to_each_invocations_own_stderr_and_leave_logging_as_it_was(make_server, tmp_path, caplog,
                                                                             monkeypatch):
    """A note logged by the LLM layer (here: the cache cannot be opened) reaches the stderr of
    the invocation that logged it, the second runner's as well as the first's; afterwards the
    'rubricate' logger propagates again, so the caller's own handlers see its records."""
    srv = make_server()
    responses = many_responses(tmp_path, 2)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would go\n")
    monkeypatch.setenv("RUBRICATE_CACHE_DIR", str(blocked))
    for run in ("one", "two"):
        r = CliRunner().invoke(main, ["evaluate", "--responses", str(responses), "--judge", "llm",
                                      "--model", "judge", "--base-url", srv.base_url,
                                      "--out", str(tmp_path / run)])
        assert r.exit_code == 0, r.output
        notes = [line for line in r.stderr.splitlines() if line.startswith("note: running without the LLM cache")]
        assert len(notes) == 1, (run, r.stderr)
    logger = logging.getLogger("rubricate")
    assert logger.propagate and not logger.handlers
    with caplog.at_level(logging.WARNING, logger="rubricate"):
        logging.getLogger("rubricate.llm").warning("seen by the caller")
    assert "seen by the caller" in caplog.text
