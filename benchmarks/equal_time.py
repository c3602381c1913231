"""Equal wall time on NB-Suite-Zero: the DEAP engine against gplearn and XGBoost, held-out Spearman and node counts.

For each of the 11 NB-Suite-Zero tasks in the data folder (NB101 cifar10, NB201 x3, TransNAS-Bench-101 micro x7) and
each split seed: train on 100 architectures, score the chosen formula on all the others. Every method gets the same
wall-clock budgets (``--budgets``, default 10 s and 60 s; the longer run continues the shorter one):

* ``lpzero-sr``: this project's ``fit`` with its default settings (:class:`lpzero_sr.settings.FitSettings`: one
  short formula, its terminals and selection rule) and the budget as its time limit (``--jobs`` threads), one fit per
  budget;
* ``gplearn``: ``gplearn.SymbolicRegressor`` (a plain numpy GP, run as a baseline only) on the same quantile
  terminals, Spearman fitness, functions add, sub, mul, div, log, sqrt, abs, neg, defaults otherwise, one
  generation at a time (``warm_start``) until the budget is spent; its fitness is the absolute correlation, so its
  program is negated when it ranks the training rows backwards;
* ``xgboost``: the XGBoost peer of :mod:`lpzero_sr.predictors` (its fixed parameters, fitted to the training ranks,
  one thread: it needs about a second; its node count is the total over its trees, for scale).

Printed: one line per task, seed, method and budget (held-out Spearman, node count of the formula, Spearman on
the training rows, work done), then per method and budget the mean held-out Spearman over tasks and seeds with the mean
node count, and whether the engine's held-out Spearman falls as its budget rises (overfitting with more time).

Which seeds count as development or report seeds is the coordinator's decision: pass them with ``--seeds``.

    python benchmarks/equal_time.py [--seeds 0,1,2] [--budgets 10,60] [--tasks nb201-cifar10,...] [--jobs 2]
                                    [--data-dir DIR] [--json FILE] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np

from lpzero_sr.fit.pipeline import fit_table
from lpzero_sr.predictors import XGB_PARAMS, XGBoost
from lpzero_sr.quantile import fit_quantiles, search_table
from lpzero_sr.ranking import spearman
from lpzero_sr.settings import FitSettings, with_changes
from lpzero_sr.spaces.nb_suite_zero import TASKS
from lpzero_sr.table import StatTable
from lpzero_sr.table_sources import resolve_table

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SUITE = [t for t in TASKS if not t.startswith(("nb301", "tnb101-macro"))]  # the 11 tasks shipped in shared/data
GP_FUNCTIONS = ("add", "sub", "mul", "div", "log", "sqrt", "abs", "neg")


def lpzero_runs(train: StatTable, test: StatTable, budgets: list[float], args: argparse.Namespace, seed: int) -> list:
    out = []
    for budget in budgets:
        search = {"search.seed": seed, "search.time_limit": budget, "search.jobs": args.jobs}
        fit = fit_table(train, test, with_changes(FitSettings(), {**search, "peers": False}))
        metrics, evals = fit.proxy.metrics, sum(r.front.evaluations for r in fit.runs)
        out.append({"heldout": metrics["heldout"]["spearman"], "nodes": fit.proxy.size, "work": f"{evals} evals",
                    "train": metrics["train"]["spearman"], "text": fit.proxy.text()})  # fmt: skip
    return out


def gplearn_runs(train: StatTable, test: StatTable, budgets: list[float], seed: int) -> list:
    from gplearn.genetic import SymbolicRegressor

    model = SymbolicRegressor(
        generations=1, function_set=GP_FUNCTIONS, metric="spearman", warm_start=True, random_state=seed, n_jobs=1
    )
    x, x_test = train.X, test.X
    out, start, generation = [], time.monotonic(), 1
    for budget in budgets:
        while time.monotonic() - start < budget:
            model.set_params(generations=generation)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(x, train.y)
            generation += 1
        program = model._program
        sign = 1.0 if spearman(model.predict(x), train.y) >= 0 else -1.0  # gplearn's fitness is |correlation|
        out.append({"heldout": spearman(sign * model.predict(x_test), test.y), "nodes": program.length_,
                    "train": spearman(sign * model.predict(x), train.y), "work": f"{generation - 1} generations",
                    "text": ("" if sign > 0 else "-") + str(program)})  # fmt: skip
    return out


def xgboost_run(train: StatTable, test: StatTable) -> dict:
    start = time.monotonic()
    peer = XGBoost().fit(train)
    nodes = len(peer.fitted.get_booster().trees_to_dataframe())
    text = f"{XGB_PARAMS['n_estimators']} trees of depth {XGB_PARAMS['max_depth']}"
    held, seen = spearman(peer.query(test), test.y), spearman(peer.query(train), train.y)
    return {"heldout": held, "nodes": nodes, "train": seen, "work": f"{time.monotonic() - start:.1f} s", "text": text}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", default="0,1,2", help="Split (and search) seeds, comma-separated.")
    parser.add_argument("--budgets", default="10,60", help="Wall-clock seconds per method, comma-separated.")
    parser.add_argument("--tasks", default=",".join(SUITE))
    parser.add_argument("--train-size", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path, help="Also write every run here.")
    parser.add_argument("--smoke", action="store_true", help="One task, one seed, budgets of 1 and 2 s.")
    args = parser.parse_args()
    tasks, seeds = args.tasks.split(","), [int(s) for s in args.seeds.split(",")]
    budgets = sorted(float(b) for b in args.budgets.split(","))
    if args.smoke:
        tasks, seeds, budgets = tasks[:1], seeds[:1], [1.0, 2.0]
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; jobs={args.jobs}; fit's default settings")
    rows = []
    for task in tasks:
        table = resolve_table(task, args.data_dir)
        for seed in seeds:
            train, test = table.split(args.train_size, seed=seed)
            train = train.finite_features()
            test = test.with_features(train.features)
            quantiles = fit_quantiles(train, "quantile")
            q_train, q_test = search_table(train, quantiles, "quantile"), search_table(test, quantiles, "quantile")
            results = {
                "lpzero-sr": lpzero_runs(train, test, budgets, args, seed),
                "gplearn": gplearn_runs(q_train, q_test, budgets, seed),
                "xgboost": [xgboost_run(train, test)] * len(budgets),
            }
            for method, runs in results.items():
                for budget, run in zip(budgets, runs, strict=True):
                    rows.append({"task": task, "seed": seed, "method": method, "budget": budget, **run})
                    print(f"{task:<28} {seed:>3} {method:<8} {budget:>5.0f}s held-out {run['heldout']:.4f} "
                          f"nodes {run['nodes']:>5} train {run['train']:.4f}  {run['work']}  {run['text'][:70]}",
                          flush=True)  # fmt: skip
    print(f"\nmean over {len(tasks)} tasks x {len(seeds)} seeds (held-out Spearman, mean node count):")
    for method in ("lpzero-sr", "gplearn", "xgboost"):
        cells = []
        for budget in budgets:
            sel = [r for r in rows if r["method"] == method and r["budget"] == budget]
            cells.append(f"{budget:.0f}s {np.nanmean([r['heldout'] for r in sel]):.4f} "
                         f"({np.mean([r['nodes'] for r in sel]):.1f} nodes)")  # fmt: skip
        print(f"  {method:<8} " + "   ".join(cells))
    for method in ("lpzero-sr", "gplearn"):
        first, last = (
            [r for r in rows if r["method"] == method and r["budget"] == b] for b in (budgets[0], budgets[-1])
        )
        diff = np.nanmean([b["heldout"] - a["heldout"] for a, b in zip(first, last, strict=True)])
        train_diff = np.nanmean([b["train"] - a["train"] for a, b in zip(first, last, strict=True)])
        verdict = "held-out FALLS as the budget rises" if diff < 0 else "held-out does not fall as the budget rises"
        print(f"  {method}: {budgets[0]:.0f}s -> {budgets[-1]:.0f}s: train {train_diff:+.4f}, held-out {diff:+.4f}: "
              f"{verdict}")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
