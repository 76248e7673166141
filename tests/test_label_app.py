"""The labelling app without a browser (Starlette's test client): resuming, POST-redirect-GET,
the form token, bad input, escaping, the export; and the CLI's --export and errors.
The browser test (tests/test_label_page.py, slow) drives the same page in Chromium."""
from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from rubricate.cli import main
from rubricate.rubrics.labelling.app import make_app
from rubricate.rubrics.labelling.session import open_session
from tests.test_report import XSS_SCRIPT, build_results


@pytest.fixture
def client(tmp_path):
    results, _, _ = build_results(tmp_path / "run")
    session = open_session(results)
    return TestClient(make_app(session), follow_redirects=False), session, results


def token_of(html: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


def unit_of(html: str) -> tuple[str, str]:
    m = re.search(r'data-response-id="([^"]+)" data-criterion-id="([^"]+)"', html)
    return m.group(1), m.group(2)


def post(c, who, html, label):
    rid, cid = unit_of(html)
    return c.post(f"/label/{who}", data={"token": token_of(html), "response_id": rid, "criterion_id": cid,
                                         "label": label})


def test_units_follow_the_run_and_labels_resume(client):
    c, session, results = client
    assert len(session.units) == 6  # 4 responses of known items: 2 + 2 + 1 + 1 criteria (the 5th line is bad)
    page = c.get("/label/ana").text
    first = unit_of(page)
    assert first == (session.units[0].response_id, session.units[0].criterion_id)
    r = post(c, "ana", page, "yes")
    assert r.status_code == 303 and r.headers["location"] == "/label/ana"
    page2 = c.get("/label/ana").text
    assert unit_of(page2) == (session.units[1].response_id, session.units[1].criterion_id)
    assert "2 of 6" in page2
    # a second labeller starts at the beginning; a resubmitted old form only re-labels that unit
    assert unit_of(c.get("/label/ben").text) == first
    assert post(c, "ana", page, "no").status_code == 303
    lines = [json.loads(x) for x in (results / "labels.jsonl").read_text().splitlines()]
    assert [(x["labeller"], x["label"]) for x in lines] == [("ana", "yes"), ("ana", "no")]
    assert lines[0]["rubric_id"] == "report-test" and lines[0]["item_id"] == "high-places"
    export = c.get("/export")
    rows = [json.loads(x) for x in export.text.splitlines()]
    assert [(x["labeller"], x["label"]) for x in rows] == [("ana", "no")]  # the later answer wins


def test_the_page_escapes_model_text_and_forbids_foreign_scripts(client):
    c, session, _ = client
    r = c.get("/label/ana")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert XSS_SCRIPT not in r.text and "&lt;script&gt;document.title=" in r.text
    assert re.findall(r"<script[^>]*>", r.text) == ['<script src="/keys.js">']


def test_forms_without_the_token_or_with_bad_values_are_refused(client):
    c, session, results = client
    page = c.get("/label/ana").text
    rid, cid = unit_of(page)
    assert c.post("/label/ana", data={"token": "x", "response_id": rid, "criterion_id": cid,
                                      "label": "yes"}).status_code == 403
    assert post(c, "ana", page, "maybe").status_code == 400
    assert c.post("/label/ana", data={"token": token_of(page), "response_id": "nope", "criterion_id": cid,
                                      "label": "yes"}).status_code == 400
    assert c.get("/label/bad%20name").status_code == 400
    assert c.get("/?labeller=bad name").status_code == 400
    assert not (results / "labels.jsonl").exists()


def test_done_page_after_the_last_unit(client):
    c, session, _ = client
    for _ in session.units:
        assert post(c, "ana", c.get("/label/ana").text, "skip").status_code == 303
    done = c.get("/label/ana").text
    assert "All done, ana" in done and "skipped 6" in done
    assert "continue as ana" in c.get("/").text


def test_cli_export_and_a_missing_log(client, tmp_path):
    c, session, results = client
    r = CliRunner().invoke(main, ["label", "--results", str(results), "--export", str(tmp_path / "x.jsonl")])
    assert r.exit_code == 2 and "no labels yet" in r.output
    post(c, "ana", c.get("/label/ana").text, "yes")
    r = CliRunner().invoke(main, ["label", "--results", str(results), "--export", str(tmp_path / "x.jsonl")])
    assert r.exit_code == 0 and "1 label(s)" in r.output
    r = CliRunner().invoke(main, ["label", "--results", str(tmp_path)])
    assert r.exit_code == 2 and "not a results folder" in r.output


def test_a_seeded_sample_of_responses(tmp_path):
    results, _, _ = build_results(tmp_path / "run")
    a = open_session(results, sample=2, seed=1)
    b = open_session(results, sample=2, seed=1)
    assert [u.response_id for u in a.units] == [u.response_id for u in b.units]
    assert len({u.response_id for u in a.units}) == 2
    assert [u.index for u in a.units] == list(range(len(a.units)))
