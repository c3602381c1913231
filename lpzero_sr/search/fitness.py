"""Rank fitness of one formula on a StatTable: rules first, then exact rank loss on aggregated scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lpzero_sr.ranking import WORST_LOSS, Aggregation, Method, aggregate, rank_loss
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search.ops import Token, evaluate
from lpzero_sr.table import StatTable


@dataclass(frozen=True)
class Outcome:
    """Loss of one formula (``WORST_LOSS`` when rejected) and the name of the rule that rejected it."""

    loss: float
    rejected_by: str | None = None


class Fitness:
    """Evaluates prefix formulas on the rows of ``table`` (per-row values aggregated per architecture).

    ``aggregation`` is how per-layer rows become one score per architecture (ignored for per-arch tables).
    The early-rejection subsample is drawn once from ``seed``, so outcomes never depend on call order.
    """

    def __init__(
        self,
        table: StatTable,
        rules: RuleSet,
        method: Method = "spearman",
        aggregation: Aggregation = "sum",
        seed: int = 0,
    ) -> None:
        self.features = table.features
        self.columns = [table.column(f) for f in table.features]
        self.groups = table.groups
        self.n_groups = len(table.archs)
        self.per_layer = table.per_layer
        self.y = table.y
        self.rules = rules
        self.method = method
        self.aggregation = aggregation
        early = rules.early_rejection
        self.sample: tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray] | None = None
        if early is not None and early.params["subsample"] < self.n_groups:
            rng = np.random.default_rng(seed)
            picked = np.sort(rng.choice(self.n_groups, early.params["subsample"], replace=False))
            rows = np.isin(self.groups, picked)
            _, sub_groups = np.unique(self.groups[rows], return_inverse=True)
            self.sample = ([c[rows] for c in self.columns], sub_groups, self.y[picked], rows)
            self.min_corr = float(early.params["min_corr"])
            self.early_name = early.name

    def scores(self, tokens: Sequence[Token], columns: list[np.ndarray] | None = None, groups=None, n=None):
        """Per-architecture scores of a formula (on the full table unless sub-columns are given)."""
        values = evaluate(tokens, columns if columns is not None else self.columns)
        if not self.per_layer:
            return np.asarray(values, dtype=float)
        g = self.groups if groups is None else groups
        return aggregate(values, g, self.n_groups if n is None else n, self.aggregation)

    def __call__(self, tokens: Sequence[Token]) -> Outcome:
        violated = self.rules.tree_violation(tokens)
        if violated is not None:
            return Outcome(WORST_LOSS, violated)
        if self.sample is not None:
            cols, sub_groups, sub_y, _ = self.sample
            sub_scores = self.scores(tokens, cols, sub_groups, len(sub_y))
            if self.rules.values_violation(sub_scores) is None:
                sub_loss = rank_loss(sub_scores, sub_y, self.method)
                if 1.0 - sub_loss < self.min_corr:
                    return Outcome(WORST_LOSS, self.early_name)
        scores = self.scores(tokens)
        violated = self.rules.values_violation(scores)
        if violated is not None:
            return Outcome(WORST_LOSS, violated)
        return Outcome(rank_loss(scores, self.y, self.method))
