"""NAS-Bench-201 (NB-Suite-Zero) fit: 100 training cells, held-out Spearman on the other 391, per dataset.

Runs the embedded DEAP engine on each of cifar10, cifar100 and ImageNet16-120 and prints the held-out Spearman
rank correlation of the chosen proxy next to the best single proxy column (chosen on the training cells) and the
rank-sum of synflow and jacov (ranked within the held-out cells, a reference only), the wall time of each fit and
the machine load. Goal: held-out Spearman >= 0.88 within 120 s per dataset on 2 cores.

This is the tuning tool: it runs the development split seeds (``lpzero_sr.fit.protocol.DEV_SEEDS``) by default, and
settings (fitness, operators, selection rule) are compared here, never on the report seeds that
``benchmarks/headline.py`` publishes. Compare fitnesses with ``--loss spearman`` against the default ``kendall``.

    python benchmarks/nb201_fit.py [--data-dir DIR] [--generations 150] [--time-limit 110] [--split dev] [--jobs 2]
                                   [--loss spearman|kendall]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import smoke
from scipy.stats import rankdata

from lpzero_sr.fit.pipeline import fit_table
from lpzero_sr.fit.protocol import SPLITS, split_seeds
from lpzero_sr.ranking import spearman
from lpzero_sr.settings import FitSettings, SearchSettings
from lpzero_sr.spaces.nb_suite_zero import FILES
from lpzero_sr.table_sources import resolve_table

GOAL = 0.88
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--train-size", type=int, default=100)
    parser.add_argument("--generations", type=int, default=150)
    parser.add_argument("--time-limit", type=float, default=110.0)
    parser.add_argument("--population", type=int, default=200)
    parser.add_argument(
        "--split", choices=sorted(SPLITS), default="dev", help="dev: the seeds settings are tuned on; report: never."
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--loss", choices=["spearman", "kendall"], default="kendall")
    args = smoke.parse(parser, generations=1, population=16, jobs=1)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; jobs={args.jobs}")
    print(f"{'dataset':<16} {'held-out rho':>12} {'best column':>22} {'ranksum':>8} {'wall s':>7} {'gens':>5}  proxy")
    pairs = [(d, s) for d in FILES["nb201"].tasks for s in split_seeds(args.split)]
    for dataset, seed in smoke.first(args, pairs):
        table = resolve_table(f"nb201-{dataset}", args.data_dir)
        train, test = table.split(args.train_size, seed=seed)
        search = SearchSettings(
            engine="deap", loss=args.loss, generations=args.generations, time_limit=args.time_limit, seed=seed,
            population=args.population, jobs=args.jobs,
        )  # fmt: skip
        start = time.perf_counter()
        result = fit_table(train, test, FitSettings(search=search))
        wall = time.perf_counter() - start
        rho, base = result.report["proxy"]["spearman"], result.report["baseline"]
        verdict = "ok" if rho >= GOAL and wall <= 120 else "MISSED"
        column = f"{base['column']} {base['spearman']:.4f}"
        ranksum = spearman(rankdata(test.column("synflow")) + rankdata(test.column("jacov")), test.y)
        print(
            f"{dataset:<12}{seed:>4} {rho:>12.4f} {column:>22} {ranksum:>8.4f} {wall:>7.1f} "
            f"{result.front.generations:>5}  {result.proxy.text()}  [{verdict}]"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
