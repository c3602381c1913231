"""The operator vocabulary of every formula, defined once.

Statistics span orders of magnitude and carry signs, so most operators are *guarded*: ``log`` and ``sqrt`` act on
``|x|`` (``log`` floors it at :data:`TINY`), ``exp`` clips its argument at :data:`EXP_MAX`, ``div``/``inv`` push
denominators below :data:`TINY` in magnitude to ``+-TINY`` (the sign of the denominator). Each operator is written
once, in :data:`OPS`, as a composition of a few IEEE primitives (add, mul, neg, abs, log, exp, sqrt, recip,
min/max with a constant, copysign). A backend implements only those primitives, with its native functions:

* :data:`NUMPY` evaluates formulas in the search and on tables (:mod:`lpzero_sr.formula`);
* ``lpzero_sr.export.torch.TorchPrimitives`` in the scorer's ``nn.Module`` (differentiable, on any device);
* ``lpzero_sr.export.julia`` writes the Julia definition of each operator for PySR;
* ``lpzero_sr.export.torch`` writes Python source for ``lpzero-sr export --format torch``.

``max`` and ``min`` of two formulas are compositions too (``a + relu(b - a)``), so they need no primitive of their
own: each backend's max/min of two tensors would treat NaN and signed zeros its own way.

So every backend computes the same composition, in the same order, and agrees to the last rounding of the
underlying library functions. Besides ``define``, an operator carries plain data for the printers: its ``infix``
symbol where Julia's and Python's own operator has the same IEEE meaning (``+ - *``), the name of the opaque sympy
function that stands for a guarded operator (``logabs``; sympy cannot rewrite it, so ``exp(x)**2`` never becomes
``exp(2*x)``; :mod:`lpzero_sr.export.sympy`), and its readable text and LaTeX templates
(:mod:`lpzero_sr.export.text`). This module imports neither torch nor sympy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lpzero_sr.registry import Registry

TINY = 1e-30
EXP_MAX = 80.0


class NumpyPrimitives:
    """IEEE primitives on numpy arrays (callers silence floating-point warnings: overflow is a value here)."""

    add = staticmethod(np.add)
    mul = staticmethod(np.multiply)
    neg = staticmethod(np.negative)
    abs = staticmethod(np.abs)
    log = staticmethod(np.log)
    exp = staticmethod(np.exp)
    sqrt = staticmethod(np.sqrt)
    recip = staticmethod(np.reciprocal)
    copysign = staticmethod(np.copysign)

    @staticmethod
    def min_const(a: Any, c: float) -> Any:
        return np.minimum(a, c)  # propagates NaN, like torch.clamp and Julia's min

    @staticmethod
    def max_const(a: Any, c: float) -> Any:
        return np.maximum(a, c)

    @staticmethod
    def const(value: float) -> Any:
        return np.float64(value)


NUMPY = NumpyPrimitives()


@dataclass(frozen=True)
class Op:
    """One operator: ``define(p, *args)`` composes primitives of backend ``p``.

    The rest is data for the printers: ``infix`` is the built-in operator of Julia and Python with the same IEEE
    meaning (``+``, ``-``, ``*``; others are generated functions), ``sympy`` names the opaque sympy function of a
    guarded operator (``None``: sympy's own unevaluated arithmetic), ``text`` and ``latex`` format the printed
    arguments of a function-like operator (the arithmetic ones are printed with their precedence)."""

    name: str
    arity: int
    define: Callable[..., Any]
    infix: str | None = None
    sympy: str | None = None
    text: str = ""
    latex: str = ""

    def apply(self, backend: Any, *args: Any) -> Any:
        return self.define(backend, *args)

    def numpy(self, *args: Any) -> Any:
        with np.errstate(all="ignore"):
            return self.define(NUMPY, *args)


OPS: Registry[Op] = Registry("operator")


def operator(
    name: str, arity: int, *, infix: str | None = None, sympy: str | None = None, text: str = "", latex: str = ""
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Registers ``define(p, *args)`` as operator ``name`` with its printing data."""

    def decorator(define: Callable[..., Any]) -> Callable[..., Any]:
        OPS.register(name)(Op(name, arity, define, infix, sympy, text, latex))
        return define

    return decorator


def guard(p: Any, x: Any) -> Any:
    """``x`` with magnitudes below :data:`TINY` pushed to ``+-TINY`` (the sign bit of ``x``; NaN stays NaN)."""
    return p.copysign(p.max_const(p.abs(x), TINY), x)


@operator("add", 2, infix="+")
def _op_add(p: Any, a: Any, b: Any) -> Any:
    return p.add(a, b)


@operator("sub", 2, infix="-")
def _op_sub(p: Any, a: Any, b: Any) -> Any:
    return p.add(a, p.neg(b))  # identical to a - b in IEEE arithmetic


@operator("mul", 2, infix="*")
def _op_mul(p: Any, a: Any, b: Any) -> Any:
    return p.mul(a, b)


@operator("div", 2, sympy="divide", latex=r"\frac{{{0}}}{{{1}}}")
def _op_div(p: Any, a: Any, b: Any) -> Any:
    return p.mul(a, p.recip(guard(p, b)))


@operator("inv", 1, sympy="inv", text="1/({0})", latex=r"\frac{{1}}{{{0}}}")
def _op_inv(p: Any, a: Any) -> Any:
    return p.recip(guard(p, a))


@operator("neg", 1)
def _op_neg(p: Any, a: Any) -> Any:
    return p.neg(a)


@operator("abs", 1, text="|{0}|", latex=r"\left|{0}\right|")
def _op_abs(p: Any, a: Any) -> Any:
    return p.abs(a)


@operator("log", 1, sympy="logabs", text="log|{0}|", latex=r"\log\left|{0}\right|")
def _op_log(p: Any, a: Any) -> Any:
    return p.log(p.max_const(p.abs(a), TINY))


@operator("sqrt", 1, sympy="sqrtabs", text="sqrt|{0}|", latex=r"\sqrt{{\left|{0}\right|}}")
def _op_sqrt(p: Any, a: Any) -> Any:
    return p.sqrt(p.abs(a))


@operator("square", 1)
def _op_square(p: Any, a: Any) -> Any:
    return p.mul(a, a)


@operator("exp", 1, sympy="expc", text="exp({0})", latex=r"\exp\left({0}\right)")
def _op_exp(p: Any, a: Any) -> Any:
    return p.exp(p.min_const(a, EXP_MAX))


@operator("sigmoid", 1, sympy="sigmoid", text="sigmoid({0})", latex=r"\sigma\left({0}\right)")
def _op_sigmoid(p: Any, a: Any) -> Any:
    return p.recip(p.add(p.exp(p.min_const(p.neg(a), EXP_MAX)), 1.0))


@operator("max", 2, sympy="max2", text="max({0}, {1})", latex=r"\max\left({0}, {1}\right)")
def _op_max(p: Any, a: Any, b: Any) -> Any:
    return p.add(a, p.max_const(p.add(b, p.neg(a)), 0.0))  # a + relu(b - a): NaN in either gives NaN


@operator("min", 2, sympy="min2", text="min({0}, {1})", latex=r"\min\left({0}, {1}\right)")
def _op_min(p: Any, a: Any, b: Any) -> Any:
    return p.add(a, p.min_const(p.add(b, p.neg(a)), 0.0))  # a - relu(a - b)
