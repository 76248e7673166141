"""Agreement between two raters of categorical labels: confusion matrix, accuracy, F1, kappa.

Plain functions over two equally long sequences (``reference`` and ``predicted``), used to
compare the offline judge with the study's judge and reviewers with each other. Pairs whose
reference is None are skipped (no reference answer); a prediction outside the labels (e.g.
"unknown") stays in and counts as a disagreement. Undefined statistics are returned as None
rather than a made-up number (kappa when chance agreement is 1, F1 when nothing is rated).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np

from rubricate.guidelines.kernel.stats import bootstrap_ci, nan_to_none

YES_NO = ("yes", "no")


def _pairs(reference: Sequence, predicted: Sequence) -> list[tuple[Hashable, Hashable]]:
    if len(reference) != len(predicted):
        raise ValueError(f"reference has {len(reference)} labels but predicted has {len(predicted)}")
    return [(r, p) for r, p in zip(reference, predicted) if r is not None]


def confusion_matrix(reference: Sequence, predicted: Sequence,
                     labels: Sequence = YES_NO) -> dict[str, dict[str, int]]:
    """Counts as {reference label: {predicted label: n}}.

    Rows and columns are ``labels`` followed by any other label seen (e.g. "unknown").
    """
    pairs = _pairs(reference, predicted)
    seen = list(labels) + sorted({str(x) for pair in pairs for x in pair} - {str(x) for x in labels})
    matrix = {str(r): {str(p): 0 for p in seen} for r in seen}
    for r, p in pairs:
        matrix[str(r)][str(p)] += 1
    return matrix


def accuracy(reference: Sequence, predicted: Sequence) -> float | None:
    """Share of pairs with the same label (None if there are no pairs)."""
    pairs = _pairs(reference, predicted)
    if not pairs:
        return None
    return sum(r == p for r, p in pairs) / len(pairs)


def cohen_kappa(reference: Sequence, predicted: Sequence) -> float | None:
    """Cohen's kappa, (p_o - p_e) / (1 - p_e); None when p_e is 1 (one shared constant label)."""
    pairs = _pairs(reference, predicted)
    n = len(pairs)
    if not n:
        return None
    observed = sum(r == p for r, p in pairs) / n
    ref_counts = Counter(r for r, _ in pairs)
    pred_counts = Counter(p for _, p in pairs)
    expected = sum(ref_counts[k] * pred_counts.get(k, 0) for k in ref_counts) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def per_class(reference: Sequence, predicted: Sequence,
              labels: Sequence = YES_NO) -> dict[str, dict[str, float | int | None]]:
    """Precision, recall, F1 and support per label (None where the ratio is 0/0)."""
    pairs = _pairs(reference, predicted)
    out: dict[str, dict[str, float | int | None]] = {}
    for label in labels:
        tp = sum(r == label and p == label for r, p in pairs)
        ref_n = sum(r == label for r, _ in pairs)
        pred_n = sum(p == label for _, p in pairs)
        precision = tp / pred_n if pred_n else None
        recall = tp / ref_n if ref_n else None
        if ref_n == 0 and pred_n == 0:
            f1 = None
        else:
            f1 = 2 * tp / (ref_n + pred_n)
        out[str(label)] = {"precision": precision, "recall": recall, "f1": f1, "support": ref_n}
    return out


def macro_f1(reference: Sequence, predicted: Sequence, labels: Sequence = YES_NO) -> float | None:
    """Mean F1 over the labels that occur in the reference or the predictions."""
    scores = [c["f1"] for c in per_class(reference, predicted, labels).values() if c["f1"] is not None]
    return sum(scores) / len(scores) if scores else None


def agreement_summary(reference: Sequence, predicted: Sequence, labels: Sequence = YES_NO) -> dict:
    """All statistics at once, as a JSON-ready dict."""
    pairs = _pairs(reference, predicted)
    return {
        "n": len(pairs),
        "accuracy": accuracy(reference, predicted),
        "macro_f1": macro_f1(reference, predicted, labels),
        "kappa": cohen_kappa(reference, predicted),
        "per_class": per_class(reference, predicted, labels),
        "confusion": confusion_matrix(reference, predicted, labels),
    }


