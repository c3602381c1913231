"""Held-out evaluation: rank metrics of a proxy next to the best single column chosen on the training rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lpzero_sr.ranking import kendall, spearman, topk_precision
from lpzero_sr.table import StatTable

TOPK = 0.1


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


@dataclass(frozen=True)
class Baseline:
    """The single column (negated when ``sign`` is -1) with the best training Spearman."""

    column: str
    sign: float
    train_spearman: float

    def scores(self, table: StatTable) -> np.ndarray:
        """Per-architecture values: the column's mean over layers for per-layer tables."""
        return self.sign * table.aggregate(table.column(self.column), "mean")


def best_single_column(train: StatTable) -> Baseline:
    """Chosen on ``train`` only; a column anti-correlated with the target counts with its sign flipped."""
    best = Baseline("", 1.0, -np.inf)
    for name in train.features:
        rho = spearman(train.aggregate(train.column(name), "mean"), train.y)
        if np.isfinite(rho) and abs(rho) > best.train_spearman:
            best = Baseline(name, 1.0 if rho >= 0 else -1.0, abs(rho))
    return best


def heldout_report(scores: np.ndarray, train: StatTable, test: StatTable, frac: float = TOPK) -> dict[str, object]:
    """Metrics of ``scores`` (per-architecture, aligned with ``test.archs``) and of the training-chosen baseline."""
    baseline = best_single_column(train)
    return {
        "proxy": rank_metrics(scores, test.y, frac),
        "baseline": {
            "column": baseline.column,
            "sign": baseline.sign,
            **rank_metrics(baseline.scores(test), test.y, frac),
            "train": rank_metrics(baseline.scores(train), train.y, frac),
        },
        "n_test": len(test.archs),
    }
