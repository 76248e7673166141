"""`rubricate calibrate`: each judge's agreement with labels per criterion, the calibration
block bound to the rubric, people's agreement as the ceiling, and the report beside it.

The judge side is a real results folder (the offline judge on the bundled samples); the labels
are the samples' own expected answers given by two or three labellers, some flipped on purpose
so the figures are not all 1.0.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubricate.cli import main
from rubricate.guidelines.kernel.agreement import cohen_kappa, krippendorff_alpha, macro_f1
from rubricate.rubrics.contract.calibration import calibration_path, find_calibration
from rubricate.rubrics.contract.loader import load_rubric
from rubricate.rubrics.contract.validation import calibration_errors
from rubricate.rubrics.evaluation.evaluate import evaluate, rules_judge
from rubricate.rubrics.evaluation.labels import export_labels, label_record, labelled_by, read_labels
from rubricate.rubrics.report import load_report_data, write_report
from tests.conftest import SAMPLES
from tests.html_tree import Element, by_id, parse

FLIP = {"yes": "no", "no": "yes"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The offline judge's verdicts on the bundled samples (a results folder)."""
    root = tmp_path_factory.mktemp("calib")
    rubric = load_rubric()
    evaluate(rubric, SAMPLES, root / "results", judges={"rules": rules_judge(rubric)})
    return root, rubric


def samples() -> list[dict]:
    return [json.loads(line) for line in SAMPLES.read_text().splitlines()]


def write_labels(path: Path, labellers: dict[str, int]) -> list[dict]:
    """Every sample's expected answers, per labeller; labeller NAME flips every k-th unit."""
    rows = []
    units = [(s["response_id"], cid, ans) for s in samples() for cid, ans in sorted(s["expected_answers"].items())]
    for name, every in labellers.items():
        for i, (rid, cid, ans) in enumerate(units):
            label = FLIP[ans] if every and i % every == 0 else ans
            rows.append(label_record(rid, cid, label, name))
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def verdicts(results: Path) -> dict[tuple[str, str], str]:
    return {(v["response_id"], v["criterion_id"]): v["answer"]
            for v in map(json.loads, (results / "verdicts.jsonl").read_text().splitlines())}


def calibrate_cli(ws: Path, *args: str, rubric: str = "rubricate-default"):
    return CliRunner().invoke(main, ["--workspace", str(ws), "calibrate", "--rubric", rubric,
                                     "--n-resamples", "200", *args])


def calibrated(tmp_path: Path, root: Path, labellers: dict[str, int]) -> Path:
    """Calibrate the run against generated labels into tmp_path/cal.json."""
    labels = tmp_path / "labels.jsonl"
    write_labels(labels, labellers)
    cal = tmp_path / "cal.json"
    r = calibrate_cli(tmp_path, "--labels", str(labels), "--results", str(root / "results"), "--out", str(cal))
    assert r.exit_code == 0, r.output
    return cal