def _codes(*columns: Sequence) -> tuple[list[np.ndarray], int]:
    """Integer codes of labels (shared across columns), -1 for a missing label (None)."""
    labels = sorted({str(x) for col in columns for x in col if x is not None})
    index = {lab: i for i, lab in enumerate(labels)}
    return [np.array([-1 if x is None else index[str(x)] for x in col], dtype=np.int64) for col in columns], len(labels)


def cohen_kappa_ci(reference: Sequence, predicted: Sequence, n_resamples: int = 1000, seed: int = 0,
                   level: float = 0.95) -> dict:
    """Cohen's kappa with a seeded percentile-bootstrap CI over the rated items.

    Resamples in which kappa is undefined (both raters used one same label) are left out of
    the interval. Returns {"kappa", "ci_low", "ci_high", "n", "level", "n_resamples", "seed"}.
    """
    pairs = _pairs(reference, predicted)
    (a, b), k = _codes([r for r, _ in pairs], [p for _, p in pairs])
    n = len(pairs)

    def stat(idx: np.ndarray) -> np.ndarray:
        idx = idx.astype(np.int64)
        ra, rb = a[idx], b[idx]
        po = (ra == rb).mean(axis=1)
        pe = sum((ra == c).mean(axis=1) * (rb == c).mean(axis=1) for c in range(k)) if k else np.ones(len(idx))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(pe >= 1.0, np.nan, (po - pe) / (1.0 - pe))

    est, low, high = bootstrap_ci(np.arange(n), n_resamples=n_resamples, seed=seed, level=level,
                                  statistic=stat) if n else (float("nan"),) * 3
    if n and cohen_kappa(reference, predicted) is not None and np.isnan(low):
        low = high = est
    return {"kappa": nan_to_none(est), "ci_low": nan_to_none(low), "ci_high": nan_to_none(high), "n": n,
            "level": level, "n_resamples": n_resamples, "seed": seed}


def macro_f1_ci(reference: Sequence, predicted: Sequence, labels: Sequence = YES_NO, n_resamples: int = 1000,
                seed: int = 0, level: float = 0.95) -> dict:
    """Macro F1 (as ``macro_f1``) with a seeded percentile-bootstrap CI over the rated items.

    In each resample a label counts only when it occurs in the reference or the predictions
    there, as in ``macro_f1``. Returns {"macro_f1", "ci_low", "ci_high", "n", "level",
    "n_resamples", "seed"}.
    """
    pairs = _pairs(reference, predicted)
    (a, b), _ = _codes([r for r, _ in pairs], [p for _, p in pairs])
    seen = sorted({str(x) for pair in pairs for x in pair})
    wanted = [seen.index(str(lab)) for lab in labels if str(lab) in seen]
    n = len(pairs)

    def stat(idx: np.ndarray) -> np.ndarray:
        idx = idx.astype(np.int64)
        ra, rb = a[idx], b[idx]
        scores = []
        for c in wanted:
            tp = ((ra == c) & (rb == c)).sum(axis=1)
            denom = (ra == c).sum(axis=1) + (rb == c).sum(axis=1)
            scores.append(np.where(denom > 0, 2.0 * tp / np.maximum(denom, 1), np.nan))
        if not scores:
            return np.full(len(idx), np.nan)
        stacked = np.stack(scores)
        defined = ~np.isnan(stacked)
        total = np.where(defined, stacked, 0.0).sum(axis=0)
        count = defined.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(count > 0, total / count, np.nan)

    est, low, high = bootstrap_ci(np.arange(n), n_resamples=n_resamples, seed=seed, level=level,
                                  statistic=stat) if n else (float("nan"),) * 3
    return {"macro_f1": nan_to_none(est), "ci_low": nan_to_none(low), "ci_high": nan_to_none(high), "n": n,
            "level": level, "n_resamples": n_resamples, "seed": seed}


