"""`bench/converse.py --quick` runs and reports its figures (shape only: timings belong in bench/results)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_converse_benchmark_reports_share_of_ideal(tmp_path):
    out = tmp_path / "converse.json"
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "converse.py"), "--quick", "--conversations", "16",
                           "--turns", "3", "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert json.loads(out.read_text()) == report
    c = report["converse"]
    assert c["turns_written"] == 16 * 3 and c["failed"] == 0 and c["transcript_lines"] == 16 * 3
    assert c["requests"] == 16 * 3 + 16 * 2  # model turns + simulator turns (the opening is written)
    assert c["share_of_ideal"] > 0 and report["baseline_independent_calls"]["share_of_ideal"] > 0
    assert c["rerun_of_a_complete_log"]["turns_written"] == 0  # a complete log sends nothing again
    assert isinstance(report["load_avg_1m_at_start"], float)
