"""Quantile terminals: a statistic read through the empirical CDF of the training architectures.

``q(x)`` maps a raw statistic to its mid-rank position among the training rows' values, centred on their median
(-1/2 = the lowest training value, +1/2 = the highest), linear between distinct training values and clamped outside
them; NaN stays NaN. A search over ``q(x)`` is free of each statistic's scale (synflow spans tens of orders of
magnitude, jacov sits near -280): ``q(a) + q(b)`` is the rank average of ``a`` and ``b``, and ``-q(a)**2`` prefers
architectures near the training median of ``a`` (a non-monotone response: TransNAS-Bench-101's room_layout). The
centring was chosen on the development split (``benchmarks/suite_zero.py --split dev``). The knots are
data stored in the proxy, so a new architecture is scored without the training table, by numpy and torch alike.

The interpolation has the same arithmetic in both backends (bracket by a right-sided binary search,
``t = (x - x0) / (x1 - x0)`` clamped to [0, 1], ``y0 + t * (y1 - y0)``), so numpy and torch agree to the last bit
(``tests/export/test_torch.py``); ``lpzero_sr.export.torch.torch_quantile`` is the torch side, also the helper
of standalone torch source. Terminal modes
(``fit --terminals``): ``raw`` (the statistics), ``quantile`` (only their quantiles), ``both``.

A quantile may also read a whole formula instead of one statistic (``source``): the terminal ``q[f1]`` is the
training CDF of formula 1's values. A bagged proxy (:mod:`lpzero_sr.fit.bagging`) is the sum of such terminals,
the rank average of several searches' formulas; its text and LaTeX show each as ``q(formula)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from lpzero_sr.errors import LpzeroError
from lpzero_sr.formula import FormulaError, Node, evaluate_numpy, quantile_column, quantile_name
from lpzero_sr.settings import TERMINAL_MODES

if TYPE_CHECKING:
    from lpzero_sr.table import StatTable

Terminals = Literal["raw", "quantile", "both"]


class QuantileError(LpzeroError):
    """Quantile knots that cannot be used (bad proxy file data)."""


@dataclass(frozen=True)
class Quantile:
    """The training CDF of statistic ``column`` (or, with ``source``, of that formula's values; ``column`` is then
    empty): distinct training values ``knots`` (increasing) and the centred mid-rank level of each in [-1/2, 1/2]
    (``levels``, non-decreasing)."""

    column: str
    knots: tuple[float, ...]
    levels: tuple[float, ...]
    source: Node | None = None

    @classmethod
    def fit(cls, column: str, values: np.ndarray, source: Node | None = None) -> Quantile:
        """Knots from the finite training ``values`` of ``column`` or ``source`` (ties share their average rank)."""
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        if values.size == 0:
            raise QuantileError(f"column {column or source!r} has no finite training value")
        ordered = np.sort(values)
        knots, first = np.unique(ordered, return_index=True)
        from scipy.stats import rankdata  # scipy.stats: only when knots are fitted (a proxy file loads without it)

        levels = (rankdata(ordered, method="average")[first] - 1) / max(values.size - 1, 1) - 0.5
        return cls(column, tuple(float(k) for k in knots), tuple(float(v) for v in levels), source)

    def numpy(self, x: np.ndarray) -> np.ndarray:
        """``q(x)`` for a numpy array."""
        knots, levels = np.asarray(self.knots), np.asarray(self.levels)
        x = np.asarray(x, dtype=float)
        if knots.size == 1:
            return np.where(np.isnan(x), np.nan, levels[0])
        hi = np.clip(np.searchsorted(knots, x, side="right"), 1, knots.size - 1)
        x0, x1, y0, y1 = knots[hi - 1], knots[hi], levels[hi - 1], levels[hi]
        with np.errstate(invalid="ignore", over="ignore"):  # inf - x0 and huge slopes clip to 1
            t = np.clip((x - x0) / (x1 - x0), 0.0, 1.0)
        return y0 + t * (y1 - y0)

    # ------------------------------------------------------------------ files
    def to_json(self) -> dict[str, Any]:
        head = {"column": self.column} if self.source is None else {"formula": self.source.to_json()}
        return {**head, "knots": list(self.knots), "levels": list(self.levels)}

    @classmethod
    def from_json(cls, name: str, data: Any) -> Quantile:
        """Knots from a proxy file; every defect is one :class:`QuantileError` line naming the terminal."""
        keys = set(data) if isinstance(data, Mapping) else set()
        if not {"knots", "levels"} <= keys or ("column" in keys) == ("formula" in keys):
            raise QuantileError(f"quantile {name!r} needs 'knots', 'levels' and either 'column' or 'formula'")
        column, source, knots, levels = data.get("column", ""), None, data["knots"], data["levels"]
        if "formula" in data:
            if quantile_column(name) is not None:
                raise QuantileError(f"quantile {name!r} of a formula must not be named like a column's")
            try:
                source = Node.from_json(data["formula"])
            except FormulaError as exc:
                raise QuantileError(f"quantile {name!r}: {exc}") from None
        elif not isinstance(column, str) or name != quantile_name(column):
            raise QuantileError(f"quantile {name!r} does not name its column ({column!r})")
        numbers = (isinstance(knots, list) and isinstance(levels, list) and len(knots) == len(levels) >= 1) and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in [*knots, *levels]
        )
        if not numbers:
            raise QuantileError(f"quantile {name!r}: knots and levels must be equal-length lists of finite numbers")
        if any(b <= a for a, b in zip(knots, knots[1:], strict=False)):
            raise QuantileError(f"quantile {name!r}: knots must increase")
        if any(b < a for a, b in zip(levels, levels[1:], strict=False)) or not -0.5 <= levels[0] <= levels[-1] <= 0.5:
            raise QuantileError(f"quantile {name!r}: levels must be non-decreasing in [-0.5, 0.5]")
        return cls(column, tuple(map(float, knots)), tuple(map(float, levels)), source)


def fit_quantiles(train: StatTable, terminals: Terminals) -> dict[str, Quantile]:
    """The quantile of every feature of ``train`` by terminal name (empty for ``raw``); fitted on these rows only."""
    if terminals not in TERMINAL_MODES:
        raise QuantileError(f"terminals must be one of {', '.join(TERMINAL_MODES)}, got {terminals!r}")
    if terminals == "raw":
        return {}
    return {quantile_name(f): Quantile.fit(f, train.column(f)) for f in train.features}


def search_table(table: StatTable, quantiles: Mapping[str, Quantile], terminals: Terminals) -> StatTable:
    """``table`` with the quantile terminals as columns: the search's features are the quantiles (``quantile``)
    or the raw statistics followed by their quantiles (``both``)."""
    if not quantiles:
        return table
    import pandas as pd

    added = pd.DataFrame({n: q.numpy(table.column(q.column)) for n, q in quantiles.items()}, index=table.frame.index)
    frame = pd.concat([table.frame.drop(columns=[n for n in added if n in table.frame]), added], axis=1)
    features = [*(table.features if terminals == "both" else ()), *quantiles]
    return replace(table, frame=frame, features=tuple(features))


def used(terminals: tuple[str, ...], quantiles: Mapping[str, Quantile]) -> tuple[str, ...]:
    """``terminals`` and, below each formula quantile, the terminals its formula reads (in order, no repeats)."""
    out: dict[str, None] = {}
    for t in terminals:
        out[t] = None
        q = quantiles.get(t)
        if q is not None and q.source is not None:
            out.update(dict.fromkeys(used(q.source.variables, quantiles)))
    return tuple(out)


def statistics(terminals: tuple[str, ...], quantiles: Mapping[str, Quantile]) -> tuple[str, ...]:
    """The raw statistics behind ``terminals`` (sorted): a quantile terminal's column, the statistics of a formula
    quantile's formula, any other terminal itself."""
    names = set()
    for t in used(terminals, quantiles):
        q = quantiles.get(t)
        if q is None:
            names.add(t)
        elif q.source is None:
            names.add(q.column)
    return tuple(sorted(names))


