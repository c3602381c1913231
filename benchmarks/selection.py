"""Which model-selection rule generalises, and what more search time does to the held-out result (dev splits only).

For each task of NAS-Bench-Suite-Zero (train 100, the rest held out) and each development split seed
(``lpzero_sr.fit.protocol.DEV_SEEDS``), one fit with the ``cv`` rule runs per time budget: its search on the
training rows plus the searches of the validation folds (:mod:`lpzero_sr.fit.validation`), sharing the budget. Every
rule of ``lpzero_sr.fit.selection.SELECTIONS`` is then applied to the same front (``cv`` with the fit's validation
curve) and scored on the held-out rows. Printed per budget and rule: the mean held-out Spearman of its choice and its
*selection regret*, the held-out Spearman of the front's best member minus that of the chosen one (mean and worst
case over task x seed), and the mean size of its choice: every rule on one and the same front. (The default's own
held-out result against its time budget, with the whole budget for its one search, is ``benchmarks/compact.py
--split dev --set search.time_limit=T``.) Dev seeds only; never the report seeds.

    python benchmarks/selection.py [--time-limits 10,30,120] [--tasks a,b] [--set FIELD=VALUE ...] [--jobs 2]
    python benchmarks/selection.py --smoke
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
from compact import parse_set
from suite_zero import DEFAULT_DATA, N_TRAIN, TASKS

from lpzero_sr.evaluate import rank_metrics
from lpzero_sr.fit.pipeline import fit_table
from lpzero_sr.fit.protocol import DEV_SEEDS
from lpzero_sr.fit.selection import SELECTIONS, select
from lpzero_sr.proxy import Proxy
from lpzero_sr.settings import FitSettings, with_changes
from lpzero_sr.table_sources import resolve_table


def run_one(task: str, seed: int, budget: float, settings: FitSettings, data_dir: Path) -> dict[str, Any]:
    """Every rule's choice on one split under one time budget: held-out Spearman, regret and size."""
    train, test = resolve_table(task, data_dir).split(N_TRAIN, seed)
    search = replace(settings.search, seed=seed, time_limit=budget, generations=None)
    fit = fit_table(train, test, replace(settings, search=search, selection="cv", peers=False))
    held = [m["heldout"]["spearman"] for m in fit.members]
    row: dict[str, Any] = {"task": task, "seed": seed, "budget": budget, "best_member": float(np.nanmax(held))}
    for rule in SELECTIONS.names():
        chosen = select(fit.front, rule, fit.validation)
        rho = rank_metrics(Proxy(chosen.formula, quantiles=fit.quantiles).evaluate(test), test.y)["spearman"]
        row[rule] = {"rho": rho, "regret": row["best_member"] - rho, "size": chosen.complexity}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=lambda s: s.split(","), default=list(TASKS))
    parser.add_argument("--time-limits", type=lambda s: [float(v) for v in s.split(",")], default=[10.0, 30.0, 120.0])
    parser.add_argument("--set", dest="changes", type=parse_set, action="append", default=[])
    parser.add_argument("--jobs", type=int, default=2, help="Fits run at once (each on one core).")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, help="Also write every split's row here.")
    parser.add_argument("--smoke", action="store_true", help="One task, one seed, a one-second budget.")
    args = parser.parse_args()
    seeds = DEV_SEEDS
    if args.smoke:
        args.tasks, seeds, args.time_limits = args.tasks[1:2], seeds[:1], [1.0]
    settings = with_changes(FitSettings(), {"search.jobs": 1, **dict(args.changes)})
    print(f"dev seeds {list(seeds)}, train {N_TRAIN}; fit time budgets {args.time_limits} s; changes {args.changes}")
    start = time.perf_counter()
    jobs = [(t, s, b) for b in args.time_limits for t in args.tasks for s in seeds]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        rows = list(pool.map(partial(run_one, settings=settings, data_dir=args.data_dir), *zip(*jobs, strict=True)))
    rules = SELECTIONS.names()
    print(f"{'budget':>7} {'rule':<10} {'held-out rho':>12} {'regret mean':>12} {'regret max':>11} {'size':>6}")
    for budget in args.time_limits:
        mine = [r for r in rows if r["budget"] == budget]
        for rule in rules:
            rho = np.mean([r[rule]["rho"] for r in mine])
            regret = [r[rule]["regret"] for r in mine]
            size = np.mean([r[rule]["size"] for r in mine])
            print(
                f"{budget:>7.0f} {rule:<10} {rho:>12.3f} {np.mean(regret):>12.3f} {np.max(regret):>11.3f} {size:>6.1f}"
            )
        print(f"{budget:>7.0f} {'(best member)':<10} {np.mean([r['best_member'] for r in mine]):>12.3f}")
    print(f"wall {time.perf_counter() - start:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"changes": dict(args.changes), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
