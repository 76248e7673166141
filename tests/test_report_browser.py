"""The HTML report in a real browser (headless Chromium): it renders, and injected markup stays text.

A control page with the same payload left unescaped proves that this harness does see script
execution (title changed, attribute set), so a clean result on the report means something.
"""
from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from html import unescape
from pathlib import Path

import pytest

from rubricate.rubrics.report import write_report
from tests.test_report import PAYLOAD, XSS_IMG, XSS_SCRIPT, build_results, failures_of

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed "
                                "(Debian package 'chromium'; .ci/run installs it)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=5000"]  # let load/error events (an <img onerror>) fire before the dump


def chromium(page: Path, tmp: Path, *extra: str) -> str:
    """Run Chromium on a file URL with a throwaway profile; return stdout (the DOM with --dump-dom)."""
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    env = {**os.environ, "HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp / "xdg"), "XDG_CACHE_HOME": str(tmp / "xdg")}
    proc = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
                          capture_output=True, text=True, env=env, timeout=180)  # hang guard only
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def title_of(dom: str) -> str:
    m = re.search(r"<title>(.*?)</title>", dom, re.S)
    return unescape(m.group(1)) if m else ""


def test_control_page_shows_the_harness_detects_execution(tmp_path):
    page = tmp_path / "unsafe.html"
    page.write_text(f"<!DOCTYPE html><html><head><title>safe</title></head><body><p>{PAYLOAD}</p></body></html>")
    dom = chromium(page, tmp_path, "--dump-dom")
    assert title_of(dom) == "pwned" and 'data-pwned="1"' in dom


def test_report_renders_and_injected_markup_does_not_run(tmp_path):
    results, _, _ = build_results(tmp_path / "run")
    paths = write_report(results)
    dom = chromium(paths["html"], tmp_path, "--dump-dom")
    assert "<main>" in dom and "Evaluation report" in dom
    # scripts did not run, handlers did not fire
    assert title_of(dom) == "rubricate report: report-test"
    assert not re.search(r"<[a-z][^>]*\sdata-pwned=", dom)               # no element got the attribute
    assert not re.search(r"<script", dom, re.I)
    assert not re.search(r"<img(?![^>]*src=\"data:)", dom)               # the only images are the inline plots
    # the tables rendered as tables
    for key in ("overall", "model", "condition", "principle", "item", "model-condition", "points"):
        assert re.search(rf'<table class="data" id="t-rules-{key}">.*?<td', dom, re.S), key
    # the failure sections rendered, with the response shown as text
    for v in failures_of(results):
        assert f'<section class="failure" id="{v["verdict_id"]}">' in dom
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom
    assert "&lt;img src=x onerror=\"document.body.setAttribute('data-pwned','1')\"&gt;" in dom
    assert XSS_SCRIPT in unescape(dom) and XSS_IMG in unescape(dom)
    assert re.search(r"<mark[^>]*>tower</mark>", dom)
    assert "locator unverified (digest)" in dom

    shot = tmp_path / "report.png"
    chromium(paths["html"], tmp_path, "--window-size=1280,2400", f"--screenshot={shot}")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1280, 2400)
