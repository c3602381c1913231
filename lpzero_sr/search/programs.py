"""Formulas as rows of integers: the population format of the search and of the compiled evaluator.

A search's :class:`Alphabet` numbers its symbols: the rule set's operators first (unary, then binary, in the rule
set's order), then the table's feature columns, then the rule set's constants. A formula is its prefix token tuple
(:mod:`lpzero_sr.formula`) written with those numbers; a population is an ``int32`` matrix of such rows, padded
with -1, plus their lengths. :func:`program_keys` gives each row a 128-bit key (two independent 64-bit hashes of
its symbols and length), the canonical form by which outcomes are cached and duplicates skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numba import njit

from lpzero_sr.formula import Token
from lpzero_sr.operators import OPS

PAD = -1


@dataclass(frozen=True)
class Alphabet:
    """The symbols of one search: ``ops`` (operator names), ``n_features`` columns and ``constants``."""

    ops: tuple[str, ...]
    n_features: int
    constants: tuple[float, ...] = ()

    @property
    def size(self) -> int:
        return len(self.ops) + self.n_features + len(self.constants)

    @cached_property
    def arity(self) -> np.ndarray:
        """``int8`` arity of every symbol (0 for terminals)."""
        out = np.zeros(self.size, np.int8)
        out[: len(self.ops)] = [OPS.get(name).arity for name in self.ops]
        return out

    def encode(self, tokens: Sequence[Token]) -> np.ndarray:
        """The ``int32`` row of a prefix token tuple."""
        out = np.empty(len(tokens), np.int32)
        for k, tok in enumerate(tokens):
            if isinstance(tok, str):
                out[k] = self.ops.index(tok)
            elif isinstance(tok, int):
                out[k] = len(self.ops) + tok
            else:
                out[k] = len(self.ops) + self.n_features + self.constants.index(float(tok))
        return out

    def decode(self, row: np.ndarray) -> tuple[Token, ...]:
        """The prefix token tuple of an ``int32`` row (without padding)."""
        n_ops, n_feat = len(self.ops), self.n_features
        out: list[Token] = []
        for code in row.tolist():
            if code < n_ops:
                out.append(self.ops[code])
            elif code < n_ops + n_feat:
                out.append(code - n_ops)
            else:
                out.append(float(self.constants[code - n_ops - n_feat]))
        return tuple(out)

    def matrix(self, formulas: Sequence[Sequence[Token]], width: int) -> tuple[np.ndarray, np.ndarray]:
        """A padded ``(len(formulas), width)`` code matrix and the lengths."""
        codes = np.full((len(formulas), width), PAD, np.int32)
        lens = np.zeros(len(formulas), np.int32)
        for i, tokens in enumerate(formulas):
            codes[i, : len(tokens)] = self.encode(tokens)
            lens[i] = len(tokens)
        return codes, lens


@njit(cache=True, nogil=True)
def program_keys(codes: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """``uint64[n, 2]``: two 64-bit hashes (FNV-1a and a multiply-xorshift mix) of each row's symbols and length."""
    n = codes.shape[0]
    out = np.empty((n, 2), np.uint64)
    for i in range(n):
        a = np.uint64(14695981039346656037)
        b = np.uint64(0x9E3779B97F4A7C15) ^ np.uint64(lens[i])
        for k in range(lens[i]):
            s = np.uint64(codes[i, k] + 1)
            a = (a ^ s) * np.uint64(1099511628211)
            b = (b ^ (s + np.uint64(0x632BE59BD9B4E019) * np.uint64(k + 1))) * np.uint64(0xBF58476D1CE4E5B9)
            b ^= b >> np.uint64(31)
        out[i, 0] = a ^ np.uint64(lens[i])
        out[i, 1] = b
    return out


@njit(cache=True, nogil=True)
def subtree_end(codes: np.ndarray, arity: np.ndarray, start: int) -> int:
    """One past the last position of the subtree that starts at ``start`` in a prefix row."""
    need = 1
    k = start
    while need > 0:
        need += arity[codes[k]] - 1
        k += 1
    return k
