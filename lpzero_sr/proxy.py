"""Proxy: a found formula, stored on disk as a JSON tree (never eval'd, sympified, unpickled or parsed as text).

The tree is the formula the search scored (:class:`lpzero_sr.formula.Node`, over the operators of
:mod:`lpzero_sr.operators`): ``{"op": "log", "args": [...]}``, ``{"var": "grad.sqr.mean"}``, ``{"const": 2.0}``.
Nothing simplifies it on the way to disk, so the saved proxy ranks architectures exactly as the search did; its
sympy form, LaTeX, torch callable and torch source are all derived from the same tree.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import numpy as np
import sympy
import torch

from lpzero_sr.compile import to_torch as compile_to_torch
from lpzero_sr.compile import torch_source
from lpzero_sr.errors import LpzeroError
from lpzero_sr.formula import FormulaError, Node, evaluate_numpy, formula_latex, formula_sympy_text, formula_text
from lpzero_sr.quantile import Quantile, QuantileError, read_terminals, statistics, sympy_terminals, used
from lpzero_sr.ranking import Aggregation
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
    "quantiles": (dict,),
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

    @property
    def expr(self) -> sympy.Expr:
        """The unevaluated sympy form (guarded operators are opaque sympy functions; a formula quantile is
        ``q(<formula>)``)."""
        return self.formula.to_sympy(self._symbols())

    def text(self) -> str:
        """One-line readable formula (:func:`lpzero_sr.formula.formula_text`)."""
        return formula_text(self.formula, self._symbols())

    def latex(self) -> str:
        return formula_latex(self.formula, self._symbols())

    def sympy_text(self) -> str:
        """sympy's own string of :attr:`expr` (:func:`lpzero_sr.formula.formula_sympy_text`)."""
        return formula_sympy_text(self.formula, self._symbols())

    def _symbols(self) -> dict[str, sympy.Expr]:
        return sympy_terminals(self.formula.variables, self.quantiles)

    def to_torch(self, dtype: torch.dtype = torch.float64) -> Callable[[Mapping[str, torch.Tensor]], torch.Tensor]:
        """Differentiable callable over statistic tensors (one value per layer for per-layer proxies, reduced by
        :attr:`aggregation`); runs on their device."""
        return compile_to_torch(self.formula, dtype, self.aggregation, self.quantiles)

    def torch_source(self) -> str:
        return torch_source(self.formula, self.aggregation, quantiles=self.quantiles)

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
        if fields.get("aggregation") not in (None, *get_args(Aggregation)):
            known = ", ".join(repr(a) for a in get_args(Aggregation))
            raise ProxyError(f"proxy aggregation must be {known} or null, got {fields['aggregation']!r}")
        if fields.get("direction", "maximize") not in ("maximize", "minimize"):
            raise ProxyError(f"proxy direction must be 'maximize' or 'minimize', got {fields['direction']!r}")
        try:
            formula = Node.from_json(data["tree"])
            fields["quantiles"] = {n: Quantile.from_json(n, q) for n, q in fields.get("quantiles", {}).items()}
        except (FormulaError, QuantileError) as exc:
            raise ProxyError(f"bad proxy formula: {exc}") from None
        return cls(formula=formula, **fields)

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
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ProxyError(f"{path} is not JSON: {exc}") from None
        except RecursionError:
            raise ProxyError(f"{path} is nested too deeply to be a proxy file") from None
        return cls.from_json(data)


def load_proxy(path: str | Path, member: int | None = None) -> Proxy:
    """A proxy from a ``proxy.json``, a fit run directory or a run's ``front.json``; ``member`` takes front member
    ``member`` (with the run's aggregation, target and direction) instead of the chosen proxy."""
    path = Path(path)
    if not path.exists():
        raise ProxyError(f"proxy file not found: {path}")
    run = path if path.is_dir() else path.parent
    proxy_file = path if path.is_file() and path.name != "front.json" else run / "proxy.json"
    proxy = Proxy.load(proxy_file)
    if member is None:
        return proxy
    front_file = run / "front.json"
    try:
        front = json.loads(front_file.read_text())
        candidates = front["candidates"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProxyError(f"cannot read the front of {run}: {exc}") from None
    if not 0 <= member < len(candidates):
        raise ProxyError(f"--member {member} is not in the front of {run} (members 0..{len(candidates) - 1})")
    try:
        formula = Node.from_json(candidates[member]["tree"])
        quantiles = {n: Quantile.from_json(n, q) for n, q in front.get("quantiles", {}).items()}
    except (FormulaError, QuantileError, KeyError, AttributeError) as exc:
        raise ProxyError(f"bad front member {member} in {front_file}: {exc}") from None
    return dataclasses.replace(
        proxy, formula=formula, quantiles=quantiles, metrics={}, selection=f"front member {member}"
    )