def test_two_labellers_give_judge_figures_and_the_ceiling(run, tmp_path):
    root, rubric = run
    labels = tmp_path / "labels.jsonl"
    write_labels(labels, {"ana": 6, "ben": 7})  # both flip every 42nd unit: the majority is wrong there
    r = calibrate_cli(tmp_path, "--labels", str(labels), "--results", str(root / "results"))
    assert r.exit_code == 0, r.output
    path = tmp_path / "calibration" / calibration_path(rubric.data).name
    assert f"calibration: {path.relative_to(tmp_path)}" in r.output or str(path) in r.output
    doc = json.loads(path.read_text())
    assert calibration_errors(doc) == []
    assert (doc["rubric_id"], doc["rubric_version"], doc["kb_sha256"]) == \
        (rubric.id, rubric.data["version"], rubric.data["knowledge_base"]["sha256"])
    assert {s["name"]: s["kind"] for s in doc["label_sources"]} == {"ana": "human", "ben": "human"}
    assert not any(s["file"].startswith("/") for s in doc["label_sources"])  # no machine path
    # the reference is the majority; ana and ben tie where one of them flipped: those units drop out
    ana = {(l["response_id"], l["criterion_id"]): l["label"] for _, l in read_labels(labels) if l["labeller"] == "ana"}
    ben = {(l["response_id"], l["criterion_id"]): l["label"] for _, l in read_labels(labels) if l["labeller"] == "ben"}
    ref = {u: a for u, a in ana.items() if ben[u] == a}
    judged = verdicts(root / "results")
    units = sorted(u for u in ref if u in judged)
    overall = doc["overall"]["judges"]["rules"]
    assert overall["n"] == len(units)
    assert overall["kappa"] == pytest.approx(cohen_kappa([ref[u] for u in units], [judged[u] for u in units]))
    assert overall["macro_f1"] == pytest.approx(macro_f1([ref[u] for u in units], [judged[u] for u in units]))
    lo, hi = overall["kappa_ci"]
    assert lo <= overall["kappa"] <= hi and lo < hi
    assert sum(sum(row.values()) for row in overall["confusion"].values()) == overall["n"]
    # per criterion: the same computation on that criterion's units
    cid = "si-saved-tablets.gives-quantity"
    cu = [u for u in units if u[1] == cid]
    crit = doc["criteria"][cid]
    assert crit["item_id"] == "si-saved-tablets"
    assert crit["judges"]["rules"]["n"] == len(cu)
    # the ceiling: ana vs ben on every unit both labelled
    shared = sorted(set(ana) & set(ben))
    assert doc["overall"]["ceiling"]["sources"] == ["ana", "ben"]
    assert doc["overall"]["ceiling"]["kappa"] == pytest.approx(cohen_kappa([ana[u] for u in shared],
                                                                           [ben[u] for u in shared]))
    assert doc["overall"]["ceiling"]["n"] == len(shared)
    assert "OVERALL" in r.output and "people" in r.output


