"""One fit from train/test tables to a chosen, evaluated :class:`Proxy` and its run directory (CLI, benchmarks)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lpzero_sr.evaluate import heldout_report, rank_metrics
from lpzero_sr.formula import Node
from lpzero_sr.peers import peer_report
from lpzero_sr.proxy import Proxy
from lpzero_sr.quantile import DEFAULT_TERMINALS, Quantile, Terminals, fit_quantiles, search_table
from lpzero_sr.ranking import Aggregation, Method, rank_loss
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search.additive import DEFAULT_ADDITIVE, additive_formula, additive_weight
from lpzero_sr.search.bagging import DEFAULT_SUBSPACE, rank_average, subspace
from lpzero_sr.search.engine import Budget, Front, Progress, SearchError
from lpzero_sr.search.engines import get_engine
from lpzero_sr.search.multitask import Reduce, shared_features
from lpzero_sr.search.selection import DEFAULT_SELECTION, select
from lpzero_sr.table import StatTable

DEFAULT_BAG = 1  # searches per fit; more cost that many times the search time (see lpzero_sr.search.bagging)


@dataclass
class FitResult:
    """The chosen proxy, the front, the held-out report (proxy and best single column; empty without test rows),
    each front member's train/held-out metrics, the index of the chosen member (``None`` for a bagged proxy, which
    is no front member; ``parts`` then lists each search's chosen formula) and per-architecture predictions
    (columns arch, split, score, target; target oriented so that higher is better). The front is the first
    search's."""

    proxy: Proxy
    front: Front
    report: dict[str, Any]
    members: list[dict[str, Any]] = field(default_factory=list)
    chosen: int | None = 0
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)
    quantiles: dict[str, Quantile] = field(default_factory=dict)
    parts: list[dict[str, Any]] = field(default_factory=list)

    def write(self, out: Path) -> list[Path]:
        """``proxy.json``, ``front.json``, ``history.json`` and ``predictions.csv`` in ``out`` (the run-dir
        contract that ``lpzero-sr report``, ``export`` and ``score`` read)."""
        out.mkdir(parents=True, exist_ok=True)
        extra = {"chosen": self.chosen, "selection": self.proxy.selection, "report": self.report}
        if self.parts:
            extra["parts"] = self.parts
        used = {v for c in self.front.candidates for v in c.formula.variables}
        extra["quantiles"] = {n: q.to_json() for n, q in self.quantiles.items() if n in used}
        front = self.front.to_json(extra)
        for row, member in zip(front["candidates"], self.members, strict=True):
            row.update(member)
        history = {"history": self.front.history, "rejections": self.front.rejections, "stopped": self.front.stopped}
        paths = [self.proxy.save(out / "proxy.json"), out / "front.json", out / "history.json", out / "predictions.csv"]
        paths[1].write_text(json.dumps(front, indent=2) + "\n")
        paths[2].write_text(json.dumps(history, indent=2) + "\n")
        self.predictions.to_csv(paths[3], index=False)
        return paths


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
    selection: str = DEFAULT_SELECTION,
    peers: bool = True,
    terminals: Terminals | Sequence[Terminals] = DEFAULT_TERMINALS,
    bag: int = DEFAULT_BAG,
    share: float = DEFAULT_SUBSPACE,
    additive: float | None = None,
) -> FitResult:
    """Search on ``train``, choose from the front by the ``selection`` rule (:mod:`lpzero_sr.search.selection`),
    score train and held-out rows.

    The search sees the columns finite on every training row (:meth:`StatTable.finite_features`), in name order
    (the same data with its columns in another order gives the same front); which columns it may use never depends
    on held-out rows. The proxy is the chosen front member's tree as the search scored it (no simplification).
    ``terminals`` (:mod:`lpzero_sr.quantile`) lets the search read each column's quantile among the training rows
    instead of, or beside, its raw value; the proxy stores those training CDFs. With ``peers`` the held-out report
    also holds the learned peers of :mod:`lpzero_sr.peers`, fit on the same training rows.

    With ``bag`` > 1, ``bag`` searches run with seeds ``seed, seed + 1, ...`` (each with the whole ``budget``) and
    the proxy is the rank average of their chosen members (:mod:`lpzero_sr.search.bagging`). Several ``terminals``
    take turns over the searches (``("quantile", "raw")``: quantile terminals for the first, third, ... search);
    ``progress`` then counts generations over all of them. With ``share`` < 1 each search sees its own random
    subset of that share of the columns (:func:`lpzero_sr.search.bagging.subspace`, drawn by its seed). With
    ``additive`` > 0 the additive formula of the training rows (:mod:`lpzero_sr.search.additive`) joins the rank
    average with that share of its weight (the searches share the rest equally); ``None``:
    :data:`~lpzero_sr.search.additive.DEFAULT_ADDITIVE` on a table with one row per architecture, 0 per layer."""
    modes = (terminals,) if isinstance(terminals, str) else tuple(terminals)
    if bag < 1:
        raise SearchError(f"--bag must be at least 1, got {bag}")
    if not 0 < share <= 1:
        raise SearchError(f"--subspace must be in (0, 1], got {share}")
    if not 1 <= len(modes) <= bag:
        raise SearchError(
            f"{len(modes)} --terminals modes take turns over the searches of a bag: use --bag {len(modes)} or more"
        )
    if additive is None:
        additive = 0.0 if train.per_layer else DEFAULT_ADDITIVE
    if not 0 <= additive < 1:
        raise SearchError(f"--additive must be in [0, 1), got {additive}")
    if (bag > 1 or additive > 0) and train.per_layer:
        flag = "--bag" if bag > 1 else "--additive"
        raise SearchError(f"{flag} needs a table with one row per architecture (this one has one row per layer)")
    train = train.finite_features()
    train = train.with_features(sorted(train.features))
    if test is not None:
        test = test.with_features(train.features)
    quantile_sets = {mode: fit_quantiles(train, mode) for mode in modes}
    quantiles = {name: q for qs in quantile_sets.values() for name, q in qs.items()}
    backend = get_engine(engine)
    fronts: list[Front] = []
    columns: list[tuple[str, ...]] = []  # what each search saw (its subspace)
    for k in range(bag):
        done = sum(f.generations for f in fronts)  # progress counts generations over the whole bag

        def step(generation: int, n_evals: int, best: float, done: int = done) -> None:
            progress(done + generation, n_evals, best)  # type: ignore[misc]

        mode = modes[k % len(modes)]
        columns.append(subspace(train.features, share, seed + k))
        seen_quantiles = {n: q for n, q in quantile_sets[mode].items() if q.column in columns[k]}
        fronts.append(
            backend.fit(
                search_table(train.with_features(columns[k]), seen_quantiles, mode),
                rules,
                loss=loss,
                aggregation=aggregation,
                budget=budget,
                seed=seed + k,
                population=population,
                jobs=jobs,
                progress=None if progress is None else step,
                checkpoint=checkpoint if checkpoint is None or bag == 1 else checkpoint / f"search{k + 1}",
            )
        )
        if fronts[-1].stopped == "interrupted":  # cut short: bag what exists; the first front says so (exit 130)
            fronts[0].stopped = "interrupted"
            break
    front, picks = fronts[0], [select(f, selection) for f in fronts]
    chosen = picks[0]

    def proxy_of(formula: Node, quantiles: dict[str, Quantile] = quantiles, rule: str = selection) -> Proxy:
        engine_name = getattr(backend, "name", engine)
        return _proxy(formula, train, aggregation, loss, engine_name, seed, rules, rule, quantiles)

    members = []
    for cand in front.candidates:
        member = proxy_of(cand.formula)
        metrics = {"train": rank_metrics(member.evaluate(train), train.y)}
        if test is not None:
            metrics["heldout"] = rank_metrics(member.evaluate(test), test.y)
        members.append(metrics)
    index: int | None = front.candidates.index(chosen)
    parts_json: list[dict[str, Any]] = [
        {"seed": seed + k, "loss": c.loss, "complexity": c.complexity, "text": c.text, "tree": c.formula.to_json()}
        | ({"columns": list(columns[k])} if share < 1 else {})
        for k, c in enumerate(picks)
    ]
    formulas, weights = [c.formula for c in picks], [1.0] * len(picks)
    if additive > 0:
        column_quantiles = fit_quantiles(train, "quantile")
        quantiles = {**quantiles, **column_quantiles}
        formulas.append(additive_formula(train, column_quantiles))
        weights.append(additive_weight(additive, len(picks)))
        shape = proxy_of(formulas[-1], column_quantiles)
        parts_json.append(
            {"additive": additive, "loss": rank_loss(shape.evaluate(train), train.y, loss),
             "complexity": formulas[-1].size, "text": shape.text(), "tree": formulas[-1].to_json()}
        )  # fmt: skip
    if len(formulas) == 1:
        proxy = proxy_of(chosen.formula)
        proxy.metrics = dict(members[index])  # type: ignore[index]
        parts_json = []
    else:
        searches = f"{len(picks)} searches' {selection} members" if len(picks) > 1 else f"1 search's {selection} member"
        what = searches + (" and the additive formula" if additive > 0 else "")
        root, bagged = rank_average(formulas, train, quantiles, weights)
        proxy = proxy_of(root, bagged, f"rank average of {what}")
        proxy.metrics = {"train": rank_metrics(proxy.evaluate(train), train.y)}
        if test is not None:
            proxy.metrics["heldout"] = rank_metrics(proxy.evaluate(test), test.y)
        index = None
    parts = [("train", train)] + ([("test", test)] if test is not None else [])
    predictions = pd.concat(
        [
            pd.DataFrame({"arch": part.archs, "split": name, "score": proxy.evaluate(part), "target": part.y})
            for name, part in parts
        ],
        ignore_index=True,
    )
    report: dict[str, Any] = {}
    if test is not None:
        report = heldout_report(proxy.evaluate(test), train, test)
        if peers:
            report["peers"] = peer_report(train, test)
    return FitResult(proxy, front, report, members, index, predictions, quantiles, parts_json)


