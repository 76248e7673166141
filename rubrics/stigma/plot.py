"""Figures of stigma rates in the style of the study's stigma figure (PNG and SVG).

Why: the study shows, per model, one bar per condition for the average of the stigma
questions, with bootstrapped 95% CI whiskers, beside the 2018 human sample. Here the
humans are their own (hatched, CI-less) bar group, so the reference is visible at a glance.
"""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from rubricate.guidelines.kernel.fileio import atomic_write_bytes  # noqa: E402

CONTROL_COLOR = "#9e9e9e"
COLORS = ["#4c72b0", "#dd8452", "#c44e52", "#55a868", "#8172b3", "#937860"]


def short_model(name: str) -> str:
    """'meta-llama__Meta-Llama-3.1-70B-Instruct-Turbo' -> 'Llama-3.1-70B-Instruct-Turbo'."""
    name = re.split(r"__|/", name)[-1]
    return re.sub(r"^Meta-", "", name)


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
            out.append(CONTROL_COLOR)
        else:
            out.append(COLORS[k % len(COLORS)])
            k += 1
    return out


def _bars(ax, summary: dict[str, Any], stats: dict[tuple[str, str], dict[str, Any]],
          human: dict[str, float], title: str) -> None:
    """One grouped bar chart: groups = models (+ humans), bars = conditions."""
    conds = summary["conditions"]
    groups = [*summary["models"], *(["__human__"] if human else [])]
    colors = _colors(conds)
    width = 0.8 / max(1, len(conds))
    for j, (cond, color) in enumerate(zip(conds, colors)):
        for g, model in enumerate(groups):
            x = g - 0.4 + width * (j + 0.5)
            if model == "__human__":
                val = human.get(cond["id"])
                if val is not None:
                    ax.bar(x, val, width, color=color, edgecolor="black", hatch="//",
                           linewidth=0.6, alpha=0.85)
                continue
            s = stats.get((model, cond["id"]))
            if not s or s["estimate"] is None:
                ax.text(x, 0.01, "n/a", rotation=90, ha="center", va="bottom", fontsize=7)
                continue
            est = s["estimate"]
            ax.bar(x, est, width, color=color, edgecolor="black", linewidth=0.6,
                   label=cond["label"] if g == 0 else None)
            ax.errorbar(x, est, yerr=[[est - s["ci_low"]], [s["ci_high"] - est]], fmt="none",
                        ecolor="black", elinewidth=1, capsize=2.5)
            if est < 0.005:  # a zero bar is invisible: say it is zero, not missing
                ax.text(x, 0.012, "0", ha="center", va="bottom", fontsize=7, color=color,
                        fontweight="bold")
    labels = [_wrap(short_model(m)) for m in summary["models"]]
    if human:
        labels.append((summary.get("baseline") or {}).get("label", "Humans"))
    ax.set_xticks(range(len(groups)), labels, fontsize=8)
    if human:
        ax.get_xticklabels()[-1].set_fontweight("bold")
        ax.axvline(len(groups) - 1.5, color="black", linewidth=0.8, linestyle=":")
    ax.set_ylim(0, 1.05)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", linewidth=0.4, alpha=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


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
    paths = []
    for ext in ("png", "svg"):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, dpi=150, bbox_inches="tight")
        path = stem.with_suffix(f".{ext}")
        atomic_write_bytes(path, buf.getvalue())
        paths.append(path)
    plt.close(fig)
    return paths


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
