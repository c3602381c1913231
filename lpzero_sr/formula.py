"""Formula trees over named statistics: the one representation that search, proxy files and every backend share.

A :class:`Node` is an operator of :data:`lpzero_sr.operators.OPS` with its arguments, a variable (a statistic
name) or a numeric constant. The search works on prefix token tuples (``str`` operator, ``int`` feature index,
``float`` constant) for speed; :meth:`Node.from_tokens` turns them into the same tree a proxy file stores, so
the formula the search scored is the formula that is saved, printed and compiled: nothing simplifies it.

* :func:`evaluate` computes a tree with any primitive backend (numpy, torch) from leaf values;
* :func:`evaluate_tokens` is the search's hot path: the same operator definitions on token tuples;
* :meth:`Node.to_json` / :meth:`Node.from_json` read and write the JSON tree of a proxy file (never parsed as text);
* :meth:`Node.to_sympy` builds an unevaluated sympy expression; :func:`formula_text` and :func:`formula_latex`
  print it readably.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from lpzero_sr.errors import LpzeroError
from lpzero_sr.operators import NUMPY, OPS, SYMPY_FUNCTIONS

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

    # ------------------------------------------------------------------ sympy
    def to_sympy(self, symbols: Mapping[str, sympy.Expr] | None = None) -> sympy.Expr:
        """Unevaluated sympy expression: sympy never moves a guard or merges terms. ``symbols`` replaces the
        statistic symbols, by symbols or expressions (substituting afterwards would re-evaluate the expression)."""
        if self.var is not None:
            return symbols[self.var] if symbols is not None else symbol(self.var)
        if self.const is not None:
            c = self.const
            return sympy.Integer(int(c)) if c == int(c) and abs(c) < 1e15 else sympy.Float(c)
        return OPS.get(self.op).sympy(*(a.to_sympy(symbols) for a in self.args))  # type: ignore[arg-type]


def symbol(name: str) -> sympy.Symbol:
    """The sympy symbol of a statistic (names may hold dots and ``*``; created by name, never parsed)."""
    return sympy.Symbol(name, real=True)


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


# ------------------------------------------------------------------ printing
class _SympyPrinter(StrPrinter):
    """sympy's own text form, with statistic names that contain an operator in brackets (``[weight*grad.abs.l1]``)."""

    def _print_Symbol(self, expr: sympy.Symbol) -> str:  # noqa: N802 - sympy's printer protocol
        return f"[{expr.name}]" if any(op in expr.name for op in "*+-/") else expr.name


class _TextPrinter(_SympyPrinter):
    """The readable form: guarded operators as ``log|x|``, ``sqrt|x|``, ``exp(x)``, ``|x|``."""

    def _print__GuardedBase(self, expr: sympy.Expr) -> str:  # noqa: N802
        """Every guarded operator but div, by its ``text_template`` (sympy's printers dispatch to a base class of
        a Function only when the base's name ends in "Base")."""
        return type(expr).text_template.format(*(self._print(a) for a in expr.args))

    def _print_div(self, expr: sympy.Expr) -> str:
        a, b = expr.args
        return f"{self.parenthesize(a, PRECEDENCE['Mul'])}/{self.parenthesize(b, PRECEDENCE['Mul'], strict=True)}"

    def _print_Abs(self, expr: sympy.Expr) -> str:  # noqa: N802
        return f"|{self._print(expr.args[0])}|"

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


def formula_text(node: Node, symbols: Mapping[str, sympy.Expr] | None = None) -> str:
    """Readable one-line formula, e.g. ``jacov + sqrt|synflow|`` (``symbols``: as in :meth:`Node.to_sympy`)."""
    return _TextPrinter({"order": "none"}).doprint(node.to_sympy(symbols))


def formula_sympy_text(node: Node, symbols: Mapping[str, sympy.Expr] | None = None) -> str:
    """sympy's own string of the unevaluated expression, terms in the search's order."""
    return _SympyPrinter({"order": "none"}).doprint(node.to_sympy(symbols))


class _TreeNumPyPrinter(NumPyPrinter):
    """``lambdify`` printer that keeps the tree's association and argument order (sympy's default printer flattens
    ``x*(y*z)`` into ``x*y*z`` and sorts factors: equal in exact arithmetic, not always to the last bit)."""

    def _print_Add(self, expr: sympy.Expr, order: str | None = None) -> str:  # noqa: N802
        return "(" + " + ".join(self._print(a) for a in expr.args) + ")"

    def _print_Mul(self, expr: sympy.Expr) -> str:  # noqa: N802
        args = expr.args
        if len(args) == 2 and args[0] == -1:
            return f"(-{self._print(args[1])})"
        return "(" + "*".join(self._print(a) for a in args) + ")"

    def _print_Pow(self, expr: sympy.Expr, rational: bool = False) -> str:  # noqa: N802
        return f"({self._print(expr.base)}**{self._print(expr.exp)})"

    def _print_Integer(self, expr: sympy.Integer) -> str:  # noqa: N802
        return repr(float(expr))  # Python ints have no signed zero: -(2 - 2) must stay -0.0


def sympy_numpy_function(node: Node) -> Callable[..., Any]:
    """``sympy.lambdify`` of the node's sympy form over its variables (in :attr:`Node.variables` order), the
    guarded operators mapped to their numpy definitions and the tree's association kept."""
    symbols = {n: sympy.Symbol(f"x{i}", real=True) for i, n in enumerate(node.variables)}  # identifiers: no dummies
    printer = _TreeNumPyPrinter(
        {"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True, "strict": False}
    )
    expr = node.to_sympy(symbols)
    return sympy.lambdify(list(symbols.values()), expr, modules=[SYMPY_FUNCTIONS, "numpy"], printer=printer)


def quantile_name(column: str) -> str:
    """The terminal name of ``column``'s training quantile (:mod:`lpzero_sr.quantile`): ``q(jacov)``."""
    return f"q({column})"


def quantile_column(terminal: str) -> str | None:
    """The column a quantile terminal reads (``q(jacov)`` -> ``jacov``); ``None`` for any other name."""
    return terminal[2:-1] if terminal.startswith("q(") and terminal.endswith(")") else None


def latex_symbol(name: str) -> str:
    """A statistic's LaTeX; a quantile terminal ``q(name)`` keeps its ``q`` outside the upright name."""
    column = quantile_column(name)
    if column is not None:
        return f"q({latex_symbol(column)})"
    escaped = name.replace("\\", "").replace("_", r"\_").replace("*", r"\ast{}").replace("%", r"\%")
    return r"\mathrm{" + escaped + "}"


def formula_latex(node: Node, symbols: Mapping[str, sympy.Expr] | None = None) -> str:
    expr = node.to_sympy(symbols)
    return sympy.latex(expr, order="none", symbol_names={s: latex_symbol(s.name) for s in expr.free_symbols})