def test_three_labellers_give_krippendorffs_alpha(run, tmp_path):
    root, rubric = run
    labels = tmp_path / "labels.jsonl"
    rows = write_labels(labels, {"ana": 0, "ben": 5, "cem": 3})
    r = calibrate_cli(tmp_path, "--labels", str(labels), "--results", str(root / "results"), "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    ceiling = doc["overall"]["ceiling"]
    assert ceiling["sources"] == ["ana", "ben", "cem"] and "alpha" in ceiling and "kappa" not in ceiling
    by_unit: dict = {}
    for rec in rows:
        by_unit.setdefault((rec["response_id"], rec["criterion_id"]), {})[rec["labeller"]] = rec["label"]
    units = [[d.get(n) for n in ("ana", "ben", "cem")] for _, d in sorted(by_unit.items())]
    assert ceiling["alpha"] == pytest.approx(krippendorff_alpha(units))
    assert ceiling["alpha_ci"][0] <= ceiling["alpha"] <= ceiling["alpha_ci"][1]


def test_several_reference_judges_show_their_agreement_but_never_as_the_ceiling(run, tmp_path):
    """Label sources of kind judge (model readers, say): their agreement with each other is stored
    as references_agree, per criterion only among the sources that labelled it, and the report's
    agreement tables show it as such, not as people's ceiling."""
    root, rubric = run
    labels = tmp_path / "labels.jsonl"
    rows = write_labels(labels, {"reader-1": 6, "reader-2": 0})
    only = "si-saved-tablets.gives-quantity"          # a third reader answers one criterion only
    rows += [dict(r, labeller="reader-3") for r in rows if r["labeller"] == "reader-2" and r["criterion_id"] == only]
    labels.write_text("".join(json.dumps(dict(r, source="judge")) + "\n" for r in rows))
    cal = tmp_path / "cal.json"
    r = calibrate_cli(tmp_path, "--labels", str(labels), "--results", str(root / "results"), "--out", str(cal))
    assert r.exit_code == 0, r.output
    assert "refs alpha" in r.output and "reference judges, not people: no ceiling" in r.output
    doc = json.loads(cal.read_text())
    assert calibration_errors(doc) == []
    assert "ceiling" not in doc["overall"]
    together = doc["overall"]["references_agree"]
    assert together["sources"] == ["reader-1", "reader-2", "reader-3"] and "alpha" in together
    other = next(cid for cid in doc["criteria"] if cid != only)
    assert doc["criteria"][other]["references_agree"]["sources"] == ["reader-1", "reader-2"]
    one = {(x["response_id"], x["criterion_id"]): x["label"] for x in rows if x["labeller"] == "reader-1"}
    two = {(x["response_id"], x["criterion_id"]): x["label"] for x in rows if x["labeller"] == "reader-2"}
    units = sorted(u for u in one if u[1] == other)
    assert doc["criteria"][other]["references_agree"]["kappa"] == pytest.approx(
        cohen_kappa([one[u] for u in units], [two[u] for u in units]))
    paths = write_report(root / "results", tmp_path / "report", calibration=cal)
    html = paths["html"].read_text()
    assert "reference sources with each other (reader-1, reader-2, reader-3): not people" in html
    assert "people with each other" not in html
    md = paths["markdown"].read_text()
    assert "reference sources with each other" in md
    assert "label uncertain:" not in html   # the square matrix's empty row of a judge-only answer


def test_a_reference_judges_results_folder_as_labels(run, tmp_path):
    """Labels from a reference judge: here the same run, so the agreement is perfect."""
    root, rubric = run
    out = tmp_path / "cal.json"
    r = calibrate_cli(tmp_path, "--labels", str(root / "results"), "--results", str(root / "results"),
                      "--out", str(out), "--reported-ceiling", "0.94", "--reported-ceiling-source",
                      "Moore et al. 2025, two annotators")
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert doc["label_sources"][0]["kind"] == "judge" and doc["reference"] == "judge-rules"
    assert doc["overall"]["judges"]["rules"]["accuracy"] == 1.0
    assert "ceiling" not in doc["overall"]  # no people, no measured ceiling
    assert doc["reported_ceiling"] == {"kappa": 0.94, "source": "Moore et al. 2025, two annotators"}


def test_uncertain_and_unknown_answers_count_as_disagreement_and_show_in_the_matrix(run, tmp_path):
    """A verdict state this version does not know (e.g. uncertain) is kept, not dropped or coerced."""
    root, rubric = run
    res = tmp_path / "results"
    res.mkdir()
    lines = (root / "results" / "verdicts.jsonl").read_text().splitlines()
    changed = []
    for i, line in enumerate(lines):
        v = json.loads(line)
        if i < 6:
            v["answer"], v["appropriate"] = "uncertain", None
        changed.append(json.dumps(v))
    (res / "verdicts.jsonl").write_text("\n".join(changed) + "\n")
    (res / "run.json").write_text((root / "results" / "run.json").read_text())
    labels = tmp_path / "labels.jsonl"
    write_labels(labels, {"ana": 0})
    r = calibrate_cli(tmp_path, "--labels", str(labels), "--results", str(res), "--format", "json")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)["overall"]["judges"]["rules"]
    # the six made uncertain here, and those the judge itself left uncertain further down
    already = sum(json.loads(line)["answer"] == "uncertain" for line in lines[6:])
    assert s["n"] - s["decided"] == 6 + already
    assert sum(row.get("uncertain", 0) for row in s["confusion"].values()) == 6 + already


def test_bad_label_lines_name_the_file_and_line(run, tmp_path):
    root, _ = run
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps(label_record("r1", "si-saved-tablets.gives-quantity", "yes", "ana")) + "\n"
                      + json.dumps({"response_id": "r2", "criterion_id": "x", "label": "maybe", "labeller": "ana"})
                      + "\n")
    r = calibrate_cli(tmp_path, "--labels", str(labels), "--results", str(root / "results"))
    assert r.exit_code == 2
    assert f"{labels}:2:" in r.output and "label" in r.output
    assert not (tmp_path / "calibration").exists()


