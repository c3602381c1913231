"""The additive formula: one shape per column, fitted by ridge regression on the training ranks.

``a1*q(x1) + b1*q(x1)**2 + a2*q(x2) + b2*q(x2)**2 + ...``: each column's centred training quantile
(:mod:`lpzero_sr.quantile`) enters linearly and squared, so each column may rank architectures up, down, or best
near a middling value (a peak anywhere in the training range: ``b < 0`` with ``a / (2|b|)`` its position). The
coefficients are those of a ridge regression (scikit-learn's ``RidgeCV``, leave-one-out choice of alpha among
:data:`lpzero_sr.predictors.RIDGE_ALPHAS`) of the target's ranks on these ``2 x n`` terms, rounded to
:data:`DIGITS` significant digits. On NAS-Bench-Suite-Zero most of what boosted trees learn is such a per-column
shape: LightGBM with stumps (an additive model) nearly matches its deeper trees, while monotone ones lose most on
the tasks whose target peaks inside a column's range (``docs/results.md``, "The additive formula").

A search finds what the additive formula cannot (products, thresholds, a column's exp or log); the additive
formula finds each column's weight and peak, which a search without free constants cannot. ``fit --additive SHARE``
joins it to the rank average of the searches' formulas with that share of the weight (:func:`additive_weight`,
:func:`lpzero_sr.fit.bagging.rank_average`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
from sklearn.linear_model import RidgeCV

from lpzero_sr.formula import Node
from lpzero_sr.predictors import RIDGE_ALPHAS, target_ranks
from lpzero_sr.quantile import Quantile
from lpzero_sr.table import StatTable

MAX_COLUMNS = 16  # a wider table keeps the columns with the largest coefficients (a formula is read by people)
DIGITS = 3  # significant digits of each coefficient (ranks barely move)


def additive_formula(train: StatTable, quantiles: Mapping[str, Quantile]) -> Node:
    """``sum_j a_j*q(x_j) + b_j*q(x_j)**2`` over the column quantile terminals of ``quantiles`` (in their order),
    fitted on ``train`` (one row per architecture); each column's two terms are one bracketed sum. Of more than
    :data:`MAX_COLUMNS` columns, those with the largest ``|(a_j, b_j)|`` are kept and the fit is repeated on them."""
    names = [n for n, q in quantiles.items() if q.source is None]
    if not names:
        raise ValueError("the additive formula needs at least one column quantile")
    levels = np.column_stack([quantiles[n].numpy(train.column(quantiles[n].column)) for n in names])
    ranks = target_ranks(train)
    linear, square = _ridge(levels, ranks)
    if len(names) > MAX_COLUMNS:
        keep = np.sort(np.argsort(-np.hypot(linear, square), kind="stable")[:MAX_COLUMNS])
        names, (linear, square) = [names[i] for i in keep], _ridge(levels[:, keep], ranks)
    terms = [
        Node(op="add", args=(_scaled(a, Node(var=name)), _scaled(b, Node(op="square", args=(Node(var=name),)))))
        for name, a, b in zip(names, linear, square, strict=True)
    ]
    return functools.reduce(lambda left, right: Node(op="add", args=(left, right)), terms)


def _ridge(levels: np.ndarray, ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The coefficients of each column's level and of its square."""
    model = RidgeCV(alphas=RIDGE_ALPHAS).fit(np.hstack([levels, levels**2]), ranks)
    linear, square = np.split(model.coef_, 2)
    return linear, square


def additive_weight(share: float, n_formulas: int) -> float:
    """The additive formula's weight in a rank average beside ``n_formulas`` formulas of weight 1, so that it gets
    ``share`` (in [0, 1)) of the total weight."""
    return round(share * n_formulas / (1 - share), 6)


def _scaled(coef: float, term: Node) -> Node:
    """``coef * term`` with ``coef`` rounded to :data:`DIGITS` significant digits."""
    return Node(op="mul", args=(Node(const=float(f"{coef:.{DIGITS}g}")), term))
