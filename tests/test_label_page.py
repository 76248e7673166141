"""The labelling page in real headless Chromium (Playwright driving Debian's chromium): a user
labels ten responses with buttons and keys, reloads in the middle, a second labeller joins,
the label file is downloaded from the page, calibrated, and the figures are found in the
rubric's calibration block and in the report (opened in the same browser).

The server is the real CLI (`rubricate label --port 0`) in a child process. In CI (CI=true)
a missing Playwright or Chromium fails this test instead of skipping it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubricate.cli import main
from rubricate.guidelines.kernel.agreement import cohen_kappa
from rubricate.guidelines.kernel.workspace import using_workspace
from rubricate.rubrics.contract.calibration import calibration_path
from rubricate.rubrics.contract.loader import load_rubric
from rubricate.rubrics.contract.validation import calibration_errors
from rubricate.rubrics.evaluation.evaluate import evaluate, rules_judge
from rubricate.rubrics.report import write_report
from tests.conftest import REPO, SAMPLES
from tests.external_tools import missing

pytestmark = pytest.mark.slow
FLIP = {"yes": "no", "no": "yes"}


def chromium_path() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None)
    if path is None:
        missing("headless Chromium not installed (Debian package 'chromium'; .ci/run installs it)")
    return path


def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright as sp
    except ImportError:
        missing("Python package playwright not installed (pip install '.[test]')")
    return sp


def expected() -> dict[tuple[str, str], str]:
    """The samples' own answers: what a careful labeller says (the test flips some on purpose)."""
    out = {}
    for line in SAMPLES.read_text().splitlines():
        s = json.loads(line)
        for cid, ans in s["expected_answers"].items():
            out[(s["response_id"], cid)] = ans
    return out


