"""The compact default against the learned peers on NAS-Bench-Suite-Zero's 11 tasks, on the same rows.

For each task (NB101 cifar10, NB201 x3, TransNAS-Bench-101 micro x7) and each seed of the chosen split: train on 100
architectures, hold out all the others, and fit ``lpzero-sr fit``'s default settings (:class:`FitSettings`; one
short formula) beside the peers fit on the same training rows (ridge on ranks, LightGBM, XGBoost; their fixed
parameters in :mod:`lpzero_sr.predictors`). Printed per task, as the mean over seeds: held-out Spearman of each, the
size of the compact formula (nodes, counted as ``Proxy.size``: a quantile of one statistic is one node) and its
distinct statistics, and the selection regret (held-out Spearman of the best member of the Pareto front minus that
of the chosen one). The last line:

    compact mean_rho=M ridge=R lightgbm=L xgboost=X regret_mean=G regret_max=W

Settings are chosen on ``--split dev`` (seeds 1, 2, 3) only and reported on ``--split report`` (100, 101, 102),
disjoint by construction (``lpzero_sr.fit.protocol``). ``--set FIELD=VALUE`` (repeatable, dotted for the search:
``--set selection=cv --set search.loss=kendall``) studies a variant of the default on the dev split.

    python benchmarks/compact.py [--split report|dev] [--tasks a,b] [--set FIELD=VALUE ...] [--jobs 2] [--json FILE]
    python benchmarks/compact.py --smoke
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from suite_zero import DEFAULT_DATA, N_TRAIN, TASKS

from lpzero_sr.fit.pipeline import fit_table
from lpzero_sr.fit.protocol import SPLITS, split_seeds
from lpzero_sr.settings import FitSettings, with_changes
from lpzero_sr.table_sources import resolve_table

PEERS = ("ridge-ranks", "lightgbm", "xgboost")


def run_one(task: str, seed: int, settings: FitSettings, data_dir: Path, n_train: int) -> dict[str, Any]:
    """Held-out Spearman of the compact formula and of every peer on one split, the formula's size and regret."""
    table = resolve_table(task, data_dir)
    train, test = table.split(n_train, seed)
    start = time.perf_counter()
    fit = fit_table(train, test, replace(settings, search=replace(settings.search, seed=seed), peers=True))
    held = [m["heldout"]["spearman"] for m in fit.members]
    chosen = fit.proxy.metrics["heldout"]["spearman"]
    return {
        "task": task,
        "seed": seed,
        "compact": chosen,
        **{peer: fit.report["peers"][peer]["spearman"] for peer in PEERS},
        "single": fit.report["baseline"]["spearman"],
        "size": fit.proxy.size,
        "statistics": len(fit.proxy.features),
        "regret": float(np.nanmax(held) - chosen) if fit.chosen is not None else float("nan"),
        "formula": fit.proxy.text(),
        "seconds": time.perf_counter() - start,
    }


def parse_set(text: str) -> tuple[str, Any]:
    """``FIELD=VALUE``: the value as JSON where it parses (numbers, true, null), a comma list for terminals."""
    name, _, value = text.partition("=")
    if name == "terminals":
        return name, tuple(value.split(","))
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=sorted(SPLITS), default="report")
    parser.add_argument("--tasks", type=lambda s: s.split(","), default=list(TASKS))
    parser.add_argument("--set", dest="changes", type=parse_set, action="append", default=[])
    parser.add_argument("--jobs", type=int, default=2, help="Fits run at once (each on one core).")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, help="Also write every split's row here.")
    parser.add_argument("--smoke", action="store_true", help="Two tasks, one seed, a tiny search (seconds).")
    args = parser.parse_args()
    changes = dict(args.changes)
    seeds = split_seeds(args.split)
    if args.smoke:
        args.tasks, seeds = args.tasks[1:3], seeds[:1]
        changes = {"search.generations": 2, "search.population": 16, **changes}
    settings = with_changes(FitSettings(), {"search.jobs": 1, **changes})
    print(f"split {args.split}: seeds {list(seeds)}, train {N_TRAIN}, held-out = the rest; changes {changes or 'none'}")
    start = time.perf_counter()
    jobs = [(task, seed) for task in args.tasks for seed in seeds]
    run = partial(run_one, settings=settings, data_dir=args.data_dir, n_train=N_TRAIN)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        rows = list(pool.map(run, *zip(*jobs, strict=True)))
    columns = ("compact", *PEERS, "single", "size", "statistics", "regret")
    print(f"{'task':<28}" + "".join(f"{c:>12}" for c in columns))
    for task in args.tasks:
        mine = [r for r in rows if r["task"] == task]
        print(f"{task:<28}" + "".join(f"{np.mean([r[c] for r in mine]):>12.3f}" for c in columns), flush=True)
    means = {c: float(np.mean([np.mean([r[c] for r in rows if r["task"] == t]) for t in args.tasks])) for c in columns}
    print(f"wall {time.perf_counter() - start:.0f} s; largest formula {max(r['size'] for r in rows)} nodes, "
          f"{max(r['statistics'] for r in rows)} statistics")  # fmt: skip
    regrets = np.array([r["regret"] for r in rows])  # NaN for an ensemble: no member of a front was chosen
    mean, worst = (f"{f(regrets):.3f}" if np.isfinite(regrets).any() else "n/a" for f in (np.nanmean, np.nanmax))
    print(
        f"compact mean_rho={means['compact']:.3f} ridge={means['ridge-ranks']:.3f} lightgbm={means['lightgbm']:.3f} "
        f"xgboost={means['xgboost']:.3f} regret_mean={mean} regret_max={worst}"
    )
    if args.json:
        args.json.write_text(json.dumps({"split": args.split, "settings": changes, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
