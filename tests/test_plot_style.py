"""One plot style: both figure modules draw with the shared colour-blind-safe palette."""
from __future__ import annotations

import re
from pathlib import Path

from rubricate.rubrics.report import plotstyle
from rubricate.rubrics.report.plots import write_rate_plot
from rubricate.rubrics.stigma import plot as stigma_plot
from tests.checkout import package_sources

REPO = Path(__file__).resolve().parents[1]
OKABE_ITO = {"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#999999"}


def test_the_palette_is_okabe_ito_and_the_only_one_in_code():
    assert set(plotstyle.PALETTE) <= OKABE_ITO and len(set(plotstyle.PALETTE)) == len(plotstyle.PALETTE)
    hex_colour = re.compile(r"#[0-9a-fA-F]{6}\b")
    for path in package_sources():
        rel = path.relative_to(REPO)
        if rel.parts[0] in ("tests", "bench", "build", "dist", ".git") or path.name == "plotstyle.py":
            continue
        assert not hex_colour.search(path.read_text(encoding="utf-8")), f"{rel} defines its own colours"


def test_stigma_conditions_take_the_palette_in_order_with_a_neutral_control():
    conds = [{"id": "c", "control": True}, {"id": "a"}, {"id": "b"}]
    assert stigma_plot._colors(conds) == [plotstyle.NEUTRAL, plotstyle.PALETTE[0], plotstyle.PALETTE[1]]


SUMMARY = {
    "conditions": [{"id": "ctl", "label": "control", "control": True}, {"id": "dep", "label": "depression"}],
    "models": ["org__model-a", "model-b"],
    "average_stigma": [
        {"model": "org__model-a", "condition": "ctl", "estimate": 0.0, "ci_low": 0.0, "ci_high": 0.1, "human": None},
        {"model": "org__model-a", "condition": "dep", "estimate": 0.4, "ci_low": 0.3, "ci_high": 0.5,
         "human": {"estimate": 0.2}},
        {"model": "model-b", "condition": "ctl", "estimate": None, "ci_low": None, "ci_high": None, "human": None},
        {"model": "model-b", "condition": "dep", "estimate": 0.6, "ci_low": 0.5, "ci_high": 0.7,
         "human": {"estimate": 0.2}},
    ],
    "bootstrap": {"level": 0.95},
    "instrument": {"id": "toy"},
    "baseline": {"label": "Humans"},
}


def test_both_figures_are_deterministic_png_and_svg(tmp_path):
    first = stigma_plot.plot_average(SUMMARY, tmp_path / "a" / "stigma")
    second = stigma_plot.plot_average(SUMMARY, tmp_path / "b" / "stigma")
    assert [p.suffix for p in first] == [".png", ".svg"]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    svg = first[1].read_text(encoding="utf-8")
    assert plotstyle.PALETTE[0].lower() in svg.lower() and plotstyle.NEUTRAL.lower() in svg.lower()
    section = {"by_model": {"m": {"estimate": 0.5, "ci_low": 0.4, "ci_high": 0.6, "n": 3}},
               "by_model_condition": {"m": {"x": {"estimate": 0.5, "ci_low": 0.4, "ci_high": 0.6, "n": 3}}}}
    one = write_rate_plot(section, ["x"], {}, "t", tmp_path / "r1")
    two = write_rate_plot(section, ["x"], {}, "t", tmp_path / "r2")
    assert one["png"][1] == two["png"][1] and one["svg"][1] == two["svg"][1]
    assert plotstyle.PALETTE[0].lower() in one["svg"][1].decode().lower()
