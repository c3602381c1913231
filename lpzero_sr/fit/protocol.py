"""The held-out protocol: fit on a few architectures, evaluate on all others, over several seeds.

Split seeds come in two named, disjoint sets (:data:`SPLITS`): settings are chosen on the ``dev`` splits only
(``benchmarks/nb201_fit.py``, ``benchmarks/suite_zero.py --split dev``), and every published number is measured
on the ``report`` splits (``benchmarks/headline.py``). The module refuses to start if the two sets overlap.

Each seed draws its own training split (``StatTable.split(n_train, seed)``) and its own search seed (the same
number); the held-out architectures are never seen by the search, nor by the choice of the formula from the front. Every
baseline column is scored on the same held-out rows, with its natural sign (a proxy is "higher is better").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lpzero_sr.evaluate import METRICS, rank_metrics
from lpzero_sr.fit.pipeline import FitResult, fit_table
from lpzero_sr.predictors import BestColumn
from lpzero_sr.proxy import Proxy
from lpzero_sr.ranking import bootstrap_ci
from lpzero_sr.rundir import RunDir
from lpzero_sr.search.engine import Progress
from lpzero_sr.settings import FitSettings
from lpzero_sr.table import StatTable

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
    """One seed of the protocol: the fit (proxy, front, held-out report, predictions, as the fit computed them),
    bootstrap intervals of the held-out metrics and every baseline column's held-out metrics."""

    seed: int
    fit: FitResult
    ci: dict[str, tuple[float, float]]
    baselines: dict[str, dict[str, float]]

    @property
    def proxy(self) -> Proxy:
        return self.fit.proxy

    @property
    def heldout(self) -> dict[str, float]:
        return self.fit.report["proxy"]

    @property
    def peers(self) -> dict[str, dict[str, float]]:
        return self.fit.report.get("peers", {})

    @property
    def single(self) -> dict[str, Any]:
        """The best single column chosen on the training rows, scored on the held-out rows."""
        return self.fit.report["baseline"]

    @property
    def predictions(self) -> pd.DataFrame:
        return self.fit.predictions

    @property
    def history(self) -> list[tuple[int, float]]:
        return list(self.fit.front.history)

    @property
    def rejections(self) -> dict[str, int]:
        return dict(self.fit.front.rejections)

    @property
    def evaluations(self) -> int:
        return self.fit.front.evaluations


def baseline_metrics(test: StatTable, columns: list[str]) -> dict[str, dict[str, float]]:
    """Held-out metrics of each single column (mean over layers for per-layer tables), natural sign."""
    return {c: rank_metrics(BestColumn(c, 1.0).query(test), test.y) for c in columns}


def run_seed(
    table: StatTable,
    n_train: int | float,
    seed: int,
    settings: FitSettings,
    *,
    baseline_columns: list[str] | None = None,
    progress: Progress | None = None,
) -> SeedResult:
    """Split ``table`` by ``seed``, fit on the training part with ``settings`` (search seed ``seed``), evaluate on
    the rest."""
    settings = replace(settings, train_size=n_train, search=replace(settings.search, seed=seed))
    train, test = table.split(n_train, seed)
    result = fit_table(train, test, settings, progress=progress)
    scores = result.predictions[result.predictions["split"] == "test"]["score"].to_numpy(dtype=float)
    ci = {m: bootstrap_ci(scores, test.y, m, seed=seed) for m in ("spearman", "kendall")}
    columns = baseline_columns if baseline_columns is not None else list(table.features)
    return SeedResult(seed, result, ci, baseline_metrics(test, [c for c in columns if c in test.frame.columns]))


def run_protocol(table: StatTable, n_train: int | float, seeds: list[int], **kwargs: Any) -> list[SeedResult]:
    """:func:`run_seed` for each seed (``kwargs`` go to it)."""
    return [run_seed(table, n_train, seed, **kwargs) for seed in seeds]


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
        "sizes": {r.seed: {"nodes": r.proxy.size, "statistics": len(r.proxy.features)} for r in results},
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
    """``out_dir/summary.json`` plus one fit run folder per seed (:class:`lpzero_sr.rundir.RunDir`)."""
    run = RunDir(out_dir)
    for r in results:
        run.seed(r.seed).write(r.fit.record())
    summary = {**meta, **summarize(results)}
    run.write_summary(summary)
    return summary
