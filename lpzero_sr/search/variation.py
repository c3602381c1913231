"""DEAP's genetic-programming operators, batched over a population of prefix rows (numba).

The search used ``deap.gp`` on one ``PrimitiveTree`` object at a time, which cost about 0.4 ms of Python per new
formula (cloning, ``staticLimit``'s deep copies, NSGA-II's pairwise dominance loops), 400 times what the compiled
evaluation of that formula costs. The same operators, with the same choices and probabilities, run here on the
integer rows of :mod:`lpzero_sr.search.programs`, one call per generation:

* :func:`generate`: ``gp.genHalfAndHalf`` / ``gp.genFull`` / ``gp.genGrow`` (uniform height in
  ``[min_height, max_height]``; grow stops early with probability ``pset.terminalRatio``);
* :func:`vary`: ``gp.cxOnePoint`` on consecutive pairs with probability ``CXPB`` (a uniform non-root point in each
  parent), then per child with probability ``MUTPB`` one of ``gp.mutUniform`` (a uniform subtree replaced by a
  ``genFull`` tree of height 0-2), ``gp.mutNodeReplacement``, ``gp.mutShrink`` and ``gp.mutInsert`` (drawn with
  probabilities 0.4 / 0.3 / 0.15 / 0.15, shrink falling through to insert on a single leaf); a result bigger than
  ``max_size`` nodes, then one higher than ``max_height``, becomes a random one of the operator's arguments as they
  were before it (``gp.staticLimit``, applied for size, then for height).

Randomness comes only from the caller: one row of uniforms per pair of children (:data:`DRAWS` values), drawn in the
main process from the search's numpy generator, so a generation consumes a fixed number of draws whatever happens.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from lpzero_sr.search.programs import PAD, subtree_end

CXPB, MUTPB = 0.6, 0.5
MUT_UNIFORM, MUT_NODE, MUT_SHRINK = 0.4, 0.7, 0.85  # cumulative thresholds; the rest is mutInsert
DRAWS = 64  # uniforms per pair of children: crossover 3 + 4 limit checks, each mutation at most 14 + 2 checks


@njit(cache=True, nogil=True)
def _pick(u: float, n: int) -> int:
    """``random.choice`` of ``range(n)`` from one uniform."""
    return min(int(u * n), n - 1)


@njit(cache=True, nogil=True)
def _height(row: np.ndarray, length: int, arity: np.ndarray, stack: np.ndarray) -> int:
    sp = 0
    for k in range(length - 1, -1, -1):
        h = 0
        for _ in range(arity[row[k]]):
            sp -= 1
            h = max(h, stack[sp] + 1)
        stack[sp] = h
        sp += 1
    return stack[0]


@njit(cache=True, nogil=True)
def _grow(out, at, u, cursor, prims, n_terms, first_term, min_h, max_h, full, ratio, arity, depths):  # noqa: ANN001, ANN202
    """Write a DEAP-generated tree at ``out[at:]``; returns ``(end, cursor)``. ``full``: ``genFull``, else
    ``genGrow``; the height is drawn uniformly from ``min_h .. max_h`` (``depths``: scratch)."""
    height = min_h + _pick(u[cursor], max_h - min_h + 1)
    cursor += 1
    depths[0] = 0
    sp = 1
    k = at
    while sp > 0:
        sp -= 1
        depth = depths[sp]
        leaf = depth == height
        if not leaf and not full and depth >= min_h:
            leaf = u[cursor] < ratio
            cursor += 1
        if leaf:
            out[k] = first_term + _pick(u[cursor], n_terms)
        else:
            out[k] = prims[_pick(u[cursor], prims.shape[0])]
            for _ in range(arity[out[k]]):
                depths[sp] = depth + 1
                sp += 1
        cursor += 1
        k += 1
    return k, cursor


@njit(cache=True, nogil=True)
def generate(n, width, u, prims, n_terms, first_term, ratio, arity, min_h, max_h):  # noqa: ANN001, ANN201
    """``n`` trees of ``gp.genHalfAndHalf(min_h, max_h)``: one row of ``u`` per tree."""
    codes = np.full((n, width), PAD, np.int32)
    lens = np.zeros(n, np.int32)
    buf = np.empty(2**9, np.int32)
    depths = np.empty(2**9, np.int64)
    for i in range(n):
        full = u[i, 0] < 0.5
        end, _ = _grow(buf, 0, u[i], 1, prims, n_terms, first_term, min_h, max_h, full, ratio, arity, depths)
        codes[i, :end] = buf[:end]
        lens[i] = end
    return codes, lens


@njit(cache=True, nogil=True)
def _splice(row, length, start, stop, piece, piece_len, out):  # noqa: ANN001, ANN202
    """``row[:start] + piece + row[stop:]`` into ``out``; returns the new length."""
    k = 0
    for j in range(start):
        out[k] = row[j]
        k += 1
    for j in range(piece_len):
        out[k] = piece[j]
        k += 1
    for j in range(stop, length):
        out[k] = row[j]
        k += 1
    return k


@njit(cache=True, nogil=True)
def _mutate(row, length, u, cursor, out, prims, unary, binary, n_terms, first_term, arity, piece, ints):  # noqa: ANN001, ANN202
    """One DEAP mutation of ``row`` into ``out``; returns ``(length, cursor)`` (``piece``, ``ints``: scratch)."""
    r = u[cursor]
    cursor += 1
    if r < MUT_UNIFORM:  # mutUniform: a uniform subtree becomes genFull(min 0, max 2)
        index = _pick(u[cursor], length)
        cursor += 1
        stop = subtree_end(row, arity, index)
        size, cursor = _grow(piece, 0, u, cursor, prims, n_terms, first_term, 0, 2, True, 0.0, arity, ints)
        return _splice(row, length, index, stop, piece, size, out), cursor
    if r < MUT_NODE:  # mutNodeReplacement: a non-root node becomes another of its arity
        out[:length] = row[:length]
        if length < 2:
            return length, cursor
        index = 1 + _pick(u[cursor], length - 1)
        cursor += 1
        a = arity[row[index]]
        if a == 0:
            out[index] = first_term + _pick(u[cursor], n_terms)
        elif a == 1:
            out[index] = unary[_pick(u[cursor], unary.shape[0])]
        else:
            out[index] = binary[_pick(u[cursor], binary.shape[0])]
        cursor += 1
        return length, cursor
    if r < MUT_SHRINK and length > 1:  # mutShrink: a non-root operator becomes one of its arguments
        out[:length] = row[:length]
        if length < 3 or _height(row, length, arity, ints) <= 1:
            return length, cursor
        n_prims = 0
        for k in range(1, length):
            if arity[row[k]] > 0:
                n_prims += 1
        if n_prims == 0:
            return length, cursor
        choice = _pick(u[cursor], n_prims)
        cursor += 1
        index = 0
        for k in range(1, length):
            if arity[row[k]] > 0:
                if choice == 0:
                    index = k
                    break
                choice -= 1
        arg = _pick(u[cursor], arity[row[index]])
        cursor += 1
        start = index + 1
        for _ in range(arg):
            start = subtree_end(row, arity, start)
        stop = subtree_end(row, arity, start)
        size = stop - start
        piece[:size] = row[start:stop]
        return _splice(row, length, index, subtree_end(row, arity, index), piece, size, out), cursor
    # mutInsert: a new operator above a uniform node, that node at a uniform argument, terminals elsewhere
    index = _pick(u[cursor], length)
    cursor += 1
    stop = subtree_end(row, arity, index)
    prim = prims[_pick(u[cursor], prims.shape[0])]
    cursor += 1
    a = arity[prim]
    position = _pick(u[cursor], a)
    cursor += 1
    tree = piece
    tree[0] = prim
    k = 1
    for i in range(a):
        if i == position:
            for j in range(index, stop):
                tree[k] = row[j]
                k += 1
        else:
            tree[k] = first_term + _pick(u[cursor], n_terms)
            cursor += 1
            k += 1
    return _splice(row, length, index, stop, tree, k, out), cursor


@njit(cache=True, nogil=True)
def _limited(rows, lens, originals, original_lens, u, cursor, max_size, max_height, arity, ints):  # noqa: ANN001, ANN202
    """``gp.staticLimit`` for size, then for height: a child over the limit becomes a random original (a copy of
    one of the operator's arguments). Returns the cursor."""
    for check in range(2):
        for c in range(rows.shape[0]):
            over = lens[c] > max_size if check == 0 else _height(rows[c], lens[c], arity, ints) > max_height
            if over:
                k = _pick(u[cursor], originals.shape[0])
                rows[c, :] = PAD
                rows[c, : original_lens[k]] = originals[k, : original_lens[k]]
                lens[c] = original_lens[k]
            cursor += 1
    return cursor


@njit(cache=True, nogil=True)
def _store(out, i, row, length):  # noqa: ANN001, ANN202
    out[i, :] = PAD
    out[i, :length] = row[:length]


@njit(cache=True, nogil=True)
def vary(codes, lens, parents, u, prims, unary, binary, n_terms, first_term, arity, max_size, max_height):  # noqa: ANN001, ANN201
    """Offspring of rows ``parents`` of ``codes`` (DEAP's ``varAnd`` order: crossover of pairs, then mutation of
    each child), one row of ``u`` per pair."""
    n = parents.shape[0]
    width = codes.shape[1]
    wide = 4 * width + 8  # room for a child before its limits are checked
    out = np.full((n, width), PAD, np.int32)
    out_lens = np.zeros(n, np.int32)
    pair = np.full((2, wide), PAD, np.int32)
    pair_lens = np.zeros(2, np.int32)
    piece = np.empty(wide, np.int32)
    ints = np.empty(wide, np.int64)
    for i in range(n):
        p = parents[i]
        out[i, : lens[p]] = codes[p, : lens[p]]
        out_lens[i] = lens[p]
    for q in range((n + 1) // 2):
        a, b = 2 * q, 2 * q + 1
        row = u[q]
        if b < n and row[0] < CXPB and out_lens[a] >= 2 and out_lens[b] >= 2:  # cxOnePoint
            la, lb = out_lens[a], out_lens[b]
            ia = 1 + _pick(row[1], la - 1)
            ib = 1 + _pick(row[2], lb - 1)
            ea, eb = subtree_end(out[a], arity, ia), subtree_end(out[b], arity, ib)
            pair[:] = PAD
            pair_lens[0] = _splice(out[a], la, ia, ea, out[b, ib:eb], eb - ib, pair[0])
            pair_lens[1] = _splice(out[b], lb, ib, eb, out[a, ia:ea], ea - ia, pair[1])
            _limited(pair, pair_lens, out[a : b + 1], out_lens[a : b + 1], row, 3, max_size, max_height, arity, ints)
            for c in range(2):
                _store(out, a + c, pair[c], pair_lens[c])
                out_lens[a + c] = pair_lens[c]
        for c, child in enumerate((a, b)):
            if child >= n:
                continue
            cursor = 7 + c * (DRAWS - 7) // 2
            if row[cursor] < MUTPB:
                pair[0] = PAD
                pair_lens[0], _ = _mutate(out[child], out_lens[child], row, cursor + 1, pair[0], prims, unary, binary,
                                          n_terms, first_term, arity, piece, ints)  # fmt: skip
                _limited(pair[:1], pair_lens[:1], out[child : child + 1], out_lens[child : child + 1], row,
                         cursor + 16, max_size, max_height, arity, ints)  # fmt: skip
                _store(out, child, pair[0], pair_lens[0])
                out_lens[child] = pair_lens[0]
    return out, out_lens