class TerminalReader(Protocol):
    """How a backend reads terminals: the values of a formula quantile's ``node`` (broadcast to the shape of ``ref``,
    a raw statistic) and ``q(x)`` of quantile terminal ``name``."""

    def formula(self, node: Node, leaves: Mapping[str, Any], ref: Any) -> Any: ...

    def quantile(self, name: str, q: Quantile, x: Any) -> Any: ...


class NumpyReader:
    """Terminals of numpy columns: :func:`lpzero_sr.formula.evaluate_numpy` and :meth:`Quantile.numpy`."""

    def formula(self, node: Node, leaves: Mapping[str, Any], ref: Any) -> Any:
        return np.broadcast_to(evaluate_numpy(node, leaves), np.shape(ref))

    def quantile(self, name: str, q: Quantile, x: Any) -> Any:
        return q.numpy(x)


def read_terminals(
    names: tuple[str, ...],
    quantiles: Mapping[str, Quantile],
    columns: Mapping[str, Any],
    reader: TerminalReader | None = None,
) -> dict[str, Any]:
    """The value of every terminal in ``names`` from raw statistic ``columns`` (numpy arrays, or what ``reader``
    reads: ``lpzero_sr.export.torch`` passes tensors)."""
    reader = reader or NumpyReader()
    out = {}
    for name in names:
        q = quantiles.get(name)
        if q is None:
            out[name] = columns[name]
            continue
        if q.source is None:
            x = columns[q.column]
        else:
            leaves = read_terminals(q.source.variables, quantiles, columns, reader)
            x = reader.formula(q.source, leaves, next(iter(columns.values())))
        out[name] = reader.quantile(name, q, x)
    return out