def test_people_and_judge_labels_together_are_refused(run, tmp_path):
    root, _ = run
    labels = tmp_path / "labels.jsonl"
    write_labels(labels, {"ana": 0})
    r = calibrate_cli(tmp_path, "--labels", str(labels), "--labels", str(root / "results"),
                      "--results", str(root / "results"))
    assert r.exit_code == 2 and "one kind at a time" in r.output


def test_the_report_shows_agreement_beside_rates_and_greys_out_weak_criteria(run, tmp_path):
    root, rubric = run
    cal = calibrated(tmp_path, root, {"ana": 4})
    doc = json.loads(cal.read_text())
    kappas = {cid: s["judges"]["rules"]["kappa"] for cid, s in doc["criteria"].items() if s["judges"]}
    weak = sorted(c for c, k in kappas.items() if k is not None and k < 0.6)
    strong = sorted(c for c, k in kappas.items() if k is not None and k >= 0.6)
    assert weak and strong
    paths = write_report(root / "results", tmp_path / "report", calibration=cal, min_kappa=0.6)
    html = paths["html"].read_text()
    table = html[html.index('id="t-rules-criterion"'):]
    table = table[:table.index("</table>")]
    for cid in weak:
        assert f'<tr class="below-min-kappa"><td>{cid}</td>' in table
    for cid in strong:
        assert f"<tr><td>{cid}</td>" in table
    assert "judge κ vs labels" in table and "people agree" in table
    k = doc["overall"]["judges"]["rules"]["kappa"]
    assert f"rules κ {k:.2f}" in html and f"rules κ {k:.2f}" in paths["markdown"].read_text()
    assert "below 0.60" in paths["markdown"].read_text()


def _rate_rows(ids: dict[str, Element], judge: str):
    """(criterion id, row, rate cell) of each row of a judge's by-criterion table."""
    table = ids[f"t-{judge}-criterion"]
    col = [th.text() for th in table.iter("th")].index("appropriate")
    for tr in next(table.iter("tbody")).iter("tr"):
        cells = list(tr.iter("td"))
        yield cells[0].text(), tr, cells[col]


def _agreement_table_of(page: Element, row: Element) -> Element:
    section = by_id(page)["calibration"]
    return next(t for t in section.iter("table") if any(r is row for r in t.iter("tr")))


