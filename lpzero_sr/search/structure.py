"""The structural rules of a :class:`~lpzero_sr.rules.ruleset.RuleSet`, checked on whole populations (numba).

:meth:`RuleSet.tree_violation` builds a :class:`~lpzero_sr.formula.Node` tree per formula; here one pass over each
prefix row computes every subtree's size, depth and, for each operator that a ``nesting`` rule limits, the most
occurrences on one path, and the number of distinct statistics the row reads; the rules are decided from those in the
rule set's order: the first rule that rejects a formula names it, as in the reference. ``max_size``, ``max_depth``,
``max_variables``, ``nesting`` and ``arg_size`` are compiled; a structural rule of another kind is asked through its
own ``rejects_tree`` (in Python, for the rows still open).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from lpzero_sr.formula import Node
from lpzero_sr.rules.ruleset import ArgSize, MaxDepth, MaxSize, MaxVariables, Nesting, RuleSet
from lpzero_sr.search.programs import Alphabet

SIZE, DEPTH, NESTING, ARG_SIZE, OTHER, VARIABLES = 0, 1, 2, 3, 4, 5
LIMIT_KINDS = ((MaxSize, SIZE), (MaxDepth, DEPTH), (MaxVariables, VARIABLES))  # rules of one ``limit``
UNLIMITED = -1


class StructureChecks:
    """Compiled structural rules of ``rules`` over the symbols of ``alphabet``."""

    def __init__(self, rules: RuleSet, alphabet: Alphabet) -> None:
        self.rules, self.alphabet = rules, alphabet
        self.index = [i for i, r in enumerate(rules.rules) if r.stage == "structure"]
        n_rules, n_ops = len(self.index), len(alphabet.ops)
        inner_ops = sorted(
            {alphabet.ops.index(inner) for i in self.index if isinstance(rules.rules[i], Nesting)
             for limits in rules.rules[i].params["limits"].values() for inner in limits if inner in alphabet.ops}
        )  # fmt: skip
        self.tracked = np.array(inner_ops, np.int32)
        self.kinds = np.full(n_rules, OTHER, np.int32)
        self.limits = np.zeros(n_rules, np.int64)
        self.nesting = np.full((n_rules, max(n_ops, 1), max(len(inner_ops), 1)), UNLIMITED, np.int64)
        self.arg_size = np.full((n_rules, max(n_ops, 1), 2), UNLIMITED, np.int64)
        for j, i in enumerate(self.index):
            rule = self.rules.rules[i]
            limit_kind = next((kind for cls, kind in LIMIT_KINDS if isinstance(rule, cls)), None)
            if limit_kind is not None:
                self.kinds[j] = limit_kind
                self.limits[j] = rule.params["limit"]
            elif isinstance(rule, Nesting):
                self.kinds[j] = NESTING
                for outer, inner_limits in rule.params["limits"].items():
                    for inner, n in inner_limits.items():
                        if outer in alphabet.ops and inner in alphabet.ops:
                            self.nesting[j, alphabet.ops.index(outer), inner_ops.index(alphabet.ops.index(inner))] = n
            elif isinstance(rule, ArgSize):
                self.kinds[j] = ARG_SIZE
                for op, lim in rule.params["limits"].items():
                    if op in alphabet.ops:
                        per_arg = lim if isinstance(lim, list) else [lim, lim]
                        for a, n in enumerate(per_arg[:2]):
                            self.arg_size[j, alphabet.ops.index(op), a] = n if n >= 0 else UNLIMITED

    def violations(self, codes: np.ndarray, lens: np.ndarray) -> np.ndarray:
        """``int32`` per row: the index (in ``rules.rules``) of the first structural rule that rejects it, or -1."""
        local = _violations(
            codes, lens, self.alphabet.arity, len(self.alphabet.ops), self.alphabet.n_features, self.kinds, self.limits,
            self.tracked, self.nesting, self.arg_size,
        )  # fmt: skip
        out = np.full(len(lens), -1, np.int32)
        for j, i in enumerate(self.index):
            if self.kinds[j] == OTHER:  # another kind of rule: asked in Python, for the rows still open
                for row in np.flatnonzero((local < 0) | (local > j)):
                    tree = Node.from_tokens(self.alphabet.decode(codes[row, : lens[row]]))
                    if self.rules.rules[i].rejects_tree(tree):
                        local[row] = j
        hit = local >= 0
        out[hit] = np.asarray(self.index, np.int32)[local[hit]]
        return out


@njit(cache=True, nogil=True)
def _violations(codes, lens, arity, n_ops, n_features, kinds, limits, tracked, nesting, arg_size):  # noqa: ANN001, ANN202
    n, width = codes.shape
    n_rules = kinds.shape[0]
    n_tracked = tracked.shape[0]
    out = np.full(n, -1, np.int32)
    size = np.empty(width, np.int64)
    depth = np.empty(width, np.int64)
    paths = np.zeros((width, max(n_tracked, 1)), np.int64)  # most occurrences of each tracked op on one path
    child = np.empty((width, 2), np.int64)
    stack = np.empty(width, np.int64)
    for i in range(n):
        length = lens[i]
        sp = 0
        for k in range(length - 1, -1, -1):
            sym = codes[i, k]
            a = arity[sym]
            size[k] = 1
            depth[k] = 1
            for t in range(n_tracked):
                paths[k, t] = 0
            for c in range(a):
                sp -= 1
                node = stack[sp]
                child[k, c] = node
                size[k] += size[node]
                depth[k] = max(depth[k], depth[node] + 1)
                for t in range(n_tracked):
                    paths[k, t] = max(paths[k, t], paths[node, t])
            for t in range(n_tracked):
                if sym == tracked[t]:
                    paths[k, t] += 1
            stack[sp] = k
            sp += 1
        for j in range(n_rules):
            kind = kinds[j]
            bad = False
            if kind == 0:
                bad = size[0] > limits[j]
            elif kind == 1:
                bad = depth[0] > limits[j]
            elif kind == 5:  # distinct statistics: a feature code not seen earlier in the row
                distinct = 0
                for k in range(length):
                    sym = codes[i, k]
                    if n_ops <= sym < n_ops + n_features:
                        seen = False
                        for m in range(k):
                            if codes[i, m] == sym:
                                seen = True
                                break
                        distinct += not seen
                bad = distinct > limits[j]
            elif kind == 2 or kind == 3:
                for k in range(length):
                    sym = codes[i, k]
                    if sym >= n_ops:
                        continue
                    for c in range(arity[sym]):
                        node = child[k, c]
                        if kind == 2:
                            for t in range(n_tracked):
                                lim = nesting[j, sym, t]
                                if lim >= 0 and paths[node, t] > lim:
                                    bad = True
                        else:
                            lim = arg_size[j, sym, c]
                            if lim >= 0 and size[node] > lim:
                                bad = True
            if bad:
                out[i] = j
                break
    return out
