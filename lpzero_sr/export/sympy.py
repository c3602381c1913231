"""A formula tree as an unevaluated sympy expression, and as sympy text that ``sympy.parse_expr`` reads back.

The expression mirrors the tree node for node: add, sub, mul, neg, abs and square are sympy's own ``Add``, ``Mul``,
``Abs`` and ``Pow`` built with ``evaluate=False`` (``sub(a, b)`` is ``a + (-1)*b``), so sympy never moves a guard or
merges terms. Every guarded operator is an opaque undefined function named by its ``Op.sympy`` (``logabs``,
``sqrtabs``, ``expc``, ``sigmoid``, ``inv``, ``divide``, ``max2``, ``min2``): sympy cannot rewrite it (``exp(x)**2``
never becomes ``exp(2*x)``), and ``parse_expr`` recreates it from its name. Statistics are symbols of their exact
names (``grad.sqr.mean``, ``weight*grad.abs.l1``, ``q(jacov)``), created by name and never parsed; the quantile of a
formula (``q[f1]`` of a bagged proxy) is ``q(<its formula>)``.

:func:`sympy_text` writes the expression so that ``parse_expr(text, evaluate=False)`` rebuilds it exactly (equal
under ``==``, with the tree's order and grouping): statistics as ``Symbol('grad.sqr.mean')``, infix ``+ - * **``
where the parser keeps the tree's shape, and an explicit ``Add(..., evaluate=False)`` / ``Mul(..., evaluate=False)``
where it would not (the parser flattens ``(a + b) + c`` into one sum and evaluates a unary minus).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sympy

from lpzero_sr.formula import Node
from lpzero_sr.operators import OPS

if TYPE_CHECKING:
    from lpzero_sr.quantile import Quantile

QUANTILE = sympy.Function("q")  # the training quantile of a formula, q(<formula>)
FUNCTIONS: dict[str, Any] = {op.sympy: sympy.Function(op.sympy) for _, op in OPS.items() if op.sympy}
SYMPY_FUNCTIONS: dict[str, Callable[..., Any]] = {op.sympy: op.numpy for _, op in OPS.items() if op.sympy}
"""The guarded functions by name, as numpy: ``sympy.lambdify(..., modules=[SYMPY_FUNCTIONS, "numpy"])``."""


def symbol(name: str) -> sympy.Symbol:
    """The sympy symbol of a statistic (names may hold dots and ``*``; created by name, never parsed)."""
    return sympy.Symbol(name)


def _neg(a: sympy.Expr) -> sympy.Expr:
    return sympy.Mul(sympy.Integer(-1), a, evaluate=False)


_ARITHMETIC: dict[str, Callable[..., sympy.Expr]] = {
    "add": lambda a, b: sympy.Add(a, b, evaluate=False),
    "sub": lambda a, b: sympy.Add(a, _neg(b), evaluate=False),
    "mul": lambda a, b: sympy.Mul(a, b, evaluate=False),
    "neg": _neg,
    "abs": lambda a: sympy.Abs(a, evaluate=False),
    "square": lambda a: sympy.Pow(a, 2, evaluate=False),
}


def builder(op: str) -> Callable[..., sympy.Expr]:
    """The function that builds operator ``op``'s sympy form from its arguments' (also PySR's
    ``extra_sympy_mappings``)."""
    name = OPS.get(op).sympy
    if name is None:
        return _ARITHMETIC[op]
    return FUNCTIONS[name]


def to_sympy(node: Node, symbols: Mapping[str, sympy.Expr] | None = None) -> sympy.Expr:
    """Unevaluated sympy expression of ``node``. ``symbols`` replaces the statistic symbols, by symbols or
    expressions (substituting afterwards would re-evaluate the expression)."""
    if node.var is not None:
        return symbols[node.var] if symbols is not None else symbol(node.var)
    if node.const is not None:
        c = node.const
        if c == 0 and math.copysign(1.0, c) < 0:
            return _neg(sympy.Integer(0))  # sympy has no -0.0; -(0) computes it (1/-0.0 is -inf)
        return sympy.Integer(int(c)) if c == int(c) and abs(c) < 1e15 else sympy.Float(c)
    return builder(node.op)(*(to_sympy(a, symbols) for a in node.args))  # type: ignore[arg-type]


def terminal_symbols(terminals: tuple[str, ...], quantiles: Mapping[str, Quantile]) -> dict[str, sympy.Expr]:
    """The sympy form of each terminal: a symbol, or for a formula quantile ``q(<its formula>)``."""
    out: dict[str, sympy.Expr] = {}
    for t in terminals:
        q = quantiles.get(t)
        if q is None or q.source is None:
            out[t] = symbol(t)
        else:
            out[t] = QUANTILE(to_sympy(q.source, terminal_symbols(q.source.variables, quantiles)))
    return out


def proxy_expr(node: Node, quantiles: Mapping[str, Quantile] | None = None) -> sympy.Expr:
    """The sympy form of a proxy's formula (its formula quantiles as ``q(<formula>)``)."""
    return to_sympy(node, terminal_symbols(node.variables, quantiles or {}))


