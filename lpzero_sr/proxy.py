"""Proxy: a found formula, stored on disk as a JSON tree (never eval'd, sympified, unpickled or parsed as text).

The tree is the formula the search scored (:class:`lpzero_sr.formula.Node`, over the operators of
:mod:`lpzero_sr.operators`): ``{"op": "log", "args": [...]}``, ``{"var": "grad.sqr.mean"}``, ``{"const": 2.0}``.
Nothing simplifies it on the way to disk, so the saved proxy ranks architectures exactly as the search did; its
text, LaTeX, sympy form, torch module and torch source are all derived from the same tree by :mod:`lpzero_sr.export`,
imported only when asked for (importing this module imports neither sympy nor torch).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lpzero_sr.errors import LpzeroError
from lpzero_sr.formula import FormulaError, Node, evaluate_numpy
from lpzero_sr.fsutil import atomic_write_text
from lpzero_sr.quantile import Quantile, QuantileError, read_terminals, statistics, used
from lpzero_sr.settings import AGGREGATIONS, Aggregation

if TYPE_CHECKING:
    import sympy
    import torch

    from lpzero_sr.export.torch import ProxyModule
    from lpzero_sr.table import StatTable

FORMAT = "lpzero-sr-proxy/2"
SEMANTICS = (
    "operators of lpzero_sr.operators: log(x) = log(max(|x|, 1e-30)), sqrt(x) = sqrt(|x|), "
    "exp(x) = exp(min(x, 80)), sigmoid(x) = 1/(1 + exp(min(-x, 80))), div/inv guard |denominator| >= 1e-30"
)


class ProxyError(LpzeroError):
    """A proxy file or expression that cannot be used."""


# ------------------------------------------------------------------ the proxy
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "target": (str,), "direction": (str,), "loss": (str,), "metrics": (dict,), "engine": (str,),
    "seed": (int, type(None)), "rules": (str,), "created": (str,), "version": (str,), "selection": (str,),
    "quantiles": (dict,), "fitted_on": (str,),
}  # fmt: skip


@dataclass
class Proxy:
    """A zero-cost proxy: higher is better for the target in ``direction`` it was fitted for.

    ``formula`` is the tree the search scored; per-layer proxies (``aggregation`` set) are evaluated on every layer
    and summed or averaged per architecture. ``selection`` names the rule that chose it from the front.
    ``quantiles`` holds, for each quantile terminal ``q(x)`` of the formula, the training CDF of statistic ``x``
    (:mod:`lpzero_sr.quantile`), and for each formula quantile ``q[fk]`` of a bagged proxy that formula and the
    training CDF of its values; other terminals are read as they are.
    """

    formula: Node
    aggregation: Aggregation | None = None
    target: str = ""
    direction: str = "maximize"
    loss: str = "spearman"
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    engine: str = ""
    seed: int | None = None
    rules: str = ""
    selection: str = ""
    quantiles: dict[str, Quantile] = field(default_factory=dict)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    version: str = ""
    fitted_on: str = ""  # the table the training CDFs and metrics come from: a benchmark name or a file ("": unknown)

    def __post_init__(self) -> None:
        terminals = used(self.formula.variables, self.quantiles)
        self.quantiles = {t: self.quantiles[t] for t in terminals if t in self.quantiles}
        if not self.version:
            from lpzero_sr import __version__

            self.version = __version__

    @property
    def features(self) -> tuple[str, ...]:
        """Statistics the formula reads (sorted; the statistic behind each quantile terminal): what a scorer must
        compute."""
        return statistics(self.formula.variables, self.quantiles)

    # ------------------------------------------------------------------ exports (lpzero_sr.export)
    @property
    def size(self) -> int:
        """Nodes as a person reads the formula: each operator, statistic and constant is one node, a quantile of one
        statistic ``q(x)`` is one node, a quantile of a formula ``q(f)`` counts the nodes of ``f``."""

        def count(node: Node) -> int:
            q = self.quantiles.get(node.var) if node.var is not None else None
            if q is not None and q.source is not None:
                return count(q.source)
            return 1 + sum(count(a) for a in node.args)

        return count(self.formula)

    @property
    def constants(self) -> int:
        """Numeric constants in the formula as read (those inside formula quantiles included)."""
        sources = [q.source for q in self.quantiles.values() if q.source is not None]
        return sum(n.const is not None for tree in (self.formula, *sources) for n in tree.walk())

    @property
    def expr(self) -> sympy.Expr:
        """The unevaluated sympy form (guarded operators are opaque sympy functions; a formula quantile is
        ``q(<formula>)``)."""
        from lpzero_sr.export.sympy import proxy_expr

        return proxy_expr(self.formula, self.quantiles)

    def text(self) -> str:
        """One-line readable formula (:func:`lpzero_sr.export.text.formula_text`)."""
        from lpzero_sr.export.text import formula_text

        return formula_text(self.formula, self.quantiles)

    def latex(self) -> str:
        """LaTeX of the formula (:func:`lpzero_sr.export.text.formula_latex`)."""
        from lpzero_sr.export.text import formula_latex

        return formula_latex(self.formula, self.quantiles)

    def sympy_text(self) -> str:
        """Text that ``sympy.parse_expr(text, evaluate=False)`` reads back to :attr:`expr`
        (:func:`lpzero_sr.export.sympy.sympy_text`)."""
        from lpzero_sr.export.sympy import sympy_text

        return sympy_text(self.formula, self.quantiles)

    def to_torch(self, dtype: torch.dtype | None = None) -> ProxyModule:
        """A differentiable ``nn.Module`` over statistic tensors (one value per layer for per-layer proxies, reduced
        by :attr:`aggregation`), with its knots and constants as buffers; statistics are cast to ``dtype``
        (float64 by default)."""
        import torch

        from lpzero_sr.export.torch import ProxyModule

        return ProxyModule(self.formula, self.aggregation, self.quantiles, dtype or torch.float64)

    def torch_source(self) -> str:
        """Standalone torch source of the proxy (:func:`lpzero_sr.export.torch.torch_source`)."""
        from lpzero_sr.export.torch import torch_source

        return torch_source(self.formula, self.aggregation, quantiles=self.quantiles)

    # ------------------------------------------------------------------ values
    def row_values(self, columns: Mapping[str, np.ndarray], n_rows: int | None = None) -> np.ndarray:
        """Per-row values over ``columns`` (``n_rows`` sizes the result of a formula without statistics)."""
        missing = [f for f in self.features if f not in columns]
        if missing:
            raise ProxyError(f"table lacks statistic(s) the proxy needs: {', '.join(missing)}")
        raw = {f: np.asarray(columns[f], dtype=float) for f in self.features}
        return evaluate_numpy(self.formula, read_terminals(self.formula.variables, self.quantiles, raw), n_rows)

    def evaluate(self, table: StatTable) -> np.ndarray:
        """Per-architecture scores on ``table`` (aligned with ``table.archs``)."""
        missing = [f for f in self.features if f not in table.frame.columns]
        if missing:
            raise ProxyError(f"table lacks statistic(s) the proxy needs: {', '.join(missing)}")
        values = self.row_values({f: table.column(f) for f in self.features}, len(table.frame))
        if table.per_layer:
            if self.aggregation is None:
                raise ProxyError("proxy was fitted per architecture but the table has one row per layer")
            return table.aggregate(values, self.aggregation)
        if self.aggregation is not None:
            raise ProxyError(f"per-layer proxy ({self.aggregation} over layers) needs a table with one row per layer")
        return values

    # ------------------------------------------------------------------ files
    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["formula"]
        data["quantiles"] = {name: q.to_json() for name, q in self.quantiles.items()}
        head = {"format": FORMAT, "semantics": SEMANTICS, "formula": self.text()}
        return {**head, "tree": self.formula.to_json(), "features": list(self.features), **data}

    @classmethod
    def from_json(cls, data: Any) -> Proxy:
        """A proxy from its JSON object; every defect is one :class:`ProxyError` line."""
        if not isinstance(data, Mapping):
            raise ProxyError("not a proxy file (expected a JSON object)")
        if data.get("format") != FORMAT:
            old = data.get("format") == "lpzero-sr-proxy/1"
            hint = (
                "; older lpzero-sr saved simplified formulas that could differ from the search's: refit" if old else ""
            )
            raise ProxyError(f"not a proxy file (format {data.get('format')!r}, expected {FORMAT!r}){hint}")
        if "tree" not in data:
            raise ProxyError("proxy file has no 'tree'")
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k != "formula"}
        for key, types in _FIELD_TYPES.items():
            if key in fields and not isinstance(fields[key], types):
                raise ProxyError(f"proxy field {key!r} has the wrong type ({type(fields[key]).__name__})")
        if fields.get("aggregation") not in (None, *AGGREGATIONS):
            known = ", ".join(repr(a) for a in AGGREGATIONS)
            raise ProxyError(f"proxy aggregation must be {known} or null, got {fields['aggregation']!r}")
        if fields.get("direction", "maximize") not in ("maximize", "minimize"):
            raise ProxyError(f"proxy direction must be 'maximize' or 'minimize', got {fields['direction']!r}")
        try:
            formula = Node.from_json(data["tree"])
            fields["quantiles"] = {n: Quantile.from_json(n, q) for n, q in fields.get("quantiles", {}).items()}
        except (FormulaError, QuantileError) as exc:
            raise ProxyError(f"bad proxy formula: {exc}") from None
        from lpzero_sr.formula import quantile_column

        quantiles = fields["quantiles"]
        lost = [t for t in used(formula.variables, quantiles) if t not in quantiles and quantile_column(t) is not None]
        if lost:
            raise ProxyError(
                f"proxy file has no training CDF for {', '.join(lost)} (its 'quantiles' lacks them): the file is "
                "incomplete; refit, or restore the file"
            )
        return cls(formula=formula, **fields)

    def save(self, path: str | Path) -> Path:
        return atomic_write_text(path, json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Proxy:
        path = Path(path)
        if not path.is_file():
            raise ProxyError(f"proxy file not found: {path}")
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ProxyError(f"{path} is not JSON: {exc}") from None
        except ValueError as exc:  # e.g. an integer of more than 4,300 digits (Python's int conversion limit)
            raise ProxyError(f"{path} holds a number that cannot be read: {str(exc).split(';')[0]}") from None
        except RecursionError:
            raise ProxyError(f"{path} is nested too deeply to be a proxy file") from None
        return cls.from_json(data)
