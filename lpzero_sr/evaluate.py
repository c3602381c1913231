"""Rank metrics of per-architecture scores against the oriented target (what every report prints)."""

from __future__ import annotations

import numpy as np

from lpzero_sr.ranking import kendall, spearman, topk_precision

TOPK = 0.1
METRICS = ("spearman", "kendall", "topk")


def rank_metrics(score: np.ndarray, target: np.ndarray, frac: float = TOPK) -> dict[str, float]:
    """Spearman, Kendall and top-``frac`` precision of per-architecture ``score`` against oriented ``target``.

    A NaN score (a formula undefined for that architecture) ranks below every number: it counts against the
    proxy instead of being dropped from the evaluation."""
    score = np.where(np.isnan(np.asarray(score, dtype=float)), -np.inf, score)
    return {
        "spearman": spearman(score, target),
        "kendall": kendall(score, target),
        "topk": topk_precision(score, target, frac),
    }
