"""The held-out protocol: fit on a few architectures, evaluate on all others, over several seeds.

Split seeds come in two named, disjoint sets (:data:`SPLITS`): settings are chosen on the ``dev`` splits only
(``benchmarks/nb201_fit.py``, ``benchmarks/suite_zero.py --split dev``), and every published number is measured
on the ``report`` splits (``benchmarks/headline.py``). The module refuses to start if the two sets overlap.

Each seed draws its own training split (``StatTable.split(n_train, seed)``) and its own search seed; the
held-out architectures are never seen by the search, nor by the choice of the formula from the front. Every
baseline column is scored on the same held-out rows, with its natural sign (a proxy is "higher is better").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lpzero_sr.evaluate import Baseline, rank_metrics
from lpzero_sr.proxy import Proxy
from lpzero_sr.quantile import DEFAULT_TERMINALS, Terminals
from lpzero_sr.ranking import Aggregation, Method, bootstrap_ci
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search.engine import Budget, Progress
from lpzero_sr.search.fitting import fit_proxy
from lpzero_sr.table import StatTable

METRICS = ("spearman", "kendall", "topk")
DEV_SEEDS = (1, 2, 3)
REPORT_SEEDS = (100, 101, 102)
SPLITS: dict[str, tuple[int, ...]] = {"dev": DEV_SEEDS, "report": REPORT_SEEDS}
if set(DEV_SEEDS) & set(REPORT_SEEDS):  # pragma: no cover - a guard on the constants above
    raise RuntimeError("development and report split seeds overlap")


def split_seeds(split: str) -> tuple[int, ...]:
    """The seeds of a named split (``dev`` or ``report``)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use {' or '.join(SPLITS)}")
    return SPLITS[split]


@dataclass
class SeedResult:
    """One seed of the protocol: the chosen proxy and its held-out numbers."""

    seed: int
    proxy: Proxy
    heldout: dict[str, float]
    ci: dict[str, tuple[float, float]]
    baselines: dict[str, dict[str, float]]
    peers: dict[str, dict[str, float]]
    single: dict[str, Any]  # the best single column chosen on the training rows, scored on the held-out rows
    history: list[tuple[int, float]]
    rejections: dict[str, int]
    evaluations: int
    predictions: pd.DataFrame = field(repr=False)
    front: list[dict[str, Any]] = field(default_factory=list, repr=False)


def baseline_metrics(test: StatTable, columns: list[str]) -> dict[str, dict[str, float]]:
    """Held-out metrics of each single column (mean over layers for per-layer tables), natural sign."""
    return {c: rank_metrics(Baseline(c, 1.0, float("nan")).scores(test), test.y) for c in columns}


def run_seed(
    table: StatTable,
    n_train: int | float,
    seed: int,
    rules: RuleSet,
    budget: Budget,
    *,
    engine: str = "deap",
    loss: Method = "spearman",
    aggregation: Aggregation = "mean",
    population: int = 200,
    jobs: int = 1,
    baseline_columns: list[str] | None = None,
    progress: Progress | None = None,
    terminals: Terminals = DEFAULT_TERMINALS,
    additive: float | None = None,
) -> SeedResult:
    """Split by ``seed``, search on the training part (``terminals``: :mod:`lpzero_sr.quantile`; ``additive``:
    :func:`lpzero_sr.search.fitting.fit_proxy`'s), evaluate on the rest."""
    train, test = table.split(n_train, seed)
    result = fit_proxy(
        train, test, rules, engine=engine, loss=loss, aggregation=aggregation, budget=budget,
        seed=seed, population=population, jobs=jobs, progress=progress, terminals=terminals, additive=additive,
    )  # fmt: skip
    scores = {"train": result.proxy.evaluate(train), "test": result.proxy.evaluate(test)}
    ci = {m: bootstrap_ci(scores["test"], test.y, m, seed=seed) for m in ("spearman", "kendall")}
    columns = baseline_columns if baseline_columns is not None else list(table.features)
    predictions = pd.concat(
        [
            pd.DataFrame({"arch": part.archs, "split": name, "score": scores[name], "target": part.y})
            for name, part in (("train", train), ("test", test))
        ],
        ignore_index=True,
    )
    return SeedResult(
        seed=seed,
        proxy=result.proxy,
        heldout=result.report["proxy"],
        ci=ci,
        baselines=baseline_metrics(test, [c for c in columns if c in test.frame.columns]),
        peers=result.report.get("peers", {}),
        single=result.report["baseline"],
        history=list(result.front.history),
        rejections=dict(result.front.rejections),
        evaluations=result.front.evaluations,
        predictions=predictions,
        front=result.front.to_json()["candidates"],
    )


def run_protocol(
    table: StatTable, n_train: int | float, seeds: list[int], run: Callable[..., SeedResult] = run_seed, **kwargs: Any
) -> list[SeedResult]:
    """:func:`run_seed` for each seed (``kwargs`` go to it)."""
    return [run(table, n_train, seed, **kwargs) for seed in seeds]


def summarize(results: list[SeedResult]) -> dict[str, Any]:
    """Mean and spread over seeds of the proxy's and of every baseline's held-out metrics."""

    def stats(values: list[float]) -> dict[str, float]:
        arr = np.asarray(values, dtype=float)
        return {"mean": float(np.nanmean(arr)), "std": float(np.nanstd(arr)), "min": float(np.nanmin(arr)),
                "max": float(np.nanmax(arr))}  # fmt: skip

    proxy = {m: stats([r.heldout[m] for r in results]) for m in METRICS}
    columns = sorted(set.intersection(*(set(r.baselines) for r in results))) if results else []
    baselines = {c: {m: stats([r.baselines[c][m] for r in results]) for m in METRICS} for c in columns}
    best = max(baselines, key=lambda c: baselines[c]["spearman"]["mean"], default=None)
    names = sorted(set.intersection(*(set(r.peers) for r in results))) if results else []
    peers = {n: {m: stats([r.peers[n][m] for r in results]) for m in METRICS} for n in names}
    return {
        "seeds": [r.seed for r in results],
        "proxy": proxy,
        "ci": {r.seed: r.ci for r in results},
        "formulas": {r.seed: r.proxy.text() for r in results},
        "baselines": baselines,
        "best_baseline": best,
        "peers": peers,
        "single": {m: stats([r.single[m] for r in results]) for m in METRICS} if results else {},
        "single_columns": {r.seed: r.single["column"] for r in results},
        "rejected_fraction": float(
            np.mean([sum(r.rejections.values()) / max(r.evaluations, 1) for r in results]) if results else 0.0
        ),
    }


def write_protocol(out_dir: str | Path, results: list[SeedResult], meta: dict[str, Any]) -> dict[str, Any]:
    """``out_dir/summary.json`` plus one fit-like folder per seed (proxy, front, history, predictions)."""
    out = Path(out_dir)
    for r in results:
        seed_dir = out / f"seed_{r.seed}"
        r.proxy.save(seed_dir / "proxy.json")
        (seed_dir / "front.json").write_text(json.dumps({"candidates": r.front}, indent=1) + "\n")
        history = {"history": r.history, "rejections": r.rejections, "evaluations": r.evaluations}
        (seed_dir / "history.json").write_text(json.dumps(history, indent=1) + "\n")
        r.predictions.to_csv(seed_dir / "predictions.csv", index=False)
    summary = {**meta, **summarize(results)}
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=float) + "\n")
    return summary
