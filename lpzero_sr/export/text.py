"""The readable forms of a formula tree: one line of text, and LaTeX.

The text is sympy's string of the unevaluated expression (:mod:`lpzero_sr.export.sympy`) with the guarded operators
in their readable form (``log|x|``, ``sqrt|x|``, ``exp(x)``, ``|x|``: each ``Op.text``), statistic names that
contain an operator in brackets (``[weight*grad]``), and only the brackets the tree needs (``a + b - c`` is
``(a + b) - c``, ``a + (b + c)`` keeps them), so the text still shows the tree's order.

The LaTeX is written from the tree directly, like a formula in a paper: statistic names upright (``\\mathrm``), a
quantile terminal as ``q(name)``, brackets only where the arithmetic needs them (sums and products are associative),
products of names with ``\\cdot``, and each guarded operator by its ``Op.latex`` template.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sympy
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from lpzero_sr.export.sympy import proxy_expr
from lpzero_sr.formula import Node, quantile_column
from lpzero_sr.operators import OPS

if TYPE_CHECKING:
    from lpzero_sr.quantile import Quantile

_BY_SYMPY = {op.sympy: op for _, op in OPS.items() if op.sympy}


class TextPrinter(StrPrinter):
    """The readable form: statistic names with an operator in brackets, guarded operators by their ``Op.text``."""

    def _print_Symbol(self, expr: sympy.Symbol) -> str:  # noqa: N802 - sympy's printer protocol
        return f"[{expr.name}]" if any(op in expr.name for op in "*+-/") else expr.name

    def _print_Function(self, expr: sympy.Expr) -> str:  # noqa: N802
        op = _BY_SYMPY.get(expr.func.__name__)
        if op is None:  # q(<formula>)
            return super()._print_Function(expr)
        if op.name == "div":
            a, b = expr.args
            return f"{self.parenthesize(a, PRECEDENCE['Mul'])}/{self.parenthesize(b, PRECEDENCE['Mul'], strict=True)}"
        return op.text.format(*(self._print(a) for a in expr.args))

    def _print_Abs(self, expr: sympy.Expr) -> str:  # noqa: N802
        return OPS.get("abs").text.format(self._print(expr.args[0]))

    def _print_Add(self, expr: sympy.Expr, order: str | None = None) -> str:  # noqa: N802
        """A sum of the tree's two terms; a left operand that is itself a sum needs no brackets (``a + b - c`` is
        ``(a + b) - c``), a right one keeps them (``a + (b + c)``), so the text still shows the tree's order."""
        if len(expr.args) != 2:
            return super()._print_Add(expr, order)
        left, right = expr.args
        head = self._print(left) if isinstance(left, sympy.Add) else self.parenthesize(left, PRECEDENCE["Add"], True)
        tail = self._print(right)
        if tail.startswith("-") and not isinstance(right, sympy.Add):  # a negated term: a - b
            return f"{head} - {tail[1:]}"
        return f"{head} + {self.parenthesize(right, PRECEDENCE['Add'])}"

    def _print_Mul(self, expr: sympy.Expr) -> str:  # noqa: N802
        if len(expr.args) == 2 and expr.args[0] == -1:  # neg(x), unevaluated
            return "-" + self.parenthesize(expr.args[1], PRECEDENCE["Mul"], strict=True)
        return super()._print_Mul(expr)


def formula_text(node: Node, quantiles: Mapping[str, Quantile] | None = None) -> str:
    """Readable one-line formula, e.g. ``jacov + sqrt|synflow|`` (a formula quantile of ``quantiles`` shows as
    ``q(<its formula>)``)."""
    return TextPrinter({"order": "none"}).doprint(proxy_expr(node, quantiles))


# ------------------------------------------------------------------ LaTeX
_SUM, _PRODUCT, _POWER, _ATOM = 1, 2, 3, 4


def latex_symbol(name: str) -> str:
    """A statistic's LaTeX; a quantile terminal ``q(name)`` keeps its ``q`` outside the upright name."""
    column = quantile_column(name)
    if column is not None:
        return f"q({latex_symbol(column)})"
    escaped = name.replace("\\", "").replace("_", r"\_").replace("*", r"\ast{}").replace("%", r"\%")
    return r"\mathrm{" + escaped + "}"


def latex_number(value: float) -> str:
    """A constant with up to 15 significant digits; ``1 \\cdot 10^{-8}`` for an exponent."""
    if value == int(value) and abs(value) < 1e15:
        return ("-" if math.copysign(1.0, value) < 0 and value == 0 else "") + str(int(value))  # -0.0 is -0
    mantissa, _, exponent = f"{value:.15g}".partition("e")
    return mantissa if not exponent else rf"{mantissa} \cdot 10^{{{int(exponent)}}}"


def _bracket(tex: str) -> str:
    return rf"\left({tex}\right)"


def _latex(node: Node, quantiles: Mapping[str, Any]) -> tuple[int, str]:
    """``(precedence, tex)``: a sum, a product (or a leading minus), a power, or an atom that needs no brackets."""
    if node.var is not None:
        q = quantiles.get(node.var)
        if q is not None and q.source is not None:
            return _ATOM, r"q\left(" + _latex(q.source, quantiles)[1] + r"\right)"
        return _ATOM, latex_symbol(node.var)
    if node.const is not None:
        tex = latex_number(node.const)
        return (_PRODUCT if tex.startswith("-") or r"\cdot" in tex else _ATOM), tex
    args = [_latex(a, quantiles) for a in node.args]
    op = OPS.get(node.op)  # type: ignore[arg-type]
    if op.latex:
        tex = op.latex.format(*(t for _, t in args))
        return (_PRODUCT if node.op in ("log", "div", "inv") else _ATOM), tex  # log|x|^2, \frac{a}{b}^2: ambiguous
    if node.op == "square":
        base = args[0][1] if args[0][0] == _ATOM and not args[0][1].startswith("-") else _bracket(args[0][1])
        return _POWER, base + "^{2}"
    if node.op == "neg":
        prec, tex = args[0]
        return _PRODUCT, "-" + (_bracket(tex) if prec == _SUM or tex.startswith("-") else tex)
    (lp, left), (rp, right) = args
    if node.op == "add":
        return _SUM, f"{left} - {right[1:]}" if right.startswith("-") else f"{left} + {right}"
    if node.op == "sub":
        return _SUM, f"{left} - " + (_bracket(right) if rp == _SUM or right.startswith("-") else right)
    left = _bracket(left) if lp == _SUM else left  # mul
    right = _bracket(right) if rp == _SUM or right.startswith("-") else right
    number = node.args[0].const is not None and r"\cdot" not in left and not right[0].isdigit()  # 2 \log|x|
    return _PRODUCT, f"{left} {right}" if number else rf"{left} \cdot {right}"


def formula_latex(node: Node, quantiles: Mapping[str, Quantile] | None = None) -> str:
    """LaTeX of the formula, e.g. ``q(\\mathrm{jacov}) + \\sqrt{\\left|\\mathrm{synflow}\\right|}``."""
    return _latex(node, quantiles or {})[1]
