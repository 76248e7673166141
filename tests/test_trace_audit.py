"""What the auditor's trace says about a citation's file, and how data-derived text is shown."""
from __future__ import annotations

import hashlib

from rubricate.guidelines.kernel.workspace import set_workspace
from rubricate.guidelines.sources.registry import load_registry, register_file
from rubricate.rubrics.evaluation.trace import source_file
from rubricate.rubrics.report.trace_page import render_trace_page


def test_the_trace_page_shows_control_characters_and_markup_as_text(tmp_path):
    t = {"made_with": {"rubric": "r\x1b]0;title\x07"}, "stimulus": None, "passages": [],
         "verdict": {"verdict_id": "v-1", "judge": "rules", "judge_version": "1", "answer": "yes",
                     "appropriate_answer": "no", "appropriate": False, "reason": "found <b>"},
         "response": {"id": "r-1", "model": "m\u202e", "text": "hi\x1b[31m <script>x</script>", "evidence": [],
                      "note": None},
         "criterion": {"id": "c-1", "criterion": "C", "question": "Q?"}, "principle": {"id": "p"}}
    html = render_trace_page(t, tmp_path)
    style = html[html.index("<style>"):html.index("</style>")]
    assert '"Segoe UI"' in style and "&#34;" not in style  # the package's own CSS, not escaped as data
    assert "\x1b" not in html and "\u202e" not in html and "\x07" not in html
    assert "hi[U+001B][31m &lt;script&gt;x&lt;/script&gt;" in html and "m[U+202E]" in html
    assert "found &lt;b&gt;" in html and "[U+0007]" in html


def test_source_file_names_the_edition_a_citation_was_read_from(tmp_path, monkeypatch):
    monkeypatch.delenv("RUBRICATE_REGISTRY", raising=False)
    monkeypatch.setenv("RUBRICATE_CACHE_DIR", str(tmp_path / "cache"))
    set_workspace(tmp_path)
    try:
        doc = "american_psychological_association_ethical_2017"
        (tmp_path / "sources").mkdir()
        old = tmp_path / "sources" / "code-v1.md"
        old.write_text("# Code\n\nFirst wording of the code.\n", encoding="utf-8")
        register_file(load_registry(), old, doc)
        new = tmp_path / "sources" / "code-v2.md"
        new.write_text("# Code\n\nSecond wording of the code.\n", encoding="utf-8")
        register_file(load_registry(), new, doc, replace="")
        sha = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
        reg = load_registry()
        cur = source_file({"document": doc, "file_sha256": sha(new)}, reg)
        assert cur["path"] == "sources/code-v2.md" and cur["state"] == "ok" and cur["role"] == "source"
        assert cur["edition"].startswith("2002 code")
        was = source_file({"document": doc, "file_sha256": sha(old)}, reg)
        assert was["path"] == "sources/code-v1.md" and was["state"].startswith("earlier edition (replaced 20")
        new.write_text("# Code\n\nEdited after registration.\n", encoding="utf-8")
        assert source_file({"document": doc, "file_sha256": sha(old)}, reg)["state"].startswith("earlier")
        assert source_file({"document": doc, "file_sha256": cur["sha256"]}, reg)["state"] == \
            "changed on disk since registration"
        digest = source_file({"document": doc, "file_sha256": "0" * 64}, reg)
        assert digest["state"] == "not registered" and digest["path"] is None
    finally:
        set_workspace(None)


def test_the_trace_page_of_a_conversation_verdict_shows_its_turns(tmp_path):
    t = {"made_with": {"rubric": "r"}, "passages": [],
         "verdict": {"verdict_id": "v-2", "judge": "rules", "judge_version": "1", "answer": "yes",
                     "appropriate_answer": "no", "appropriate": False, "reason": "turn 2"},
         "conversation": {"id": "c-1", "model": "m", "persona": "p", "note": None, "turns": [
             {"turn": 1, "client": "hello", "assistant": "hi there", "deciding": False, "evidence": []},
             {"turn": 2, "client": "<i>again</i>", "assistant": "take the bridge", "deciding": True,
              "evidence": [{"start": 9, "end": 15, "text": "bridge", "source": "detector"}]}]},
         "criterion": {"id": "c-1", "criterion": "C", "question": "Q?"}, "principle": {"id": "p"}}
    html = render_trace_page(t, tmp_path)
    assert 'id="conversation"' in html and 'id="response"' not in html
    assert "turn 2, assistant (deciding):" in html and "take the <mark" in html and ">bridge</mark>" in html
    assert "&lt;i&gt;again&lt;/i&gt;" in html
