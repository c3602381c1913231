"""Which model-selection rule generalises: one search per (task, dev seed), every rule's choice on held-out rows.

For each task and each development split seed (``lpzero_sr.fit.protocol.DEV_SEEDS``; never the report seeds) it runs
one search on the training architectures, then applies every rule of ``lpzero_sr.fit.selection.SELECTIONS`` to
the same front and prints the held-out Spearman of each choice, and of the best single column chosen on the training
rows, with the mean per rule. The default rule
(``FitSettings.selection``) is decided from this output.

    python benchmarks/selection.py [--tasks nb201-cifar10,nb201-cifar100,nb201-ImageNet16-120] [--generations 60]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import smoke

from lpzero_sr.evaluate import rank_metrics
from lpzero_sr.fit.pipeline import fit_table
from lpzero_sr.fit.protocol import DEV_SEEDS
from lpzero_sr.fit.selection import SELECTIONS, select
from lpzero_sr.proxy import Proxy
from lpzero_sr.settings import FitSettings, SearchSettings
from lpzero_sr.tables import resolve_table

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--tasks", default="nb201-cifar10,nb201-cifar100,nb201-ImageNet16-120")
    parser.add_argument("--train-size", type=int, default=100)
    parser.add_argument("--generations", type=int, default=60)
    parser.add_argument("--loss", choices=["spearman", "kendall"], default="kendall")
    parser.add_argument("--jobs", type=int, default=1)
    args = smoke.parse(parser, tasks="nb201-cifar10", generations=1)
    names = SELECTIONS.names()
    scores: dict[str, list[float]] = {n: [] for n in names}
    print(f"{'task':<24}{'seed':>5} " + " ".join(f"{n:>10}" for n in names) + f" {'single col':>10}")
    singles: list[float] = []
    for task in args.tasks.split(","):
        table = resolve_table(task, args.data_dir)
        for seed in smoke.first(args, DEV_SEEDS):
            train, test = table.split(args.train_size, seed)
            search = SearchSettings(loss=args.loss, generations=args.generations, seed=seed, jobs=args.jobs)
            result = fit_table(train, test, FitSettings(search=search, additive=0.0))  # one search's front members
            row = []
            for name in names:
                chosen = select(result.front, name)
                proxy = Proxy(chosen.formula, quantiles=result.quantiles)
                rho = rank_metrics(proxy.evaluate(test), test.y)["spearman"]
                scores[name].append(rho)
                row.append(f"{rho:>10.4f}")
            singles.append(result.report["baseline"]["spearman"])
            print(f"{task:<24}{seed:>5} " + " ".join(row) + f" {singles[-1]:>10.4f}", flush=True)
    means = [*(np.mean(v) for v in scores.values()), np.mean(singles)]
    print(f"{'mean':<29} " + " ".join(f"{m:>10.4f}" for m in means))


if __name__ == "__main__":
    main()
