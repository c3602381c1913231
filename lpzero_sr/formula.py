"""Formula trees over named statistics: the one representation that search, proxy files and every backend share.

A :class:`Node` is an operator of :data:`lpzero_sr.operators.OPS` with its arguments, a variable (a statistic
name) or a numeric constant. The search works on prefix token tuples (``str`` operator, ``int`` feature index,
``float`` constant) for speed; :meth:`Node.from_tokens` turns them into the same tree a proxy file stores, so
the formula the search scored is the formula that is saved, printed and compiled: nothing simplifies it.

* :func:`evaluate` computes a tree with any primitive backend (numpy, torch) from leaf values;
* :func:`evaluate_tokens` is the search's hot path: the same operator definitions on token tuples;
* :meth:`Node.to_json` / :meth:`Node.from_json` read and write the JSON tree of a proxy file (never parsed as text).

Every other form of a tree (readable text, LaTeX, sympy, torch, Julia) is an export: :mod:`lpzero_sr.export`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lpzero_sr.errors import LpzeroError
from lpzero_sr.operators import NUMPY, OPS

Token = str | int | float
MAX_DEPTH = 64  # deeper JSON trees are refused (the search's rules keep formulas far smaller)


class FormulaError(LpzeroError):
    """A formula tree that cannot be used (bad JSON node, unknown operator, too deep)."""


@dataclass(frozen=True)
class Node:
    """An operator node (``op`` and ``args``), a variable (``var``) or a constant (``const``)."""

    op: str | None = None
    args: tuple[Node, ...] = ()
    var: str | None = None
    const: float | None = None

    # ------------------------------------------------------------------ structure
    @property
    def children(self) -> tuple[Node, ...]:
        return self.args

    @property
    def size(self) -> int:
        return 1 + sum(a.size for a in self.args)

    @property
    def depth(self) -> int:
        """Nodes on the longest root-to-leaf path (a single leaf has depth 1, as in PySR)."""
        return 1 + max((a.depth for a in self.args), default=0)

    def walk(self) -> Iterator[Node]:
        yield self
        for a in self.args:
            yield from a.walk()

    def max_path_count(self, op: str) -> int:
        """Most occurrences of ``op`` on one root-to-leaf path of this subtree."""
        return int(self.op == op) + max((a.max_path_count(op) for a in self.args), default=0)

    @property
    def variables(self) -> tuple[str, ...]:
        """Statistic names the formula reads (sorted)."""
        return tuple(sorted({n.var for n in self.walk() if n.var is not None}))

    # ------------------------------------------------------------------ tokens
    @classmethod
    def from_tokens(cls, tokens: Sequence[Token], names: Sequence[str] | None = None) -> Node:
        """The tree of a prefix token tuple; feature ``i`` becomes variable ``names[i]`` (``x<i>`` without names)."""
        pos = 0

        def rec() -> Node:
            nonlocal pos
            tok = tokens[pos]
            pos += 1
            if isinstance(tok, str):
                op = OPS.get(tok)
                return cls(op=tok, args=tuple(rec() for _ in range(op.arity)))
            if isinstance(tok, int):
                return cls(var=names[tok] if names is not None else f"x{tok}")
            return cls(const=float(tok))

        return rec()

    def to_tokens(self, names: Sequence[str]) -> tuple[Token, ...]:
        """The prefix token tuple over features ``names`` (inverse of :meth:`from_tokens`)."""
        index = {n: i for i, n in enumerate(names)}
        out: list[Token] = []
        for node in self.walk():
            if node.op is not None:
                out.append(node.op)
            elif node.var is not None:
                if node.var not in index:
                    raise FormulaError(f"formula reads {node.var!r}, which is not a feature of the table")
                out.append(index[node.var])
            else:
                out.append(float(node.const))  # type: ignore[arg-type]
        return tuple(out)

    # ------------------------------------------------------------------ JSON
    def to_json(self) -> dict[str, Any]:
        if self.var is not None:
            return {"var": self.var}
        if self.const is not None:
            return {"const": self.const}
        return {"op": self.op, "args": [a.to_json() for a in self.args]}

    @classmethod
    def from_json(cls, data: Any, depth: int = 1) -> Node:
        """Validate and rebuild a JSON tree; every defect is one :class:`FormulaError` line."""
        if depth > MAX_DEPTH:
            raise FormulaError(f"formula tree is deeper than {MAX_DEPTH} levels")
        if not isinstance(data, Mapping):
            raise FormulaError(f"bad formula node: {str(data)[:60]!r} (expected an object)")
        if "var" in data:
            if not isinstance(data["var"], str) or not data["var"]:
                raise FormulaError(f"bad variable name: {str(data['var'])[:60]!r}")
            return cls(var=data["var"])
        if "const" in data:
            value = data["const"]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
                raise FormulaError(f"bad constant: {str(value)[:60]!r}")
            return cls(const=float(value))
        name = data.get("op")
        if not isinstance(name, str) or name not in OPS:
            raise FormulaError(f"unknown operator {str(name)[:60]!r}; known: {', '.join(OPS.names())}")
        args = data.get("args")
        arity = OPS.get(name).arity
        if not isinstance(args, list) or len(args) != arity:
            raise FormulaError(f"operator {name!r} needs a list of {arity} argument(s)")
        return cls(op=name, args=tuple(cls.from_json(a, depth + 1) for a in args))


# ------------------------------------------------------------------ evaluation
def evaluate(node: Node, leaves: Mapping[str, Any], backend: Any = NUMPY) -> Any:
    """The value of ``node`` with ``leaves[name]`` for each variable, computed with ``backend``'s primitives."""
    if node.var is not None:
        return leaves[node.var]
    if node.const is not None:
        return backend.const(node.const)
    return OPS.get(node.op).apply(backend, *(evaluate(a, leaves, backend) for a in node.args))  # type: ignore[arg-type]


def evaluate_numpy(node: Node, columns: Mapping[str, np.ndarray], n_rows: int | None = None) -> np.ndarray:
    """Values over numpy columns, broadcast to their shape (or to ``n_rows`` for a formula without variables);
    never raises on overflow or NaN."""
    with np.errstate(all="ignore"):
        out = evaluate(node, columns, NUMPY)
    shape = np.shape(next(iter(columns.values()))) if columns else (() if n_rows is None else (n_rows,))
    return np.broadcast_to(np.asarray(out, dtype=float), shape).copy()


def evaluate_tokens(tokens: Sequence[Token], columns: Sequence[np.ndarray]) -> np.ndarray:
    """The search's evaluation of a prefix token tuple: the same operator definitions as :func:`evaluate`."""
    pos = 0

    def rec() -> Any:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if isinstance(tok, str):
            op = OPS.get(tok)
            return op.apply(NUMPY, *[rec() for _ in range(op.arity)])
        if isinstance(tok, int):
            return columns[tok]
        return NUMPY.const(tok)

    with np.errstate(all="ignore"):
        out = rec()
    return np.broadcast_to(np.asarray(out, dtype=float), np.shape(columns[0])) if columns else np.asarray(out)


# ------------------------------------------------------------------ terminal names
def quantile_name(column: str) -> str:
    """The terminal name of ``column``'s training quantile (:mod:`lpzero_sr.quantile`): ``q(jacov)``."""
    return f"q({column})"


def quantile_column(terminal: str) -> str | None:
    """The column a quantile terminal reads (``q(jacov)`` -> ``jacov``); ``None`` for any other name."""
    return terminal[2:-1] if terminal.startswith("q(") and terminal.endswith(")") else None
