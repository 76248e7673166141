"""The workspace: user data goes there (never into the package), bundled data is overlaid,
locations are recorded without machine paths, and one "which knowledge base" policy holds."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from rubricate.guidelines.kernel import workspace
from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.paths import PACKAGE_ROOT, package_path
from tests.test_stigma_score import outputs  # noqa: F401 (fixture: a small stigma outputs file)

GUIDE = """# Notes of our own

## Safety

When a client cannot stay safe, the clinician arranges urgent care and stays with the client.

## Between sessions

Clients practise new skills as homework between sessions.
"""


def invoke(*args: str):
    from rubricate.cli import main
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def ws(tmp_path, monkeypatch):
    root = tmp_path / "ws"
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.setenv("RUBRICATE_CACHE_DIR", str(tmp_path / "cache"))
    for var in ("RUBRICATE_WORKSPACE", "RUBRICATE_SOURCES", "RUBRICATE_REGISTRY"):
        monkeypatch.delenv(var, raising=False)
    yield root
    workspace.set_workspace(None)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_guidelines_add_writes_only_the_workspace_registry_which_overlays_the_bundled_one(ws):
    from rubricate.guidelines.sources.registry import load_registry
    bundled = package_path("guidelines", "registry.yaml")
    before = _sha(bundled)
    (ws / "notes.md").write_text(GUIDE, encoding="utf-8")
    (ws / "own.md").write_text(GUIDE.replace("Notes of our own", "Our own guide"), encoding="utf-8")
    r = invoke("guidelines", "add", "notes.md", "--id", "foa_exposure_2012")
    assert r.exit_code == 0, r.output
    r = invoke("guidelines", "add", "own.md", "--id", "own_notes_2026", "--title", "Our notes", "--kind", "other")
    assert r.exit_code == 0, r.output
    assert _sha(bundled) == before
    data = yaml.safe_load((ws / "registry.yaml").read_text(encoding="utf-8"))
    # only the documents the workspace changed are written; the bundled one it extends is
    # copied whole, its bundled file named as package data (no machine path)
    assert [d["id"] for d in data["documents"]] == ["foa_exposure_2012", "own_notes_2026"]
    assert data["documents"][0]["files"] == [
        {"path": "package:guidelines/digests/foa_exposure_2012.md", "role": "digest"},
        {"path": "notes.md", "role": "source", "sha256": _sha(ws / "notes.md")}]
    reg = load_registry()
    foa = reg.get("foa_exposure_2012")
    assert [f.role for f in foa.files] == ["digest", "source"] and foa.title.startswith("Exposure and Response")
    assert [d.id for d in reg.documents][:10] == [d.id for d in reg.base.values()]
    assert reg.documents[-1].id == "own_notes_2026"
    assert all(reg.resolve(f).is_file() for d in reg.documents for f in d.files)
    listed = invoke("guidelines", "list").output
    assert "own_notes_2026" in listed and "foa_exposure_2012" in listed
    assert "unchanged" in invoke("guidelines", "add", "own.md", "--id", "own_notes_2026").output


def test_a_source_outside_the_workspace_needs_a_sources_root(ws, tmp_path, monkeypatch):
    papers = tmp_path / "papers"
    papers.mkdir()
    (papers / "guide.md").write_text(GUIDE, encoding="utf-8")
    add = ("guidelines", "add", str(papers / "guide.md"), "--id", "own_2026", "--title", "T", "--kind", "other")
    r = invoke(*add)
    assert r.exit_code == 2 and "RUBRICATE_SOURCES" in r.output and len(r.output.strip().splitlines()) == 1
    assert not (ws / "registry.yaml").exists()
    monkeypatch.setenv("RUBRICATE_SOURCES", str(papers))
    assert invoke(*add).exit_code == 0
    text = (ws / "registry.yaml").read_text(encoding="utf-8")
    assert "${RUBRICATE_SOURCES}/guide.md" in text and str(tmp_path) not in text
    monkeypatch.delenv("RUBRICATE_SOURCES")
    from rubricate.guidelines.sources.registry import load_registry
    reg = load_registry()
    with pytest.raises(RubricateError, match="RUBRICATE_SOURCES, which is not set"):
        reg.resolve(reg.get("own_2026").files[0])


def test_one_knowledge_base_policy_never_uses_a_stale_build_silently(ws):
    r = invoke("build")
    assert r.exit_code == 0, r.output
    report = json.loads((ws / "build" / "kb" / "build-report.json").read_text())
    assert report["inputs_sha256"] and str(PACKAGE_ROOT) not in json.dumps(report)
    r = invoke("table", "--format", "csv")
    assert r.exit_code == 0 and "note:" not in r.output  # the current build, used as is
    (ws / "notes.md").write_text(GUIDE, encoding="utf-8")
    assert invoke("guidelines", "add", "notes.md", "--id", "own_notes_2026", "--title", "Our notes",
                  "--kind", "other").exit_code == 0
    r = invoke("query", "SELECT ?d WHERE { ?d a rbc:Document ; dcterms:identifier \"own_notes_2026\" }",
               "--format", "json")
    assert r.exit_code == 0, r.output
    assert "build/kb is out of date" in r.output and "own_notes_2026" in r.output


def test_run_writes_only_into_the_workspace_and_trace_works_from_anywhere(tmp_path, monkeypatch):
    root, elsewhere = tmp_path / "ws", tmp_path / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    for var in ("RUBRICATE_CACHE_DIR", "RUBRICATE_WORKSPACE", "RUBRICATE_SOURCES", "RUBRICATE_REGISTRY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(elsewhere)
    try:
        r = invoke("--workspace", str(root), "run")
    finally:
        workspace.set_workspace(None)
    assert r.exit_code == 0, r.output
    assert not any(elsewhere.iterdir())
    assert (root / ".cache" / "parsed").is_dir()  # the parse cache is the workspace's too
    for path in root.rglob("*"):
        if path.is_file() and ".cache" not in path.parts and path.suffix in (".json", ".jsonl", ".ttl", ".jsonld",
                                                                             ".html", ".md", ".csv"):
            text = path.read_text(encoding="utf-8")
            assert str(tmp_path) not in text and str(PACKAGE_ROOT) not in text, path
    (run,) = (root / "out" / "runs").iterdir()
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["rubric_path"] == "../../rubrics/rubricate-default.json"
    assert manifest["responses_path"] == "package:rubrics/samples/default_responses.jsonl"
    first = json.loads((run / "verdicts.jsonl").read_text().splitlines()[0])
    monkeypatch.chdir(tmp_path)
    for where in (["--results", str(run)], []):  # named, or the workspace's newest run
        try:
            r = invoke("--workspace", str(root), "trace", first["verdict_id"], *where, "--format", "json")
        finally:
            workspace.set_workspace(None)
        assert r.exit_code == 0, r.output
        t = json.loads(r.output)
        assert t["response"]["text"] and t["response"]["note"] is None and t["criterion"]["id"] == first["criterion_id"]


def test_compiled_rubrics_go_to_the_workspace_and_are_found_before_the_bundled_ones(ws, kb_build):
    from rubricate.rubrics.contract.loader import RUBRICS_DIR, find_rubric
    assert find_rubric() == RUBRICS_DIR / "rubricate-default.json"
    r = invoke("compile", "--kb", str(kb_build.paths["turtle"]))
    assert r.exit_code == 0, r.output
    ours = Path("build") / "rubrics" / "rubricate-default.json"
    assert (ws / ours).read_bytes() == (RUBRICS_DIR / "rubricate-default.json").read_bytes()
    assert find_rubric() == ours and find_rubric("rubricate-stigma") == ours.with_name("rubricate-stigma.json")
    assert invoke("compile", "--check", "--kb", str(kb_build.paths["turtle"])).exit_code == 0


def test_the_workspace_option_and_variable_move_every_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RUBRICATE_WORKSPACE", str(tmp_path / "env-ws"))
    assert workspace.ws_path("kb") == tmp_path / "env-ws" / "build" / "kb"
    workspace.set_workspace(tmp_path / "opt-ws")  # the --workspace option wins
    try:
        assert workspace.ws_path("decisions") == tmp_path / "opt-ws" / "reviews" / "decisions.jsonl"
        monkeypatch.delenv("RUBRICATE_CACHE_DIR", raising=False)
        assert workspace.cache_dir("llm") == tmp_path / "opt-ws" / ".cache" / "llm"
    finally:
        workspace.set_workspace(None)
    monkeypatch.delenv("RUBRICATE_WORKSPACE")
    assert workspace.ws_path("registry") == Path("registry.yaml")


def test_a_workspace_inside_an_installed_package_is_refused(monkeypatch):
    monkeypatch.setattr(workspace, "is_source_checkout", lambda: False)
    monkeypatch.delenv("RUBRICATE_WORKSPACE", raising=False)
    monkeypatch.chdir(PACKAGE_ROOT / "rubrics")
    with pytest.raises(RubricateError, match="inside the installed rubricate package"):
        workspace.ws_path("kb")


def test_recorded_locations_round_trip_without_machine_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RUBRICATE_SOURCES", str(tmp_path / "src"))
    results = tmp_path / "out" / "results"
    cases = {PACKAGE_ROOT / "rubrics" / "rubricate-default.json": "package:rubrics/rubricate-default.json",
             tmp_path / "out" / "rubrics" / "r.json": "../rubrics/r.json",
             tmp_path / "src" / "a" / "responses.jsonl": "../../src/a/responses.jsonl"}  # inside the workspace
    for path, expected in cases.items():
        recorded = workspace.record_location(path, results)
        assert recorded == expected
        assert workspace.resolve_location(recorded, results).resolve() == path.resolve()
    outside = tmp_path.parent / "sources-root"
    monkeypatch.setenv("RUBRICATE_SOURCES", str(outside))
    assert workspace.record_location(outside / "x.jsonl", results) == "${RUBRICATE_SOURCES}/x.jsonl"
    assert workspace.registry_location(outside / "g.pdf", tmp_path) == "${RUBRICATE_SOURCES}/g.pdf"
    monkeypatch.delenv("RUBRICATE_SOURCES")
    with pytest.raises(RubricateError, match="RUBRICATE_SOURCES"):
        workspace.registry_location(outside / "g.pdf", tmp_path)


def test_stigma_scores_name_their_input_relative_to_the_results(outputs, tmp_path):
    out = tmp_path / "res"
    r = invoke("stigma", "score", str(outputs.resolve()), "--out", str(out), "--n-resamples", "20", "--no-plot")
    assert r.exit_code == 0, r.output
    for f in out.iterdir():
        assert str(tmp_path) not in f.read_text(encoding="utf-8"), f
    summary = json.loads((out / "stigma_summary.json").read_text(encoding="utf-8"))
    assert (out / summary["input"]["path"]).resolve() == outputs.resolve()
