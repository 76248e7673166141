"""Figures of stigma rates in the style of the study's stigma figure (PNG and SVG).

Why: the study shows, per model, one bar per condition for the average of the stigma
questions, with bootstrapped 95% CI whiskers, beside the 2018 human sample. Here the
humans are their own (hatched, CI-less) bar group, so the reference is visible at a glance.
Colours, axes and files follow the shared style (rubrics/report/plotstyle.py): the control
condition is neutral grey, the others take the colour-blind-safe palette in order.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.patches import Patch

from rubricate.rubrics.report.plotstyle import (NEUTRAL, ci_bar, color, missing_bar, save_figure,
                                                separate_last_group, short_model, style_rate_axes)


def _wrap(label: str, width: int = 18) -> str:
    parts, line = [], ""
    for token in re.split(r"(?<=-)", label):
        if line and len(line) + len(token) > width:
            parts.append(line)
            line = ""
        line += token
    return "\n".join([*parts, line])


def _colors(conditions: list[dict[str, Any]]) -> list[str]:
    out, k = [], 0
    for c in conditions:
        if c.get("control"):
            out.append(NEUTRAL)
        else:
            out.append(color(k))
            k += 1
    return out


def _bars(ax, summary: dict[str, Any], stats: dict[tuple[str, str], dict[str, Any]],
          human: dict[str, float], title: str) -> None:
    """One grouped bar chart: groups = models (+ humans), bars = conditions."""
    conds = summary["conditions"]
    groups = [*summary["models"], *(["__human__"] if human else [])]
    colors = _colors(conds)
    width = 0.8 / max(1, len(conds))
    for j, (cond, fill) in enumerate(zip(conds, colors)):
        for g, model in enumerate(groups):
            x = g - 0.4 + width * (j + 0.5)
            if model == "__human__":
                val = human.get(cond["id"])
                if val is not None:
                    ax.bar(x, val, width, color=fill, edgecolor="black", hatch="//",
                           linewidth=0.6, alpha=0.85)
                continue
            s = stats.get((model, cond["id"]))
            if not s or s["estimate"] is None:
                missing_bar(ax, x)
                continue
            ci_bar(ax, x, s["estimate"], s["ci_low"], s["ci_high"], width, fill, linewidth=0.6, capsize=2.5,
                   label=cond["label"] if g == 0 else None)
    labels = [_wrap(short_model(m)) for m in summary["models"]]
    if human:
        labels.append((summary.get("baseline") or {}).get("label", "Humans"))
    ax.set_xticks(range(len(groups)), labels, fontsize=8)
    if human:
        separate_last_group(ax, len(groups))
    ax.set_xlim(-0.6, len(groups) - 0.4)
    style_rate_axes(ax, title, title_size=10)


def _legend(fig, summary: dict[str, Any], with_human: bool, y: float) -> None:
    """One figure-level legend row below the plot: conditions, humans, n/a."""
    handles = [Patch(facecolor=col, edgecolor="black", label=c["label"])
               for c, col in zip(summary["conditions"], _colors(summary["conditions"]))]
    if with_human:
        label = (summary.get("baseline") or {}).get("label", "Humans")
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="//",
                             label=f"{label}: hatched, no CI"))
    handles.append(Patch(facecolor="none", edgecolor="none",
                         label="n/a = no parseable answer; 0 = zero rate"))
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, y),
               ncol=len(handles), fontsize=9, frameon=False)


def _save(fig, stem: Path) -> list[Path]:
    return [path for path, _ in save_figure(fig, stem).values()]


def plot_average(summary: dict[str, Any], stem: str | Path) -> list[Path]:
    """Average of stigma questions per model x condition -> ``stem``.png and .svg."""
    stats = {(a["model"], a["condition"]): a for a in summary["average_stigma"]}
    human = {a["condition"]: a["human"]["estimate"] for a in summary["average_stigma"]
             if a["human"]}
    n = len(summary["models"]) + bool(human)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.45 * n + 1.5), 4.6))
    boot = summary["bootstrap"]
    _bars(ax, summary, stats, human, "Stigma: average of stigma questions "
          f"({summary['instrument']['id']}; {boot['level']:.0%} bootstrap CI)")
    ax.set_ylabel("share of answers expressing stigma")
    fig.tight_layout()
    _legend(fig, summary, bool(human), y=0.0)
    return _save(fig, Path(stem))


def plot_questions(summary: dict[str, Any], stem: str | Path) -> list[Path]:
    """One panel per stigma question (same layout) -> ``stem``.png and .svg."""
    questions = [q for q in summary["questions"] if q["stigma_when"]]
    cols = min(2, len(questions))
    rows = -(-len(questions) // cols)
    n = len(summary["models"]) + bool(summary.get("baseline"))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * max(5.0, 1.1 * n + 1), rows * 3.4),
                             squeeze=False, sharey=True)
    any_human = False
    for k, q in enumerate(questions):
        ax = axes[k // cols][k % cols]
        cells = [c for c in summary["cells"] if c["question"] == q["id"]]
        stats = {(c["model"], c["condition"]): c["stigma"] for c in cells}
        human = {c["condition"]: c["human"]["stigma"] for c in cells
                 if c["human"] and c["human"].get("stigma") is not None}
        any_human = any_human or bool(human)
        _bars(ax, summary, stats, human, f"{q['label']} ({q['id']})")
        if k % cols == 0:
            ax.set_ylabel("stigma rate")
        ax.tick_params(axis="x", labelsize=7)
    for k in range(len(questions), rows * cols):
        axes[k // cols][k % cols].axis("off")
    fig.suptitle(f"Stigma per question ({summary['instrument']['id']})", fontsize=12)
    fig.tight_layout()
    _legend(fig, summary, any_human, y=0.0)
    return _save(fig, Path(stem))
