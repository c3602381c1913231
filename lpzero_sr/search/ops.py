"""The operator vocabulary of the search: numpy semantics, sympy form and PySR (Julia) name of each operator.

Every operator's numpy implementation is exactly the guarded evaluation (:mod:`lpzero_sr.compile`) of its
sympy form, so a formula scores the same in the search, in a saved :class:`~lpzero_sr.proxy.Proxy` and in
its torch callable. ``log`` and ``sqrt`` act on ``|x|`` (features span orders of magnitude and have signs).

Search trees are prefix token tuples: an ``str`` token is an operator name, an ``int`` a feature index, a
``float`` a constant.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy

from lpzero_sr.compile import np_exp, np_log, np_pow
from lpzero_sr.registry import Registry

Token = str | int | float


@dataclass(frozen=True)
class Op:
    """One operator: ``arity`` 1 or 2; ``julia`` is its PySR operator (a definition when not built in)."""

    name: str
    arity: int
    numpy: Callable[..., np.ndarray]
    sympy: Callable[..., sympy.Expr]
    julia: str

    @property
    def julia_name(self) -> str:
        return self.julia.split("(", 1)[0].strip()


OPS: Registry[Op] = Registry("operator")


def _op(name: str, arity: int, fn: Callable, sym: Callable, julia: str) -> None:
    OPS.register(name)(Op(name, arity, fn, sym, julia))


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return np_pow(1.0 + np_exp(-a), -1.0)


_op("add", 2, lambda a, b: a + b, lambda a, b: a + b, "+")
_op("sub", 2, lambda a, b: a + (-b), lambda a, b: a - b, "-")
_op("mul", 2, lambda a, b: a * b, lambda a, b: a * b, "*")
_op(
    "div",
    2,
    lambda a, b: a * np_pow(b, -1.0),
    lambda a, b: a / b,
    "safediv(x, y) = x / (abs(y) < 1e-30 ? copysign(oftype(y, 1e-30), y) : y)",
)
_op(
    "inv",
    1,
    lambda a: np_pow(a, -1.0),
    lambda a: 1 / a,
    "safeinv(x) = one(x) / (abs(x) < 1e-30 ? copysign(oftype(x, 1e-30), x) : x)",
)
_op("neg", 1, lambda a: -a, lambda a: -a, "neg")
_op("abs", 1, np.abs, sympy.Abs, "abs")
_op(
    "log",
    1,
    lambda a: np_log(np.abs(a)),
    lambda a: sympy.log(sympy.Abs(a)),
    "logabs(x) = log(max(abs(x), oftype(x, 1e-30)))",
)
_op("sqrt", 1, lambda a: np_pow(np.abs(a), 0.5), lambda a: sympy.sqrt(sympy.Abs(a)), "sqrtabs(x) = sqrt(abs(x))")
_op("square", 1, lambda a: np_pow(a, 2.0), lambda a: a**2, "square")
_op("exp", 1, np_exp, sympy.exp, "expclip(x) = exp(min(x, oftype(x, 80)))")
_op(
    "sigmoid",
    1,
    _sigmoid,
    lambda a: 1 / (1 + sympy.exp(-a)),
    "sigm(x) = one(x) / (one(x) + exp(min(-x, oftype(x, 80))))",
)


def evaluate(tokens: Sequence[Token], columns: Sequence[np.ndarray]) -> np.ndarray:
    """Evaluate a prefix token tuple over feature ``columns`` (numpy, guarded; never raises on bad values)."""
    pos = 0

    def rec() -> np.ndarray | float:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if isinstance(tok, str):
            op = OPS.get(tok)
            args = [rec() for _ in range(op.arity)]
            return op.numpy(*args)
        if isinstance(tok, int):
            return columns[tok]
        return float(tok)

    with np.errstate(all="ignore"):
        out = rec()
    return np.broadcast_to(np.asarray(out, dtype=float), np.shape(columns[0])) if columns else np.asarray(out)


def to_sympy(tokens: Sequence[Token], symbols: Sequence[sympy.Symbol]) -> sympy.Expr:
    """The sympy form of a prefix token tuple (``symbols[i]`` for feature ``i``)."""
    pos = 0

    def rec() -> sympy.Expr:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if isinstance(tok, str):
            op = OPS.get(tok)
            return op.sympy(*[rec() for _ in range(op.arity)])
        if isinstance(tok, int):
            return symbols[tok]
        return sympy.Float(tok) if tok != int(tok) else sympy.Integer(int(tok))

    return rec()


def render(tokens: Sequence[Token], names: Sequence[str], julia: bool = False) -> str:
    """Readable infix-free form, ``op(arg, ...)``; with ``julia`` the PySR operator names are used."""
    pos = 0

    def rec() -> str:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if isinstance(tok, str):
            op = OPS.get(tok)
            args = [rec() for _ in range(op.arity)]
            name = op.julia_name if julia else op.name
            if julia and name in "+-*":
                return f"({args[0]} {name} {args[1]})"
            return f"{name}({', '.join(args)})"
        if isinstance(tok, int):
            return names[tok]
        return repr(float(tok))

    return rec()