def test_each_rate_links_to_its_judges_measured_agreement_on_the_criterion(run, tmp_path):
    root, rubric = run
    cal = calibrated(tmp_path, root, {"ana": 4, "ben": 5})
    doc = json.loads(cal.read_text())
    paths = write_report(root / "results", tmp_path / "report", calibration=cal, min_kappa=0.6)
    page = parse(paths["html"].read_text())
    ids = by_id(page)
    internal = [a.attrs["href"] for a in page.iter("a") if a.attrs.get("href", "").startswith("#")]
    assert internal and [h for h in internal if h[1:] not in ids] == []   # every in-page link has its target
    rates = list(_rate_rows(ids, "rules"))
    assert rates and all(cid in doc["criteria"] for cid, _, _ in rates)
    weak = 0
    for cid, tr, cell in rates:
        scope = doc["criteria"][cid]
        a = scope["judges"].get("rules")
        links = list(cell.iter("a"))
        assert len(links) == 1 and links[0].text() == cell.text()      # the rate itself is the link
        target = ids[links[0].attrs["href"][1:]]
        if a is None:   # labelled, but no verdict of this judge among the labelled responses
            assert target.tag == "table" and next(target.iter("caption")).text().startswith(cid + ": ")
            assert "not measured" in target.text()
            continue
        assert target.tag == "tr"
        got = [td.text() for td in target.iter("td")]
        kappa = "n/a" if a["kappa"] is None else f"{a['kappa']:.2f}"
        f1 = "n/a" if a["macro_f1"] is None else f"{a['macro_f1']:.2f}"
        assert got[0].startswith("rules") and got[1:4] == [str(a["n"]), str(a["decided"]), kappa] and got[5] == f1
        assert got[4] == ("n/a" if a["kappa_ci"][0] is None else f"{a['kappa_ci'][0]:.2f}–{a['kappa_ci'][1]:.2f}")
        for ref, row in a["confusion"].items():  # a judge-only answer's empty row is left out
            shown = f"label {ref}: " + ", ".join(f"{k} {n}" for k, n in row.items())
            assert (shown in got[8]) == (ref in ("yes", "no") or any(row.values())), (shown, got[8])
        below = a["kappa"] is not None and a["kappa"] < 0.6
        weak += below
        assert ("below-min-kappa" in target.classes) == below == ("below-min-kappa" in tr.classes)
        table = _agreement_table_of(page, target)
        assert next(table.iter("caption")).text().startswith(cid + ": ")
        c = scope.get("ceiling")
        ceiling = [r for r in table.iter("tr") if "ceiling" in r.classes]
        assert len(ceiling) == (1 if c else 0)
        if c:
            cells = [td.text() for td in ceiling[0].iter("td")]
            assert cells[0].startswith("people with each other (ana, ben)") and cells[1] == str(c["n"])
            assert cells[3] == f"κ {c['kappa']:.2f}"
    assert weak
    overall = [td.text() for td in ids["cal-all_rules"].iter("td")]
    assert overall[3] == f"{doc['overall']['judges']['rules']['kappa']:.2f}"
    md = paths["markdown"].read_text()
    assert "## Judge agreement by criterion" in md and f"#### {rates[0][0]}: " in md

    # a criterion the judge was not measured on: its rate links to the criterion's table, which says so
    cid = rates[0][0]
    doc["criteria"][cid]["judges"] = {}
    cal.write_text(json.dumps(doc))
    paths = write_report(root / "results", tmp_path / "report2", calibration=cal, min_kappa=0.6)
    page = parse(paths["html"].read_text())
    ids = by_id(page)
    cell = next(cell for c, _, cell in _rate_rows(ids, "rules") if c == cid)
    target = ids[next(cell.iter("a")).attrs["href"][1:]]
    assert target.tag == "table" and next(target.iter("caption")).text().startswith(cid + ": ")
    assert "not measured" in target.text()


def test_a_calibration_for_another_kb_is_not_shown(run, tmp_path):
    root, rubric = run
    cal = calibrated(tmp_path, root, {"ana": 0})
    other = json.loads(cal.read_text())
    other["kb_sha256"] = "0" * 64
    cal.write_text(json.dumps(other))
    doc, note = find_calibration(rubric.data, cal)
    assert doc is None and "kb_sha256" in note
    data = load_report_data(root / "results", calibration=cal)
    assert data.calibration is None and any("another rubric" in w for w in data.warnings)


def test_label_log_is_append_only_latest_wins_and_export_drops_skips(tmp_path):
    log = tmp_path / "labels.jsonl"
    from rubricate.rubrics.evaluation.labels import append_labels
    append_labels(log, [label_record("r1", "c.a", "yes", "ana"), label_record("r2", "c.a", "skip", "ana")])
    append_labels(log, [label_record("r1", "c.a", "no", "ana"), label_record("r1", "c.a", "yes", "ben")])
    with open(log, "a") as fh:  # a torn last line (a kill mid-append) is left out
        fh.write('{"response_id": "r3"')
    assert len(log.read_text().splitlines()) == 5
    assert labelled_by(log, "ana") == {("r1", "c.a"): "no", ("r2", "c.a"): "skip"}
    out = tmp_path / "export.jsonl"
    assert export_labels(log, out) == 2
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(r["labeller"], r["label"]) for r in rows] == [("ana", "no"), ("ben", "yes")]


