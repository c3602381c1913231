"""The rank loss in compiled code: per-architecture aggregation, Spearman and Kendall tau-b (numba).

The same arithmetic as :mod:`lpzero_sr.ranking`, so a loss computed here has the same bits as the reference:

* aggregation adds row values into their architecture in row order (``np.bincount``'s order); ``mean`` divides by
  the row count; ``nanmean`` is the mean of the non-NaN rows around the group's first one
  (:func:`lpzero_sr.ranking.aggregate`);
* Spearman: centred doubled mid-ranks ``c = 2 r - (n + 1)`` (integers), exact integer sums, then
  ``float(Sxy) / sqrt(float(Sxx) * float(Syy))`` clipped to [-1, 1] (:func:`lpzero_sr.ranking.spearman`);
* Kendall tau-b: exact pair counts (discordant pairs with a Fenwick tree over the target's dense ranks, ties in
  either side and joint ties; one sort), then ``scipy.stats.kendalltau``'s ``(tot - xtie - ytie + ntie - 2 dis) /
  sqrt(tot - xtie) / sqrt(tot - ytie)`` clipped to [-1, 1].

The target's side (its centred ranks, its dense ranks and ties) is computed once per table by :class:`Target`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from lpzero_sr.ranking import WORST_LOSS, Method, centred_ranks
from lpzero_sr.settings import AGGREGATIONS

SPEARMAN, KENDALL = 0, 1
METHOD_CODES: dict[str, int] = {"spearman": SPEARMAN, "kendall": KENDALL}
AGGREGATION_CODES: dict[str, int] = {name: code for code, name in enumerate(AGGREGATIONS)}
MEAN, NANMEAN = AGGREGATION_CODES["mean"], AGGREGATION_CODES["nanmean"]


@dataclass(frozen=True)
class Target:
    """One table's oriented per-architecture target, prepared for :func:`rank_loss`."""

    centred: np.ndarray  # int64: 2 * mid-rank - (n + 1)
    dense: np.ndarray  # int64: dense rank 0..m-1
    ties: int  # pairs tied in the target

    @classmethod
    def of(cls, y: np.ndarray) -> Target:
        y = np.asarray(y, dtype=float)
        _, dense, counts = np.unique(y, return_inverse=True, return_counts=True)
        return cls(centred_ranks(y), dense.astype(np.int64), int((counts * (counts - 1) // 2).sum()))


@njit(cache=True, nogil=True)
def aggregate_rows(values: np.ndarray, groups: np.ndarray, n_groups: int, how: int) -> np.ndarray:
    """Per-group sum, mean or nanmean (``how``: :data:`AGGREGATION_CODES`) of ``values``, added in row order like
    ``np.bincount``."""
    total = np.zeros(n_groups)
    count = np.zeros(n_groups)
    if how == NANMEAN:
        first = np.full(n_groups, np.nan)
        for i in range(values.shape[0]):
            g = groups[i]
            if not math.isnan(values[i]) and math.isnan(first[g]):
                first[g] = values[i]
        for i in range(values.shape[0]):
            if not math.isnan(values[i]):
                total[groups[i]] += values[i] - first[groups[i]]
                count[groups[i]] += 1.0
        for g in range(n_groups):
            total[g] = first[g] + total[g] / count[g] if count[g] > 0 else np.nan
        return total
    for i in range(values.shape[0]):
        total[groups[i]] += values[i]
    if how == MEAN:
        for i in range(values.shape[0]):
            count[groups[i]] += 1.0
        for g in range(n_groups):
            total[g] = total[g] / count[g]
    return total


@njit(cache=True, nogil=True)
def centred_ranks_of(x: np.ndarray) -> np.ndarray:
    """``2 * r - (n + 1)`` for the mid-ranks ``r`` of ``x`` (finite values)."""
    n = x.shape[0]
    order = np.argsort(x)
    out = np.empty(n, np.int64)
    i = 0
    while i < n:
        j = i
        while j + 1 < n and x[order[j + 1]] == x[order[i]]:
            j += 1
        c = i + j + 2 - (n + 1)  # positions i..j hold ranks i+1..j+1: doubled mid-rank i + j + 2
        for k in range(i, j + 1):
            out[order[k]] = c
        i = j + 1
    return out


@njit(cache=True, nogil=True)
def spearman_rho(x: np.ndarray, target_centred: np.ndarray) -> float:
    """Spearman's rho of finite ``x`` against a target's centred ranks; NaN when either side is constant."""
    cx = centred_ranks_of(x)
    sxy = np.int64(0)
    sxx = np.int64(0)
    syy = np.int64(0)
    for i in range(x.shape[0]):
        sxy += cx[i] * target_centred[i]
        sxx += cx[i] * cx[i]
        syy += target_centred[i] * target_centred[i]
    if sxx == 0 or syy == 0:
        return np.nan
    rho = float(sxy) / math.sqrt(float(sxx) * float(syy))
    return min(1.0, max(-1.0, rho))


@njit(cache=True, nogil=True)
def kendall_tau_b(x: np.ndarray, target_dense: np.ndarray, target_ties: int) -> float:
    """Kendall's tau-b of finite ``x`` against a target's dense ranks; NaN when either side is constant.

    One sort of ``x``; then, group by group of equal ``x`` in increasing order, each point counts the points of
    smaller ``x`` with a larger target (discordant pairs, a Fenwick tree over the target's dense ranks) and the
    points of its own group with its target (joint ties)."""
    n = x.shape[0]
    tot = n * (n - 1) // 2
    order = np.argsort(x)
    m = 0
    for i in range(n):
        m = max(m, target_dense[i] + 1)
    tree = np.zeros(m + 1, np.int64)
    same = np.zeros(m, np.int64)  # points of the current group per target rank
    dis = xtie = ntie = 0
    start = 0
    while start < n:
        stop = start
        while stop + 1 < n and x[order[stop + 1]] == x[order[start]]:
            stop += 1
        for k in range(start, stop + 1):
            y = target_dense[order[k]]
            at_most = 0  # points of smaller x with target rank <= y
            j = y + 1
            while j > 0:
                at_most += tree[j]
                j -= j & -j
            dis += start - at_most
            ntie += same[y]
            same[y] += 1
        size = stop - start + 1
        xtie += size * (size - 1) // 2
        for k in range(start, stop + 1):
            y = target_dense[order[k]]
            same[y] = 0
            j = y + 1
            while j <= m:
                tree[j] += 1
                j += j & -j
        start = stop + 1
    if xtie == tot or target_ties == tot:
        return np.nan
    con_minus_dis = tot - xtie - target_ties + ntie - 2 * dis
    tau = float(con_minus_dis) / math.sqrt(float(tot - xtie)) / math.sqrt(float(tot - target_ties))
    return min(1.0, max(-1.0, tau))


@njit(cache=True, nogil=True)
def rank_loss(scores: np.ndarray, method: int, centred: np.ndarray, dense: np.ndarray, ties: int) -> float:
    """``1 - corr`` as :func:`lpzero_sr.ranking.rank_loss`: non-finite or constant scores get ``WORST_LOSS``."""
    for v in scores:
        if not np.isfinite(v):
            return WORST_LOSS
    corr = spearman_rho(scores, centred) if method == SPEARMAN else kendall_tau_b(scores, dense, ties)
    if not np.isfinite(corr):
        return WORST_LOSS
    return 1.0 - corr


def method_code(method: Method) -> int:
    return METHOD_CODES[method]
