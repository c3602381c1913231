"""A formula tree as a numpy function by way of sympy: ``sympy.lambdify`` of its sympy form.

The guarded functions are mapped to their numpy definitions (``SYMPY_FUNCTIONS``, derived from ``Op.define``), and
the printer keeps the tree's association and argument order (sympy's default printer flattens ``x*(y*z)`` into
``x*y*z`` and sorts factors: equal in exact arithmetic, not always to the last bit), so the function computes the
search's numbers bit for bit (``lpzero_sr.semantics`` checks it). The tree's own evaluation is
:func:`lpzero_sr.formula.evaluate_numpy`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy
from sympy.printing.numpy import NumPyPrinter

from lpzero_sr.export.sympy import SYMPY_FUNCTIONS, to_sympy
from lpzero_sr.formula import Node


class TreeNumPyPrinter(NumPyPrinter):
    """``lambdify`` printer that keeps the tree's association and argument order."""

    def _print_Add(self, expr: sympy.Expr, order: str | None = None) -> str:  # noqa: N802 - sympy's printer protocol
        return "(" + " + ".join(self._print(a) for a in expr.args) + ")"

    def _print_Mul(self, expr: sympy.Expr) -> str:  # noqa: N802
        args = expr.args
        if len(args) == 2 and args[0] == -1:
            return f"(-{self._print(args[1])})"
        return "(" + "*".join(self._print(a) for a in args) + ")"

    def _print_Pow(self, expr: sympy.Expr, rational: bool = False) -> str:  # noqa: N802
        return f"(({self._print(expr.base)})**{self._print(expr.exp)})"  # a negative constant base: (-1.0)**2.0

    def _print_Integer(self, expr: sympy.Integer) -> str:  # noqa: N802
        return repr(float(expr))  # Python ints have no signed zero: -(2 - 2) must stay -0.0

    def _print_Float(self, expr: sympy.Float) -> str:  # noqa: N802
        return repr(float(expr))  # every bit of the constant (sympy prints 15 digits)


def lambdify(expr: sympy.Expr, symbols: list[sympy.Symbol]) -> Callable[..., Any]:
    """``sympy.lambdify`` of ``expr`` over ``symbols`` (identifiers), guarded functions as numpy, association kept."""
    printer = TreeNumPyPrinter(
        {"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True, "strict": False}
    )
    return sympy.lambdify(symbols, expr, modules=[SYMPY_FUNCTIONS, "numpy"], printer=printer)


def sympy_numpy_function(node: Node) -> Callable[..., Any]:
    """:func:`lambdify` of the node's sympy form over its variables (in :attr:`Node.variables` order)."""
    symbols = {n: sympy.Symbol(f"x{i}") for i, n in enumerate(node.variables)}  # identifiers: no dummies
    return lambdify(to_sympy(node, symbols), list(symbols.values()))
