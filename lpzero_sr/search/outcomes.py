"""The search's outcome cache: every formula evaluated so far, by its 128-bit key, in a compiled hash table.

A formula is evaluated once per search: offspring whose key is cached, or that repeat an earlier offspring of the
same generation, are skipped before evaluation (:meth:`OutcomeCache.classify`) and read back afterwards
(:meth:`OutcomeCache.lookup`). The cache is part of a checkpoint, as plain arrays (:meth:`OutcomeCache.arrays`), so a
resumed search counts exactly the formulas an unbroken one counts.

The table is open addressing with linear probing over numpy arrays (kept at most half full; a slot is chosen by
Fibonacci hashing of the key's first word), so that it costs nothing to create: numba's typed dict, the obvious
choice, compiles its methods in every new process (about a second, measured), which a whole search of a
100-architecture table now takes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True)
def _shift(size):  # noqa: ANN001, ANN202
    """``64 - log2(size)`` for a power of two ``size`` >= 2: Fibonacci hashing keeps that many high bits."""
    bits = 0
    while (1 << bits) < size:
        bits += 1
    return np.uint64(64 - bits)


@njit(cache=True, nogil=True)
def _slot(used, keys, k0, k1, shift):  # noqa: ANN001, ANN202
    """The slot of key ``(k0, k1)``, or the empty slot where it would go."""
    i = np.int64((k0 * GOLDEN) >> shift)
    mask = used.shape[0] - 1
    while used[i] and not (keys[i, 0] == k0 and keys[i, 1] == k1):
        i = (i + 1) & mask
    return i


@njit(cache=True, nogil=True)
def _classify(used, keys, batch):  # noqa: ANN001, ANN202
    size = 1
    while size < 2 * batch.shape[0] + 2:
        size *= 2
    seen = np.zeros(size, np.bool_)
    seen_keys = np.empty((size, 2), np.uint64)
    seen_shift, shift = _shift(size), _shift(used.shape[0])
    first = np.empty(batch.shape[0], np.int64)
    novel = np.empty(batch.shape[0], np.int64)
    n_first = n_novel = 0
    for i in range(batch.shape[0]):
        k0, k1 = batch[i, 0], batch[i, 1]
        s = _slot(seen, seen_keys, k0, k1, seen_shift)
        if seen[s]:
            continue
        seen[s] = True
        seen_keys[s, 0], seen_keys[s, 1] = k0, k1
        first[n_first] = i
        n_first += 1
        if not used[_slot(used, keys, k0, k1, shift)]:
            novel[n_novel] = i
            n_novel += 1
    return first[:n_first], novel[:n_novel]


@njit(cache=True, nogil=True)
def _insert(used, keys, loss, verdict, batch, batch_loss, batch_verdict):  # noqa: ANN001, ANN202
    added = 0
    shift = _shift(used.shape[0])
    for i in range(batch.shape[0]):
        s = _slot(used, keys, batch[i, 0], batch[i, 1], shift)
        added += not used[s]
        used[s] = True
        keys[s, 0], keys[s, 1] = batch[i, 0], batch[i, 1]
        loss[s], verdict[s] = batch_loss[i], batch_verdict[i]
    return added


@njit(cache=True, nogil=True)
def _lookup(used, keys, loss, verdict, batch):  # noqa: ANN001, ANN202
    out_loss = np.empty(batch.shape[0])
    out_verdict = np.empty(batch.shape[0], np.int32)
    shift = _shift(used.shape[0])
    for i in range(batch.shape[0]):
        s = _slot(used, keys, batch[i, 0], batch[i, 1], shift)
        if not used[s]:
            raise KeyError("a formula that was never evaluated")
        out_loss[i], out_verdict[i] = loss[s], verdict[s]
    return out_loss, out_verdict


class OutcomeCache:
    """``(loss, verdict)`` of every evaluated formula, by key (:func:`lpzero_sr.search.programs.program_keys`)."""

    def __init__(self, capacity: int = 1 << 14) -> None:  # a power of two
        self._allocate(capacity)
        self.count = 0

    def _allocate(self, capacity: int) -> None:
        self.used = np.zeros(capacity, np.bool_)
        self.keys = np.zeros((capacity, 2), np.uint64)
        self.loss = np.zeros(capacity)
        self.verdict = np.zeros(capacity, np.int32)

    def __len__(self) -> int:
        return self.count

    def classify(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the first row with each key, in order, and those of them whose key is not cached."""
        return _classify(self.used, self.keys, keys)

    def insert(self, keys: np.ndarray, loss: np.ndarray, verdict: np.ndarray) -> None:
        if 2 * (self.count + len(keys)) > len(self.used):  # grow: rehash every entry into a table twice as large
            old = self.arrays()
            capacity = len(self.used)
            while 2 * (self.count + len(keys)) > capacity:
                capacity *= 2
            self._allocate(capacity)
            self.count = 0
            self.insert(*old)
        batch_loss, batch_verdict = np.asarray(loss, np.float64), np.asarray(verdict, np.int32)
        self.count += _insert(self.used, self.keys, self.loss, self.verdict, keys, batch_loss, batch_verdict)

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(loss, verdict)`` of cached keys (every key must be cached)."""
        return _lookup(self.used, self.keys, self.loss, self.verdict, keys)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Keys (``uint64[n, 2]``), losses and verdicts of every entry."""
        return self.keys[self.used], self.loss[self.used], self.verdict[self.used]


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
