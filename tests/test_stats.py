"""rubrics.stats: seeded percentile bootstrap for means and rates."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from rubricate.guidelines.kernel.stats import bootstrap_ci, nan_to_none, rate_summary


def reference_ci(values, n_resamples, seed, level):
    """Plain percentile bootstrap with the same random stream (one block)."""
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, data.size, size=(n_resamples, data.size))
    means = data[idx].mean(axis=1)
    a = (1 - level) / 2
    return data.mean(), np.quantile(means, a), np.quantile(means, 1 - a)


def test_matches_a_plain_percentile_bootstrap():
    values = [1, 0, 0, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1]
    got = bootstrap_ci(values, n_resamples=500, seed=7, level=0.9)
    assert got == pytest.approx(reference_ci(values, 500, 7, 0.9))


def test_same_seed_same_interval_other_seed_other_interval():
    rng = np.random.default_rng(1)
    values = rng.normal(size=80).tolist()
    assert bootstrap_ci(values, seed=3) == bootstrap_ci(values, seed=3)
    assert bootstrap_ci(values, seed=3) != bootstrap_ci(values, seed=4)


def test_empty_input_gives_nan_and_summary_gives_none():
    est, low, high = bootstrap_ci([])
    assert all(math.isnan(x) for x in (est, low, high))
    assert all(math.isnan(x) for x in bootstrap_ci([None, float("nan")]))
    s = rate_summary([None, None])
    assert s["n"] == 0 and s["n_missing"] == 2
    assert s["estimate"] is s["ci_low"] is s["ci_high"] is None
    json.dumps(s, allow_nan=False)  # JSON-ready


def test_single_value_and_constant_input_give_zero_width():
    assert bootstrap_ci([0.4]) == (0.4, 0.4, 0.4)
    assert bootstrap_ci([1, 1, 1, 1]) == (1.0, 1.0, 1.0)


def test_missing_values_are_dropped_not_counted_as_zero():
    est, low, high = bootstrap_ci([1, None, 1, float("nan"), 0])
    assert est == pytest.approx(2 / 3)
    s = rate_summary([1, None, 1, 0])
    assert (s["n"], s["n_missing"]) == (3, 1)
    assert s["estimate"] == pytest.approx(2 / 3)


def test_interval_brackets_estimate_and_stays_in_unit_range_for_rates():
    values = [1] * 3 + [0] * 37
    est, low, high = bootstrap_ci(values)
    assert 0.0 <= low <= est <= high <= 1.0
    assert low < high


def test_wider_level_gives_wider_interval():
    values = [1, 0] * 25
    _, l90, h90 = bootstrap_ci(values, level=0.90)
    _, l99, h99 = bootstrap_ci(values, level=0.99)
    assert l99 <= l90 and h99 >= h90 and (h99 - l99) > (h90 - l90)


def test_coverage_of_a_known_rate_is_near_nominal():
    """Over 100 seeded samples of Bernoulli(0.3), n=200, the 95% CI covers 0.3 most times."""
    rng = np.random.default_rng(2025)
    hits = 0
    for rep in range(100):
        sample = (rng.random(200) < 0.3).astype(int)
        _, low, high = bootstrap_ci(sample, n_resamples=400, seed=rep)
        hits += low <= 0.3 <= high
    assert 88 <= hits <= 100


def test_blocks_for_large_inputs_give_valid_intervals(monkeypatch):
    import rubricate.guidelines.kernel.stats as stats
    values = np.random.default_rng(0).integers(0, 2, size=1000)
    whole = bootstrap_ci(values, n_resamples=300, seed=1)
    monkeypatch.setattr(stats, "_MAX_BLOCK_CELLS", 10_000)  # 10 resamples per block
    blocked = bootstrap_ci(values, n_resamples=300, seed=1)
    assert blocked[0] == whole[0]
    assert blocked[1] == pytest.approx(whole[1], abs=0.02)
    assert blocked[2] == pytest.approx(whole[2], abs=0.02)


def test_custom_statistic_is_applied_per_resample():
    values = [1.0, 2.0, 3.0, 4.0, 100.0]
    est, low, high = bootstrap_ci(values, statistic=lambda m: np.median(m, axis=1))
    assert est == 3.0
    assert 1.0 <= low <= high <= 100.0


def test_clusters_of_one_equal_the_plain_bootstrap():
    values = [1, 0, 1, 1, 0, 0, 1, 0, 1, 1]
    plain = bootstrap_ci(values, n_resamples=300, seed=5)
    clustered = bootstrap_ci(values, n_resamples=300, seed=5, clusters=list(range(10)))
    assert clustered == pytest.approx(plain)


def test_cluster_bootstrap_pools_observations_and_is_wider_for_correlated_clusters():
    # 10 clusters of 10 identical answers: effectively 10 observations, not 100
    values = [c % 2 for c in range(10) for _ in range(10)]
    clusters = [c for c in range(10) for _ in range(10)]
    est, low, high = bootstrap_ci(values, clusters=clusters)
    _, plow, phigh = bootstrap_ci(values)
    assert est == 0.5
    assert (high - low) > (phigh - plow)
    with pytest.raises(ValueError):
        bootstrap_ci(values, clusters=clusters[:-1])


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError):
        bootstrap_ci([1, 0], n_resamples=0)
    with pytest.raises(ValueError):
        bootstrap_ci([1, 0], level=1.0)


def test_nan_to_none():
    assert nan_to_none(float("nan")) is None
    assert nan_to_none(None) is None
    assert nan_to_none(0.25) == 0.25
