"""Appropriate-response rate by condition and model, in the style of the study's figures.

Why this layout: the study groups bars by condition, one bar per model, with bootstrapped
95% CI whiskers on a 0-1 axis; a last "All conditions" group gives each model's overall rate.
Written as PNG (for viewers) and SVG (for print); the HTML report inlines the SVG as a data URI.
Colours, axes and files follow the shared style (plotstyle.py).
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.patches import Patch

from rubricate.guidelines.kernel.textsafe import mark_unsafe
from rubricate.rubrics.report.plotstyle import (MUTED_TEXT, ci_bar, color, missing_bar, save_figure,
                                                separate_last_group, short_model, style_rate_axes)

ALL = "__all__"


def rate_figure(by_model_condition: dict[str, dict[str, dict]], by_model: dict[str, dict],
                conditions: list[str], labels: dict[str, str], title: str):
    """The figure (caller saves/closes it): groups = conditions + all, bars = models."""
    models = list(by_model_condition) or list(by_model)
    groups = [*conditions, ALL]
    n_models = max(1, len(models))
    width = 0.8 / n_models
    fig_w = min(16.0, max(7.5, 0.95 * len(groups) * max(1.0, n_models * 0.32) + 2.0))
    fig, ax = plt.subplots(figsize=(fig_w, 4.8))
    for j, model in enumerate(models):
        for g, cond in enumerate(groups):
            r = by_model.get(model) if cond == ALL else by_model_condition.get(model, {}).get(cond)
            x = g - 0.4 + width * (j + 0.5)
            if not r or r.get("estimate") is None:
                missing_bar(ax, x)
                continue
            ci_bar(ax, x, r["estimate"], r.get("ci_low"), r.get("ci_high"), width * 0.92, color(j),
                   capsize=min(3.0, 18 * width))
    if not models:
        ax.text(0.5, 0.5, "no judged responses", transform=ax.transAxes, ha="center", va="center",
                fontsize=11, color=MUTED_TEXT)
    ticks = []
    for cond in groups:
        if cond == ALL:
            n = sum((by_model.get(m) or {}).get("n", 0) for m in models)
            ticks.append(f"All conditions\n(n={n})")
        else:
            n = sum((by_model_condition.get(m, {}).get(cond) or {}).get("n", 0) for m in models)
            ticks.append(textwrap.fill(mark_unsafe(labels.get(cond, cond)), 16) + f"\n(n={n})")
    ax.set_xticks(range(len(groups)), ticks, fontsize=9)
    separate_last_group(ax, len(groups))
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_ylabel("appropriate-response rate", fontsize=10)
    style_rate_axes(ax, title)
    handles = [Patch(facecolor=color(j), edgecolor="black", label=short_model(m)) for j, m in enumerate(models)]
    fig.tight_layout()
    if not handles:
        return fig
    ncol = min(len(handles), 3 if max(len(h.get_label()) for h in handles) > 22 else 4)
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol,
               fontsize=9, frameon=False, title="model (whiskers: 95% bootstrap CI)", title_fontsize=9)
    return fig


def write_rate_plot(summary_section: dict, conditions: list[str], labels: dict[str, str], title: str,
                    stem: Path) -> dict[str, tuple[Path, bytes]]:
    """Save ``stem``.png and ``stem``.svg; return {ext: (path, bytes)} so callers can inline them."""
    fig = rate_figure(summary_section.get("by_model_condition", {}), summary_section.get("by_model", {}),
                      conditions, labels, title)
    return save_figure(fig, stem)
