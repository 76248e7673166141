"""Shared statistics for evaluation summaries: seeded percentile-bootstrap confidence intervals.

Why one module: every summary (stigma rates, appropriate-response rates, judge agreement)
reports an estimate with a bootstrapped 95% CI, and all of them must be reproducible from a
seed and cheap enough to run per model x condition x question. The study (Moore et al. 2025)
reports percentile-bootstrap CIs over observations with 1,000 resamples; those are the
defaults here.

Conventions:
- ``values`` may contain ``None`` or NaN (a missing answer); they are dropped before
  resampling (``dropna=True``) so a rate is "share of the answered".
- Empty input (after dropping) gives ``(nan, nan, nan)``: callers print "n/a" / JSON null
  (see :func:`nan_to_none`).
- One value, or all values equal, gives a zero-width interval.
- ``clusters`` (optional, same length as ``values``) resamples whole clusters (e.g. the
  vignette a set of answers came from) and pools their observations; only for the mean.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

# Keep each resample block below this many drawn indices (8 MB of int64, as much again for
# the gathered values) for big inputs. The block size does not change the intervals: the
# generator's stream is the same however the draws are split (bench/run.py measures memory).
_MAX_BLOCK_CELLS = 1_000_000

Statistic = Callable[[np.ndarray], np.ndarray]


def _as_array(values: Iterable[Any], dropna: bool) -> tuple[np.ndarray, np.ndarray]:
    """Float array of the values and a keep-mask (False where a value is missing)."""
    raw = list(values)
    arr = np.array([np.nan if v is None else float(v) for v in raw], dtype=float)
    keep = ~np.isnan(arr) if dropna else np.ones(arr.shape, dtype=bool)
    return arr, keep


def _check(n_resamples: int, level: float) -> None:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1 (exclusive), got {level}")


def _percentiles(stats: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval; resamples where the statistic is undefined (NaN, e.g. kappa of
    a resample with one label) are left out, and all-undefined gives (nan, nan)."""
    alpha = (1.0 - level) / 2.0
    stats = stats[~np.isnan(stats)]
    if stats.size == 0:
        return (math.nan, math.nan)
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return float(low), float(high)


