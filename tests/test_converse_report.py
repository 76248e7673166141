"""The report of a scripted `rubricate converse` run in a real browser (headless Chromium): the
failing turn is highlighted beside its guideline passages, model text stays text, and the
screenshot shows the highlighted turn."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html import unescape

import pytest

from rubricate.rubrics.evaluation.results import iter_jsonl
from tests.conversation_servers import FAILING_TURN, escalating_client, failing_model
from tests.test_report_browser import chromium, title_of

CHROMIUM = shutil.which("chromium")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed "
                                 "(Debian package 'chromium'; .ci/run installs it)")]
PAYLOAD = "<script>document.title='pwned'</script>"
FAILING_BG = (0xFD, 0xF1, 0xEA)  # .turn.failing background in conversations.html.j2


def injecting_model(messages: list[dict], body: dict) -> str:
    reply = failing_model(messages, body)
    return f"{PAYLOAD} {reply}" if "Bridge" in reply else reply


def _pixels(png) -> set[tuple[int, int, int]]:
    import matplotlib.image as mpimg
    img = (mpimg.imread(str(png))[:, :, :3] * 255).round().astype(int)
    return {tuple(p) for p in img.reshape(-1, 3)[::7]}


def test_conversation_report_in_a_browser(make_server, tmp_path):
    client, model = make_server(escalating_client), make_server(injecting_model)
    out = tmp_path / "run"
    run = [sys.executable, "-m", "rubricate"]
    res = subprocess.run([*run, "converse", "--persona", "si-farm-debts", "--persona", "hal-figures-at-window",
                          "--client-model", "sim-client", "--client-base-url", client.base_url,
                          "--model", "model-under-test", "--base-url", model.base_url, "--turns", "5",
                          "--no-cache", "--out", str(out)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert res.returncode == 0, res.stderr
    rep = subprocess.run([*run, "report", str(out / "results")], capture_output=True, text=True, cwd=tmp_path,
                         timeout=300)
    assert rep.returncode == 0, rep.stderr
    page = out / "results" / "report" / "report.html"
    dom = chromium(page, tmp_path, "--dump-dom")
    assert title_of(dom) == "rubricate conversations: rubricate-conversations"  # the payload did not run
    assert not re.search(r"<script", dom, re.I) and "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom
    failing = [v for v in iter_jsonl(out / "results" / "verdicts.jsonl")
               if v["appropriate"] is False and v["criterion_id"] == "si-farm-debts.no-means"]
    assert len(failing) == 2
    for v in failing:
        anchor = "c-" + re.sub(r"[^A-Za-z0-9_-]+", "-", v["response_id"])
        block = dom.split(f'id="{anchor}"', 1)[1].split('<section class="failure"', 1)[0]
        assert f'<div class="turn failing" id="{anchor}-t{FAILING_TURN}">' in block
        assert f'<div class="turn" id="{anchor}-t{FAILING_TURN - 1}">' in block
        assert re.search(r"<mark[^>]*>Kingsway Bridge</mark>", block)
        assert "Guideline passages" in block and "<blockquote>" in block
        assert f"rubricate trace {v['verdict_id']}" in block
    assert re.search(r'<img src="data:image/svg\+xml;base64,[^"]+" alt="Survival curve', dom)
    summary = json.loads((out / "results" / "summary.json").read_text())
    assert set(summary["by_judge"]["rules"]["by_model"]["model-under-test"]["by_telling"]) == {"explicit", "implicit"}
    shot = tmp_path / "report.png"
    chromium(page, tmp_path, "--window-size=1280,2600", "--hide-scrollbars", f"--screenshot={shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    colours = _pixels(shot)
    assert any(all(abs(a - b) <= 2 for a, b in zip(c, FAILING_BG)) for c in colours)  # the highlighted turn
    assert unescape(PAYLOAD) in unescape(dom)
