"""`rubricate compare`: exact tests, paired and unpaired comparisons, the regression gate.

The regression scenario is end to end: two scripted models (real local OpenAI-compatible
servers) answer the bundled rubric's stimuli through `rubricate respond`, the offline judge
scores both, and the new model regresses on one condition only.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubricate.cli import main
from rubricate.guidelines.kernel.paired_tests import adjust, mcnemar_exact, permutation_exact
from tests.openai_server import OpenAIServer

REPO = Path(__file__).resolve().parents[1]
RUBRIC = REPO / "rubrics" / "rubricate-default.json"
SAMPLES = REPO / "rubrics" / "samples" / "default_responses.jsonl"


def cli(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


# -- the statistics -----------------------------------------------------------------------

def test_mcnemar_exact_values():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(0, 5) == pytest.approx(2 / 32)          # all 5 discordant pairs one way
    assert mcnemar_exact(1, 9) == pytest.approx(2 * 11 / 1024)   # P(X<=1 | n=10), two-sided
    assert mcnemar_exact(5, 5) == 1.0


def test_permutation_exact_is_fishers_exact_test():
    # 5/5 vs 0/5: only the observed table and its mirror are as extreme: 2 of C(10,5) relabellings
    assert permutation_exact(5, 5, 0, 5) == pytest.approx(2 / 252)
    assert permutation_exact(3, 6, 3, 6) == 1.0
    scipy = pytest.importorskip("scipy.stats")
    for k1, n1, k2, n2 in [(7, 12, 2, 12), (1, 9, 6, 8), (20, 24, 11, 30)]:
        expected = scipy.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]]).pvalue
        assert permutation_exact(k1, n1, k2, n2) == pytest.approx(expected, rel=1e-9)


def test_holm_and_benjamini_hochberg():
    p = [0.01, 0.04, 0.03, 0.5]
    assert adjust(p, "holm") == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert adjust(p, "bh") == pytest.approx([0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])
    assert adjust([], "holm") == []


# -- runs ---------------------------------------------------------------------------------

def _samples() -> list[dict]:
    return [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines()]


def scripted_model(regress_condition: str | None):
    """A model under test: the bundled appropriate sample of each item, except that items of
    ``regress_condition`` get an inappropriate one."""
    rubric = json.loads(RUBRIC.read_text(encoding="utf-8"))
    by_last_turn = {item["stimulus"]["messages"][-1]["content"]: item for item in rubric["items"]
                    if item.get("kind", "response") == "response"}
    good, bad = {}, {}
    for s in _samples():
        (good if s["expected_appropriate"] else bad).setdefault(s["item_id"], s["response"])

    def answer(messages: list[dict], body: dict) -> str:
        item = by_last_turn[messages[-1]["content"]]
        return bad[item["id"]] if item["condition"] == regress_condition else good[item["id"]]
    return answer


def respond_and_evaluate(tmp: Path, name: str, regress: str | None) -> Path:
    with OpenAIServer(scripted_model(regress)) as srv:
        res = cli("respond", "--model", name, "--base-url", srv.base_url, "--samples", "8", "--no-cache",
                  "--out", tmp / f"{name}.jsonl")
        assert res.exit_code == 0, res.output
    res = cli("evaluate", "--rubric", RUBRIC, "--responses", tmp / f"{name}.jsonl", "--out", tmp / name)
    assert res.exit_code == 0, res.output
    return tmp / name


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runs")
    return (respond_and_evaluate(tmp, "model-v1", None),
            respond_and_evaluate(tmp, "model-v2", "suicidal-ideation"), tmp)


def test_gate_fails_on_the_condition_that_regressed(runs):
    base, new, tmp = runs
    res = cli("compare", base, new, "--gate-on", "condition", "--fail-on-regression", "--out", tmp / "cmp",
              "--format", "json")
    assert res.exit_code == 1
    last = res.output.strip().splitlines()[-1]
    assert last.startswith("regression: 1 significant drop(s) at condition level: condition suicidal-ideation")
    data = json.loads(res.output[:res.output.rindex("}") + 1])
    assert data["regressions"] == ["condition:suicidal-ideation"]
    rows = {(r["level"], r["key"]): r for r in data["rows"]}
    si = rows[("condition", "suicidal-ideation")]
    assert not si["paired"]                       # different models: independent samples
    assert si["rate_base"] == 1.0 and si["rate_new"] == 0.0 and si["n_base"] == si["n_new"] == 32
    assert si["ci_high"] < 0 and si["p_adjusted"] < 1e-6
    for cond in ("delusions", "hallucinations", "mania", "obsessive-compulsive"):
        assert rows[("condition", cond)]["diff"] == 0 and not rows[("condition", cond)]["significant"]
    # every output format is written, and the regression links to failing responses and passages
    html = (tmp / "cmp" / "compare.html").read_text(encoding="utf-8")
    assert 'id="reg-condition-suicidal-ideation"' in html and "rubricate trace v-" in html
    assert "Guideline passages behind this criterion" in html
    style = html[html.index("<style>"):html.index("</style>")]
    assert '"Segoe UI"' in style and "&#34;" not in style  # the package's own CSS, not escaped as data
    md = (tmp / "cmp" / "compare.md").read_text(encoding="utf-8")
    assert "**suicidal-ideation** (regression)" in md


def test_gate_at_criterion_level_names_the_criteria(runs):
    base, new, _ = runs
    res = cli("compare", base, new, "--fail-on-regression", "--decisive-only")
    assert res.exit_code == 1
    marked = [line.split()[1] for line in res.output.splitlines() if line.startswith("! ")]
    rubric = json.loads(RUBRIC.read_text(encoding="utf-8"))
    si_principles = {i["principle"] for i in rubric["items"] if i.get("condition") == "suicidal-ideation"}
    assert "suicidal-ideation" in marked
    assert all(m.startswith("si-") or m == "suicidal-ideation" or m in si_principles for m in marked), marked
    data = json.loads(cli("compare", base, new, "--decisive-only", "--format", "json").output)
    assert data["regressions"] and all(r.startswith("criterion:si-") for r in data["regressions"])


def test_without_the_gate_flag_the_exit_code_is_zero(runs):
    base, new, _ = runs
    assert cli("compare", base, new, "--gate-on", "condition").exit_code == 0


def test_same_responses_are_paired_and_show_no_difference(runs, tmp_path):
    base, _, tmp = runs
    again = tmp_path / "again"
    res = cli("evaluate", "--rubric", RUBRIC, "--responses", tmp / "model-v1.jsonl", "--out", again)
    assert res.exit_code == 0, res.output
    res = cli("compare", base, again, "--gate-on", "criterion", "--gate-on", "condition", "--fail-on-regression",
              "--format", "json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["regressions"] == [] and all(r["paired"] for r in data["rows"])
    # the model answers del-dental-chip and hal-guide-medication with demo replies on which the
    # offline judge abstains (the default rubric's uncertain_below): those items and criteria have
    # no decided pair to compare
    undecided = {(r["level"], r["key"]) for r in data["rows"] if r["n_base"] == r["n_new"] == 0}
    assert undecided == {("item", "del-dental-chip"), ("criterion", "del-dental-chip.explains-removal"),
                         ("item", "hal-guide-medication"), ("criterion", "hal-guide-medication.gives-taper")}
    assert all(r["diff"] is None and r["p"] == 1.0 for r in data["rows"] if (r["level"], r["key"]) in undecided)
    assert all(r["diff"] == 0 and r["p"] == 1.0 for r in data["rows"] if (r["level"], r["key"]) not in undecided)


def test_refuses_runs_of_different_rubrics_and_judges(runs, tmp_path):
    base, new, _ = runs
    other = tmp_path / "other"
    shutil.copytree(new, other)
    manifest = json.loads((other / "run.json").read_text())
    (other / "run.json").write_text(json.dumps({**manifest, "rubric_id": "something-else"}))
    res = CliRunner().invoke(main, ["compare", str(base), str(other)])
    assert res.exit_code == 2 and "different rubrics" in res.output and len(res.output.strip().splitlines()) == 1
    (other / "run.json").write_text(json.dumps(manifest))
    lines = (other / "verdicts.jsonl").read_text().splitlines()
    (other / "verdicts.jsonl").write_text("".join(json.dumps({**json.loads(x), "judge": "llm"}) + "\n" for x in lines))
    res = CliRunner().invoke(main, ["compare", str(base), str(other)])
    assert res.exit_code == 2 and "--allow-different-judges" in res.output
    res = CliRunner().invoke(main, ["compare", str(base), str(other), "--allow-different-judges"])
    assert res.exit_code == 0


def test_unstable_verdicts_are_not_counted_as_flips(runs, tmp_path):
    base, _, tmp = runs
    flipped = tmp_path / "flipped"
    shutil.copytree(base, flipped)
    lines = [json.loads(x) for x in (flipped / "verdicts.jsonl").read_text().splitlines()]
    target = "si-saved-tablets.gives-quantity"
    hit = [v for v in lines if v["criterion_id"] == target]
    assert hit, "criterion id of the bundled rubric changed"
    for v in hit:  # every verdict of the criterion flips, but repeated judging disagreed on each
        v.update(appropriate=not v["appropriate"], answer="yes" if v["answer"] == "no" else "no", unstable=True)
    (flipped / "verdicts.jsonl").write_text("".join(json.dumps(v) + "\n" for v in lines))
    res = cli("compare", base, flipped, "--format", "json")
    row = next(r for r in json.loads(res.output)["rows"] if r["key"] == target)
    assert row["unstable"] == len(hit) and row["flips_bad"] == 0 and row["n_new"] == 0


@pytest.mark.slow
def test_diff_page_in_headless_chromium(runs, tmp_path):
    from tests.test_report_browser import CHROMIUM, chromium
    if CHROMIUM is None:
        if __import__("os").environ.get("CI"):
            pytest.fail("headless Chromium is missing in CI")
        pytest.skip("headless Chromium not installed (Debian package 'chromium')")
    base, new, _ = runs
    res = cli("compare", base, new, "--gate-on", "condition", "--out", tmp_path / "cmp")
    assert res.exit_code == 0
    page = tmp_path / "cmp" / "compare.html"
    dom = chromium(page, tmp_path, "--dump-dom")
    assert "<main>" in dom and "Run comparison" in dom
    assert "Fails:" in dom and "condition suicidal-ideation 100%-&gt;0%" in dom
    assert 'id="reg-condition-suicidal-ideation"' in dom and "<script" not in dom.lower()
    shot = tmp_path / "compare.png"
    chromium(page, tmp_path, f"--screenshot={shot}", "--window-size=1280,1600")
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000  # a rendered page, not a blank one
