"""Proxy: a found formula as a sympy expression, stored on disk as a JSON tree (never eval'd or parsed).

The JSON tree mirrors sympy's own structure over a small vocabulary:
``{"op": "add"|"mul"|"pow"|"log"|"exp"|"abs"|"sign", "args": [...]}``, ``{"var": "grad.sqr.mean"}``,
``{"const": 2}`` / ``{"const": 0.5}`` and ``{"rational": [1, 3]}``. Statistic names may contain dots and ``*``:
real symbols are created by name (:func:`lpzero_sr.compile.symbol`), never by parsing text.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sympy
import torch
from sympy.printing.str import StrPrinter

from lpzero_sr.compile import symbol, to_numpy
from lpzero_sr.compile import to_torch as compile_to_torch
from lpzero_sr.errors import LpzeroError
from lpzero_sr.ranking import Aggregation
from lpzero_sr.table import StatTable

SIMPLIFY_SECONDS = 2.0
FORMAT = "lpzero-sr-proxy/1"
_OPS: dict[str, Any] = {
    "add": sympy.Add,
    "mul": sympy.Mul,
    "pow": sympy.Pow,
    "log": sympy.log,
    "exp": sympy.exp,
    "abs": sympy.Abs,
    "sign": sympy.sign,
}
_NAMES = {v: k for k, v in _OPS.items()}


class ProxyError(LpzeroError):
    """A proxy file or expression that cannot be used."""


# ------------------------------------------------------------------ tree <-> sympy
def expr_to_tree(expr: sympy.Expr) -> dict[str, Any]:
    """JSON-able tree of a sympy expression built from the supported vocabulary."""
    if expr.is_Symbol:
        return {"var": expr.name}
    if expr.is_Integer:
        return {"const": int(expr)}
    if expr.is_Rational:
        return {"rational": [int(expr.p), int(expr.q)]}
    if expr.is_Number or expr.is_NumberSymbol:
        value = float(expr)
        if not np.isfinite(value):
            raise ProxyError(f"expression has a non-finite constant: {expr}")
        return {"const": value}
    name = _NAMES.get(expr.func)
    if name is None:
        raise ProxyError(f"unsupported expression node {expr.func.__name__} in {expr}")
    return {"op": name, "args": [expr_to_tree(a) for a in expr.args]}


def tree_to_expr(tree: Mapping[str, Any]) -> sympy.Expr:
    """Rebuild the sympy expression of :func:`expr_to_tree` (structure only, no text is parsed)."""
    if not isinstance(tree, Mapping):
        raise ProxyError(f"bad proxy tree node: {tree!r}")
    if "var" in tree:
        if not isinstance(tree["var"], str) or not tree["var"]:
            raise ProxyError(f"bad variable name: {tree['var']!r}")
        return symbol(tree["var"])
    if "const" in tree:
        value = tree["const"]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ProxyError(f"bad constant: {value!r}")
        return sympy.Integer(value) if isinstance(value, int) else sympy.Float(value)
    if "rational" in tree:
        p, q = tree["rational"]
        return sympy.Rational(int(p), int(q))
    op = _OPS.get(tree.get("op", ""))
    if op is None:
        raise ProxyError(f"unknown operator {tree.get('op')!r}; known: {', '.join(_OPS)}")
    args = tree.get("args")
    if not isinstance(args, list) or not args:
        raise ProxyError(f"operator {tree['op']!r} needs a non-empty 'args' list")
    return op(*(tree_to_expr(a) for a in args))


# ------------------------------------------------------------------ simplification
@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    def _raise(*_: object) -> None:
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def simplify(
    expr: sympy.Expr, check: Mapping[str, np.ndarray] | None = None, seconds: float = SIMPLIFY_SECONDS
) -> sympy.Expr:
    """``sympy.simplify`` when it finishes within ``seconds``, does not grow the tree and computes the same values
    (finite where the original is, equal to 1e-9) on the ``check`` columns and on probe points of both signs and
    many magnitudes; otherwise ``expr`` unchanged. Needs the main thread (SIGALRM)."""
    if not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        return expr
    try:
        with _deadline(seconds):
            simpler = sympy.simplify(expr)
    except TimeoutError:
        return expr
    if sympy.count_ops(simpler) > sympy.count_ops(expr) or not simpler.free_symbols:
        return expr
    try:
        expr_to_tree(simpler)
    except ProxyError:
        return expr
    points = _probe_points(sorted(s.name for s in expr.free_symbols))
    if check is not None:
        points = {k: np.concatenate([np.asarray(check[k], dtype=float), v]) for k, v in points.items()}
    before, after = to_numpy(expr, points), to_numpy(simpler, points)
    finite = np.isfinite(before)
    if not np.array_equal(finite, np.isfinite(after)) or not np.allclose(before[finite], after[finite], rtol=1e-9):
        return expr
    return simpler


def _probe_points(names: list[str], n: int = 256, seed: int = 0) -> dict[str, np.ndarray]:
    """Values of both signs over many magnitudes (and zeros): sympy's rewrites hold over the complex numbers,
    the guarded real evaluation must agree with them everywhere, not only on the training rows."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in names:
        values = np.sign(rng.uniform(-1, 1, n)) * 10.0 ** rng.uniform(-6, 6, n)
        values[rng.random(n) < 0.05] = 0.0
        out[name] = values
    return out


