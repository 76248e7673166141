"""Single-reply export formats leave conversation items (kind persona) out, with a one-line note;
a rubric of conversations only has nothing such a format can hold."""
from __future__ import annotations

import json

from rubricate.compiler.compile import CONVERSATIONS_FILE, DEFAULT_FILE, RUBRICS_DIR
from tests.cli_run import run_cli


def _run(*args, cwd):
    return run_cli(*args, cwd=cwd)


def test_export_skips_persona_items_with_a_one_line_note(tmp_path):
    default = json.loads((RUBRICS_DIR / DEFAULT_FILE).read_text(encoding="utf-8"))
    conversations = json.loads((RUBRICS_DIR / CONVERSATIONS_FILE).read_text(encoding="utf-8"))
    mixed = {**default, "items": default["items"] + conversations["items"][:3]}
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(mixed), encoding="utf-8")
    out = tmp_path / "hb.jsonl"
    res = _run("export", "--rubric", str(path), "--format", "healthbench", "--out", str(out), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip().splitlines()[-1] == ("note: skipped 3 conversation item(s) (kind persona): healthbench "
                                                   "exports single replies; hold and judge conversations with "
                                                   "`rubricate converse`")
    assert f"({len(default['items'])} items, healthbench)" in res.stdout
    assert "si-night-shift-nurse" not in out.read_text(encoding="utf-8")


def test_a_conversations_rubric_alone_cannot_be_exported_as_single_replies(tmp_path):
    res = _run("export", "--rubric", "rubricate-conversations", "--format", "promptfoo", "--out",
               str(tmp_path / "p.yaml"), cwd=tmp_path)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert lines[-1].startswith("error: rubric 'rubricate-conversations' has no response items to export")
    assert "`rubricate converse`" in lines[-1]
    assert not (tmp_path / "p.yaml").exists()
