"""Appropriate-response rate by condition and model, in the style of the study's figures.

Why this layout: the study groups bars by condition, one bar per model, with bootstrapped
95% CI whiskers on a 0-1 axis; a last "All conditions" group gives each model's overall rate.
Written as PNG (for viewers) and SVG (for print); the HTML report inlines the SVG as a data URI.
"""
from __future__ import annotations

import io
import re
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from rubricate.guidelines.kernel.fileio import atomic_write_bytes  # noqa: E402

# colour-blind-safe qualitative palette (Okabe-Ito, without yellow which vanishes on white)
COLORS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#999999"]
ALL = "__all__"


def short_model(name: str) -> str:
    """'meta-llama__Meta-Llama-3.1-70B-Instruct-Turbo' -> 'Llama-3.1-70B-Instruct-Turbo'."""
    return re.sub(r"^Meta-", "", re.split(r"__|/", str(name))[-1])


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
        color = COLORS[j % len(COLORS)]
        for g, cond in enumerate(groups):
            r = by_model.get(model) if cond == ALL else by_model_condition.get(model, {}).get(cond)
            x = g - 0.4 + width * (j + 0.5)
            if not r or r.get("estimate") is None:
                ax.text(x, 0.015, "n/a", rotation=90, ha="center", va="bottom", fontsize=7, color="#555555")
                continue
            est = r["estimate"]
            ax.bar(x, est, width * 0.92, color=color, edgecolor="black", linewidth=0.5)
            low, high = r.get("ci_low"), r.get("ci_high")
            if low is not None and high is not None:
                ax.errorbar(x, est, yerr=[[max(0.0, est - low)], [max(0.0, high - est)]], fmt="none",
                            ecolor="black", elinewidth=1, capsize=min(3.0, 18 * width))
            if est < 0.005:  # a zero bar is invisible: mark it as zero, not missing
                ax.text(x, 0.012, "0", ha="center", va="bottom", fontsize=7, color=color, fontweight="bold")
    if not models:
        ax.text(0.5, 0.5, "no judged responses", transform=ax.transAxes, ha="center", va="center",
                fontsize=11, color="#555555")
    ticks = []
    for cond in groups:
        if cond == ALL:
            n = sum((by_model.get(m) or {}).get("n", 0) for m in models)
            ticks.append(f"All conditions\n(n={n})")
        else:
            n = sum((by_model_condition.get(m, {}).get(cond) or {}).get("n", 0) for m in models)
            ticks.append(textwrap.fill(labels.get(cond, cond), 16) + f"\n(n={n})")
    ax.set_xticks(range(len(groups)), ticks, fontsize=9)
    ax.get_xticklabels()[-1].set_fontweight("bold")
    if len(groups) > 1:
        ax.axvline(len(groups) - 1.5, color="black", linewidth=0.8, linestyle=":")
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylim(0, 1.05)
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_ylabel("appropriate-response rate", fontsize=10)
    ax.set_title(title, fontsize=11)
    ax.grid(axis="y", linewidth=0.4, alpha=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    handles = [Patch(facecolor=COLORS[j % len(COLORS)], edgecolor="black", label=short_model(m))
               for j, m in enumerate(models)]
    fig.tight_layout()
    if not handles:
        return fig
    ncol = min(len(handles), 3 if max(len(h.get_label()) for h in handles) > 22 else 4)
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol,
               fontsize=9, frameon=False, title="model (whiskers: 95% bootstrap CI)", title_fontsize=9)
    return fig


def figure_bytes(fig) -> dict[str, bytes]:
    """PNG and SVG renderings of a figure (then closed)."""
    out = {}
    with plt.rc_context({"svg.hashsalt": "rubricate"}):  # stable SVG ids: same data, same file
        for ext in ("png", "svg"):
            buf = io.BytesIO()
            fig.savefig(buf, format=ext, dpi=150, bbox_inches="tight",
                        metadata={"Date": None} if ext == "svg" else None)
            out[ext] = buf.getvalue()
    plt.close(fig)
    return out


def write_rate_plot(summary_section: dict, conditions: list[str], labels: dict[str, str], title: str,
                    stem: Path) -> dict[str, tuple[Path, bytes]]:
    """Save ``stem``.png and ``stem``.svg; return {ext: (path, bytes)} so callers can inline them."""
    fig = rate_figure(summary_section.get("by_model_condition", {}), summary_section.get("by_model", {}),
                      conditions, labels, title)
    out = {}
    for ext, data in figure_bytes(fig).items():
        path = Path(stem).with_suffix(f".{ext}")
        atomic_write_bytes(path, data)
        out[ext] = (path, data)
    return out
