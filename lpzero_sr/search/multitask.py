"""One proxy for many tasks (Phan & Luong): the rank loss of a formula over several tables sharing column names.

:class:`MultiFitness` has the interface the DEAP engine uses from :class:`~lpzero_sr.search.fitness.Fitness`
(``features`` and ``__call__(tokens) -> Outcome``); it holds one ``Fitness`` per table and reduces their losses by
the mean (``reduce="mean"``) or the worst (``reduce="min"``: the least rank correlation over the tasks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from lpzero_sr.formula import Token
from lpzero_sr.ranking import WORST_LOSS, Aggregation, Method
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search.engine import SearchError
from lpzero_sr.search.fitness import Fitness, Outcome
from lpzero_sr.table import StatTable

Reduce = Literal["mean", "min"]


def _mean(losses: list[float]) -> float:
    """Added left to right from 0.0, then divided: the compiled evaluator's arithmetic (``np.mean`` sums pairwise)."""
    total = 0.0
    for value in losses:
        total += value
    return total / len(losses)


REDUCERS: dict[str, Callable[[list[float]], float]] = {
    "mean": _mean,
    "min": max,
}  # "min" correlation = the largest loss


def shared_features(tables: Sequence[StatTable]) -> list[str]:
    """Sorted names of the columns that are features of every table and finite on each table's every row.

    Call it on training tables only: which columns the search may use must not depend on held-out rows."""
    if not tables:
        raise SearchError("a multi-table search needs at least one table")
    common = set.intersection(*(set(t.finite_features().features) for t in tables))
    if not common:
        raise SearchError("the tables share no feature column that is finite on all their training rows")
    return sorted(common)


class MultiFitness:
    """Rank loss of prefix formulas over several tables: structural rules first (a malformed formula touches no
    table), then one :class:`Fitness` per table (value rules, early rejection and the exact loss on that table),
    reduced by ``reduce``.

    A formula rejected on any table is rejected (``WORST_LOSS``, the first rejecting rule's name): one proxy must
    be usable on every task."""

    def __init__(
        self,
        tables: Sequence[StatTable],
        rules: RuleSet,
        method: Method = "spearman",
        aggregation: Aggregation = "sum",
        seed: int = 0,
        reduce: Reduce = "mean",
    ) -> None:
        if reduce not in REDUCERS:
            raise SearchError(f"unknown multi-table loss {reduce!r}; choose one of {', '.join(REDUCERS)}")
        self.features = tuple(shared_features(tables))
        self.rules = rules
        self.reduce = reduce
        self.parts = [Fitness(t.with_features(self.features), rules, method, aggregation, seed) for t in tables]

    def losses(self, tokens: Sequence[Token]) -> list[Outcome]:
        """The outcome of the formula on each table, in table order."""
        return [part(tokens) for part in self.parts]

    def __call__(self, tokens: Sequence[Token]) -> Outcome:
        violated = self.rules.tree_violation(tokens)
        if violated is not None:
            return Outcome(WORST_LOSS, violated)
        outcomes = self.losses(tokens)
        for outcome in outcomes:
            if outcome.rejected_by is not None:
                return Outcome(WORST_LOSS, outcome.rejected_by)
        return Outcome(float(REDUCERS[self.reduce]([o.loss for o in outcomes])))