def _resampled(n: int, n_resamples: int, seed: int, stat_of: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``stat_of`` of every resample of n indices drawn with replacement, drawn in blocks of at
    most _MAX_BLOCK_CELLS indices (the blocks do not change the generator's stream)."""
    rng = np.random.default_rng(seed)
    block = max(1, min(n_resamples, _MAX_BLOCK_CELLS // n))
    out = np.empty(n_resamples, dtype=float)
    done = 0
    while done < n_resamples:
        size = min(block, n_resamples - done)
        out[done:done + size] = stat_of(rng.integers(0, n, size=(size, n)))
        done += size
    return out


def bootstrap_ci(values: Iterable[Any], n_resamples: int = 1000, seed: int = 0,
                 level: float = 0.95, statistic: Statistic | None = None, *,
                 clusters: Sequence[Any] | None = None,
                 dropna: bool = True) -> tuple[float, float, float]:
    """Return ``(estimate, low, high)``: the statistic and its percentile-bootstrap CI.

    ``statistic`` maps a 2-D array (one resample per row) to one value per row; the default
    is the mean (a rate for 0/1 data). The estimate is the statistic on the data itself.
    Same input and seed always give the same interval.
    """
    _check(n_resamples, level)
    arr, keep = _as_array(values, dropna)
    if clusters is not None:
        if statistic is not None:
            raise ValueError("clusters are supported for the mean only")
        groups = list(clusters)
        if len(groups) != len(arr):
            raise ValueError(f"clusters has {len(groups)} entries for {len(arr)} values")
        return _cluster_mean_ci([g for g, k in zip(groups, keep) if k], arr[keep],
                                n_resamples, seed, level)
    data = arr[keep]
    n = data.size
    if n == 0:
        return (math.nan, math.nan, math.nan)
    stat = statistic or (lambda m: m.mean(axis=1))
    estimate = float(stat(data[np.newaxis, :])[0])
    if n == 1 or np.all(data == data[0]):  # every resample equals the data
        return (estimate, estimate, estimate)
    out = _resampled(n, n_resamples, seed, lambda idx: stat(data[idx]))
    low, high = _percentiles(out, level)
    return (estimate, low, high)


def _cluster_mean_ci(groups: list[Any], data: np.ndarray, n_resamples: int, seed: int,
                     level: float) -> tuple[float, float, float]:
    """Mean with CI from resampling clusters: pooled sum / pooled count per resample."""
    if data.size == 0:
        return (math.nan, math.nan, math.nan)
    keys: dict[Any, int] = {}
    codes = np.array([keys.setdefault(g, len(keys)) for g in groups], dtype=np.int64)
    sums = np.bincount(codes, weights=data)
    counts = np.bincount(codes).astype(float)
    estimate = float(sums.sum() / counts.sum())
    k = sums.size
    if k == 1 or np.all(data == data[0]):
        return (estimate, estimate, estimate)
    out = _resampled(k, n_resamples, seed, lambda idx: sums[idx].sum(axis=1) / counts[idx].sum(axis=1))
    low, high = _percentiles(out, level)
    return (estimate, low, high)


def rate_summary(values: Iterable[Any], n_resamples: int = 1000, seed: int = 0,
                 level: float = 0.95, **kwargs: Any) -> dict[str, Any]:
    """A JSON-ready summary of a 0/1 (or numeric) series: n, n_missing, estimate, CI.

    Missing values (None/NaN) are counted in ``n_missing`` and left out of the estimate.
    Empty input gives ``estimate``/``ci_low``/``ci_high`` = None.
    """
    raw = list(values)
    arr, keep = _as_array(raw, dropna=True)
    est, low, high = bootstrap_ci(raw, n_resamples=n_resamples, seed=seed, level=level,
                                  **kwargs)
    return {"n": int(keep.sum()), "n_missing": int((~keep).sum()),
            "estimate": nan_to_none(est), "ci_low": nan_to_none(low),
            "ci_high": nan_to_none(high), "level": level, "n_resamples": n_resamples,
            "seed": seed}


def nan_to_none(x: float | None) -> float | None:
    """NaN (no data) becomes None, so it serialises as JSON null."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def proportion_ci_from_counts(k: int, n: int, n_resamples: int = 1000, seed: int = 0,
                              level: float = 0.95) -> tuple[float, float, float]:
    """``(estimate, low, high)`` of a rate k/n from its counts alone.

    Resampling n 0/1 values with replacement draws the number of ones from Binomial(n, k/n),
    so this is the percentile bootstrap of the mean with no value held in memory: counts from
    shards merge first and the interval is computed once (rubricate's sharded engine).
    """
    _check(n_resamples, level)
    if n <= 0:
        return (math.nan, math.nan, math.nan)
    p = k / n
    if k in (0, n):
        return (p, p, p)
    draws = np.random.default_rng(seed).binomial(n, p, size=n_resamples) / n
    low, high = _percentiles(draws, level)
    return (p, low, high)


def mean_ci_from_histogram(histogram: dict[float, int], n_resamples: int = 1000, seed: int = 0,
                           level: float = 0.95) -> tuple[float, float, float]:
    """``(estimate, low, high)`` of a mean from a value -> count histogram (multinomial bootstrap).

    The counts of each distinct value in a bootstrap resample are Multinomial(n, counts/n), so
    the interval needs only the histogram, which merges exactly across shards.
    """
    _check(n_resamples, level)
    values = np.array(sorted(histogram), dtype=float)
    counts = np.array([histogram[v] for v in sorted(histogram)], dtype=float)
    n = int(counts.sum())
    if n == 0:
        return (math.nan, math.nan, math.nan)
    estimate = float(values @ counts / n)
    if values.size == 1:
        return (estimate, estimate, estimate)
    draws = np.random.default_rng(seed).multinomial(n, counts / n, size=n_resamples) @ values / n
    low, high = _percentiles(draws, level)
    return (estimate, low, high)


def counts_summary(t: int, f: int, missing: int, n_resamples: int = 1000, seed: int = 0,
                   level: float = 0.95) -> dict[str, Any]:
    """``rate_summary`` of a 0/1 series given as counts (t ones, f zeros, ``missing`` unanswered)."""
    est, low, high = proportion_ci_from_counts(t, t + f, n_resamples, seed, level)
    return {"n": t + f, "n_missing": missing, "estimate": nan_to_none(est), "ci_low": nan_to_none(low),
            "ci_high": nan_to_none(high), "level": level, "n_resamples": n_resamples, "seed": seed}
