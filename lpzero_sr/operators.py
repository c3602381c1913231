"""The operator vocabulary of every formula, defined once.

Statistics span orders of magnitude and carry signs, so most operators are *guarded*: ``log`` and ``sqrt`` act on
``|x|`` (``log`` floors it at :data:`TINY`), ``exp`` clips its argument at :data:`EXP_MAX`, ``div``/``inv`` push
denominators below :data:`TINY` in magnitude to ``+-TINY`` (the sign of the denominator). Each operator is written
once, in :data:`OPS`, as a composition of a few IEEE primitives (add, mul, neg, abs, log, exp, sqrt, recip,
min/max with a constant, copysign). A backend implements only those primitives, with its native functions:

* :data:`NUMPY` evaluates formulas in the search and on tables,
* :class:`TorchPrimitives` in the scorer (differentiable, on any device),
* :data:`JULIA` writes the Julia definition of each operator for PySR,
* :data:`TORCH_SOURCE` writes Python source for ``lpzero-sr export --format torch``.

``max`` and ``min`` of two formulas are compositions too (``a + relu(b - a)``), so they need no primitive of their
own: each backend's max/min of two tensors would treat NaN and signed zeros its own way.

So every backend computes the same composition, in the same order, and agrees to the last rounding of the
underlying library functions. sympy sees each guarded operator as an opaque :class:`sympy.Function` with no
``eval``, which sympy cannot rewrite (``exp(x)**2`` never becomes ``exp(2*x)``); add, sub, mul, neg, square and
abs are built unevaluated. :data:`SYMPY_FUNCTIONS` maps the opaque functions back to numpy for ``lambdify``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
import torch

from lpzero_sr.registry import Registry

TINY = 1e-30
EXP_MAX = 80.0


# ------------------------------------------------------------------ primitives, one class per backend
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


class TorchPrimitives:
    """IEEE primitives on torch tensors of one dtype and device (differentiable)."""

    add = staticmethod(torch.add)
    mul = staticmethod(torch.mul)
    neg = staticmethod(torch.neg)
    abs = staticmethod(torch.abs)
    log = staticmethod(torch.log)
    exp = staticmethod(torch.exp)
    sqrt = staticmethod(torch.sqrt)
    recip = staticmethod(torch.reciprocal)
    copysign = staticmethod(torch.copysign)

    def __init__(self, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu") -> None:
        self.dtype, self.device = dtype, torch.device(device)

    @staticmethod
    def min_const(a: torch.Tensor, c: float) -> torch.Tensor:
        return torch.clamp(a, max=c)

    @staticmethod
    def max_const(a: torch.Tensor, c: float) -> torch.Tensor:
        return torch.clamp(a, min=c)

    def const(self, value: float) -> torch.Tensor:
        return torch.tensor(value, dtype=self.dtype, device=self.device)


class SourcePrimitives:
    """Primitives that write source code: ``templates`` maps each primitive to a format string."""

    def __init__(self, templates: dict[str, str], number: Callable[[float], str]) -> None:
        self.templates, self.number = templates, number

    def __getattr__(self, name: str) -> Callable[..., str]:
        template = self.templates.get(name)
        if template is None:
            raise AttributeError(name)
        return lambda *args: template.format(*args)

    def min_const(self, a: str, c: float) -> str:
        return self.templates["min_const"].format(a, self.number(c))

    def max_const(self, a: str, c: float) -> str:
        return self.templates["max_const"].format(a, self.number(c))

    def const(self, value: float) -> str:
        return self.number(value)


NUMPY = NumpyPrimitives()
JULIA = SourcePrimitives(
    {
        "add": "({} + {})",
        "mul": "({} * {})",
        "neg": "(-{})",
        "abs": "abs({})",
        "log": "log({})",
        "exp": "exp({})",
        "sqrt": "sqrt({})",
        "recip": "inv({})",
        "copysign": "copysign({}, {})",
        "min_const": "min({}, {})",
        "max_const": "max({}, {})",
    },  # fmt: skip
    lambda c: f"oftype(x, {float(c)!r})",
)
TORCH_SOURCE = SourcePrimitives(
    {
        "add": "({} + {})",
        "mul": "({} * {})",
        "neg": "(-{})",
        "abs": "torch.abs({})",
        "log": "torch.log({})",
        "exp": "torch.exp({})",
        "sqrt": "torch.sqrt({})",
        "recip": "torch.reciprocal({})",
        "copysign": "torch.copysign({}, {})",
        "min_const": "torch.clamp({}, max={})",
        "max_const": "torch.clamp({}, min={})",
    },  # fmt: skip
    lambda c: repr(float(c)),
)


# ------------------------------------------------------------------ sympy forms: opaque guarded functions
class _GuardedBase(sympy.Function):
    """A guarded operator: no ``eval`` and no numeric ``evalf`` (sympy would otherwise evaluate numeric arguments
    with mpmath's function of the same name), so sympy never rewrites or evaluates it. ``latex_template`` and
    ``text_template`` (the readable form of :func:`lpzero_sr.formula.formula_text`) format its printed arguments."""

    latex_template = ""
    text_template = ""

    @classmethod
    def of(cls, *args: sympy.Expr) -> sympy.Expr:
        return cls(*args, evaluate=False)

    def _eval_evalf(self, prec: int) -> None:
        return None

    def _latex(self, printer: Any, exp: str | None = None) -> str:
        tex = self.latex_template.format(*(printer._print(a) for a in self.args))
        return tex if exp is None else rf"\left({tex}\right)^{{{exp}}}"


class logabs(_GuardedBase):  # noqa: N801 - sympy function names are lower case
    nargs = 1
    latex_template = r"\log\left|{0}\right|"
    text_template = "log|{0}|"


class sqrtabs(_GuardedBase):  # noqa: N801
    nargs = 1
    latex_template = r"\sqrt{{\left|{0}\right|}}"
    text_template = "sqrt|{0}|"


class expc(_GuardedBase):  # noqa: N801
    nargs = 1
    latex_template = r"\exp\left({0}\right)"
    text_template = "exp({0})"


class sigmoid(_GuardedBase):  # noqa: N801
    nargs = 1
    latex_template = r"\sigma\left({0}\right)"
    text_template = "sigmoid({0})"


class inv(_GuardedBase):  # noqa: N801
    nargs = 1
    latex_template = r"\frac{{1}}{{{0}}}"
    text_template = "1/({0})"


class div(_GuardedBase):  # noqa: N801
    nargs = 2
    latex_template = r"\frac{{{0}}}{{{1}}}"


class maximum(_GuardedBase):  # noqa: N801
    nargs = 2
    latex_template = r"\max\left({0}, {1}\right)"
    text_template = "max({0}, {1})"


class minimum(_GuardedBase):  # noqa: N801
    nargs = 2
    latex_template = r"\min\left({0}, {1}\right)"
    text_template = "min({0}, {1})"


def _add(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    return sympy.Add(a, b, evaluate=False)


def _neg(a: sympy.Expr) -> sympy.Expr:
    return sympy.Mul(sympy.Integer(-1), a, evaluate=False)


# ------------------------------------------------------------------ the operators
@dataclass(frozen=True)
class Op:
    """One operator: ``define(p, *args)`` composes primitives of backend ``p``; ``sympy`` builds its sympy form;
    ``julia_builtin`` names a PySR built-in with the same IEEE semantics (``+``, ``-``, ``*``), else PySR gets the
    generated definition :attr:`julia_definition`."""

    name: str
    arity: int
    define: Callable[..., Any]
    sympy: Callable[..., sympy.Expr]
    julia_builtin: str | None = None

    def apply(self, backend: Any, *args: Any) -> Any:
        return self.define(backend, *args)

    def numpy(self, *args: Any) -> Any:
        with np.errstate(all="ignore"):
            return self.define(NUMPY, *args)

    @property
    def julia_name(self) -> str:
        return self.julia_builtin or f"lpz_{self.name}"

    @property
    def julia_definition(self) -> str:
        """``lpz_log(x) = log(max(abs(x), oftype(x, 1e-30)))``; built-ins have none."""
        if self.julia_builtin:
            return self.julia_builtin
        params = ("x", "y")[: self.arity]
        return f"{self.julia_name}({', '.join(params)}) = {self.define(JULIA, *params)}"

    def torch_source(self) -> str:
        params = ("x", "y")[: self.arity]
        body = self.define(TORCH_SOURCE, *params)
        return f"def {self.julia_name}({', '.join(params)}):\n    return {body}\n"


OPS: Registry[Op] = Registry("operator")


def operator(
    name: str, arity: int, sympy_form: Callable[..., sympy.Expr], julia_builtin: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Registers ``define(p, *args)`` as operator ``name``."""

    def decorator(define: Callable[..., Any]) -> Callable[..., Any]:
        OPS.register(name)(Op(name, arity, define, sympy_form, julia_builtin))
        return define

    return decorator


def guard(p: Any, x: Any) -> Any:
    """``x`` with magnitudes below :data:`TINY` pushed to ``+-TINY`` (the sign bit of ``x``; NaN stays NaN)."""
    return p.copysign(p.max_const(p.abs(x), TINY), x)


@operator("add", 2, _add, "+")
def _op_add(p: Any, a: Any, b: Any) -> Any:
    return p.add(a, b)


@operator("sub", 2, lambda a, b: _add(a, _neg(b)), "-")
def _op_sub(p: Any, a: Any, b: Any) -> Any:
    return p.add(a, p.neg(b))  # identical to a - b in IEEE arithmetic


@operator("mul", 2, lambda a, b: sympy.Mul(a, b, evaluate=False), "*")
def _op_mul(p: Any, a: Any, b: Any) -> Any:
    return p.mul(a, b)


@operator("div", 2, div.of)
def _op_div(p: Any, a: Any, b: Any) -> Any:
    return p.mul(a, p.recip(guard(p, b)))


@operator("inv", 1, inv.of)
def _op_inv(p: Any, a: Any) -> Any:
    return p.recip(guard(p, a))


@operator("neg", 1, _neg)
def _op_neg(p: Any, a: Any) -> Any:
    return p.neg(a)


@operator("abs", 1, lambda a: sympy.Abs(a, evaluate=False))
def _op_abs(p: Any, a: Any) -> Any:
    return p.abs(a)


@operator("log", 1, logabs.of)
def _op_log(p: Any, a: Any) -> Any:
    return p.log(p.max_const(p.abs(a), TINY))


@operator("sqrt", 1, sqrtabs.of)
def _op_sqrt(p: Any, a: Any) -> Any:
    return p.sqrt(p.abs(a))


@operator("square", 1, lambda a: sympy.Pow(a, 2, evaluate=False))
def _op_square(p: Any, a: Any) -> Any:
    return p.mul(a, a)


@operator("exp", 1, expc.of)
def _op_exp(p: Any, a: Any) -> Any:
    return p.exp(p.min_const(a, EXP_MAX))


@operator("sigmoid", 1, sigmoid.of)
def _op_sigmoid(p: Any, a: Any) -> Any:
    return p.recip(p.add(p.exp(p.min_const(p.neg(a), EXP_MAX)), 1.0))


@operator("max", 2, maximum.of)
def _op_max(p: Any, a: Any, b: Any) -> Any:
    return p.add(a, p.max_const(p.add(b, p.neg(a)), 0.0))  # a + relu(b - a): NaN in either gives NaN


@operator("min", 2, minimum.of)
def _op_min(p: Any, a: Any, b: Any) -> Any:
    return p.add(a, p.min_const(p.add(b, p.neg(a)), 0.0))  # a - relu(a - b)


# the guarded sympy functions, by name, for sympy.lambdify (``modules=[SYMPY_FUNCTIONS, "numpy"]``)
SYMPY_FUNCTIONS: dict[str, Callable[..., Any]] = {
    cls.__name__: OPS.get(op).numpy
    for cls, op in (
        (logabs, "log"),
        (sqrtabs, "sqrt"),
        (expc, "exp"),
        (sigmoid, "sigmoid"),
        (inv, "inv"),
        (div, "div"),
        (maximum, "max"),
        (minimum, "min"),
    )
}
