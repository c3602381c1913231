"""A fit as named stages: *prepare* -> *search* -> *compose* -> *assess*; :class:`lpzero_sr.rundir.RunDir` writes it.

:func:`fit_table` fits one table (held-out rows optional), :func:`fit_tables` several tables at once with one
search (Phan & Luong's one proxy for many tasks). Both take their settings as one frozen object
(:mod:`lpzero_sr.settings`) and return everything a run directory, a report or the held-out protocol needs, so
none of them recomputes a stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lpzero_sr.evaluate import rank_metrics
from lpzero_sr.fit.assess import heldout_report, member_metrics, metrics, predictions
from lpzero_sr.fit.compose import ProxyMaker, compose
from lpzero_sr.fit.prepare import Prepared, prepare
from lpzero_sr.fit.search import SearchRun, run_searches
from lpzero_sr.fit.selection import select
from lpzero_sr.fit.validation import ValidationCurve, validation_curve
from lpzero_sr.predictors import ProxyPredictor
from lpzero_sr.proxy import Proxy
from lpzero_sr.quantile import Quantile
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.rundir import RunRecord
from lpzero_sr.search.engine import Front, Progress, SearchError
from lpzero_sr.search.engines import get_engine
from lpzero_sr.search.multitask import shared_features
from lpzero_sr.settings import FitSettings, MultiFitSettings, to_dict
from lpzero_sr.table import StatTable


@dataclass
class FitResult:
    """One table's fit: the proxy (its ``metrics`` hold train and held-out rank metrics), the first search's front
    and each member's metrics, the chosen member's index (``None`` for an ensemble, which is no front member),
    the first search's chosen member (``compact``: the short formula an ensemble is reported beside), the held-out
    report (proxy, best single column, peers; empty without held-out rows), per-architecture
    predictions (arch, split, score, target; target oriented so that higher is better), the parts of an
    ensemble, the quantiles the run's formulas read, every search run, the settings, the prepared rows and (for the
    ``cv`` selection rule) the validation curve."""

    proxy: Proxy
    front: Front
    report: dict[str, Any]
    members: list[dict[str, Any]] = field(default_factory=list)
    chosen: int | None = 0
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)
    quantiles: dict[str, Quantile] = field(default_factory=dict)
    parts: list[dict[str, Any]] = field(default_factory=list)
    runs: list[SearchRun] = field(default_factory=list)
    settings: FitSettings = field(default_factory=FitSettings)
    prepared: Prepared | None = None
    validation: ValidationCurve | None = None
    compact: int = 0

    def record(self) -> RunRecord:
        """What its run directory holds (:meth:`lpzero_sr.rundir.RunDir.write`)."""
        used = {v for c in self.front.candidates for v in c.formula.variables}
        extra: dict[str, Any] = {
            "chosen": self.chosen, "compact": self.compact, "selection": self.proxy.selection, "report": self.report
        }  # fmt: skip
        if self.parts:
            extra["parts"] = self.parts
        if self.validation is not None:
            extra["validation"] = self.validation.to_json()
        extra["quantiles"] = {n: q.to_json() for n, q in self.quantiles.items() if n in used}
        history = {
            "history": self.front.history,
            "rejections": self.front.rejections,
            "stopped": self.front.stopped,
            "evaluations": self.front.evaluations,
        }
        extra["target"] = target_note(self.proxy)
        front = front_json(self.front, self.members, extra)
        return RunRecord(self.proxy, front, to_dict(self.settings), history, self.predictions)


def split(table: StatTable, train_size: int | float | None, seed: int) -> tuple[StatTable, StatTable | None]:
    """The training and held-out rows of ``table`` (all rows and ``None`` for ``train_size=None``)."""
    return (table, None) if train_size is None else table.split(train_size, seed)


def fit_table(
    train: StatTable,
    test: StatTable | None,
    settings: FitSettings,
    *,
    checkpoint: Path | None = None,
    progress: Progress | None = None,
) -> FitResult:
    """Search ``train``, choose and compose the proxy, assess it on ``train`` and ``test`` (see the module
    docstring of each stage). A bag and the additive formula need one row per architecture."""
    if settings.is_ensemble and train.per_layer:
        name = "bag" if settings.bag > 1 else "additive"
        raise SearchError(f"{name} needs a table with one row per architecture (this one has one row per layer)")
    rules = RuleSet.load(settings.search.rules)
    prepared = prepare(train, test)
    engine, runs = run_searches(prepared, settings, rules, checkpoint=checkpoint, progress=progress)
    curve = None
    if settings.selection == "cv":
        backend = get_engine(settings.search.engine)
        curve = validation_curve(prepared.train, settings, rules, backend, settings.terminals[0], rules.maxsize or 1)
    make = ProxyMaker(prepared.train, settings, engine, rules.name)
    composition = compose(prepared, runs, settings, make, curve)
    front = runs[0].front
    members = member_metrics(front, prepared, lambda formula: make(formula, prepared.quantiles))
    proxy = composition.proxy
    chosen = composition.chosen
    proxy.metrics = dict(members[chosen]) if chosen is not None else metrics(ProxyPredictor(proxy), prepared)
    report = {}
    if prepared.test is not None:
        report = heldout_report(ProxyPredictor(proxy), prepared.train, prepared.test, settings.peers)
    return FitResult(
        proxy, front, report, members, chosen, predictions(proxy, prepared), composition.quantiles,
        composition.parts, runs, settings, prepared, curve, composition.compact,
    )  # fmt: skip


@dataclass
class MultiFitResult:
    """A proxy searched on several tables at once: the proxy, the front (multi-table losses), each member's
    per-table train/held-out metrics, the chosen index and one held-out report per table (proxy and the best
    single column chosen on that table's training rows; empty without held-out rows)."""

    proxy: Proxy
    front: Front
    names: list[str]
    reports: list[dict[str, Any]]
    members: list[dict[str, Any]] = field(default_factory=list)
    chosen: int = 0
    settings: MultiFitSettings = field(default_factory=MultiFitSettings)

    def record(self) -> RunRecord:
        """What its run directory holds: the proxy, the front with the per-table reports, the settings."""
        extra = {"chosen": self.chosen, "selection": self.proxy.selection, "tasks": self.names, "reports": self.reports}
        return RunRecord(self.proxy, front_json(self.front, self.members, extra), to_dict(self.settings))


def target_note(proxy: Proxy) -> dict[str, str]:
    """What the ``target`` column of ``predictions.csv`` holds: the target as is, or negated when it is minimised."""
    name = proxy.target or "target"
    held = f"-{name} (negated: {name} is minimised, so higher is better)" if proxy.direction == "minimize" else name
    return {"name": name, "direction": proxy.direction, "predictions_target": held}


def front_json(front: Front, members: list[dict[str, Any]], extra: dict[str, Any]) -> dict[str, Any]:
    """``front.json``: the front with each member's metrics and ``extra``."""
    data = front.to_json(extra)
    for row, member in zip(data["candidates"], members, strict=True):
        row.update(member)
    return data


def fit_tables(
    tables: list[StatTable],
    settings: MultiFitSettings,
    *,
    names: list[str] | None = None,
    checkpoint: Path | None = None,
    progress: Progress | None = None,
) -> MultiFitResult:
    """One search over the training rows of several tables (each split by ``settings.train_size`` and the search
    seed; :class:`~lpzero_sr.search.multitask.MultiFitness` reduces their rank losses by ``settings.multi_loss``),
    chosen from the front on training rows only, then scored on each table's held-out rows.

    The search sees the columns shared by every training table and finite on all their rows, in name order. Only the
    embedded ``deap`` engine searches several tables (``auto`` means ``deap`` here; the settings refuse
    ``pysr``). The proxy records the first
    table's target and direction."""
    search = settings.search
    names = names or [f"task{i + 1}" for i in range(len(tables))]
    splits = [split(t, settings.train_size, search.seed) for t in tables]
    features = shared_features([train for train, _ in splits])
    trains = [train.with_features(features) for train, _ in splits]
    tests = [test.with_features(features) for _, test in splits if test is not None] or None
    rules = RuleSet.load(search.rules)
    front = get_engine("deap").fit(
        trains, rules, search, checkpoint=checkpoint, progress=progress, multi_loss=settings.multi_loss
    )  # type: ignore[call-arg]  # only the deap engine searches several tables
    make = ProxyMaker(trains[0], FitSettings(search, selection=settings.selection), "deap", rules.name)
    chosen = select(front, settings.selection)
    members = []
    for cand in front.candidates:
        member = make(cand.formula, {})
        row: dict[str, Any] = {"train": _per_table(member, names, trains)}
        if tests is not None:
            row["heldout"] = _per_table(member, names, tests)
        members.append(row)
    index = front.candidates.index(chosen)
    proxy = make(chosen.formula, {})
    proxy.metrics = {part: _mean_metrics(per_table) for part, per_table in members[index].items()}
    reports = []
    if tests is not None:
        predictor = ProxyPredictor(proxy)
        reports = [heldout_report(predictor, tr, te, settings.peers) for tr, te in zip(trains, tests, strict=True)]
    return MultiFitResult(proxy, front, names, reports, members, index, settings)


def _per_table(proxy: Proxy, names: list[str], tables: list[StatTable]) -> dict[str, dict[str, float]]:
    return {name: rank_metrics(proxy.evaluate(t), t.y) for name, t in zip(names, tables, strict=True)}


def _mean_metrics(per_table: dict[str, dict[str, float]]) -> dict[str, float]:
    """Each metric's mean over the tables (what a multi-table proxy records as its train/held-out metrics)."""
    rows = list(per_table.values())
    return {k: float(sum(r[k] for r in rows) / len(rows)) for k in rows[0]}