class _TextPrinter(StrPrinter):
    """sympy's text form, with statistic names that contain an operator (``weight*grad.abs.l1``) in brackets."""

    def _print_Symbol(self, expr: sympy.Symbol) -> str:  # noqa: N802 - sympy's printer protocol
        return f"[{expr.name}]" if any(op in expr.name for op in "*+-/") else expr.name


def formula_text(expr: sympy.Expr) -> str:
    """Readable one-line formula: ``act.abs.std*[weight*grad.sqr.mean]``."""
    return _TextPrinter().doprint(expr)


def latex_symbol(name: str) -> str:
    escaped = name.replace("\\", "").replace("_", r"\_").replace("*", r"\ast{}").replace("%", r"\%")
    return r"\mathrm{" + escaped + "}"


# ------------------------------------------------------------------ the proxy
@dataclass
class Proxy:
    """A zero-cost proxy: higher is better for the target in ``direction`` it was fitted for."""

    expr: sympy.Expr
    aggregation: Aggregation | None = None
    target: str = ""
    direction: str = "maximize"
    loss: str = "spearman"
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    engine: str = ""
    seed: int | None = None
    rules: str = ""
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    version: str = ""

    def __post_init__(self) -> None:
        if not self.version:
            from lpzero_sr import __version__

            self.version = __version__

    @property
    def features(self) -> tuple[str, ...]:
        """Statistics the formula reads (sorted): what a scorer must compute."""
        return tuple(sorted(s.name for s in self.expr.free_symbols))

    def text(self) -> str:
        """One-line formula (:func:`formula_text`)."""
        return formula_text(self.expr)

    def latex(self) -> str:
        return sympy.latex(self.expr, symbol_names={s: latex_symbol(s.name) for s in self.expr.free_symbols})

    def to_torch(self, dtype: torch.dtype = torch.float64) -> Callable[[Mapping[str, torch.Tensor]], torch.Tensor]:
        """Differentiable callable over statistic tensors; runs on their device."""
        return compile_to_torch(self.expr, dtype)

    def row_values(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        missing = [f for f in self.features if f not in columns]
        if missing:
            raise ProxyError(f"table lacks statistic(s) the proxy needs: {', '.join(missing)}")
        return to_numpy(self.expr, {f: np.asarray(columns[f], dtype=float) for f in self.features})

    def evaluate(self, table: StatTable) -> np.ndarray:
        """Per-architecture scores on ``table`` (aligned with ``table.archs``)."""
        missing = [f for f in self.features if f not in table.frame.columns]
        if missing:
            raise ProxyError(f"table lacks statistic(s) the proxy needs: {', '.join(missing)}")
        values = self.row_values({f: table.column(f) for f in self.features})
        if table.per_layer:
            if self.aggregation is None:
                raise ProxyError("proxy was fitted per architecture but the table has one row per layer")
            return table.aggregate(values, self.aggregation)
        return values

    # ------------------------------------------------------------------ files
    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["expr"]
        return {"format": FORMAT, "tree": expr_to_tree(self.expr), "features": list(self.features), **data}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Proxy:
        if data.get("format") != FORMAT:
            raise ProxyError(f"not a proxy file (format {data.get('format')!r}, expected {FORMAT!r})")
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k != "expr"}
        return cls(expr=tree_to_expr(data["tree"]), **fields)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Proxy:
        path = Path(path)
        if not path.is_file():
            raise ProxyError(f"proxy file not found: {path}")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ProxyError(f"{path} is not JSON: {exc}") from exc
        return cls.from_json(data)
