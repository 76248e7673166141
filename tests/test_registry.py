"""Registering guideline files: checks before parsing, one-line refusals that leave the
registry byte-identical, round-trip edits (adding a document is a diff of its own lines),
and new editions that keep the earlier one."""
from __future__ import annotations

import difflib
import shutil

import pytest
from click.testing import CliRunner

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.sources.registry import (check_registration, load_registry, register_file,
                                                   save_registry)
from tests.conftest import REPO

BUNDLED = REPO / "guidelines" / "registry.yaml"


@pytest.fixture
def reg_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RUBRICATE_CACHE_DIR", str(tmp_path / "cache"))
    shutil.copy(BUNDLED, tmp_path / "registry.yaml")
    (tmp_path / "guide.md").write_text("# Our guide\n\nThe clinician explains each step.\n", encoding="utf-8")
    return tmp_path


def invoke(*args: str):
    from rubricate.cli import main
    return CliRunner().invoke(main, list(args))


def test_saving_an_unchanged_registry_is_byte_identical(reg_dir):
    save_registry(load_registry(reg_dir / "registry.yaml"))
    assert (reg_dir / "registry.yaml").read_bytes() == BUNDLED.read_bytes()


def test_adding_a_document_is_a_diff_of_its_own_lines(reg_dir):
    reg = reg_dir / "registry.yaml"
    r = invoke("guidelines", "add", str(reg_dir / "guide.md"), "--id", "own_guide_2026", "--title",
               "Our guide: a test", "--kind", "therapy-manual", "--condition", "depression",
               "--creator", "A. Author", "--year", "2026", "--registry", str(reg))
    assert r.exit_code == 0, r.output
    old, new = BUNDLED.read_text().splitlines(), reg.read_text().splitlines()
    changed = [l for l in difflib.unified_diff(old, new, lineterm="", n=0)
               if l.startswith(("+", "-")) and not l.startswith(("+++", "---"))]
    assert all(l.startswith("+") for l in changed)  # nothing removed or rewritten
    assert new[:len(old)] == old  # every earlier line (comments, flow style, nulls) kept
    assert changed[0] == "+  - id: own_guide_2026"
    assert "+    conditions: [depression]" in changed and len(changed) <= 10
    doc = load_registry(reg).get("own_guide_2026")
    assert (doc.title, doc.kind, doc.conditions, doc.year) == ("Our guide: a test", "therapy-manual",
                                                               ["depression"], 2026)


@pytest.mark.parametrize("args, message", [
    (["--id", "Bad Id!", "--title", "T", "--kind", "other"], "invalid document id 'Bad Id!': an id is 1-128 letters"),
    (["--id", "x_2026", "--title", "T", "--kind", "novel"], "unknown kind 'novel'"),
    (["--id", "x_2026", "--title", "T", "--kind", "other", "--condition", "insomnia"],
     "unknown condition 'insomnia'; known conditions: alcohol-dependence"),
    (["--id", "x_2026", "--kind", "other"], "new document 'x_2026' needs --title"),
    (["--id", "x_2026", "--title", "T", "--kind", "other", "COPY"], "already registered under another id, 'own_2026'"),
    (["--id", "x_2026", "--title", "T", "--kind", "other", "MISSING"], "file not found"),
])
def test_bad_registrations_are_one_line_and_leave_the_registry_byte_identical(reg_dir, args, message):
    reg = reg_dir / "registry.yaml"
    target = reg_dir / "guide.md"
    if "COPY" in args:  # the same bytes are already registered for another document
        register_file(load_registry(reg), target, "own_2026", metadata={"title": "T", "kind": "other"})
        target = reg_dir / "copy.md"
        shutil.copy(reg_dir / "guide.md", target)
    if "MISSING" in args:
        target = reg_dir / "missing.pdf"
    args = [a for a in args if a not in ("COPY", "MISSING")]
    before = reg.read_bytes()
    r = invoke("guidelines", "add", str(target), *args, "--registry", str(reg))
    assert r.exit_code == 2, r.output
    assert r.output.startswith("error: ") and r.output.count("\n") == 1, r.output
    assert message in r.output
    assert reg.read_bytes() == before


def test_a_digest_registered_without_its_hash_is_still_recognised(reg_dir):
    shutil.copytree(REPO / "guidelines" / "digests", reg_dir / "digests")
    shutil.copy(reg_dir / "digests" / "foa_exposure_2012.md", reg_dir / "copy.md")
    with pytest.raises(RubricateError, match="already registered under another id, 'foa_exposure_2012'"):
        check_registration(load_registry(reg_dir / "registry.yaml"), reg_dir / "copy.md", "x_2026",
                           metadata={"title": "T", "kind": "other"})


def test_checks_come_before_parsing(reg_dir, monkeypatch):
    """A missing --title is reported without the file ever being parsed."""
    import rubricate.guidelines.sources.parse as parse
    monkeypatch.setattr(parse, "parse_document", lambda *a, **k: pytest.fail("parsed before checking"))
    r = invoke("guidelines", "add", str(reg_dir / "guide.md"), "--id", "x_2026", "--kind", "other",
               "--registry", str(reg_dir / "registry.yaml"))
    assert r.exit_code == 2 and "needs --title" in r.output