@dataclass
class MultiFitResult:
    """A proxy searched on several tasks at once: the chosen proxy, the front (multi-table losses), each front
    member's per-task train/held-out metrics, the chosen index and one held-out report per task (proxy and the best
    single column chosen on that task's training rows; empty without test rows)."""

    proxy: Proxy
    front: Front
    names: list[str]
    reports: list[dict[str, Any]]
    members: list[dict[str, Any]] = field(default_factory=list)
    chosen: int = 0

    def write(self, out: Path) -> list[Path]:
        """``proxy.json`` (the chosen member) and ``front.json`` (with the per-task reports) in ``out``."""
        out.mkdir(parents=True, exist_ok=True)
        extra = {"chosen": self.chosen, "selection": self.proxy.selection, "tasks": self.names, "reports": self.reports}
        front = self.front.to_json(extra)
        for row, member in zip(front["candidates"], self.members, strict=True):
            row.update(member)
        paths = [self.proxy.save(out / "proxy.json"), out / "front.json"]
        paths[1].write_text(json.dumps(front, indent=2) + "\n")
        return paths


def fit_multi(
    trains: list[StatTable],
    tests: list[StatTable] | None,
    rules: RuleSet,
    *,
    names: list[str] | None = None,
    engine: str = "deap",
    loss: Method = "spearman",
    aggregation: Aggregation = "mean",
    multi_loss: Reduce = "mean",
    budget: Budget,
    seed: int = 0,
    population: int = 200,
    checkpoint: Path | None = None,
    jobs: int = 1,
    progress: Progress | None = None,
    selection: str = DEFAULT_SELECTION,
) -> MultiFitResult:
    """One search over the training tables of several tasks (:class:`MultiFitness`: the mean, or with
    ``multi_loss="min"`` the worst, rank loss), chosen from the front by ``selection`` on training rows only, then
    scored on each task's held-out table (``tests``, aligned with ``trains``; ``None`` for none).

    The search sees the columns shared by every training table and finite on all their rows, in name order. Only
    the embedded ``deap`` engine searches several tables (``auto`` means ``deap`` here). The proxy records the
    first table's target and direction."""
    if engine not in ("auto", "deap"):
        raise SearchError(f"the {engine} engine searches one table; a multi-table fit needs --engine deap")
    names = names or [f"task{i + 1}" for i in range(len(trains))]
    features = shared_features(trains)
    trains = [t.with_features(features) for t in trains]
    tests = [t.with_features(features) for t in tests] if tests is not None else None
    front = get_engine("deap").fit(
        trains, rules, loss=loss, aggregation=aggregation, budget=budget, seed=seed, population=population,
        checkpoint=checkpoint, jobs=jobs, progress=progress, multi_loss=multi_loss,
    )  # fmt: skip
    chosen = select(front, selection)

    def proxy_of(formula: Node) -> Proxy:
        return _proxy(formula, trains[0], aggregation, loss, "deap", seed, rules, selection)

    members = []
    for cand in front.candidates:
        member = proxy_of(cand.formula)
        metrics: dict[str, Any] = {"train": _per_task(member, names, trains)}
        if tests is not None:
            metrics["heldout"] = _per_task(member, names, tests)
        members.append(metrics)
    proxy = proxy_of(chosen.formula)
    index = front.candidates.index(chosen)
    proxy.metrics = {part: _mean_metrics(per_task) for part, per_task in members[index].items()}
    reports = []
    if tests is not None:
        reports = [heldout_report(proxy.evaluate(te), tr, te) for tr, te in zip(trains, tests, strict=True)]
    return MultiFitResult(proxy, front, names, reports, members, index)


def _proxy(
    formula: Node,
    table: StatTable,
    aggregation: Aggregation,
    loss: Method,
    engine: str,
    seed: int,
    rules: RuleSet,
    selection: str,
    quantiles: dict[str, Quantile] | None = None,
) -> Proxy:
    """A front member as a :class:`Proxy` with the run's metadata (target and direction of ``table``) and the
    training CDFs of its quantile terminals."""
    return Proxy(
        formula,
        aggregation=aggregation if table.per_layer else None,
        target=table.target,
        direction=table.direction,
        loss=loss,
        engine=engine,
        seed=seed,
        rules=rules.name,
        selection=selection,
        quantiles=dict(quantiles or {}),
    )


def _per_task(proxy: Proxy, names: list[str], tables: list[StatTable]) -> dict[str, dict[str, float]]:
    return {name: rank_metrics(proxy.evaluate(t), t.y) for name, t in zip(names, tables, strict=True)}


def _mean_metrics(per_task: dict[str, dict[str, float]]) -> dict[str, float]:
    """Each metric's mean over the tasks (what a multi-task proxy records as its train/held-out metrics)."""
    rows = list(per_task.values())
    return {k: float(sum(r[k] for r in rows) / len(rows)) for k in rows[0]}
