"""How many searches to rank-average (``fit --bag``): NAS-Bench-Suite-Zero's 11 tasks on one split.

For each task and seed of ``--split`` (100 training architectures, the rest held out, as ``suite_zero.py``), run
``--max-bag`` searches with seeds ``seed, seed + 1, ...`` and print the held-out Spearman of: the first search's
chosen formula (``--bag 1``), the mean over the single searches, and the rank average of the first 1, 3, 6, ... of
them, which is exactly what ``fit --bag N`` returns (:func:`lpzero_sr.fit.bagging.rank_average`). With
``--additive S1,S2``: also the additive formula alone (:mod:`lpzero_sr.fit.additive`) and the largest bag with
it at each share, which is what ``fit --bag N --additive S`` returns.

    python benchmarks/bagging.py [--split dev] [--tasks a,b] [--generations 150] [--max-bag 6] [--json FILE]
                                 [--terminals quantile[,raw...]]   # modes take turns over the searches
                                 [--rules default|FILE.toml] [--subspace 0.7]   # share of columns per search
                                 [--additive 0.2,0.4]   # also the additive formula, alone and with the bag
    python benchmarks/bagging.py --merge A.json B.json   # one table from runs over parts of --tasks

Tune on ``--split dev`` only.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import smoke
from suite_zero import DEFAULT_DATA, N_TRAIN, TASKS

from lpzero_sr.commands.fit import parse_terminals
from lpzero_sr.evaluate import rank_metrics
from lpzero_sr.fit.additive import additive_formula, additive_weight
from lpzero_sr.fit.bagging import rank_average
from lpzero_sr.fit.pipeline import fit_table
from lpzero_sr.fit.prepare import prepare
from lpzero_sr.fit.protocol import SPLITS, split_seeds
from lpzero_sr.proxy import Proxy
from lpzero_sr.settings import FitSettings, SearchSettings
from lpzero_sr.table_sources import resolve_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=sorted(SPLITS), default="dev")
    parser.add_argument("--tasks", type=lambda s: s.split(","), default=list(TASKS))
    parser.add_argument("--generations", type=int, default=150)
    parser.add_argument("--max-bag", type=int, default=6)
    parser.add_argument("--terminals", type=parse_terminals, default=("quantile",), help="Modes, in turn.")
    parser.add_argument("--rules", default="default", help="Rule set: 'default' or a .toml file.")
    parser.add_argument("--subspace", type=float, default=FitSettings().subspace, help="Share of columns per search.")
    parser.add_argument("--additive", type=shares, default=(), help="Shares of the additive formula (fit --additive).")
    parser.add_argument("--json", type=Path, help="Also write the per-task rows here.")
    parser.add_argument("--merge", type=Path, nargs="+", help="Only print the table of these --json files together.")
    args = smoke.parse(parser, tasks=["nb201-cifar10"], generations=1, max_bag=2, additive=(0.4,))
    if args.merge:
        runs = [json.loads(path.read_text()) for path in args.merge]
        print(f"split {runs[0]['split']}: held-out spearman; merged from {len(runs)} runs")
        print_rows(runs[0]["columns"], {t: np.array(r) for run in runs for t, r in run["rows"].items()})
        return
    sizes = sorted({1, *range(3, args.max_bag + 1, 3), args.max_bag})
    columns = ["single", "mean-single", *(f"bag{k}" for k in sizes)]
    if args.additive:
        columns += ["additive", *(f"bag{args.max_bag}+a{s:g}" for s in args.additive)]
    search = SearchSettings(rules=args.rules, loss="kendall", generations=args.generations, time_limit=600, jobs=1)
    rows, start = {}, time.perf_counter()
    print(
        f"split {args.split}: held-out spearman; {args.generations} generations per search, {args.terminals}, "
        f"rules {args.rules}, subspace {args.subspace}, additive {list(args.additive)}"
    )
    print(f"{'task':<30}" + "".join(f"{c:>12}" for c in columns), flush=True)
    for task in args.tasks:
        table = resolve_table(task, DEFAULT_DATA)
        per_seed = []
        for seed in smoke.first(args, split_seeds(args.split)):
            train, test = table.split(N_TRAIN, seed)
            fits = [
                fit_table(
                    train,
                    None,
                    FitSettings(
                        search=replace(search, seed=seed + k),
                        terminals=(args.terminals[k % len(args.terminals)],),
                        subspace=args.subspace,
                        peers=False,
                        additive=0.0,  # each search alone; the additive formula is joined below (--additive)
                    ),
                )  # fmt: skip
                for k in range(args.max_bag)
            ]
            singles = [rank_metrics(f.proxy.evaluate(test), test.y)["spearman"] for f in fits]
            quantiles = prepare(train, None).quantiles  # as a fit orders them (the additive formula's terms)
            bags = []
            for k in sizes:
                root, bagged = rank_average([f.proxy.formula for f in fits[:k]], train, quantiles)
                bags.append(rank_metrics(Proxy(root, quantiles=bagged).evaluate(test), test.y)["spearman"])
            if args.additive:
                shape = additive_formula(train, quantiles)
                bags.append(rank_metrics(Proxy(shape, quantiles=quantiles).evaluate(test), test.y)["spearman"])
                for share in args.additive:
                    formulas = [*(f.proxy.formula for f in fits), shape]
                    weights = [1.0] * len(fits) + [additive_weight(share, len(fits))]
                    root, bagged = rank_average(formulas, train, quantiles, weights)
                    bags.append(rank_metrics(Proxy(root, quantiles=bagged).evaluate(test), test.y)["spearman"])
            per_seed.append([singles[0], float(np.mean(singles)), *bags])
        rows[task] = np.mean(per_seed, axis=0)
        print(f"{task:<30}" + "".join(f"{v:>12.3f}" for v in rows[task]), flush=True)
    print_rows(columns, rows, header=False)
    print(f"wall {time.perf_counter() - start:.0f} s")
    if args.json:
        data = {"split": args.split, "columns": columns, "rows": {t: list(r) for t, r in rows.items()}}
        args.json.write_text(json.dumps(data, indent=1))


def shares(text: str) -> tuple[float, ...]:
    """``0.2,0.4`` -> (0.2, 0.4), each in (0, 1)."""
    values = tuple(float(v) for v in text.split(","))
    if not all(0 < v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"shares must be in (0, 1), got {text}")
    return values


def print_rows(columns: list[str], rows: dict[str, np.ndarray], header: bool = True) -> None:
    """The per-task rows (with ``header``) and their mean over the tasks."""
    if header:
        print(f"{'task':<30}" + "".join(f"{c:>12}" for c in columns))
        for task, row in rows.items():
            print(f"{task:<30}" + "".join(f"{v:>12.3f}" for v in row))
    mean = np.mean(list(rows.values()), axis=0)
    print(f"{f'mean of {len(rows)} tasks':<30}" + "".join(f"{v:>12.3f}" for v in mean))


if __name__ == "__main__":
    main()
