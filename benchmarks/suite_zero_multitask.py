"""One proxy for many tasks (Phan & Luong) on the 11 NAS-Bench-Suite-Zero tasks of ``benchmarks/suite_zero.py``.

For each seed of the chosen split every task is split into 100 training architectures and the held-out rest, and:

* ``all``: one multi-task search (:func:`lpzero_sr.fit.pipeline.fit_tables`, mean Kendall loss over the tasks)
  on the training rows of all 11 tasks, scored on each task's held-out rows;
* ``loto``: leave one task out: for each task T, a multi-task search on the other 10 tasks' training rows only (no
  label of T is seen; only columns T also has), scored on T's held-out rows;
* ``loto-single``: the best single proxy chosen on the other 10 tasks' training rows (largest |mean Spearman| over
  them, with the sign of that mean), scored on T's held-out rows;
* ``own-single``: the best single proxy chosen on T's own training rows (the single-task reference of
  ``suite_zero.py``; its single-task searched proxy is in that script's ``proxy`` column).

Printed: held-out Spearman and Kendall per task (mean over seeds) and the mean over the 11 tasks; a score constant
on a task's held-out rows (undefined correlation) counts as 0 and is flagged under the table. Searches use
only the columns every training table has and finite on all their rows. Seeds run in parallel with
``--processes``; each search stops at ``--generations`` or ``--time-limit`` seconds, whichever comes first.

    python benchmarks/suite_zero_multitask.py [--split dev|report] [--seeds 100,101] [--generations 40]
                                              [--time-limit 60] [--processes 1] [--data-dir DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import smoke
from suite_zero import DEFAULT_DATA, METRICS, N_TRAIN, TASKS
from suite_zero import print_table as print_task_table

from lpzero_sr.evaluate import rank_metrics
from lpzero_sr.fit.pipeline import fit_tables
from lpzero_sr.fit.protocol import SPLITS, split_seeds
from lpzero_sr.predictors import best_single_column
from lpzero_sr.ranking import spearman
from lpzero_sr.search.multitask import shared_features
from lpzero_sr.settings import MultiFitSettings, SearchSettings
from lpzero_sr.table import StatTable
from lpzero_sr.table_sources import resolve_table

METHODS = ("own-single", "all", "loto-single", "loto")
Row = dict[str, dict[str, float]]


def shared_best_column(trains: list[StatTable]) -> tuple[str, float]:
    """The shared column with the largest |mean Spearman| over ``trains`` and the sign of that mean."""
    means = {
        name: float(np.mean([spearman(t.aggregate(t.column(name), "mean"), t.y) for t in trains]))
        for name in shared_features(trains)
    }
    best = max(sorted(means), key=lambda name: abs(means[name]))
    return best, 1.0 if means[best] >= 0 else -1.0


def scored(scores: np.ndarray, test: StatTable) -> dict[str, float]:
    """Held-out metrics; a proxy constant on the held-out rows (e.g. a clipped ``exp`` saturating on every
    architecture of an unseen task) ranks nothing, so its undefined correlations count as 0 (flagged ``constant``)."""
    metrics = rank_metrics(scores, test.y)
    if np.isnan(metrics["spearman"]):
        return {**metrics, "spearman": 0.0, "kendall": 0.0, "constant": 1.0}
    return metrics


def usable_on(train: StatTable, target_task: StatTable) -> StatTable:
    """``train`` with only the columns the left-out task also has (its statistics, never its labels)."""
    return train.with_features([f for f in train.features if f in target_task.features])


def run_seed(seed: int, args: argparse.Namespace) -> tuple[dict[str, Row], dict[str, str]]:
    """Held-out metrics of every method on every task for one split seed, and the proxies found."""
    splits = {task: resolve_table(task, args.data_dir).split(N_TRAIN, seed) for task in args.tasks}
    search = SearchSettings(
        engine="deap", loss="kendall", generations=args.generations, time_limit=args.time_limit, seed=seed,
        population=args.population, jobs=1,
    )  # fmt: skip

    def fit(trains: list[StatTable], tasks: list[str]):  # noqa: ANN202 - the tables are training rows already
        return fit_tables(trains, MultiFitSettings(search=search, train_size=None), names=tasks)

    rows: dict[str, Row] = {}
    for task, (train, test) in splits.items():
        rows[task] = {"own-single": scored(best_single_column(train).query(test), test)}
    everything = fit([train for train, _ in splits.values()], args.tasks)
    proxies = {"all": everything.proxy.text()}
    print(f"  seed {seed}: all-task proxy {proxies['all']}", flush=True)
    for task, (_, test) in splits.items():
        rows[task]["all"] = scored(everything.proxy.evaluate(test), test)
    for task, (_, test) in splits.items():
        others = [t for t in args.tasks if t != task]
        trains = [usable_on(splits[t][0], test) for t in others]
        column, sign = shared_best_column(trains)
        rows[task]["loto-single"] = scored(sign * test.aggregate(test.column(column), "mean"), test)
        loto = fit(trains, others)
        rows[task]["loto"] = scored(loto.proxy.evaluate(test), test)
        proxies[task] = loto.proxy.text()
        print(f"  seed {seed}: without {task}: proxy {proxies[task]}; single {'-' if sign < 0 else ''}{column}")
    return rows, proxies


def print_table(results: dict[str, list[Row]], metric: str) -> None:
    """suite_zero's per-task table of the multi-task methods, plus how many scores were constant."""
    print_task_table(results, list(METHODS), metric)
    constant = {m: sum(s[m].get("constant", 0.0) for seeds in results.values() for s in seeds) for m in METHODS}
    if any(constant.values()):
        flagged = ", ".join(f"{m} {int(n)}" for m, n in constant.items() if n)
        print(f"(task x seed scores constant on the held-out rows, counted as 0: {flagged})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=sorted(SPLITS), default="dev", help="dev: tune here; report: publish.")
    parser.add_argument("--seeds", type=lambda s: [int(x) for x in s.split(",")], help="A subset of the split's.")
    parser.add_argument("--tasks", type=lambda s: s.split(","), default=list(TASKS))
    parser.add_argument("--generations", type=int, default=40)
    parser.add_argument("--time-limit", type=float, default=60.0, help="Search limit per fit (seconds).")
    parser.add_argument("--population", type=int, default=200)
    parser.add_argument("--processes", type=int, default=1, help="Seeds run in parallel.")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, help="Also write the per-seed numbers and proxies here.")
    args = smoke.parse(parser, tasks=["nb201-cifar10", "nb201-cifar100"], generations=1, population=16, time_limit=30.0)
    seeds = smoke.first(args, split_seeds(args.split))
    if args.seeds:
        unknown = sorted(set(args.seeds) - set(seeds))
        if unknown:
            parser.error(f"seeds {unknown} are not in the {args.split} split {seeds}")
        seeds = args.seeds
    print(f"split {args.split}: seeds {seeds}, {N_TRAIN} training architectures per task, held-out = the rest")
    print(f"search: kendall loss, mean over tasks, {args.generations} generations or {args.time_limit:g} s per fit")
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, args.processes)) as pool:
        per_seed = list(pool.map(partial(run_seed, args=args), seeds))
    results = {task: [rows[task] for rows, _ in per_seed] for task in args.tasks}
    for metric in METRICS:
        print_table(results, metric)
    print(f"wall {time.perf_counter() - start:.0f} s")
    if args.json:
        proxies = {str(seed): found for seed, (_, found) in zip(seeds, per_seed, strict=True)}
        payload = {"split": args.split, "seeds": seeds, "results": results, "proxies": proxies}
        args.json.write_text(json.dumps(payload, indent=1))


if __name__ == "__main__":
    main()
