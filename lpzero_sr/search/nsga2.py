"""NSGA-II over the search's two minimised objectives (rank loss, node count), batched (numba).

The same selection as DEAP's ``tools.selNSGA2`` and ``tools.emo.assignCrowdingDist`` (Deb et al. 2002), written for
two objectives so that one call sorts a whole population in ``O(n log n)`` instead of DEAP's pairwise Python loops:

* :func:`fronts`: non-dominated sorting. Points are taken in lexicographic order of (loss, size); a point belongs to
  the first front none of whose members has a size <= its own (for two objectives that member dominates it), and
  equal points share a front, as DEAP groups equal fitnesses.
* :func:`crowding`: DEAP's crowding distance, term for term: a stable sort by loss, then a stable sort of that
  order by size; the two ends of each sort are infinite, every other point adds ``(next - prev) / (2 * range)``.
* :func:`select`: every front that fits whole, then the last one by crowding distance, largest first (ties in
  front order).
* :func:`tournament`: binary tournaments on (front, -crowding distance), the first of a tie winning.

Within a front, points keep their order in the input, so every result is a function of the input order alone.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _dense(values: np.ndarray) -> np.ndarray:
    """Dense rank (0, 1, ...) of each value: equal values share a rank."""
    order = np.argsort(values)
    out = np.empty(values.shape[0], np.int64)
    rank = 0
    for k in range(values.shape[0]):
        if k > 0 and values[order[k]] != values[order[k - 1]]:
            rank += 1
        out[order[k]] = rank
    return out


@njit(cache=True, nogil=True)
def _sorted_by(major: np.ndarray, middle: np.ndarray, minor: np.ndarray) -> np.ndarray:
    """Indices sorted by ``(major, middle, minor)`` (non-negative integers; ``minor`` unique): one sort of
    composite keys, so equal ``(major, middle)`` keep the order of ``minor``, as a stable sort keeps input order."""
    n = major.shape[0]
    span = middle.max() + 1 if n else 1
    return np.argsort((major * span + middle) * n + minor)


@njit(cache=True, nogil=True)
def fronts(loss: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Front index (0 = non-dominated) of each point."""
    n = loss.shape[0]
    index = np.arange(n)
    order = _sorted_by(_dense(loss), size.astype(np.int64), index)  # by loss, then size
    front = np.empty(n, np.int64)
    best_size = np.empty(n + 1)  # smallest size in each front so far (its members are in increasing loss)
    n_fronts = 0
    for j in range(n):
        i = order[j]
        if j > 0 and loss[i] == loss[order[j - 1]] and size[i] == size[order[j - 1]]:
            front[i] = front[order[j - 1]]
            continue
        f = 0
        while f < n_fronts and best_size[f] <= size[i]:
            f += 1
        if f == n_fronts:
            best_size[f] = size[i]
            n_fronts += 1
        else:
            best_size[f] = min(best_size[f], size[i])
        front[i] = f
    return front


@njit(cache=True, nogil=True)
def _add_distances(values: np.ndarray, front: np.ndarray, order: np.ndarray, dist: np.ndarray) -> None:
    """One objective's terms of the crowding distance, front by front along ``order``."""
    n = order.shape[0]
    a = 0
    while a < n:
        b = a
        while b + 1 < n and front[order[b + 1]] == front[order[a]]:
            b += 1
        dist[order[a]] = np.inf
        dist[order[b]] = np.inf
        if values[order[b]] != values[order[a]]:
            norm = 2.0 * (values[order[b]] - values[order[a]])
            for k in range(a + 1, b):
                dist[order[k]] += (values[order[k + 1]] - values[order[k - 1]]) / norm
        a = b + 1


@njit(cache=True, nogil=True)
def crowding(loss: np.ndarray, size: np.ndarray, front: np.ndarray) -> np.ndarray:
    """DEAP's crowding distance of every point within its front, term for term: the front's points (in input order)
    stably sorted by loss, then that order stably sorted by size."""
    n = loss.shape[0]
    dist = np.zeros(n)
    by_loss = _sorted_by(front, _dense(loss), np.arange(n))
    _add_distances(loss, front, by_loss, dist)
    position = np.empty(n, np.int64)
    position[by_loss] = np.arange(n)
    _add_distances(size, front, _sorted_by(front, size.astype(np.int64), position), dist)
    return dist


@njit(cache=True, nogil=True)
def rank_and_crowding(loss: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Front index and crowding distance (within its front) of every point."""
    front = fronts(loss, size)
    return front, crowding(loss, size, front)


@njit(cache=True, nogil=True)
def select(loss: np.ndarray, size: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` survivors, in order (``tools.selNSGA2``): whole fronts in input order, then the last
    front's points by crowding distance, largest first (ties in input order)."""
    n = loss.shape[0]
    front = fronts(loss, size)
    order = np.argsort(front * n + np.arange(n))
    cut = front[order[k - 1]]
    if k == n or front[order[k]] != cut:
        return order[:k].copy()
    start = k - 1
    while start > 0 and front[order[start - 1]] == cut:
        start -= 1
    stop = k
    while stop < n and front[order[stop]] == cut:
        stop += 1
    members = order[start:stop]
    dist = crowding(loss, size, front)[members]
    chosen = order[:k].copy()
    chosen[start:] = members[np.argsort(-dist, kind="mergesort")[: k - start]]
    return chosen


@njit(cache=True, nogil=True)
def tournament(front: np.ndarray, dist: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Winners of ``len(u)`` binary tournaments; row ``k`` of ``u`` draws the two contestants."""
    n = front.shape[0]
    out = np.empty(u.shape[0], np.int64)
    for k in range(u.shape[0]):
        a = min(int(u[k, 0] * n), n - 1)
        b = min(int(u[k, 1] * n), n - 1)
        if front[a] < front[b] or (front[a] == front[b] and -dist[a] <= -dist[b]):
            out[k] = a
        else:
            out[k] = b
    return out
