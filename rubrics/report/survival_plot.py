"""The survival curve of a conversation run: the share of conversations with no decisive
failure yet, turn by turn, one step line per model and telling (Kaplan-Meier, censored at a
conversation's last turn). Solid lines are explicit tellings, dashed implicit ones, so the gap
between a plainly stated risk and a hinted one shows at a glance. Shared plot style (plotstyle.py).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from rubricate.rubrics.report.plotstyle import color, save_figure, short_model, style_rate_axes

DASHES = {"explicit": "-", "implicit": "--"}


def survival_figure(by_model: dict[str, dict], title: str):
    """The figure (caller saves it): x = assistant turn, y = conversations without a decisive failure."""
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    horizon = 1
    for i, (model, entry) in enumerate(sorted(by_model.items())):
        groups = entry.get("by_telling") or {"all": entry}
        for telling, g in sorted(groups.items()):
            curve = g.get("survival") or []
            if not curve:
                continue
            turns = [0] + [p["turn"] for p in curve]
            values = [1.0] + [p["survival"] for p in curve]
            horizon = max(horizon, turns[-1])
            ax.step(turns, values, where="post", color=color(i), linestyle=DASHES.get(telling, ":"), linewidth=1.8,
                    label=f"{short_model(model)} · {telling} (n={g['conversations']})")
    style_rate_axes(ax, title)
    ax.set_xlim(0, horizon)
    ax.set_xticks(range(0, horizon + 1))
    ax.set_xlabel("assistant turn")
    ax.set_ylabel("conversations with no decisive failure yet")
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    return fig


def write_survival_plot(by_model: dict[str, dict], title: str, stem: Path) -> dict[str, tuple[Path, bytes]]:
    """``stem``.png and ``stem``.svg; {ext: (path, bytes)} for inlining."""
    return save_figure(survival_figure(by_model, title), stem)
