"""The one plot style of rubricate's figures: colour-blind-safe palette, axes, model names, files.

Why one place: the evaluation report and the stigma experiment draw the same kind of figure
(grouped bars of rates with bootstrap CI whiskers); they share the Okabe-Ito palette (safe
for the common colour-vision deficiencies; yellow left out because it vanishes on white), a
neutral grey for control groups, the same axes, the same zero/n-a marks, and deterministic
PNG + SVG files (same data, same bytes).
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rubricate.guidelines.kernel.fileio import atomic_write_bytes  # noqa: E402
from rubricate.guidelines.kernel.textsafe import mark_unsafe  # noqa: E402

#: Okabe-Ito qualitative palette without yellow, in order of use.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#999999")
#: Bars of a control group (no condition), kept out of the palette's rotation.
NEUTRAL = "#999999"
MUTED_TEXT = "#555555"


def color(i: int) -> str:
    """The ``i``-th colour of the palette (wrapping around)."""
    return PALETTE[i % len(PALETTE)]


def short_model(name: str) -> str:
    """'meta-llama__Meta-Llama-3.1-70B-Instruct-Turbo' -> 'Llama-3.1-70B-Instruct-Turbo'
    (control and bidi characters shown as [U+XXXX] marks: the figure shows what the data holds)."""
    return re.sub(r"^Meta-", "", re.split(r"__|/", mark_unsafe(str(name)))[-1])


def style_rate_axes(ax, title: str, *, title_size: int = 11) -> None:
    """A 0-1 rate axis: light horizontal grid behind the bars, no top/right spines."""
    ax.set_ylim(0, 1.05)
    ax.set_title(mark_unsafe(title), fontsize=title_size)
    ax.grid(axis="y", linewidth=0.4, alpha=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def separate_last_group(ax, n_groups: int) -> None:
    """The last group (an "all" or reference group) labelled in bold, after a dotted line."""
    ax.get_xticklabels()[-1].set_fontweight("bold")
    if n_groups > 1:
        ax.axvline(n_groups - 1.5, color="black", linewidth=0.8, linestyle=":")


def ci_bar(ax, x: float, estimate: float, low: float | None, high: float | None, width: float, fill: str,
           *, linewidth: float = 0.5, capsize: float = 3.0, label: str | None = None) -> None:
    """One bar with its CI whiskers; a zero bar (invisible) is marked "0" so it is not read as missing."""
    ax.bar(x, estimate, width, color=fill, edgecolor="black", linewidth=linewidth, label=label)
    if low is not None and high is not None:
        ax.errorbar(x, estimate, yerr=[[max(0.0, estimate - low)], [max(0.0, high - estimate)]], fmt="none",
                    ecolor="black", elinewidth=1, capsize=capsize)
    if estimate < 0.005:
        ax.text(x, 0.012, "0", ha="center", va="bottom", fontsize=7, color=fill, fontweight="bold")


def missing_bar(ax, x: float) -> None:
    """Where a rate cannot be computed: "n/a", distinct from a zero bar."""
    ax.text(x, 0.015, "n/a", rotation=90, ha="center", va="bottom", fontsize=7, color=MUTED_TEXT)


def figure_bytes(fig) -> dict[str, bytes]:
    """PNG and SVG renderings of a figure (then closed); the SVG has stable ids and no date."""
    out = {}
    with plt.rc_context({"svg.hashsalt": "rubricate"}):
        for ext in ("png", "svg"):
            buf = io.BytesIO()
            fig.savefig(buf, format=ext, dpi=150, bbox_inches="tight",
                        metadata={"Date": None} if ext == "svg" else None)
            out[ext] = buf.getvalue()
    plt.close(fig)
    return out


def save_figure(fig, stem: Path | str) -> dict[str, tuple[Path, bytes]]:
    """Write ``stem``.png and ``stem``.svg atomically; {ext: (path, bytes)} so callers can inline them."""
    out = {}
    for ext, data in figure_bytes(fig).items():
        path = Path(stem).with_suffix(f".{ext}")
        atomic_write_bytes(path, data)
        out[ext] = (path, data)
    return out
