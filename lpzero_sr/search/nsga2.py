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
def fronts(loss: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Front index (0 = non-dominated) of each point."""
    n = loss.shape[0]
    order = np.argsort(size, kind="mergesort")
    order = order[np.argsort(loss[order], kind="mergesort")]  # by loss, then size
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
def crowding(loss: np.ndarray, size: np.ndarray, members: np.ndarray) -> np.ndarray:
    """DEAP's crowding distance of ``members`` (one front, in front order); aligned with ``members``."""
    m = members.shape[0]
    dist = np.zeros(m)
    if m == 0:
        return dist
    order = np.arange(m)
    for objective in range(2):
        values = np.empty(m)
        for k in range(m):
            values[k] = loss[members[k]] if objective == 0 else size[members[k]]
        order = order[np.argsort(values[order], kind="mergesort")]
        dist[order[0]] = np.inf
        dist[order[m - 1]] = np.inf
        if values[order[m - 1]] == values[order[0]]:
            continue
        norm = 2.0 * (values[order[m - 1]] - values[order[0]])
        for k in range(1, m - 1):
            dist[order[k]] += (values[order[k + 1]] - values[order[k - 1]]) / norm
    return dist


@njit(cache=True, nogil=True)
def _by_front(front: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Point indices grouped by front, in input order within a front, and where each front starts."""
    order = np.argsort(front, kind="mergesort")
    n_fronts = front.max() + 1 if front.shape[0] else 0
    starts = np.zeros(n_fronts + 1, np.int64)
    for i in range(front.shape[0]):
        starts[front[i] + 1] += 1
    for f in range(n_fronts):
        starts[f + 1] += starts[f]
    return order, starts


@njit(cache=True, nogil=True)
def rank_and_crowding(loss: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Front index and crowding distance (within its front) of every point."""
    front = fronts(loss, size)
    order, starts = _by_front(front)
    dist = np.empty(loss.shape[0])
    for f in range(starts.shape[0] - 1):
        members = order[starts[f] : starts[f + 1]]
        dist[members] = crowding(loss, size, members)
    return front, dist


@njit(cache=True, nogil=True)
def select(loss: np.ndarray, size: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` survivors, in order (``tools.selNSGA2``)."""
    order, starts = _by_front(fronts(loss, size))
    f = 0
    while starts[f + 1] <= k:  # whole fronts
        f += 1
        if f == starts.shape[0] - 1:
            return order[:k].copy()
    chosen = order[:k].copy()
    members = order[starts[f] : starts[f + 1]]
    best = np.argsort(-crowding(loss, size, members), kind="mergesort")[: k - starts[f]]
    chosen[starts[f] :] = members[best]
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
