"""Numeric evaluation of proxy expressions: one table per backend mapping sympy node types to functions.

A proxy is a sympy expression over statistic symbols built from a small vocabulary (``Add``, ``Mul``, ``Pow``
with a numeric exponent, ``log``, ``exp``, ``Abs``, ``sign``). The numeric meaning of each node is *guarded* so
that a formula never raises and rarely overflows, identically in numpy and torch:

* ``log(a)`` evaluates ``log(a)`` with ``|a| < TINY`` replaced by ``TINY`` (negative ``a`` still gives NaN);
* ``b ** e`` with ``e < 0`` divides by ``b`` with ``|b| < TINY`` replaced by ``+-TINY`` (the sign of ``b``, ``+`` at 0);
* ``exp(a)`` evaluates ``exp(min(a, EXP_MAX))``.

Away from those guards the values are exactly sympy's. :data:`TORCH_FUNCS` is the sympy -> torch table (in the
spirit of sympytorch); :data:`NUMPY_FUNCS` is its numpy twin used for search and scoring tables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import sympy
import torch

TINY = 1e-30
EXP_MAX = 80.0


def symbol(name: str) -> sympy.Symbol:
    """The sympy symbol of a statistic: real, so sympy never introduces ``re``/``im`` (names may hold dots, ``*``)."""
    return sympy.Symbol(name, real=True)


# ------------------------------------------------------------------ numpy
def np_log(a: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log(np.where(np.abs(a) < TINY, TINY, a))


def np_exp(a: np.ndarray) -> np.ndarray:
    return np.exp(np.minimum(a, EXP_MAX))


def np_guard(b: np.ndarray) -> np.ndarray:
    """``b`` with magnitudes below :data:`TINY` pushed to ``+-TINY`` (``+`` at exactly 0)."""
    return np.where(np.abs(b) < TINY, np.where(b < 0, -TINY, TINY), b)


def np_pow(b: np.ndarray, e: float) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        return np.power(np_guard(b) if e < 0 else b, e)


def np_add(*args: np.ndarray) -> np.ndarray:
    out = args[0]
    for a in args[1:]:
        out = out + a
    return out


def np_mul(*args: np.ndarray) -> np.ndarray:
    out = args[0]
    with np.errstate(invalid="ignore", over="ignore"):
        for a in args[1:]:
            out = out * a
    return out


NUMPY_FUNCS: dict[type, Callable[..., Any]] = {
    sympy.Add: np_add,
    sympy.Mul: np_mul,
    sympy.Pow: np_pow,
    sympy.log: np_log,
    sympy.exp: np_exp,
    sympy.Abs: np.abs,
    sympy.sign: np.sign,
}


# ------------------------------------------------------------------ torch
def t_log(a: torch.Tensor) -> torch.Tensor:
    return torch.log(torch.where(a.abs() < TINY, torch.full_like(a, TINY), a))


def t_exp(a: torch.Tensor) -> torch.Tensor:
    return torch.exp(torch.clamp(a, max=EXP_MAX))


def t_guard(b: torch.Tensor) -> torch.Tensor:
    tiny = torch.where(b < 0, torch.full_like(b, -TINY), torch.full_like(b, TINY))
    return torch.where(b.abs() < TINY, tiny, b)


def t_pow(b: torch.Tensor, e: float) -> torch.Tensor:
    return torch.pow(t_guard(b) if e < 0 else b, e)


def t_add(*args: torch.Tensor) -> torch.Tensor:
    out = args[0]
    for a in args[1:]:
        out = out + a
    return out


def t_mul(*args: torch.Tensor) -> torch.Tensor:
    out = args[0]
    for a in args[1:]:
        out = out * a
    return out


TORCH_FUNCS: dict[type, Callable[..., Any]] = {
    sympy.Add: t_add,
    sympy.Mul: t_mul,
    sympy.Pow: t_pow,
    sympy.log: t_log,
    sympy.exp: t_exp,
    sympy.Abs: torch.abs,
    sympy.sign: torch.sign,
}


# ------------------------------------------------------------------ walking
def walk(expr: sympy.Expr, leaves: Mapping[str, Any], funcs: Mapping[type, Callable[..., Any]]) -> Any:
    """Evaluate ``expr`` with ``leaves[symbol name]`` as values and ``funcs`` as node semantics.

    Numbers stay Python floats (broadcast by the backend); ``Pow`` receives its exponent as a float.
    """
    if expr.is_Symbol:
        return leaves[expr.name]
    if expr.is_Number or expr.is_NumberSymbol:
        return float(expr)
    func = funcs.get(expr.func)
    if func is None:
        raise ValueError(f"unsupported expression node {expr.func.__name__} in {expr}")
    if expr.is_Pow:
        base, exponent = expr.args
        if not exponent.is_Number:
            raise ValueError(f"only numeric exponents are supported, got {expr}")
        return func(walk(base, leaves, funcs), float(exponent))
    return func(*(walk(arg, leaves, funcs) for arg in expr.args))


def to_torch(
    expr: sympy.Expr, dtype: torch.dtype = torch.float64
) -> Callable[[Mapping[str, torch.Tensor]], torch.Tensor]:
    """A differentiable callable ``stats -> Tensor`` running on the device of the given statistic tensors.

    Statistics are cast to ``dtype``; numeric constants stay Python floats and broadcast on that device.
    """
    names = sorted(s.name for s in expr.free_symbols)

    def proxy(stats: Mapping[str, torch.Tensor]) -> torch.Tensor:
        missing = [n for n in names if n not in stats]
        if missing:
            raise KeyError(f"missing statistics for proxy: {', '.join(missing)}")
        leaves = {n: torch.as_tensor(stats[n], dtype=dtype) for n in names}
        device = next(iter(leaves.values())).device if leaves else torch.device("cpu")
        out = walk(expr, leaves, TORCH_FUNCS)
        return torch.as_tensor(out, dtype=dtype, device=device) if not torch.is_tensor(out) else out

    proxy.required = tuple(names)  # type: ignore[attr-defined]
    return proxy


def to_numpy(expr: sympy.Expr, leaves: Mapping[str, np.ndarray]) -> np.ndarray:
    """Evaluate ``expr`` over numpy columns; the result is broadcast to the columns' shape."""
    out = walk(expr, leaves, NUMPY_FUNCS)
    shape = np.shape(next(iter(leaves.values()))) if leaves else ()
    return np.broadcast_to(np.asarray(out, dtype=float), shape).copy()


def torch_source(expr: sympy.Expr, name: str = "proxy") -> str:
    """Python source of a torch function computing ``expr`` with the guarded functions of this module."""
    names = {f: f.__name__ for f in TORCH_FUNCS.values()}
    used: set[str] = set()

    def emit(e: sympy.Expr) -> str:
        if e.is_Symbol:
            return f"stats[{e.name!r}]"
        if e.is_Number or e.is_NumberSymbol:
            return repr(float(e))
        func = TORCH_FUNCS.get(e.func)
        if func is None:
            raise ValueError(f"unsupported expression node {e.func.__name__} in {e}")
        if func.__module__ == __name__:
            used.add(names[func])
            fname = names[func]
        else:
            fname = f"torch.{names[func]}"
        if e.is_Pow:
            return f"{fname}({emit(e.args[0])}, {float(e.args[1])!r})"
        return f"{fname}({', '.join(emit(a) for a in e.args)})"

    body = emit(expr)
    imports = f"from lpzero_sr.compile import {', '.join(sorted(used))}\n\n\n" if used else "\n"
    return f"import torch\n\n{imports}def {name}(stats: dict[str, torch.Tensor]) -> torch.Tensor:\n    return {body}\n"
