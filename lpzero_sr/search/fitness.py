"""Rank fitness of one formula on a StatTable: rules first, then exact rank loss on aggregated scores.

This is the reference path (``formula.evaluate_tokens`` and ``ranking.rank_loss``, one formula at a time), used by
the PySR engine and the LPZero work to re-score formulas and selectable in the DEAP engine (``evaluator=
"reference"``); the search's default, :class:`lpzero_sr.search.evaluators.CompiledEvaluator`, decides the same rules
in the same order with the same arithmetic on whole populations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lpzero_sr.formula import Token, evaluate_tokens
from lpzero_sr.ranking import WORST_LOSS, Aggregation, Method, aggregate, rank_loss
from lpzero_sr.rules.ruleset import EarlyRejection, RuleSet
from lpzero_sr.table import StatTable


@dataclass(frozen=True)
class Rows:
    """Feature columns of some rows, their architecture codes (0..n-1) and the oriented per-architecture target."""

    columns: list[np.ndarray]
    groups: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Outcome:
    """Loss of one formula (``WORST_LOSS`` when rejected) and the name of the rule that rejected it."""

    loss: float
    rejected_by: str | None = None


def subsample(n_archs: int, early: EarlyRejection | None, seed: int) -> np.ndarray | None:
    """The sorted architectures of the early-rejection subsample (drawn once from ``seed``), ``None`` for none."""
    if early is None or early.params["subsample"] >= n_archs:
        return None
    return np.sort(np.random.default_rng(seed).choice(n_archs, early.params["subsample"], replace=False))


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
        self.rules = rules
        self.method = method
        self.aggregation = aggregation
        self.per_layer = table.per_layer
        self.full = Rows([table.column(f) for f in table.features], table.groups, table.y)
        self.early = rules.early_rejection
        self.sample: Rows | None = None
        picked = subsample(len(self.full.y), self.early, seed)
        if picked is not None:
            rows = np.isin(self.full.groups, picked)
            _, sub_groups = np.unique(self.full.groups[rows], return_inverse=True)
            self.sample = Rows([c[rows] for c in self.full.columns], sub_groups, self.full.y[picked])

    def scores(self, tokens: Sequence[Token], rows: Rows | None = None) -> np.ndarray:
        """Per-architecture scores of a formula on ``rows`` (default: the whole table)."""
        rows = rows or self.full
        values = evaluate_tokens(tokens, rows.columns)
        if not self.per_layer:
            return np.asarray(values, dtype=float)
        return aggregate(values, rows.groups, len(rows.y), self.aggregation)

    def __call__(self, tokens: Sequence[Token]) -> Outcome:
        violated = self.rules.tree_violation(tokens)
        if violated is not None:
            return Outcome(WORST_LOSS, violated)
        if self.sample is not None and self.early is not None:
            sub_scores = self.scores(tokens, self.sample)
            hopeless = 1.0 - rank_loss(sub_scores, self.sample.y, self.method) < self.early.params["min_corr"]
            if hopeless and self.rules.values_violation(sub_scores) is None:
                return Outcome(WORST_LOSS, self.early.name)
        scores = self.scores(tokens)
        violated = self.rules.values_violation(scores)
        if violated is not None:
            return Outcome(WORST_LOSS, violated)
        return Outcome(rank_loss(scores, self.full.y, self.method))
