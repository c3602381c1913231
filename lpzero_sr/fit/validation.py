"""k-fold validation of formula size on the training rows: which complexity generalizes, decided without held-out rows.

The training architectures are split into ``k`` folds (by the search seed). For each fold a search runs on the
other ``k - 1`` folds, prepared exactly as a fit prepares its training rows (their own finite columns and quantile
CDFs: :mod:`lpzero_sr.fit.prepare`), and each size ``c`` of its Pareto front is scored on the left-out fold: the
member of size at most ``c`` with the lowest training loss is the formula a fit limited to ``c`` nodes would return.
The mean over folds of that validation rank correlation is the *validation curve*. The ``cv`` selection rule
(:mod:`lpzero_sr.fit.selection`) takes, from the front of the search on all training rows, the lowest-loss member
no larger than the smallest size whose validation value is within one standard error of the curve's best (the
one-standard-error rule of cross-validated model selection; Breiman et al., CART).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from lpzero_sr.evaluate import rank_metrics
from lpzero_sr.fit.prepare import prepare
from lpzero_sr.fit.search import shared_time
from lpzero_sr.proxy import Proxy
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search.engine import Candidate, Engine, Front
from lpzero_sr.settings import FitSettings
from lpzero_sr.table import StatTable


@dataclass(frozen=True)
class ValidationCurve:
    """Mean and standard error over folds of the validation rank correlation of the best member of each size
    (``sizes[i]``), and each fold's values (``NaN`` where a fold's front has no member that small)."""

    sizes: tuple[int, ...]
    mean: tuple[float, ...]
    stderr: tuple[float, ...]
    folds: tuple[tuple[float, ...], ...]

    def chosen_size(self) -> int:
        """The smallest size whose mean is within one standard error of the best mean."""
        mean = np.asarray(self.mean)
        if not np.isfinite(mean).any():
            return max(self.sizes)
        best = int(np.nanargmax(mean))
        bar = mean[best] - self.stderr[best]
        return next(s for s, m in zip(self.sizes, mean, strict=True) if np.isfinite(m) and m >= bar)

    def to_json(self) -> dict[str, list]:
        return {"sizes": list(self.sizes), "mean": list(self.mean), "stderr": list(self.stderr),
                "folds": [list(f) for f in self.folds]}  # fmt: skip


def best_up_to(front: Front, size: int) -> Candidate | None:
    """The member of ``front`` with the lowest loss among those of at most ``size`` nodes."""
    fitting = [c for c in front.candidates if c.complexity <= size]
    return min(fitting, key=lambda c: (c.loss, c.complexity)) if fitting else None


def folds(n: int, k: int, seed: int) -> list[np.ndarray]:
    """``k`` disjoint index sets covering ``range(n)`` (sizes differ by at most one), shuffled by ``seed``."""
    return [np.sort(part) for part in np.array_split(np.random.default_rng(seed).permutation(n), k)]


def validation_curve(
    train: StatTable, settings: FitSettings, rules: RuleSet, engine: Engine, mode: str, max_size: int
) -> ValidationCurve:
    """The validation curve of ``settings.cv_folds`` folds of ``train`` (see the module docstring); each fold's
    search reads terminal ``mode`` and runs with the search settings of the fit."""
    archs = train.archs
    k = settings.folds(len(archs))
    sizes = tuple(range(1, max_size + 1))
    share = shared_time(settings.search, settings.searches(len(archs)))
    per_fold: list[tuple[float, ...]] = []
    for index, held in enumerate(folds(len(archs), k, settings.search.seed)):
        keep = np.setdiff1d(np.arange(len(archs)), held)
        prepared = prepare(train.subset(archs[keep]), train.subset(archs[held]))
        search = replace(share, seed=settings.search.seed + 1000 * (index + 1))
        front = engine.fit(prepared.search_table(mode, prepared.train.features), rules, search)
        values = []
        for size in sizes:
            member = best_up_to(front, size)
            if member is None:
                values.append(float("nan"))
                continue
            proxy = Proxy(member.formula, quantiles=prepared.quantiles)
            values.append(rank_metrics(proxy.evaluate(prepared.test), prepared.test.y)[settings.search.loss])
        per_fold.append(tuple(values))
    table = np.asarray(per_fold, dtype=float)
    counts = np.isfinite(table).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, np.nanmean(np.where(np.isfinite(table), table, np.nan), axis=0), np.nan)
        std = np.where(counts > 1, np.nanstd(table, axis=0, ddof=1), 0.0)
        stderr = std / np.sqrt(np.maximum(counts, 1))
    return ValidationCurve(sizes, tuple(map(float, mean)), tuple(map(float, stderr)), tuple(per_fold))
