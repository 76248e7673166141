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
