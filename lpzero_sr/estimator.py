"""``ProxySearch``: the fit as a scikit-learn estimator, for notebooks, pipelines and cross-validation.

>>> search = ProxySearch(FitSettings(search=SearchSettings(generations=50))).fit(df, target="glue", maximize=True)
>>> search.proxy.text(), search.front, search.latex()
>>> search.predict(new_df)            # one score per row (per architecture of a per-layer frame), higher is better
>>> cross_val_score(ProxySearch(), X, y, scoring=make_scorer(spearman))

It follows scikit-learn's conventions: the constructor stores ``settings`` as given, ``get_params``/``set_params``
reach every field (``settings__bag``, ``settings__search__population``), ``fit`` learns from every row it is given
(cross-validation holds rows out; ``FitSettings.train_size`` is the CLI's held-out split) and sets the fitted
attributes ``run_``, ``proxy_`` and ``front_``. ``fit(X, y)`` takes arrays as well as a DataFrame with a target
column. The CLI's ``lpzero-sr fit`` runs the same pipeline (:func:`lpzero_sr.fit.pipeline.fit_table`).
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from lpzero_sr.ranking import aggregate, spearman
from lpzero_sr.settings import FitSettings, SearchSettings, with_changes
from lpzero_sr.table import StatTable

if TYPE_CHECKING:
    import sympy
    import torch

    from lpzero_sr.fit.pipeline import FitResult
    from lpzero_sr.proxy import Proxy

TARGET = "target"  # the target column's name when ``fit`` gets ``y`` as an array


class ProxySearch(BaseEstimator):
    """Search a table for a short ranking formula (see the module docstring)."""

    def __init__(self, settings: FitSettings | None = None) -> None:
        self.settings = settings

    # ------------------------------------------------------------------ scikit-learn parameters
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"settings": self.settings}
        if deep:
            out.update(_flat(self.settings or FitSettings(), "settings__"))
        return out

    def set_params(self, **params: Any) -> ProxySearch:
        settings = params.pop("settings", self.settings) or FitSettings()
        changes = {}
        for key, value in params.items():
            if not key.startswith("settings__"):
                raise ValueError(f"invalid parameter {key!r} for ProxySearch; use settings or settings__<field>")
            changes[key.removeprefix("settings__").replace("__", ".")] = value
        self.settings = with_changes(settings, changes)
        return self

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        X: pd.DataFrame | np.ndarray,  # noqa: N803 - scikit-learn's name
        y: np.ndarray | pd.Series | None = None,
        *,
        target: str | None = None,
        maximize: bool = True,
        arch_col: str | None = None,
        layer_col: str | None = None,
    ) -> ProxySearch:
        """Search on every row: ``X`` holds the statistics (a DataFrame, or an array whose columns are named
        ``x0``, ``x1``, ...); the target is ``y`` or ``X[target]``, maximised unless ``maximize=False``. With
        ``arch_col``/``layer_col`` a frame's rows are layers of architectures."""
        from lpzero_sr.fit.pipeline import fit_table

        table = _table(X, y, target, maximize, arch_col, layer_col)
        self.run_: FitResult = fit_table(table, None, self.settings or FitSettings())
        self.proxy_: Proxy = self.run_.proxy
        self.front_ = _front_frame(self.run_)
        self.target_, self.maximize_, self.arch_col_, self.layer_col_ = table.target, maximize, arch_col, layer_col
        return self

    @property
    def proxy(self) -> Proxy:
        """The found proxy (:class:`lpzero_sr.proxy.Proxy`)."""
        return self._fitted().proxy_

    @property
    def front(self) -> pd.DataFrame:
        """The Pareto front, one row per member: size, loss, train correlation, formula text, chosen."""
        return self._fitted().front_

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:  # noqa: N803
        """The proxy's score of each row (of each architecture, in order of first appearance, for a per-layer
        frame); higher is better."""
        proxy = self.proxy
        frame = _frame(X)
        values = proxy.row_values({c: frame[c].to_numpy(dtype=float) for c in proxy.features if c in frame}, len(frame))
        if self.layer_col_ is None:
            return values
        codes, archs = pd.factorize(frame[self.arch_col_ or "arch"].astype(str))
        return aggregate(values, codes, len(archs), proxy.aggregation or "mean")

    def score(self, X: pd.DataFrame | np.ndarray, y: np.ndarray | None = None) -> float:  # noqa: N803
        """Spearman's rho of :meth:`predict` with ``y`` (or ``X``'s target column), oriented like the fit."""
        frame = _frame(X)
        truth = np.asarray(y if y is not None else frame[self.target_], dtype=float)
        if self.layer_col_ is not None:
            truth = frame.assign(_y=truth).drop_duplicates(self.arch_col_ or "arch")["_y"].to_numpy(dtype=float)
        return spearman(self.predict(X), truth if self.maximize_ else -truth)

    # ------------------------------------------------------------------ exports
    def sympy(self) -> sympy.Expr:
        return self.proxy.expr

    def latex(self) -> str:
        return self.proxy.latex()

    def torch(self) -> torch.nn.Module:
        return self.proxy.to_torch()

    def _fitted(self) -> ProxySearch:
        if not hasattr(self, "proxy_"):
            raise NotFittedError("this ProxySearch is not fitted yet: call fit first")
        return self


def _flat(settings: FitSettings | SearchSettings, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(settings):
        value = getattr(settings, f.name)
        if isinstance(value, SearchSettings):
            out.update(_flat(value, f"{prefix}{f.name}__"))
        else:
            out[f"{prefix}{f.name}"] = value
    return out


def _frame(X: pd.DataFrame | np.ndarray) -> pd.DataFrame:  # noqa: N803
    if isinstance(X, pd.DataFrame):
        return X
    values = np.asarray(X, dtype=float)
    return pd.DataFrame(values, columns=[f"x{i}" for i in range(values.shape[1])])


def _table(
    X: pd.DataFrame | np.ndarray,  # noqa: N803
    y: np.ndarray | pd.Series | None,
    target: str | None,
    maximize: bool,
    arch_col: str | None,
    layer_col: str | None,
) -> StatTable:
    frame = _frame(X).copy()
    if y is not None:
        target = target or TARGET
        frame[target] = np.asarray(y, dtype=float)
    if target is None:
        raise ValueError("ProxySearch.fit needs y or the name of X's target column (target=...)")
    direction = "maximize" if maximize else "minimize"
    return StatTable.from_frame(frame, target, direction, arch_col=arch_col, layer_col=layer_col)


def _front_frame(run: FitResult) -> pd.DataFrame:
    rows = [
        {"size": c.complexity, "loss": c.loss, "train": 1.0 - c.loss, "formula": c.text, "chosen": i == run.chosen}
        for i, c in enumerate(run.front.candidates)
    ]
    return pd.DataFrame(rows, columns=["size", "loss", "train", "formula", "chosen"])
