"""NAS-Bench-Suite-Zero tasks: the found proxy next to learned peers on the same training rows.

For each of 11 tasks (NB101 cifar10, NB201 x3, TransNAS-Bench-101 micro x7) and each seed of the chosen split:
train on 100 architectures, evaluate on all the others. Columns: the best single proxy chosen on the training rows
(:func:`lpzero_sr.predictors.best_single_column`), the learned peers of :mod:`lpzero_sr.predictors` (ridge on ranks,
LightGBM, rank-average of the 3 best training columns) and the formula found by
:func:`lpzero_sr.fit.pipeline.fit_table` (default rules, Kendall loss; skipped with ``--no-proxy``). Printed:
the held-out Spearman (and Kendall) per task as the mean over seeds, and the mean over the tasks.

Settings are tuned on ``--split dev`` (``lpzero_sr.fit.protocol.DEV_SEEDS``: 1, 2, 3) only; numbers are reported on
``--split report`` (``REPORT_SEEDS``: 100, 101, 102).

    python benchmarks/suite_zero.py [--split dev|report] [--no-proxy] [--tasks a,b] [--generations 150]
                                    [--time-limit 600] [--terminals quantile[,raw...]] [--rules R]
                                    [--loss kendall|spearman] [--bag 9] [--additive 0.4] [--data-dir DIR]
                                    [--json FILE]
    python benchmarks/suite_zero.py --merge A.json B.json   # one table from runs over parts of --tasks

Settings chosen on the dev split (mean held-out Spearman over the 11 tasks; LightGBM 0.829 on the same splits):
raw terminals with 40 generations / 30 s 0.776, with 150 generations / 60 s 0.796; the same with the (since
default) centred quantile terminals 0.809, and raw + (uncentred) quantile terminals 0.802; quantile terminals with
400 generations 0.814 (two runs over 5 + 6 tasks, ``--tasks``), ``--terminals both`` with 400 generations 0.814,
``--rules`` a copy of ``rules/default.toml`` with size limit 25 and depth 8 0.806, and ``--loss spearman`` 0.803
(5 + 6 tasks). The rank average of 6 searches of 150 generations each (``--bag 6``, ``fit --bag``; ``python
benchmarks/bagging.py --split dev``, 5 + 6 tasks) 0.820, against 0.809 for the first of those searches alone and
0.818 for 3 of them; with quantile and raw terminals in turn (``--terminals quantile,raw``) 0.834; with quantile,
raw and both in turn 0.836 for 6 searches, 0.838 for 9 and 0.838 for 12 (``bagging.py --max-bag 12 --terminals
quantile,raw,both``); quantile and raw in turn with ``max``/``min`` added to the default rules' binary operators
0.830 (``bagging.py --rules minmax``; better on class_object, worse on 7 tasks). Bags of 9 over the three modes:
each search on a random 70 % of the columns 0.833, and 0.839 for 18 such searches (``bagging.py --subspace 0.7
--max-bag 18``); formulas up to 25 nodes and depth 8 0.839 (``--rules`` that copy). The additive formula
(:mod:`lpzero_sr.fit.additive`) alone 0.832, and with the bag of 9 at shares 0.1 / 0.25 / 0.4 / 0.5 / 0.6 / 0.7
0.842 / 0.847 / 0.848 / 0.847 / 0.846 / 0.844 (``bagging.py --additive ...``). So the default is ``--bag 9`` with
150 generations per search, quantile, raw and both terminals in turn, the additive formula with share 0.4, the
Kendall loss and the default rules (the time limit is only a safety net, so the result does not depend on the
machine's load). With ``--additive`` above 0 the table also shows the two halves alone: ``searches`` (their rank
average) and ``additive``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import smoke

from lpzero_sr.commands.fit import parse_terminals
from lpzero_sr.evaluate import rank_metrics
from lpzero_sr.fit.assess import peer_report
from lpzero_sr.fit.bagging import rank_average
from lpzero_sr.fit.pipeline import fit_table
from lpzero_sr.fit.protocol import SPLITS, split_seeds
from lpzero_sr.formula import Node
from lpzero_sr.predictors import PEERS, best_single_column
from lpzero_sr.proxy import Proxy
from lpzero_sr.settings import ENSEMBLE, FitSettings, SearchSettings
from lpzero_sr.table import StatTable
from lpzero_sr.table_sources import resolve_table

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TASKS = (
    "nb101-cifar10",
    "nb201-cifar10",
    "nb201-cifar100",
    "nb201-ImageNet16-120",
    *(f"tnb101-micro-{t}" for t in
      ("autoencoder", "class_object", "class_scene", "jigsaw", "normal", "room_layout", "segmentsemantic")),
)  # fmt: skip
N_TRAIN = 100
METRICS = ("spearman", "kendall")


def run_seed(table: StatTable, seed: int, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Held-out metrics of every method on one split."""
    train, test = table.split(N_TRAIN, seed)
    best = best_single_column(train)
    rows = {"best-single": rank_metrics(best.query(test), test.y), **peer_report(train, test)}
    if args.proxy:
        search = SearchSettings(
            rules=args.rules, loss=args.loss, generations=args.generations, time_limit=args.time_limit, seed=seed,
            jobs=1,
        )  # fmt: skip
        settings = FitSettings(search=search, terminals=args.terminals, bag=args.bag, additive=args.additive)
        fit = fit_table(train, test, settings)
        rows["proxy"] = dict(fit.report["proxy"])
        if args.additive > 0:  # its two halves alone: the searches' rank average, the additive formula
            trees = [Node.from_json(part["tree"]) for part in fit.parts]
            columns = {n: q for n, q in fit.proxy.quantiles.items() if q.source is None}
            root, bagged = rank_average(trees[:-1], train, columns)
            rows["searches"] = rank_metrics(Proxy(root, quantiles=bagged).evaluate(test), test.y)
            rows["additive"] = rank_metrics(Proxy(trees[-1], quantiles=columns).evaluate(test), test.y)
        print(f"    seed {seed}: proxy {fit.proxy.text()}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=sorted(SPLITS), default="dev", help="dev: tune here; report: publish.")
    parser.add_argument("--no-proxy", dest="proxy", action="store_false", help="Skip the symbolic search (fast).")
    parser.add_argument("--tasks", type=lambda s: s.split(","), default=list(TASKS))
    parser.add_argument("--generations", type=int, default=150, help="Per search.")
    parser.add_argument("--time-limit", type=float, default=600.0, help="Safety limit per search (seconds).")
    parser.add_argument("--loss", choices=["spearman", "kendall"], default="kendall", help="Search fitness.")
    parser.add_argument("--rules", default="default", help="Rule set: 'default' or a .toml file.")
    modes = (*FitSettings().terminals, "raw", "both")
    parser.add_argument("--terminals", type=parse_terminals, default=modes, help="What the search reads (in turn).")
    parser.add_argument("--bag", type=int, default=9, help="Searches rank-averaged per fit (fit --bag).")
    parser.add_argument(
        "--additive", type=float, default=ENSEMBLE["additive"], help="Share of the additive formula (fit --additive)."
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, help="Also write the per-seed numbers here.")
    parser.add_argument("--merge", type=Path, nargs="+", help="Only print the tables of these --json files together.")
    args = smoke.parse(parser, tasks=["nb201-cifar10"], generations=1, bag=3, time_limit=60.0)
    found = ["searches", "additive", "proxy"] if args.additive > 0 else ["proxy"]
    methods = ["best-single", *PEERS.names(), *(found if args.proxy else [])]
    if args.merge:
        runs = [json.loads(path.read_text()) for path in args.merge]
        merged = {t: r for run in runs for t, r in run["results"].items()}
        print(f"split {runs[0]['split']}: seeds {runs[0]['seeds']}, merged from {len(runs)} runs")
        for metric in METRICS:
            print_table(merged, list(next(iter(merged.values()))[0]), metric)
        return
    seeds = smoke.first(args, split_seeds(args.split))
    print(f"split {args.split}: seeds {list(seeds)}, {N_TRAIN} training architectures, held-out = the rest")
    results: dict[str, list[dict[str, dict[str, float]]]] = {}
    start = time.perf_counter()
    for task in args.tasks:
        table = resolve_table(task, args.data_dir)
        print(f"  {task}: {len(table.archs)} architectures, {len(table.features)} proxies", flush=True)
        results[task] = [run_seed(table, seed, args) for seed in seeds]
    for metric in METRICS:
        print_table(results, methods, metric)
    print(f"wall {time.perf_counter() - start:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"split": args.split, "seeds": list(seeds), "results": results}, indent=1))


def print_table(results: dict[str, list[dict[str, dict[str, float]]]], methods: list[str], metric: str) -> None:
    """One row per task (mean over seeds) and the mean over tasks."""
    print(f"\nheld-out {metric} (mean over seeds)")
    print(f"{'task':<30}" + "".join(f"{m:>13}" for m in methods))
    means = {m: [] for m in methods}
    for task, seeds in results.items():
        row = {m: float(np.mean([s[m][metric] for s in seeds])) for m in methods}
        for m in methods:
            means[m].append(row[m])
        print(f"{task:<30}" + "".join(f"{row[m]:>13.3f}" for m in methods))
    print(f"{f'mean of {len(results)} tasks':<30}" + "".join(f"{np.mean(means[m]):>13.3f}" for m in methods))


if __name__ == "__main__":
    main()