def test_a_changed_file_becomes_a_new_edition_and_keeps_the_earlier_one(reg_dir):
    reg_path = reg_dir / "registry.yaml"
    guide = reg_dir / "guide.md"
    meta = {"title": "Our guide", "kind": "other"}
    assert register_file(load_registry(reg_path), guide, "own_2026", metadata=meta) == "added"
    first = load_registry(reg_path).get("own_2026").files[0].sha256
    before = reg_path.read_bytes()
    assert register_file(load_registry(reg_path), guide, "own_2026") == "unchanged"
    assert reg_path.read_bytes() == before
    guide.write_text("# Our guide\n\nThe clinician explains every step twice.\n", encoding="utf-8")
    status = register_file(load_registry(reg_path), guide, "own_2026")
    assert status.startswith(f"new edition (was sha256 {first[:12]}")
    f = load_registry(reg_path).get("own_2026").files[0]
    assert f.sha256 != first and [e.sha256 for e in f.previous] == [first]
    # `guidelines update` with a file at another path replaces the only source file
    other = reg_dir / "guide-v3.md"
    other.write_text("# Our guide\n\nThird edition.\n", encoding="utf-8")
    r = invoke("guidelines", "update", "own_2026", str(other), "--registry", str(reg_path))
    assert r.exit_code == 0 and "new edition" in r.output, r.output
    f = load_registry(reg_path).get("own_2026").files[0]
    assert f.path == "guide-v3.md" and len(f.previous) == 2 and f.previous[-1].path == "guide.md"
    r = invoke("guidelines", "show", "own_2026", "--registry", str(reg_path))
    assert r.output.count("earlier:") == 2


def test_registry_with_a_bad_id_fails_to_load_in_one_line(tmp_path):
    reg = tmp_path / "registry.yaml"
    reg.write_text("documents:\n  - id: Bad Id!\n    title: T\n")
    with pytest.raises(RubricateError, match=r"document #1: invalid id 'Bad Id!'"):
        load_registry(reg)


def test_same_file_twice_for_one_document_is_refused(reg_dir):
    reg = load_registry(reg_dir / "registry.yaml")
    register_file(reg, reg_dir / "guide.md", "own_2026", metadata={"title": "T", "kind": "other"})
    shutil.copy(reg_dir / "guide.md", reg_dir / "again.md")
    with pytest.raises(RubricateError, match="already registered for 'own_2026' as guide.md"):
        check_registration(load_registry(reg_dir / "registry.yaml"), reg_dir / "again.md", "own_2026")


def test_update_refusals_are_one_line_and_leave_the_registry_byte_identical(reg_dir):
    reg = reg_dir / "registry.yaml"
    register_file(load_registry(reg), reg_dir / "guide.md", "own_2026", metadata={"title": "T", "kind": "other"})
    (reg_dir / "second.md").write_text("# Second file\n\nAnother part of the guide.\n", encoding="utf-8")
    register_file(load_registry(reg), reg_dir / "second.md", "own_2026")
    (reg_dir / "v2.md").write_text("# Our guide\n\nA new edition.\n", encoding="utf-8")
    before = reg.read_bytes()
    for args, message in ((["nobody_2026", "v2.md"], "no document with id 'nobody_2026'"),
                          (["own_2026", "v2.md"], "has 2 source files; name the file to replace with --replace"),
                          (["own_2026", "v2.md", "--replace", "nope.md"], "has no file 'nope.md'")):
        r = invoke("guidelines", "update", args[0], str(reg_dir / args[1]), *args[2:], "--registry", str(reg))
        assert r.exit_code == 2 and r.output.count("\n") == 1 and message in r.output, r.output
        assert reg.read_bytes() == before
    r = invoke("guidelines", "update", "own_2026", str(reg_dir / "v2.md"), "--replace", "second.md",
               "--registry", str(reg))
    assert r.exit_code == 0, r.output
    files = load_registry(reg).get("own_2026").files
    assert [f.path for f in files] == ["guide.md", "v2.md"] and files[1].previous[0].path == "second.md"


@pytest.mark.parametrize("style", [
    "documents:\n- id: a_doc\n  title: A  # kept comment\n  kind: other\n  files:\n  - {path: a.md, role: digest}\n",
    "# header\ndocuments:\n    -   id: a_doc\n        title: A\n        kind: other\n        files:\n            -   path: a.md\n                role: digest\n",
])
def test_round_trip_keeps_the_registry_own_indentation(tmp_path, style):
    reg = tmp_path / "registry.yaml"
    reg.write_text(style)
    (tmp_path / "a.md").write_text("# A\n\nText of a.\n")
    (tmp_path / "b.md").write_text("# B\n\nText of b.\n")
    save_registry(load_registry(reg))
    assert reg.read_text() == style
    register_file(load_registry(reg), tmp_path / "b.md", "b_doc", metadata={"title": "B", "kind": "other"})
    assert reg.read_text().startswith(style)  # the new document is appended, nothing else changes
    assert load_registry(reg).get("b_doc").files[0].path == "b.md"
