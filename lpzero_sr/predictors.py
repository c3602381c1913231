"""Predictors: everything that ranks architectures from their statistics, behind one ``fit`` / ``query`` interface.

NASLib's predictor shape: ``fit(train) -> self`` learns from the training rows (a :class:`StatTable`),
``query(table) -> np.ndarray`` gives one score per architecture of ``table`` (aligned with ``table.archs``, higher is
better). ``size`` is the node count of a formula, ``None`` for a model that is no formula. The found proxy
(:class:`ProxyPredictor`: fitted by the search, so its ``fit`` keeps it as it is), the best single column
(:class:`BestColumn`) and the learned peers of :data:`PEERS` all have it, so the held-out assessment
(:mod:`lpzero_sr.fit.assess`) scores them the same way.

NAS-Bench-Suite-Zero shows that a surrogate fit on all proxies beats any single proxy; a symbolic proxy is compared
with such peers, fit on the same training rows and scored on the same held-out rows. Per-layer tables are reduced to
one row per architecture first (each column's mean over layers). Rank-based peers rank each column within the table
they score (:func:`pct_ranks`): a peer orders a pool of candidates, as the held-out architectures are; no target of
the scored table is ever read.

* ``ridge-ranks``: ridge regression of the target's ranks on the columns' ranks (``RidgeCV``, leave-one-out choice
  of alpha in :data:`RIDGE_ALPHAS`);
* ``lightgbm``: gradient-boosted trees on all raw columns, fit to the target's ranks, with the fixed
  hyper-parameters :data:`LGBM_PARAMS` (seeded, deterministic, one thread);
* ``xgboost``: XGBoost's gradient-boosted trees on all raw columns, fit to the target's ranks, with the fixed
  hyper-parameters :data:`XGB_PARAMS` (depth-3 trees, many slow steps; seeded, one thread), the surrogate
  NAS-Bench-Suite-Zero recommends;
* ``rank-avg``: the mean rank of the ``k`` (default 3) columns with the largest training ``|Spearman|``, each
  negated when its training Spearman is negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from scipy.stats import rankdata

from lpzero_sr.errors import TableError
from lpzero_sr.ranking import spearman
from lpzero_sr.registry import Registry
from lpzero_sr.table import StatTable

if TYPE_CHECKING:
    from lpzero_sr.proxy import Proxy

RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(-3, 3, 13))
# Small trees and many slow steps suit ~100 training rows; fixed before any held-out evaluation.
LGBM_PARAMS: dict[str, Any] = {
    "n_estimators": 300,
    "learning_rate": 0.03,
    "num_leaves": 8,
    "min_child_samples": 5,
    "subsample": 1.0,
    "colsample_bytree": 1.0,
    "reg_lambda": 1.0,
    "random_state": 0,
    "n_jobs": 1,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}


# The same budget as LightGBM's: small trees, many slow steps; fixed before any held-out evaluation.
XGB_PARAMS: dict[str, Any] = {
    "n_estimators": 300,
    "learning_rate": 0.03,
    "max_depth": 3,
    "min_child_weight": 1.0,
    "subsample": 1.0,
    "colsample_bytree": 1.0,
    "reg_lambda": 1.0,
    "random_state": 0,
    "n_jobs": 1,
    "tree_method": "exact",
}


class Predictor(Protocol):
    """Ranks architectures (higher is better) after learning from training rows."""

    size: int | None

    def fit(self, train: StatTable) -> Predictor: ...

    def query(self, table: StatTable) -> np.ndarray: ...


PEERS: Registry[type[Predictor]] = Registry("peer")


def arch_matrix(table: StatTable, columns: tuple[str, ...]) -> np.ndarray:
    """One row per architecture (aligned with ``table.archs``), one column per name: the mean over layers."""
    missing = [c for c in columns if c not in table.frame.columns]
    if missing:
        raise TableError(f"table lacks the predictor's training column(s): {', '.join(missing)}")
    return np.column_stack([table.aggregate(table.column(c), "mean") for c in columns])


def target_ranks(train: StatTable) -> np.ndarray:
    """The oriented target as ranks scaled to (0, 1]: fits only the order, not the scale or its outliers."""
    return rankdata(train.y) / len(train.y)


def pct_ranks(values: np.ndarray) -> np.ndarray:
    """Each column's ranks (ties averaged) divided by the number of rows: values in (0, 1]."""
    return rankdata(values, axis=0) / len(values)


