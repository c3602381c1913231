"""The population kernels around the generated operator dispatcher (see :mod:`lpzero_sr.search.compiled`).

This file is a template: :func:`lpzero_sr.search.compiled.kernel_source` copies everything below the marker line,
verbatim, into the generated module after the generated ``apply`` (one branch per operator, written from its
definition), so the kernels here are compiled with it. The ``apply`` stub only names its signature.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from lpzero_sr.search import rankcorr
from lpzero_sr.search.numpy_loops import call_at


def apply(opcode, stack, sp, n, T, meta, loops):
    """Operator ``opcode`` on the top of ``stack`` (rows ``:n``); returns its arity (generated)."""
    raise NotImplementedError


# ---- template: copied into the generated module ----
@njit(cache=True, nogil=True)
def call_loop(loops, k, x, out, n, meta):
    """numpy's float64 inner loop ``k`` (``loops[2k]``: its address, ``loops[2k + 1]``: its data pointer;
    :mod:`lpzero_sr.search.numpy_loops`) from ``x[:n]`` into ``out[:n]``."""
    meta[0] = x.ctypes.data
    meta[1] = out.ctypes.data
    meta[2] = n
    meta[3] = 8
    meta[4] = 8
    base = meta.ctypes.data
    call_at(loops[2 * k], base, base + 16, base + 24, loops[2 * k + 1])


@njit(cache=True, nogil=True)
def run(row, length, sym_op, sym_col, sym_const, cols, lo, n, stack, T, meta, loops):
    """Values of one prefix row over rows ``lo .. lo + n`` of ``cols``, left in ``stack[0, :n]`` (evaluated right
    to left: a postfix program on a stack of row vectors)."""
    sp = 0
    for k in range(length - 1, -1, -1):
        s = row[k]
        op = sym_op[s]
        if op < 0:
            c = sym_col[s]
            if c >= 0:
                stack[sp, :n] = cols[c, lo : lo + n]
            else:
                stack[sp, :n] = sym_const[s]
            sp += 1
        else:
            sp -= apply(op, stack, sp, n, T, meta, loops) - 1


@njit(cache=True, nogil=True)
def values(codes, lens, sym_op, sym_col, sym_const, cols, slots, lo, n, loops):
    """Every row's values over rows ``lo .. lo + n`` of ``cols`` (what the rules and the rank loss see)."""
    out = np.empty((codes.shape[0], n))
    stack = np.empty((codes.shape[1] + 1, max(n, 1)))
    T = np.empty((slots, max(n, 1)))
    meta = np.empty(8, np.int64)
    for i in range(codes.shape[0]):
        run(codes[i], lens[i], sym_op, sym_col, sym_const, cols, lo, n, stack, T, meta, loops)
        out[i] = stack[0, :n]
    return out


@njit(cache=True, nogil=True)
def value_violation(scores, kinds, rules):
    """Index of the first value rule (kind 0: finite, 1: non-constant) that rejects ``scores``, or -1."""
    for k in range(kinds.shape[0]):
        if kinds[k] == 0:
            for v in scores:
                if not np.isfinite(v):
                    return rules[k]
        else:
            constant = True
            for v in scores:
                if v != scores[0]:
                    constant = False
                    break
            if scores.shape[0] < 2 or constant:
                return rules[k]
    return -1


@njit(cache=True, nogil=True)
def table_outcome(values, t, scoring):
    """``(loss, verdict)`` of a formula's row ``values`` on table ``t``: early rejection on the subsample, the value
    rules, then the rank loss, as :class:`~lpzero_sr.search.fitness.Fitness` decides them. ``scoring``: the tables'
    layout and targets, the rules and the loss (:attr:`lpzero_sr.search.evaluators.CompiledEvaluator.scoring`)."""
    tables, groups, sample_rows, sample_groups, centred, dense, ties, early = scoring[:8]
    value_kinds, value_rules, method, aggregation = scoring[8:]
    n, arch_lo, n_archs, per_layer = tables[t, 1], tables[t, 2], tables[t, 3], tables[t, 4]
    s_lo, s_n, s_arch_lo, s_archs = tables[t, 5], tables[t, 6], tables[t, 7], tables[t, 8]
    lo = tables[t, 0]
    if s_archs > 0:
        sub = np.empty(s_n)
        for k in range(s_n):
            sub[k] = values[sample_rows[s_lo + k]]
        if per_layer:
            sub = rankcorr.aggregate_rows(sub, sample_groups[s_lo : s_lo + s_n], s_archs, aggregation)
        sub_loss = rankcorr.rank_loss(
            sub, method, centred[s_arch_lo : s_arch_lo + s_archs], dense[s_arch_lo : s_arch_lo + s_archs], ties[t, 1]
        )
        if 1.0 - sub_loss < early[0] and value_violation(sub, value_kinds, value_rules) < 0:
            return rankcorr.WORST_LOSS, np.int32(early[1])
    scores = rankcorr.aggregate_rows(values, groups[lo : lo + n], n_archs, aggregation) if per_layer else values
    v = value_violation(scores, value_kinds, value_rules)
    if v >= 0:
        return rankcorr.WORST_LOSS, np.int32(v)
    loss = rankcorr.rank_loss(
        scores, method, centred[arch_lo : arch_lo + n_archs], dense[arch_lo : arch_lo + n_archs], ties[t, 0]
    )
    return loss, np.int32(-1)


@njit(cache=True, nogil=True)
def evaluate(
    codes,
    lens,
    todo,
    verdict,
    sym_op,
    sym_col,
    sym_const,
    cols,
    slots,
    scoring,
    reduce,
    loops,
):
    """Loss and verdict of rows ``todo`` of ``codes`` whose structural ``verdict`` is -1, over every table (the
    mean or, ``reduce == 1``, the worst loss; the first table that rejects a formula names the rule). Releases the
    GIL: threads may evaluate disjoint parts of a population at once."""
    tables = scoring[0]
    m = todo.shape[0]
    loss = np.full(m, rankcorr.WORST_LOSS)
    out = np.empty(m, np.int32)
    max_rows = 1
    for t in range(tables.shape[0]):
        max_rows = max(max_rows, tables[t, 1])
    stack = np.empty((codes.shape[1] + 1, max_rows))
    T = np.empty((slots, max_rows))
    meta = np.empty(8, np.int64)
    for j in range(m):
        i = todo[j]
        out[j] = verdict[i]
        if verdict[i] >= 0:
            continue
        total = 0.0
        worst = 0.0
        for t in range(tables.shape[0]):
            lo, n = tables[t, 0], tables[t, 1]
            run(
                codes[i],
                lens[i],
                sym_op,
                sym_col,
                sym_const,
                cols,
                lo,
                n,
                stack,
                T,
                meta,
                loops,
            )
            part, v = table_outcome(stack[0, :n], t, scoring)
            if v >= 0:
                out[j] = v
                break
            total += part
            worst = max(worst, part)
        if out[j] < 0:
            loss[j] = total / tables.shape[0] if reduce == 0 else worst
    return loss, out