def start_server(results: Path, tmp: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "rubricate", "--workspace", str(tmp), "label", "--results",
                             str(results), "--port", "0"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    for _ in range(10):
        line = proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:\d+/", line)
        if m:
            return proc, m.group(0)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError("server did not start: " + proc.stderr.read()[-2000:])


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def shown(page) -> tuple[str, str]:
    unit = page.locator("#unit")
    return unit.get_attribute("data-response-id"), unit.get_attribute("data-criterion-id")


def answer(page, label: str, by_key: bool) -> None:
    before = page.locator("#progress").inner_text()
    if by_key:
        page.wait_for_selector("html[data-keys=on]", state="attached")  # keys.js has run
        page.keyboard.press(label[0])
    else:
        page.click(f"#btn-{label}")
    page.wait_for_function("b => { const p = document.querySelector('#progress'); "
                           "return !p || p.innerText !== b; }", arg=before)
    page.wait_for_load_state()


def test_label_ten_responses_in_chromium_then_calibrate_and_report(tmp_path):
    exe = chromium_path()
    sp = sync_playwright()
    rubric = load_rubric()
    results = tmp_path / "results"
    evaluate(rubric, SAMPLES, results, judges={"rules": rules_judge(rubric)})
    truth = expected()
    verdicts = {(v["response_id"], v["criterion_id"]): v["answer"]
                for v in map(json.loads, (results / "verdicts.jsonl").read_text().splitlines())}
    proc, base = start_server(results, tmp_path)
    given: dict[str, dict[tuple[str, str], str]] = {"ana": {}, "ben": {}}
    clicks = 0
    try:
        with sp() as p:
            browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(base)
            page.fill("#labeller", "ana")
            page.click("#start")
            responses: list[str] = []
            n = 0
            while True:
                unit = shown(page)
                if unit[0] not in responses:
                    if len(responses) == 10:
                        break
                    responses.append(unit[0])
                # the page shows the criterion, the conversation and the cited passages
                assert page.locator("#question").inner_text().strip() == rubric.criteria[unit[1]]["question"]
                assert page.locator(".turn").count() >= 1 and page.locator(".citation").count() >= 1
                assert page.locator("#response").inner_text().strip()
                label = truth[unit]
                if n % 5 == 3:
                    label = FLIP[label]          # a labeller who disagrees with the samples now and then
                if n == 7:
                    label = "skip"
                if n == 4:
                    page.screenshot(path=str(tmp_path / "label-page.png"), full_page=True)
                answer(page, label, by_key=n % 2 == 0)
                clicks += 1
                if label != "skip":
                    given["ana"][unit] = label
                n += 1
                if n == 6:  # reload in the middle: nothing is lost or labelled twice
                    nxt = shown(page)
                    page.reload()
                    assert shown(page) == nxt
                    assert page.locator("#progress").inner_text().startswith("7 of ")
            # a second labeller labels the first units, agreeing mostly
            page.goto(base)
            page.fill("#labeller", "ben")
            page.click("#start")
            for i in range(12):
                unit = shown(page)
                label = truth[unit] if i % 6 else FLIP[truth[unit]]
                answer(page, label, by_key=False)
                clicks += 1
                given["ben"][unit] = label
            page.goto(base)
            assert page.locator("#labellers").inner_text().count("continue as") == 2
            with page.expect_download() as dl:
                page.click("#export")
            labels = tmp_path / "labels.jsonl"
            dl.value.save_as(labels)
            browser.close()
    finally:
        stop(proc)
    assert len(responses) == 10
    log = (results / "labels.jsonl").read_text().splitlines()
    assert len(log) == clicks                                  # append-only, one line per answer
    exported = [json.loads(x) for x in labels.read_text().splitlines()]
    assert {(r["labeller"], r["response_id"], r["criterion_id"]): r["label"] for r in exported} == \
        {(who, *u): lab for who, d in given.items() for u, lab in d.items()}
    # the CLI exports the same file
    r = CliRunner().invoke(main, ["label", "--results", str(results), "--export", str(tmp_path / "cli.jsonl")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "cli.jsonl").read_text() == labels.read_text()

    r = CliRunner().invoke(main, ["--workspace", str(tmp_path), "calibrate", "--rubric", "rubricate-default",
                                  "--labels", str(labels), "--results", str(results)])
    assert r.exit_code == 0, r.output
    cal = tmp_path / "calibration" / calibration_path(rubric.data).name
    doc = json.loads(cal.read_text())
    assert calibration_errors(doc) == []
    ana, ben = given["ana"], given["ben"]
    ref = {u: a for u, a in ana.items() if ben.get(u, a) == a}
    ref.update({u: b for u, b in ben.items() if u not in ana})
    units = sorted(ref)
    overall = doc["overall"]["judges"]["rules"]
    k = cohen_kappa([ref[u] for u in units], [verdicts[u] for u in units])
    assert overall["n"] == len(units) and overall["kappa"] == pytest.approx(k) and k < 1
    shared = sorted(set(ana) & set(ben))
    assert doc["overall"]["ceiling"]["kappa"] == pytest.approx(cohen_kappa([ana[u] for u in shared],
                                                                           [ben[u] for u in shared]))
    weak = sorted(c for c, s in doc["criteria"].items()
                  if s["judges"].get("rules", {}).get("kappa") is not None and s["judges"]["rules"]["kappa"] < 0.6)

    with using_workspace(tmp_path):  # the workspace calibrate wrote to (--workspace holds for one command)
        paths = write_report(results, tmp_path / "report", min_kappa=0.6)  # finds the workspace's calibration
    with sp() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(paths["html"].resolve().as_uri())
        facts = page.locator("#overview dl.facts").inner_text()
        assert f"rules κ {overall['kappa']:.2f}" in facts
        assert f"people with each other κ {doc['overall']['ceiling']['kappa']:.2f}" in facts
        table = page.locator("#t-rules-criterion")
        for cid, s in doc["criteria"].items():
            a = s["judges"].get("rules")
            if not a or a["kappa"] is None:
                continue
            row = table.locator("tr", has=page.locator(f"td:text-is('{cid}')"))
            assert f"{a['kappa']:.2f}" in row.inner_text()
            color = row.locator("td").nth(5).evaluate("el => getComputedStyle(el).color")
            assert (color == "rgb(154, 160, 166)") == (cid in weak), (cid, color)
        row = table.locator("tr.below-min-kappa").first
        if weak:
            row.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "report-calibrated.png"))
        browser.close()
    assert (tmp_path / "label-page.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
