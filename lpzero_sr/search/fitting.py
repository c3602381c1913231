"""One fit from train/test tables to a chosen, simplified, evaluated :class:`Proxy` (used by CLI and benchmarks)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lpzero_sr.evaluate import heldout_report, rank_metrics
from lpzero_sr.proxy import Proxy
from lpzero_sr.ranking import Aggregation, Method
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search.engine import Budget, Front, Progress, get_engine
from lpzero_sr.table import StatTable


@dataclass
class FitResult:
    proxy: Proxy
    front: Front
    report: dict[str, Any]  # held-out metrics of the proxy and of the best single column (empty without test rows)


def fit_proxy(
    train: StatTable,
    test: StatTable | None,
    rules: RuleSet,
    *,
    engine: str = "deap",
    loss: Method = "spearman",
    aggregation: Aggregation = "mean",
    budget: Budget,
    seed: int = 0,
    population: int = 200,
    checkpoint: Path | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
) -> FitResult:
    """Search on ``train``, choose from the front (:meth:`Front.choose`), score train and held-out rows.

    The search sees only the columns finite on every training row (:meth:`StatTable.finite_features`); which
    columns it may use never depends on held-out rows. The proxy is the chosen front member's tree as the search
    scored it (no simplification)."""
    train = train.finite_features()
    if test is not None:
        test = test.with_features(train.features)
    backend = get_engine(engine)
    front = backend.fit(
        train, rules, loss=loss, aggregation=aggregation, budget=budget, seed=seed,
        population=population, checkpoint=checkpoint, jobs=jobs, progress=progress,
    )  # fmt: skip
    chosen = front.choose()
    proxy = Proxy(
        chosen.formula,
        aggregation=aggregation if train.per_layer else None,
        target=train.target,
        direction=train.direction,
        loss=loss,
        engine=getattr(backend, "name", engine),
        seed=seed,
        rules=rules.name,
    )
    proxy.metrics["train"] = rank_metrics(proxy.evaluate(train), train.y)
    report: dict[str, Any] = {}
    if test is not None:
        report = heldout_report(proxy.evaluate(test), train, test)
        proxy.metrics["heldout"] = report["proxy"]
    return FitResult(proxy, front, report)