# ------------------------------------------------------------------ text for parse_expr
# The shape of a piece of text as parse_expr(..., evaluate=False) reads it: "add" and "mul" are sums and products
# (infix or an explicit Add(...)/Mul(...) call) that the parser would flatten into an enclosing infix sum or product;
# "neg" starts with a minus; "num" is a non-negative number; "call" is a symbol or function call; "pow" is x**2.
_Piece = tuple[str, str]


def _float_text(value: float) -> str:
    """A float that parse_expr reads as the same 53-bit Float: its shortest repr where parse_expr's ``Float(repr)``
    is that Float, else ``Float(repr, precision=53)`` (parse_expr would keep all of 16 or 17 digits, at a higher
    precision), else (a subnormal number) its exact decimal expansion at 53 bits."""
    text = repr(value)
    if sympy.Float(repr(abs(value))) == sympy.Float(abs(value)):
        return text
    if sympy.Float(text, precision=53) != sympy.Float(value):
        text = str(Decimal(value))
    return f"Float({text!r}, precision=53)"


def _paren(piece: _Piece, shapes: tuple[str, ...]) -> str:
    return f"({piece[1]})" if piece[0] in shapes else piece[1]


def _emit(node: Node, quantiles: Mapping[str, Quantile]) -> _Piece:
    if node.var is not None:
        q = quantiles.get(node.var)
        if q is not None and q.source is not None:
            return "call", f"{QUANTILE.__name__}({_emit(q.source, quantiles)[1]})"
        return "call", f"Symbol({node.var!r})"
    if node.const is not None:
        c = node.const
        if c == 0 and math.copysign(1.0, c) < 0:
            return "mul", "Mul(-1, 0, evaluate=False)"
        text = str(int(c)) if c == int(c) and abs(c) < 1e15 else _float_text(c)
        return ("neg" if text.startswith("-") else "num"), text
    args = [_emit(a, quantiles) for a in node.args]
    op = OPS.get(node.op)  # type: ignore[arg-type]
    if op.sympy is not None:
        return "call", f"{op.sympy}({', '.join(a[1] for a in args)})"
    if node.op == "abs":
        return "call", f"Abs({args[0][1]})"
    if node.op == "square":
        return "pow", f"{_paren(args[0], ('add', 'mul', 'neg', 'pow'))}**2"
    if node.op == "neg":
        if args[0][0] == "call":  # -f(x) evaluates to Mul(-1, f(x)): the same expression
            return "neg", f"-{args[0][1]}"
        return "mul", f"Mul(-1, {args[0][1]}, evaluate=False)"
    a, b = args
    if node.op == "mul":
        if "mul" in (a[0], b[0]):
            return "mul", f"Mul({a[1]}, {b[1]}, evaluate=False)"
        return "mul", f"{_paren(a, ('add', 'neg'))}*{_paren(b, ('add', 'neg'))}"
    if node.op == "add":
        if "add" in (a[0], b[0]):
            return "add", f"Add({a[1]}, {b[1]}, evaluate=False)"
        return "add", f"{a[1]} + {_paren(b, ('neg',))}"
    if a[0] == "add":  # sub
        return "add", f"Add({a[1]}, Mul(-1, {b[1]}, evaluate=False), evaluate=False)"
    return "add", f"{a[1]} - {_paren(b, ('add', 'neg'))}"


def sympy_text(node: Node, quantiles: Mapping[str, Quantile] | None = None) -> str:
    """One line that ``sympy.parse_expr(text, evaluate=False)`` reads back to :func:`proxy_expr` exactly, e.g.
    ``logabs(Symbol('grad.sqr.mean')) + Symbol('weight*grad.abs.l1')*Symbol('q(jacov)')``."""
    return _emit(node, quantiles or {})[1]
