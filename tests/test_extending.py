"""Extending rubricate: each extension point takes a toy extension, as README "Extending
rubricate" shows, and the CLI offers and uses it. The registry helper itself (decorator,
lazy import paths, entry points of an installed distribution) is tested first."""
from __future__ import annotations

import csv
import json
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubricate.cli import main
from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.plugins import Registry, callables
from rubricate.rubrics.evaluation.results import iter_jsonl
from tests.conftest import REPO, SAMPLES


def cli(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


# ---- the registry helper ------------------------------------------------------------------

def test_registry_decorator_lazy_paths_and_errors():
    reg: Registry = Registry("widget", "rubricate.test_widgets", callables("widget", "() -> str"))

    @reg.register("hello")
    def hello() -> str:
        return "hi"

    reg.add("dumps", "json:dumps")
    assert reg.names() == ["hello", "dumps"] and "dumps" in reg and len(reg) == 2
    assert reg.get("hello") is hello and reg["dumps"] is json.dumps
    with pytest.raises(RubricateError, match=r"unknown widget 'nope' \(choose from hello, dumps\)"):
        reg.get("nope")
    with pytest.raises(RubricateError, match="widget 'hello' is already registered"):
        reg.register("hello", hello)
    reg.register("hello", str.upper, replace=True)
    assert reg.get("hello") is str.upper
    reg.add("broken", "json:no_such_thing")
    with pytest.raises(RubricateError, match=r"cannot load widget 'broken' from json:no_such_thing: AttributeError"):
        reg.get("broken")
    with pytest.raises(RubricateError, match="widget 'text' must be a callable"):
        reg.register("text", "not callable")
    with reg.registered("temporary", len):
        assert reg.get("temporary") is len
    assert "temporary" not in reg


def _fake_distribution(root: Path, name: str, group: str, entries: dict[str, str], module: str) -> None:
    """An installed distribution as importlib.metadata finds it on sys.path: a module and a
    .dist-info folder with METADATA and entry_points.txt."""
    (root / f"{name}.py").write_text(module, encoding="utf-8")
    info = root / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n", encoding="utf-8")
    lines = "".join(f"{k} = {v}\n" for k, v in entries.items())
    (info / "entry_points.txt").write_text(f"[{group}]\n{lines}", encoding="utf-8")


def test_registry_reads_entry_points_lazily_and_builtins_win(tmp_path, monkeypatch):
    _fake_distribution(tmp_path, "toy_widgets", "rubricate.test_widgets",
                       {"shout": "toy_widgets:shout", "dumps": "toy_widgets:shout",
                        "broken": "toy_widgets:missing"},
                       "LOADED = True\n\ndef shout(text):\n    return text.upper() + '!'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg: Registry = Registry("widget", "rubricate.test_widgets")
    reg.add("dumps", "json:dumps")
    with pytest.warns(UserWarning, match="widget 'dumps' from entry point group rubricate.test_widgets "
                                         r"\(toy_widgets\) ignored: the name is taken"):
        assert reg.names() == ["dumps", "broken", "shout"]
    assert "toy_widgets" not in sys.modules  # listing names imports nothing
    assert reg.get("shout")("hi") == "HI!" and reg.get("dumps") is json.dumps
    with pytest.raises(RubricateError, match="cannot load widget 'broken' from entry point toy_widgets:missing"):
        reg.get("broken")


# ---- exporter -----------------------------------------------------------------------------

def export_questions_csv(rubric: dict, out: Path, system_prompt: str | None = None) -> int:
    """Toy exporter: one CSV row per criterion (item id, criterion id, question)."""
    items = [i for i in rubric["items"] if i.get("criteria")]
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["item", "criterion", "question"])
        for item in items:
            for c in item["criteria"]:
                writer.writerow([item["id"], c["id"], c["question"]])
    return len(items)


def test_a_registered_exporter_is_offered_and_used_by_the_cli(tmp_path):
    from rubricate.rubrics.integrations.export import EXPORTERS
    with EXPORTERS.registered("questions-csv", export_questions_csv):
        assert "questions-csv" in cli("export", "--help").output
        out = tmp_path / "questions.csv"
        r = cli("export", "--format", "questions-csv", "--out", out)
        assert r.exit_code == 0, r.output
        rows = list(csv.DictReader(out.open(encoding="utf-8")))
        rubric = json.loads((REPO / "rubrics" / "rubricate-default.json").read_text())
        assert len(rows) == sum(len(i["criteria"]) for i in rubric["items"])
        assert f"({len(rubric['items'])} items, questions-csv)" in r.output
    r = CliRunner().invoke(main, ["export", "--format", "questions-csv", "--out", str(out)])
    assert r.exit_code == 2 and "'questions-csv' is not one of" in r.output


# ---- detector -----------------------------------------------------------------------------

def _toy_detector_class():
    from rubricate.rubrics.checks.detectors.base import Detector, Finding

    class ExclamationDetector(Detector):
        """Toy detector: fires when the response has at least ``min`` exclamation marks."""

        type = "exclamation"

        def __init__(self, params, bank, where):
            super().__init__(params, bank, where)
            self.min = self.params.integer("min", 1, 1)

        def detect(self, ctx) -> Finding:
            spans = [(i, i + 1) for i, ch in enumerate(ctx.text) if ch == "!"]
            fired = len(spans) >= self.min
            return Finding(fired, spans if fired else [], f"{len(spans)} exclamation mark(s)")
    return ExclamationDetector


def test_a_registered_detector_can_be_named_in_a_rubric_and_judges(tmp_path):
    from rubricate.rubrics.checks.detectors import DETECTORS
    from rubricate.rubrics.contract.validation import schema_errors
    rubric = json.loads((REPO / "rubrics" / "rubricate-default.json").read_text())
    item = rubric["items"][0]
    crit = item["criteria"][0]
    crit["checks"] = {"detectors": [{"type": "exclamation", "params": {"min": 2}}],
                      "answer_if_found": "yes", "answer_otherwise": "no"}
    path = tmp_path / "rubric.json"
    path.write_text(json.dumps(rubric), encoding="utf-8")
    assert any("exclamation" in e for e in schema_errors(rubric))  # unknown until registered
    responses = tmp_path / "responses.jsonl"
    responses.write_text("".join(json.dumps({"response_id": rid, "item_id": item["id"], "model": "m",
                                             "response": text}) + "\n"
                                 for rid, text in (("calm", "Let us talk it through."),
                                                   ("loud", "Wow! Go for it!"))), encoding="utf-8")
    with DETECTORS.registered("exclamation", _toy_detector_class()):
        assert schema_errors(rubric) == []
        r = cli("evaluate", "--rubric", path, "--responses", responses, "--out", tmp_path / "out")
        assert r.exit_code == 0, r.output
    verdicts = {(v["response_id"], v["criterion_id"]): v for v in iter_jsonl(tmp_path / "out" / "verdicts.jsonl")}
    loud, calm = verdicts[("loud", crit["id"])], verdicts[("calm", crit["id"])]
    assert (loud["answer"], calm["answer"]) == ("yes", "no")
    assert [e["text"] for e in loud["evidence"]] == ["!", "!"]
    assert "exclamation" not in DETECTORS


# ---- judge protocol -------------------------------------------------------------------------

def test_a_registered_judge_protocol_is_offered_and_asked(make_server, tmp_path):
    from rubricate.rubrics.llm.protocols import PROTOCOLS, Protocol
    from rubricate.rubrics.llm.replies import Verdict

    def build(messages, response, criteria):
        return [{"role": "user", "content": f"Answer yes or no. {criteria[0]['question']}\n\n"
                                            f"RESPONSE: {response}"}]

    def parse(text, criteria):
        word = text.strip().lower().split()[0].strip(".!,") if text.strip() else ""
        return {criteria[0]["id"]: Verdict(word, "plain reply")} if word in ("yes", "no") else {}

    def answer(messages, body):
        return "Yes." if "first" in messages[-1]["content"].lower() else "no"

    srv = make_server(answer)
    with PROTOCOLS.registered("yesno", Protocol("yesno", "1", True, build, parse)):
        assert "yesno" in cli("evaluate", "--help").output
        r = cli("evaluate", "--responses", SAMPLES, "--judge", "llm", "--protocol", "yesno", "--model",
                "judge", "--base-url", srv.base_url, "--no-cache", "--out", tmp_path / "out")
        assert r.exit_code == 0, r.output
    verdicts = list(iter_jsonl(tmp_path / "out" / "verdicts.jsonl"))
    assert verdicts and {v["protocol"] for v in verdicts} == {"yesno"}
    assert {v["judge_version"] for v in verdicts} == {"judge/yesno-1"}
    assert {v["answer"] for v in verdicts} == {"yes", "no"}
    assert all(m["content"].startswith("Answer yes or no.") for req in srv.requests
               for m in req.body["messages"])


# ---- judge --------------------------------------------------------------------------------

def test_a_registered_judge_is_offered_and_writes_its_verdicts(tmp_path):
    from rubricate.rubrics.evaluation.judges import JUDGES, JudgeBase, Outcome

    class LengthJudge(JudgeBase):
        """Toy judge: 'yes' when the response is longer than ``limit`` characters."""

        name, version = "length", "length/1"

        def __init__(self, limit: int = 400) -> None:
            self.limit = limit

        def __call__(self, tasks):
            return [Outcome("yes" if len(t.response.text) > self.limit else "no",
                            f"{len(t.response.text)} characters", self.version) for t in tasks]

    closed = []

    def make_length_judge(rubric, **options):
        judge = LengthJudge()
        judge.close = lambda: closed.append(True)
        return judge

    with JUDGES.registered("length", make_length_judge):
        assert "length" in cli("evaluate", "--help").output
        r = cli("evaluate", "--responses", SAMPLES, "--judge", "length", "--out", tmp_path / "out")
        assert r.exit_code == 0, r.output
    assert closed == [True]  # the CLI closed the judge it made
    verdicts = list(iter_jsonl(tmp_path / "out" / "verdicts.jsonl"))
    assert {v["judge"] for v in verdicts} == {"length"} and {v["judge_version"] for v in verdicts} == {"length/1"}
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["judge"] == "length"
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert list(summary["by_judge"]) == ["length"]


def test_an_ensemble_combines_judges_and_flags_disagreements(tmp_path):
    from rubricate.rubrics.contract.loader import load_rubric
    from rubricate.rubrics.evaluation.evaluate import evaluate
    from rubricate.rubrics.evaluation.judges import Ensemble, FunctionJudge, Outcome
    always = {a: FunctionJudge(a, lambda tasks, a=a: [Outcome(a, "", f"{a}/1") for _ in tasks], f"{a}/1")
              for a in ("yes", "no")}
    panel = Ensemble([always["yes"], always["no"]])
    assert (panel.name, panel.version) == ("no+yes", "no/1+yes/1")
    with panel:
        evaluate(load_rubric(), SAMPLES, tmp_path, panel)
    verdicts = list(iter_jsonl(tmp_path / "verdicts.jsonl"))
    assert {v["judge"] for v in verdicts} == {"yes", "no"}
    assert all(v["flags"] == ["disagreement"] for v in verdicts)
    with pytest.raises(RubricateError, match="two judges named 'yes'"):
        Ensemble([always["yes"], always["yes"]])


# ---- extractor ----------------------------------------------------------------------------

def _csv_extractor():
    from rubricate.guidelines.sources.extractors import Extractor
    from rubricate.guidelines.sources.model import Block, ParsedDocument

    def parse_csv(path: Path, doc_id: str, sha256: str, media_type: str) -> ParsedDocument:
        """Toy extractor: each row of a two-column CSV (section, text) is one block."""
        rows = list(csv.reader(Path(path).read_text(encoding="utf-8").splitlines()))
        text, blocks = "", []
        for section, body in rows:
            if text:
                text += "\n\n"
            blocks.append(Block(len(text), len(text) + len(body), None, None, (section,)))
            text += body
        return ParsedDocument(doc_id, str(path), sha256, media_type, "toy.csv", "1", text,
                              tuple(blocks), paginated=False)
    return Extractor("text/csv", parse_csv, version="1", extensions=(".csv",))


def test_a_registered_extractor_reads_its_file_type(tmp_path, monkeypatch):
    from rubricate.guidelines.sources.extractors import EXTRACTORS
    from rubricate.guidelines.sources.parse import parse_document
    monkeypatch.setenv("RUBRICATE_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "guide.csv"
    source.write_text(textwrap.dedent("""\
        Assessment,Ask directly and calmly about thoughts of suicide.
        Planning,Agree on a written safety plan with the person.
        """), encoding="utf-8")
    with pytest.raises(RubricateError, match=r"unsupported file type '\.csv'"):
        parse_document(source, "toy")
    with EXTRACTORS.registered("text/csv", _csv_extractor()):
        doc = parse_document(source, "toy")
        assert doc.media_type == "text/csv" and [b.section_path for b in doc.blocks] == [("Assessment",), ("Planning",)]
        assert doc.text[doc.blocks[1].start:doc.blocks[1].end] == "Agree on a written safety plan with the person."
        registry = tmp_path / "registry.yaml"
        registry.write_text("documents: []\n", encoding="utf-8")
        r = cli("guidelines", "add", source, "--id", "toy_guide_2025", "--title", "Toy guide", "--kind",
                "other", "--registry", registry)
        assert r.exit_code == 0, r.output
        assert "(text/csv, 2 blocks" in r.output and "toy_guide_2025" in registry.read_text()


CSV_PLUGIN = '''\
import csv
from pathlib import Path

from rubricate.guidelines.sources.extractors import Extractor
from rubricate.guidelines.sources.model import Block, ParsedDocument


def parse_csv(path, doc_id, sha256, media_type):
    text, blocks = "", []
    for section, body in csv.reader(Path(path).read_text(encoding="utf-8").splitlines()):
        text += "\\n\\n" if text else ""
        blocks.append(Block(len(text), len(text) + len(body), None, None, (section,)))
        text += body
    return ParsedDocument(doc_id, str(path), sha256, media_type, "toy.csv", "1", text, tuple(blocks),
                          paginated=False)


CSV = Extractor("text/csv", parse_csv, version="1", extensions=(".csv",))
'''


def test_an_extractor_from_an_entry_point_reads_its_file_type(tmp_path):
    """A distribution on the path whose entry point (group rubricate.extractors) names an
    extractor: `rubricate guidelines add` reads .csv files in that process only."""
    import os
    import subprocess
    plugins = tmp_path / "site"
    plugins.mkdir()
    _fake_distribution(plugins, "toy_csv_extractor", "rubricate.extractors",
                       {"text/csv": "toy_csv_extractor:CSV"}, CSV_PLUGIN)
    source = tmp_path / "guide.csv"
    source.write_text("Assessment,Ask directly and calmly about thoughts of suicide.\n", encoding="utf-8")
    registry = tmp_path / "registry.yaml"
    registry.write_text("documents: []\n", encoding="utf-8")
    args = [sys.executable, "-m", "rubricate", "guidelines", "add", str(source), "--id", "toy_guide_2025",
            "--title", "Toy guide", "--kind", "other", "--registry", str(registry)]
    env = {**os.environ, "RUBRICATE_CACHE_DIR": str(tmp_path / "cache")}
    without = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert without.returncode == 2 and "unsupported file type '.csv'" in without.stderr
    env["PYTHONPATH"] = os.pathsep.join([env.get("PYTHONPATH", ""), str(plugins)]).strip(os.pathsep)
    with_plugin = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert with_plugin.returncode == 0, with_plugin.stderr
    assert "(text/csv, 1 blocks" in with_plugin.stdout and "toy_guide_2025" in registry.read_text()