# ------------------------------------------------------------------ the found proxy and the best column
class ProxyPredictor:
    """A found proxy: the search fitted it, so ``fit`` returns it unchanged; ``query`` is
    :meth:`lpzero_sr.proxy.Proxy.evaluate`."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.size: int | None = proxy.formula.size

    def fit(self, train: StatTable) -> ProxyPredictor:
        return self

    def query(self, table: StatTable) -> np.ndarray:
        return self.proxy.evaluate(table)


@dataclass
class BestColumn:
    """The single column (negated when ``sign`` is -1) with the best training ``|Spearman|``, chosen by ``fit``;
    a per-layer table's column is its mean over layers."""

    column: str = ""
    sign: float = 1.0
    train_spearman: float = -np.inf
    size: int | None = 1

    def fit(self, train: StatTable) -> BestColumn:
        for name in train.features:
            rho = spearman(train.aggregate(train.column(name), "mean"), train.y)
            if np.isfinite(rho) and abs(rho) > self.train_spearman:
                self.column, self.sign, self.train_spearman = name, 1.0 if rho >= 0 else -1.0, abs(rho)
        return self

    def query(self, table: StatTable) -> np.ndarray:
        return self.sign * table.aggregate(table.column(self.column), "mean")


def best_single_column(train: StatTable) -> BestColumn:
    """The best single column chosen on ``train`` only (a column anti-correlated with the target counts negated)."""
    return BestColumn().fit(train)


# ------------------------------------------------------------------ learned peers
@PEERS.register("ridge-ranks")
class RidgeRanks:
    """Ridge regression on rank-transformed columns, target ranks as response."""

    size = None

    def fit(self, train: StatTable) -> RidgeRanks:
        from sklearn.linear_model import RidgeCV

        self.columns = train.features
        self.model = RidgeCV(alphas=RIDGE_ALPHAS).fit(pct_ranks(arch_matrix(train, self.columns)), target_ranks(train))
        return self

    def query(self, table: StatTable) -> np.ndarray:
        return self.model.predict(pct_ranks(arch_matrix(table, self.columns)))


class _Boosted:
    """Gradient-boosted trees on all raw columns, target ranks as response; subclasses name the model."""

    size = None

    def model(self) -> Any:
        raise NotImplementedError

    def fit(self, train: StatTable) -> _Boosted:
        self.columns = train.features
        self.fitted = self.model().fit(arch_matrix(train, self.columns), target_ranks(train))
        return self

    def query(self, table: StatTable) -> np.ndarray:
        return np.asarray(self.fitted.predict(arch_matrix(table, self.columns)), dtype=float)


@PEERS.register("lightgbm")
class LightGBM(_Boosted):
    """LightGBM with :data:`LGBM_PARAMS`."""

    def model(self) -> Any:
        import lightgbm as lgb

        return lgb.LGBMRegressor(**LGBM_PARAMS)


@PEERS.register("xgboost")
class XGBoost(_Boosted):
    """XGBoost with :data:`XGB_PARAMS`."""

    def model(self) -> Any:
        import xgboost as xgb

        return xgb.XGBRegressor(**XGB_PARAMS)


@PEERS.register("rank-avg")
class RankAverage:
    """Mean rank of the ``k`` columns with the best training ``|Spearman|`` (sign from training)."""

    size = None

    def __init__(self, k: int = 3) -> None:
        if k < 1:
            raise TableError(f"rank-avg needs k >= 1, got {k}")
        self.k = k

    def fit(self, train: StatTable) -> RankAverage:
        values = arch_matrix(train, train.features)
        rhos = [spearman(col, train.y) for col in values.T]
        ranked = sorted(
            (i for i, rho in enumerate(rhos) if np.isfinite(rho)), key=lambda i: (-abs(rhos[i]), train.features[i])
        )
        if not ranked:
            raise TableError("no training column has a finite Spearman with the target")
        chosen = ranked[: self.k]
        self.columns = tuple(train.features[i] for i in chosen)
        self.signs = np.array([1.0 if rhos[i] >= 0 else -1.0 for i in chosen])
        return self

    def query(self, table: StatTable) -> np.ndarray:
        return pct_ranks(arch_matrix(table, self.columns) * self.signs).mean(axis=1)
