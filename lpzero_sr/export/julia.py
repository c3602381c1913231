"""Formulas for PySR (Julia): each operator's Julia definition, a tree's infix text, and the reader of PySR's
equation strings.

Every operator but ``+ - *`` reaches PySR as a Julia function generated from its one definition in
:mod:`lpzero_sr.operators` (``lpz_log(x) = log(max(abs(x), oftype(x, 1e-30)))``), so PySR computes what the search
computes. PySR prints each equation of its hall of fame in that vocabulary (``(x1 * -0.5) - lpz_log(x0)``), and
:func:`parse_equation` reads it back into the project's tree with Python's ``ast`` parser: the text is parsed,
never evaluated or sympified, and only the shapes PySR prints are accepted.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Sequence

from lpzero_sr.export.source import SourcePrimitives, generated_name
from lpzero_sr.formula import FormulaError, Node
from lpzero_sr.operators import OPS

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
_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul"}
_VARIABLE = re.compile(r"x[0-9]+")


def julia_name(op: str) -> str:
    """The operator's name in Julia: its infix symbol (``+``), else its generated function (``lpz_log``)."""
    return OPS.get(op).infix or generated_name(op)


def julia_definition(op: str) -> str:
    """``lpz_log(x) = log(max(abs(x), oftype(x, 1e-30)))``; an infix operator is its symbol (a Julia built-in)."""
    definition = OPS.get(op)
    if definition.infix:
        return definition.infix
    params = ("x", "y")[: definition.arity]
    return f"{julia_name(op)}({', '.join(params)}) = {definition.define(JULIA, *params)}"


def julia_text(node: Node, features: Sequence[str]) -> str:
    """PySR's infix text of a formula over ``features`` (Julia operator names, variable ``x<i>`` for feature ``i``):
    ``(lpz_log(x0) + x1)``."""
    if node.var is not None:
        return f"x{list(features).index(node.var)}"
    if node.const is not None:
        return repr(float(node.const))
    args = [julia_text(a, features) for a in node.args]
    name = julia_name(node.op)  # type: ignore[arg-type]
    if OPS.get(node.op).infix:  # type: ignore[arg-type]
        return f"({args[0]} {name} {args[1]})"
    return f"{name}({', '.join(args)})"


def parse_equation(text: str, features: Sequence[str]) -> Node:
    """The formula tree of one PySR equation string: infix ``+ - *``, unary minus, calls of the generated operators
    (``lpz_log(...)``), variables ``x<i>`` (feature ``i``) and finite numbers. Anything else is one
    :class:`~lpzero_sr.formula.FormulaError` naming the part it cannot read."""
    source = text.strip()
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"cannot read PySR equation {text!r}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError):
        raise FormulaError(f"cannot read PySR equation {text!r}") from None
    by_name = {julia_name(name): name for name in OPS.names()}

    def fail(node: ast.AST, why: str = "") -> FormulaError:
        part = ast.get_source_segment(source, node) or type(node).__name__
        return FormulaError(f"cannot read PySR equation {text!r} at {part!r}{why}")

    def read(node: ast.AST) -> Node:
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return Node(op=_BINARY[type(node.op)], args=(read(node.left), read(node.right)))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            raise fail(node, ": lpzero-sr gives PySR no '/' (its guarded division is lpz_div)")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return Node(op="neg", args=(read(node.operand),))
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            try:
                value = float(node.value)
            except OverflowError:
                value = math.inf
            if not math.isfinite(value):
                raise fail(node, ": not a finite number")
            return Node(const=value)
        if isinstance(node, ast.Name) and _VARIABLE.fullmatch(node.id) and int(node.id[1:]) < len(features):
            return Node(var=features[int(node.id[1:])])
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            op = by_name.get(node.func.id)
            if op is None:
                raise FormulaError(f"PySR equation {text!r} uses unknown operator {node.func.id!r}")
            if len(node.args) != OPS.get(op).arity:
                raise fail(node, f": {node.func.id} takes {OPS.get(op).arity} argument(s)")
            return Node(op=op, args=tuple(read(a) for a in node.args))
        raise fail(node)

    try:
        return read(tree.body)
    except RecursionError:
        raise FormulaError(f"cannot read PySR equation {text!r}: nested too deeply") from None