def agreement_with_ci(reference: Sequence, predicted: Sequence, labels: Sequence = YES_NO,
                      n_resamples: int = 1000, seed: int = 0, level: float = 0.95) -> dict:
    """``agreement_summary`` plus bootstrap CIs of kappa and macro F1 (same seed, same items)."""
    out = agreement_summary(reference, predicted, labels)
    k = cohen_kappa_ci(reference, predicted, n_resamples=n_resamples, seed=seed, level=level)
    f = macro_f1_ci(reference, predicted, labels, n_resamples=n_resamples, seed=seed, level=level)
    out["kappa_ci"] = [k["ci_low"], k["ci_high"]]
    out["macro_f1_ci"] = [f["ci_low"], f["ci_high"]]
    return out


def _coincidences(units: np.ndarray, k: int) -> np.ndarray:
    """Per unit, its contribution to the coincidence matrix (units x k*k), Krippendorff 2011."""
    out = np.zeros((len(units), k * k))
    for u, row in enumerate(units):
        values = row[row >= 0]
        m = len(values)
        if m < 2:
            continue  # a unit coded by fewer than two coders is not pairable
        counts = np.bincount(values, minlength=k).astype(float)
        o = np.outer(counts, counts) - np.diag(counts)  # ordered pairs of different coders
        out[u] = (o / (m - 1)).ravel()
    return out


def _alpha_from(o: np.ndarray, k: int) -> np.ndarray:
    """Nominal alpha from coincidence matrices (rows: k*k flattened); NaN when undefined."""
    o = o.reshape(-1, k, k)
    n_c = o.sum(axis=2)
    n = n_c.sum(axis=1)
    off = ~np.eye(k, dtype=bool)
    d_o = o[:, off].sum(axis=1)
    d_e = (np.einsum("ri,rj->rij", n_c, n_c)[:, off]).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d_e > 0, 1.0 - (n - 1) * d_o / d_e, np.nan)


def krippendorff_alpha(units: Sequence[Sequence]) -> float | None:
    """Krippendorff's alpha for nominal labels. ``units``: one row per rated item with each
    coder's label (None where that coder did not rate it). None when undefined (one value)."""
    (flat,), k = _codes([x for row in units for x in row])
    width = max((len(r) for r in units), default=0)
    if not units or k == 0:
        return None
    arr = flat.reshape(len(units), width) if all(len(r) == width for r in units) else None
    if arr is None:
        raise ValueError("every unit needs one entry per coder (None where not rated)")
    return nan_to_none(float(_alpha_from(_coincidences(arr, k).sum(axis=0, keepdims=True), k)[0]))


def krippendorff_alpha_ci(units: Sequence[Sequence], n_resamples: int = 1000, seed: int = 0,
                          level: float = 0.95) -> dict:
    """Nominal alpha with a seeded percentile-bootstrap CI over units (items)."""
    width = max((len(r) for r in units), default=0)
    (flat,), k = _codes([x for row in units for x in row])
    pairable = 0
    est = low = high = float("nan")
    if units and k:
        arr = flat.reshape(len(units), width)
        contrib = _coincidences(arr, k)
        pairable = int(((arr >= 0).sum(axis=1) >= 2).sum())

        def stat(idx: np.ndarray) -> np.ndarray:
            return _alpha_from(contrib[idx.astype(np.int64)].sum(axis=1), k)

        est, low, high = bootstrap_ci(np.arange(len(units)), n_resamples=n_resamples, seed=seed,
                                      level=level, statistic=stat)
    return {"alpha": nan_to_none(est), "ci_low": nan_to_none(low), "ci_high": nan_to_none(high),
            "units": pairable, "level": level, "n_resamples": n_resamples, "seed": seed}
