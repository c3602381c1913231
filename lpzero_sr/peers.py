"""Learned peers of a found proxy: models fit on the same training rows, scored on the same held-out rows.

NAS-Bench-Suite-Zero shows that a surrogate fit on all proxies beats any single proxy; a symbolic proxy should be
compared with such peers, not only with the best single column. Each peer in :data:`PEERS` has
``fit(train) -> self`` and ``scores(table) -> np.ndarray`` (one score per architecture, aligned with
``table.archs``, higher is better). Per-layer tables are reduced to one row per architecture first (each column's
mean over layers). Rank-based peers rank each column within the table they score (:func:`pct_ranks`): a peer
orders a pool of candidates, as the held-out architectures are; no target of the scored table is ever read.

* ``ridge-ranks``: ridge regression of the target's ranks on the columns' ranks (``RidgeCV``, leave-one-out choice
  of alpha in :data:`RIDGE_ALPHAS`);
* ``lightgbm``: gradient-boosted trees on all raw columns, fit to the target's ranks, with the fixed
  hyper-parameters :data:`LGBM_PARAMS` (seeded, deterministic, one thread);
* ``rank-avg``: the mean rank of the ``k`` (default 3) columns with the largest training ``|Spearman|``, each
  negated when its training Spearman is negative.
"""

from __future__ import annotations

from typing import Any, Protocol

import lightgbm as lgb
import numpy as np
from scipy.stats import rankdata
from sklearn.linear_model import RidgeCV

from lpzero_sr.errors import TableError
from lpzero_sr.evaluate import rank_metrics
from lpzero_sr.ranking import spearman
from lpzero_sr.registry import Registry
from lpzero_sr.table import StatTable

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


class Peer(Protocol):
    """A model fit on training rows that scores architectures (higher is better)."""

    def fit(self, train: StatTable) -> Peer: ...

    def scores(self, table: StatTable) -> np.ndarray: ...


PEERS: Registry[type[Peer]] = Registry("peer")


def arch_matrix(table: StatTable, columns: tuple[str, ...]) -> np.ndarray:
    """One row per architecture (aligned with ``table.archs``), one column per name: the mean over layers."""
    missing = [c for c in columns if c not in table.frame.columns]
    if missing:
        raise TableError(f"table lacks the peer's training column(s): {', '.join(missing)}")
    return np.column_stack([table.aggregate(table.column(c), "mean") for c in columns])


def target_ranks(train: StatTable) -> np.ndarray:
    """The oriented target as ranks scaled to (0, 1]: fits only the order, not the scale or its outliers."""
    return rankdata(train.y) / len(train.y)


def pct_ranks(values: np.ndarray) -> np.ndarray:
    """Each column's ranks (ties averaged) divided by the number of rows: values in (0, 1]."""
    return rankdata(values, axis=0) / len(values)


@PEERS.register("ridge-ranks")
class RidgeRanks:
    """Ridge regression on rank-transformed columns, target ranks as response."""

    def fit(self, train: StatTable) -> RidgeRanks:
        self.columns = train.features
        self.model = RidgeCV(alphas=RIDGE_ALPHAS).fit(pct_ranks(arch_matrix(train, self.columns)), target_ranks(train))
        return self

    def scores(self, table: StatTable) -> np.ndarray:
        return self.model.predict(pct_ranks(arch_matrix(table, self.columns)))


@PEERS.register("lightgbm")
class LightGBM:
    """Gradient boosting (LightGBM, :data:`LGBM_PARAMS`) on all raw columns, target ranks as response."""

    def fit(self, train: StatTable) -> LightGBM:
        self.columns = train.features
        self.model = lgb.LGBMRegressor(**LGBM_PARAMS).fit(arch_matrix(train, self.columns), target_ranks(train))
        return self

    def scores(self, table: StatTable) -> np.ndarray:
        return np.asarray(self.model.predict(arch_matrix(table, self.columns)), dtype=float)


@PEERS.register("rank-avg")
class RankAverage:
    """Mean rank of the ``k`` columns with the best training ``|Spearman|`` (sign from training)."""

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

    def scores(self, table: StatTable) -> np.ndarray:
        return pct_ranks(arch_matrix(table, self.columns) * self.signs).mean(axis=1)


def peer_report(train: StatTable, test: StatTable) -> dict[str, dict[str, float]]:
    """Held-out rank metrics (Spearman, Kendall, top-10%) of every registered peer, fit on ``train``."""
    return {name: rank_metrics(peer().fit(train).scores(test), test.y) for name, peer in PEERS.items()}
