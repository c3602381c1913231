"""The search's outcome cache: every formula evaluated so far, by its 128-bit key (a numba typed dict).

A formula is evaluated once per search: offspring whose key is cached, or that repeat an earlier offspring of the
same generation, are skipped before evaluation (:meth:`OutcomeCache.classify`) and read back afterwards
(:meth:`OutcomeCache.lookup`). The cache is part of a checkpoint, as plain arrays (:meth:`arrays`), so a resumed
search counts exactly the formulas an unbroken one counts.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.typed import Dict

KEY = types.UniTuple(types.uint64, 2)
VALUE = types.Tuple((types.float64, types.int32))


@njit(cache=True, nogil=True)
def _classify(cache, keys):  # noqa: ANN001, ANN202
    seen = Dict.empty(key_type=KEY, value_type=types.int64)
    first = np.empty(keys.shape[0], np.int64)
    novel = np.empty(keys.shape[0], np.int64)
    n_first = n_novel = 0
    for i in range(keys.shape[0]):
        key = (keys[i, 0], keys[i, 1])
        if key in seen:
            continue
        seen[key] = i
        first[n_first] = i
        n_first += 1
        if key not in cache:
            novel[n_novel] = i
            n_novel += 1
    return first[:n_first], novel[:n_novel]


@njit(cache=True, nogil=True)
def _insert(cache, keys, loss, verdict):  # noqa: ANN001, ANN202
    for i in range(keys.shape[0]):
        cache[(keys[i, 0], keys[i, 1])] = (loss[i], verdict[i])


@njit(cache=True, nogil=True)
def _lookup(cache, keys):  # noqa: ANN001, ANN202
    loss = np.empty(keys.shape[0])
    verdict = np.empty(keys.shape[0], np.int32)
    for i in range(keys.shape[0]):
        loss[i], verdict[i] = cache[(keys[i, 0], keys[i, 1])]
    return loss, verdict


@njit(cache=True, nogil=True)
def _arrays(cache):  # noqa: ANN001, ANN202
    n = len(cache)
    keys = np.empty((n, 2), np.uint64)
    loss = np.empty(n)
    verdict = np.empty(n, np.int32)
    for i, (key, value) in enumerate(cache.items()):
        keys[i, 0], keys[i, 1] = key
        loss[i], verdict[i] = value
    return keys, loss, verdict


class OutcomeCache:
    """``(loss, verdict)`` of every evaluated formula, by key (:func:`lpzero_sr.search.programs.program_keys`)."""

    def __init__(self) -> None:
        self.table = Dict.empty(key_type=KEY, value_type=VALUE)

    def __len__(self) -> int:
        return len(self.table)

    def classify(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the first row with each key, in order, and those of them whose key is not cached."""
        return _classify(self.table, keys)

    def insert(self, keys: np.ndarray, loss: np.ndarray, verdict: np.ndarray) -> None:
        _insert(self.table, keys, np.asarray(loss, np.float64), np.asarray(verdict, np.int32))

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(loss, verdict)`` of cached keys (every key must be cached)."""
        return _lookup(self.table, keys)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Keys (``uint64[n, 2]``), losses and verdicts of every entry, in insertion order."""
        return _arrays(self.table)


@njit(cache=True, nogil=True)
def record(codes, lens, loss, verdict, best_loss, best_codes, rejections, history_best):  # noqa: ANN001, ANN201
    """Tally outcomes in evaluation order: rejections per rule, the best formula per size (the first of the smallest
    loss), and the positions at which the best loss so far improves (below ``history_best``). Updates the arrays in
    place; returns the improving positions and their losses."""
    at = np.empty(loss.shape[0], np.int64)
    value = np.empty(loss.shape[0])
    n = 0
    best = history_best
    for j in range(loss.shape[0]):
        if verdict[j] >= 0:
            rejections[verdict[j]] += 1
            continue
        size = lens[j]
        if loss[j] < best_loss[size]:
            best_loss[size] = loss[j]
            best_codes[size, :] = codes[j, :]
        if loss[j] < best:
            best = loss[j]
            at[n] = j
            value[n] = best
            n += 1
    return at[:n], value[:n]