@pytest.mark.slow
def test_the_study_judge_as_reference_column_matches_rubricate_agreement(anchor, kb_build, tmp_path):
    """On the study's responses: the offline judge calibrated against the study's gpt-4o answers
    (reference_answer) gives the same kappa as `rubricate agreement` on the same run."""
    from rubricate.rubrics.evaluation.judge_agreement import judge_agreement
    out = tmp_path / "m25"
    r = CliRunner().invoke(main, ["import", "moore2025", str(anchor), "--out", str(out),
                                  "--kb", str(kb_build.paths["turtle"])])
    assert r.exit_code == 0, r.output
    lines = (out / "responses_dev.jsonl").read_text().splitlines()
    subset = tmp_path / "subset.jsonl"
    subset.write_text("\n".join(lines[::10]) + "\n")  # every 10th response: all stimuli and models
    rubric = load_rubric(out / "moore2025.json")
    evaluate(rubric, subset, tmp_path / "results", judges={"rules": rules_judge(rubric)})
    r = calibrate_cli(tmp_path, "--reference-column", "reference_answer", "--results", str(tmp_path / "results"),
                      "--out", str(tmp_path / "cal.json"), rubric=str(out / "moore2025.json"))
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "cal.json").read_text())
    ref = judge_agreement(tmp_path / "results", "reference_answer")
    assert doc["reference"] == "column-reference_answer"
    assert doc["overall"]["judges"]["rules"]["n"] == ref["overall"]["n"]
    assert doc["overall"]["judges"]["rules"]["kappa"] == pytest.approx(ref["overall"]["kappa"])
    for item, s in ref["by_item"].items():
        assert doc["criteria"][f"{item}.verification"]["judges"]["rules"]["kappa"] == pytest.approx(s["kappa"])


@pytest.mark.slow
def test_a_rate_opens_its_judges_agreement_in_chromium(run, tmp_path):
    """In headless Chromium: greyed rates stay grey as links, and clicking a rate scrolls to and
    highlights its judge's row of agreement figures."""
    from tests.test_label_page import chromium_path, sync_playwright
    exe, sp = chromium_path(), sync_playwright()
    root, _ = run
    cal = calibrated(tmp_path, root, {"ana": 4, "ben": 5})
    doc = json.loads(cal.read_text())
    measured = {cid: s["judges"]["rules"] for cid, s in doc["criteria"].items()
                if s["judges"].get("rules", {}).get("kappa") is not None}
    weak = next(cid for cid, a in measured.items() if a["kappa"] < 0.6)
    strong = [cid for cid, a in measured.items() if a["kappa"] >= 0.6][-1]
    paths = write_report(root / "results", tmp_path / "report", calibration=cal, min_kappa=0.6)
    with sp() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(paths["html"].resolve().as_uri())
        table = page.locator("#t-rules-criterion")

        def rate(cid):
            return table.locator("tr", has=page.locator(f"td:text-is('{cid}')")).locator("td a")

        assert rate(weak).evaluate("el => getComputedStyle(el).color") == "rgb(154, 160, 166)"
        assert rate(strong).evaluate("el => getComputedStyle(el).color") == "rgb(47, 93, 158)"
        href = rate(strong).get_attribute("href")
        rate(strong).click()
        page.wait_for_function("h => location.hash === h", arg=href)
        target = page.locator(":target")
        assert target.get_attribute("id") == href[1:]
        assert target.evaluate("el => el.tagName") == "TR"
        assert f"{measured[strong]['kappa']:.2f}" in target.inner_text()
        box = target.bounding_box()
        assert box and 0 <= box["y"] and box["y"] + box["height"] <= 900      # scrolled into view
        assert target.locator("td").first.evaluate("el => getComputedStyle(el).backgroundColor") == \
            "rgb(214, 226, 245)"                                               # and highlighted
        page.screenshot(path=str(tmp_path / "agreement.png"))
        browser.close()
    assert (tmp_path / "agreement.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
