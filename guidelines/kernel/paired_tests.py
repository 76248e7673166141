"""Exact tests and bootstrap intervals for comparing two sets of binary outcomes.

Why exact: rubric groups are small (a criterion has tens of verdicts, not thousands), where
normal approximations mislead. Paired outcomes (the same responses judged in both runs) use
the exact McNemar test on the discordant pairs; unpaired outcomes use the exact permutation
test of the difference in proportions, which for 0/1 outcomes is the hypergeometric
distribution (Fisher's exact test), so no random permutations are needed. Intervals are
seeded percentile bootstraps, resampling pairs (paired) or each run on its own (unpaired).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: ``b`` pairs went good->bad, ``c`` bad->good."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def permutation_exact(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided exact permutation p-value for a difference in proportions k1/n1 vs k2/n2.

    Every relabelling of the pooled outcomes is equally likely under the null; the number of
    successes landing in group 1 is hypergeometric. The p-value sums the probabilities of the
    relabellings whose |difference| is at least the observed one.
    """
    if n1 == 0 or n2 == 0:
        return 1.0
    k, n = k1 + k2, n1 + n2
    observed = abs(k1 / n1 - k2 / n2)
    total = math.comb(n, n1)
    p = 0
    for x in range(max(0, k - n2), min(k, n1) + 1):
        if abs(x / n1 - (k - x) / n2) >= observed - 1e-12:
            p += math.comb(k, x) * math.comb(n - k, n1 - x)
    return min(1.0, p / total)


def paired_bootstrap_ci(base: Sequence[bool], new: Sequence[bool], level: float = 0.95,
                        n_resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """CI of mean(new) - mean(base) over the same units, resampling the pairs."""
    diff = np.asarray(new, dtype=float) - np.asarray(base, dtype=float)
    if diff.size == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, diff.size, size=(n_resamples, diff.size))
    means = diff[idx].mean(axis=1)
    a = (1 - level) / 2
    return (float(np.quantile(means, a)), float(np.quantile(means, 1 - a)))


def unpaired_bootstrap_ci(base: Sequence[bool], new: Sequence[bool], level: float = 0.95,
                          n_resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """CI of mean(new) - mean(base) for independent samples, resampling each run on its own."""
    b = np.asarray(base, dtype=float)
    n = np.asarray(new, dtype=float)
    if b.size == 0 or n.size == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    mb = b[rng.integers(0, b.size, size=(n_resamples, b.size))].mean(axis=1)
    mn = n[rng.integers(0, n.size, size=(n_resamples, n.size))].mean(axis=1)
    a = (1 - level) / 2
    d = mn - mb
    return (float(np.quantile(d, a)), float(np.quantile(d, 1 - a)))


def adjust(p_values: Sequence[float], method: str = "holm") -> list[float]:
    """Family-wise (Holm) or false-discovery-rate (Benjamini-Hochberg) adjusted p-values."""
    m = len(p_values)
    if m == 0:
        return []
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    if method == "holm":
        running = 0.0
        for rank, i in enumerate(order):
            running = max(running, min(1.0, (m - rank) * p_values[i]))
            adjusted[i] = running
    elif method == "bh":
        running = 1.0
        for rank in range(m - 1, -1, -1):
            i = order[rank]
            running = min(running, p_values[i] * m / (rank + 1))
            adjusted[i] = min(1.0, running)
    elif method == "none":
        adjusted = [min(1.0, p) for p in p_values]
    else:
        raise ValueError(f"unknown correction {method!r} (holm, bh, none)")
    return adjusted
