"""Rank statistics used as fitness and for reporting (scipy-backed).

Every score here is "higher is better": callers orient minimised targets once, at the table boundary.

Spearman's rho is Pearson's correlation of scipy's mid-ranks (average ranks for ties). It is computed here in
exact integer arithmetic, not with ``scipy.stats.spearmanr`` (whose ``corrcoef`` sums in an order that depends on
the BLAS build): each mid-rank is doubled and centred, ``c = 2 r - (n + 1)``, an integer, so the three sums
``Sxy = sum cx cy``, ``Sxx`` and ``Syy`` are exact, and

    rho = float(Sxy) / sqrt(float(Sxx) * float(Syy)),   clipped to [-1, 1].

Those three IEEE operations are the whole floating-point part, so the search's compiled rank loss
(:mod:`lpzero_sr.search.rankcorr`) gives the same bits from the same ranks. Kendall's tau-b is
``scipy.stats.kendalltau``; its floating-point part is ``(C - D) / sqrt(n0 - n1) / sqrt(n0 - n2)`` on exact
pair counts, which the compiled path computes the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import stats

from lpzero_sr.settings import Aggregation, Method

WORST_LOSS = 2.0  # 1 - (-1): what an invalid candidate scores


def spearman(score: np.ndarray, target: np.ndarray) -> float:
    """Spearman's rho with average ranks for ties (exact sums, see the module docstring); NaN when either side is
    constant or holds NaN."""
    score, target = np.asarray(score, dtype=float), np.asarray(target, dtype=float)
    if _constant(score) or _constant(target) or np.isnan(score).any() or np.isnan(target).any():
        return float("nan")
    return rho_from_centred_ranks(centred_ranks(score), centred_ranks(target))


def centred_ranks(x: np.ndarray) -> np.ndarray:
    """``2 * r - (n + 1)`` for scipy's mid-ranks ``r`` of ``x`` (no NaN): integers that sum to 0."""
    doubled = 2.0 * stats.rankdata(x)  # mid-ranks are multiples of 1/2, so this is exact
    return doubled.astype(np.int64) - (len(x) + 1)


def rho_from_centred_ranks(cx: np.ndarray, cy: np.ndarray) -> float:
    """Pearson's correlation of two centred doubled rank vectors: exact integer sums, three IEEE operations."""
    sxx, syy = int(np.dot(cx, cx)), int(np.dot(cy, cy))
    if sxx == 0 or syy == 0:
        return float("nan")
    rho = float(int(np.dot(cx, cy))) / math.sqrt(float(sxx) * float(syy))
    return min(1.0, max(-1.0, rho))


def kendall(score: np.ndarray, target: np.ndarray) -> float:
    """Kendall's tau-b; NaN when either side is constant."""
    if _constant(score) or _constant(target):
        return float("nan")
    return float(stats.kendalltau(score, target).statistic)


CORRELATIONS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "spearman": spearman,
    "kendall": kendall,
}


def topk_precision(score: np.ndarray, target: np.ndarray, frac: float = 0.1) -> float:
    """Share of the top ``frac`` architectures by ``score`` that are also in the top ``frac`` by ``target``."""
    n = len(score)
    k = max(1, int(round(frac * n)))
    top_score = set(np.argsort(-np.asarray(score), kind="stable")[:k])
    top_target = set(np.argsort(-np.asarray(target), kind="stable")[:k])
    return len(top_score & top_target) / k


def rank_loss(score: np.ndarray, target: np.ndarray, method: Method = "spearman") -> float:
    """``1 - corr(score, target)``; NaN/inf or constant scores get :data:`WORST_LOSS`."""
    score = np.asarray(score, dtype=float)
    if score.shape != np.shape(target) or not np.all(np.isfinite(score)):
        return WORST_LOSS
    corr = CORRELATIONS[method](score, np.asarray(target, dtype=float))
    return WORST_LOSS if not np.isfinite(corr) else 1.0 - corr


def aggregate(values: np.ndarray, groups: np.ndarray, n_groups: int, how: Aggregation = "sum") -> np.ndarray:
    """Reduce per-row ``values`` to one value per group (``groups`` are integer codes 0..n_groups-1).

    ``nanmean`` is the mean over a group's rows whose value is not NaN (NaN when there is none): in a per-item
    table NaN marks an item that a formula's columns do not all have, so LPZero's zip of two lists of different
    lengths is the mean over the items both have (:mod:`lpzero_sr.features.lpzero_space`). It is taken around the
    group's first value, ``v0 + mean(v - v0)``, so a group whose values are all equal has exactly that value: a
    plain sum over k rows divided by k may differ from it in the last bit, by a k-dependent amount a search would
    rank."""
    values = np.asarray(values, dtype=float)
    if how == "nanmean":
        present = ~np.isnan(values)
        first = np.full(n_groups, np.nan)
        rows = np.flatnonzero(present)
        seen, at = np.unique(groups[rows], return_index=True)
        first[seen] = values[rows[at]]
        with np.errstate(invalid="ignore", divide="ignore"):
            shifted = np.where(present, values - first[groups], 0.0)
            total = np.bincount(groups, weights=shifted, minlength=n_groups)
            count = np.bincount(groups, weights=present.astype(float), minlength=n_groups)
            return np.where(count > 0, first + total / np.maximum(count, 1), np.nan)
    total = np.bincount(groups, weights=values, minlength=n_groups)
    if how == "sum":
        return total
    if how == "mean":
        return total / np.bincount(groups, minlength=n_groups)
    raise ValueError(f"unknown aggregation {how!r}; use 'sum', 'mean' or 'nanmean'")


def bootstrap_ci(
    score: np.ndarray,
    target: np.ndarray,
    method: Method = "spearman",
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of a rank correlation over architectures."""
    rng = np.random.default_rng(seed)
    score, target = np.asarray(score, dtype=float), np.asarray(target, dtype=float)
    corr = CORRELATIONS[method]
    draws = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(score), len(score))
        value = corr(score[idx], target[idx])
        if np.isfinite(value):
            draws.append(value)
    if not draws:
        return float("nan"), float("nan")
    alpha = (1.0 - level) / 2
    return float(np.quantile(draws, alpha)), float(np.quantile(draws, 1 - alpha))


def _constant(x: np.ndarray) -> bool:
    x = np.asarray(x)
    return x.size < 2 or bool(np.all(x == x.flat[0]))
