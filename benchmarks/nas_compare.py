"""Proxy-guided aging evolution vs random search vs #params-guided evolution, inside a benchmark's held-out half.

    python benchmarks/nas_compare.py --benchmark flexibert --data-dir ../shared/data
    python benchmarks/nas_compare.py --benchmark tiny-gpt2 --candidates 10 --population 5 --sample 2

For each ``--split-seeds`` split: a proxy is fitted (``fit_table``, DEAP, default rules) on ``--train-size`` of the
benchmark's cached table (``benchmark_table``, the table ``lpzero-sr fit NAME`` searches); the NAS then runs only
inside the OTHER half's architectures under a parameter budget (the ``--budget-quantile`` of that half's parameter
counts; ``LabelledDomain``: every candidate is labelled), for ``--seeds`` search seeds and ``--candidates``
evaluated children each (repeats are memoized but count). Strategies:

* ``proxy-evo``: aging evolution maximising the proxy, every candidate scored by ``Scorer`` (built and run);
* ``params-evo``: aging evolution maximising the parameter count (the #params baseline);
* ``random``: random search with a random pick (what an unguided search buys with the same budget);
* ``proxy-rs``: random search that picks the proxy's best (separates the proxy from the evolution).

Printed: mean +- std of the pick's true score per strategy, the best true score under the budget (oracle),
wins/ties/losses of proxy-evo vs params-evo, wall time per strategy, and the Scorer's own time (scores are
memoized per architecture, so all seeds share them; ``consistency`` is the Spearman rho between Scorer scores and
the fitted proxy evaluated on the cached table, which should be ~1).
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import numpy as np
import smoke
import torch

from lpzero_sr.features.settings import ExtractSettings
from lpzero_sr.fit.pipeline import fit_table
from lpzero_sr.nas import (
    LabelledDomain,
    Memo,
    NasSettings,
    ParamsScoring,
    ProxyScoring,
    RandomScoring,
    count_params,
    search,
)
from lpzero_sr.ranking import spearman
from lpzero_sr.scorer import Scorer
from lpzero_sr.settings import FitSettings, SearchSettings
from lpzero_sr.spaces import load_benchmark
from lpzero_sr.table_sources import extracted_table

STRATEGIES = ("proxy-evo", "params-evo", "random", "proxy-rs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", default="flexibert")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--train-size", type=float, default=0.5)
    parser.add_argument("--split-seeds", default="100", help="comma-separated split (and fit) seeds")
    parser.add_argument("--generations", type=int, default=40)
    parser.add_argument("--fit-population", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=10, help="search seeds per split")
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--population", type=int, default=20)
    parser.add_argument("--sample", type=int, default=5)
    parser.add_argument("--budget-quantile", type=float, default=0.5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1)
    args = smoke.parse(
        parser, benchmark="tiny-gpt2", generations=1, fit_population=16, seeds=2, candidates=4, population=2, sample=1
    )
    torch.set_num_threads(args.threads)
    pooled: dict[str, list[float]] = {s: [] for s in STRATEGIES}
    splits = [int(s) for s in args.split_seeds.split(",")]
    for split_seed in splits:
        for name, values in compare(args, split_seed).items():
            pooled[name].extend(values)
    if len(splits) > 1:
        print(f"\n== all {len(splits)} splits, {len(pooled['random'])} searches per strategy:")
        summarise(pooled, load_benchmark(args.benchmark, args.data_dir).direction)


def summarise(picks: dict[str, list[float]], direction: str, wall: dict[str, float] | None = None) -> None:
    """Mean +- std of the picks' true scores per strategy, and proxy-evo's wins/ties/losses vs params-evo."""
    for name in STRATEGIES:
        values = picks[name]
        took = f"   {wall[name]:7.1f} s" if wall else ""
        print(f"  {name:10s} {statistics.mean(values):.4f} +- {statistics.stdev(values):.4f}{took}")
    sign = -1.0 if direction == "minimize" else 1.0
    diffs = [sign * (p - q) for p, q in zip(picks["proxy-evo"], picks["params-evo"], strict=True)]
    wins, ties = sum(d > 0 for d in diffs), sum(d == 0 for d in diffs)
    print(f"proxy-evo vs params-evo: {wins} wins / {ties} ties / {len(diffs) - wins - ties} losses")


def compare(args: argparse.Namespace, split_seed: int) -> dict[str, list[float]]:
    """One split: fit, then every strategy for every search seed; the picks' true scores per strategy."""
    bench = load_benchmark(args.benchmark, args.data_dir)
    if bench.space is None:
        raise SystemExit(f"{bench.name} has no model builder: its candidates cannot be scored")
    settings = ExtractSettings(batch_size=1, seq_len=8) if args.smoke else ExtractSettings()
    if args.smoke:  # 24 architectures: the code path, not the numbers
        bench = replace(bench, targets=bench.targets.iloc[:24])
    table = extracted_table(bench, settings, device=args.device)
    train, test = table.split(args.train_size, seed=split_seed)
    start = time.perf_counter()
    fit_search = SearchSettings(
        engine="deap", generations=args.generations, seed=split_seed, population=args.fit_population
    )
    fit = fit_table(train, test, FitSettings(search=fit_search))
    print(
        f"\n== {bench.name}, split seed {split_seed}: proxy fitted on {len(train.archs)} archs in "
        f"{time.perf_counter() - start:.0f} s: {fit.proxy.text()}  "
        f"(held-out spearman {fit.report['proxy']['spearman']:.3f})"
    )
    pool = {str(a): bench.configs[str(a)] for a in test.archs}
    params = {a: count_params(bench.space, c) for a, c in pool.items()}
    budget = int(np.quantile(list(params.values()), args.budget_quantile))
    eligible = [a for a in pool if params[a] <= budget]
    domain = LabelledDomain(bench.space, {a: pool[a] for a in eligible}, params)  # neighbours within budget
    sign = -1.0 if bench.direction == "minimize" else 1.0  # oriented truth: higher is better
    truth = {a: float(bench.targets.loc[a, bench.target]) for a in pool}
    oracle = max(sign * truth[a] for a in eligible) * sign
    print(
        f"search pool: the {len(pool)} held-out archs; budget {budget:,} params ({len(eligible)} eligible; "
        f"best true {bench.target} under it {oracle:.4f}); {args.candidates} candidates, population "
        f"{args.population}, sample {args.sample}, {args.seeds} seeds"
    )
    proxy_memo = Memo(ProxyScoring(Scorer(fit.proxy, device=args.device), bench.space, settings), domain.arch_id)
    params_memo = Memo(ParamsScoring(domain), domain.arch_id)
    picks: dict[str, list[float]] = {s: [] for s in STRATEGIES}
    wall = dict.fromkeys(STRATEGIES, 0.0)
    for seed in range(args.seeds):
        runs = {
            "proxy-evo": (proxy_memo, "evolution"),
            "params-evo": (params_memo, "evolution"),
            "random": (Memo(RandomScoring(seed), domain.arch_id), "random"),
            "proxy-rs": (proxy_memo, "random"),
        }
        for name, (scoring, strategy) in runs.items():
            nas = NasSettings(args.candidates, args.population, args.sample, budget, seed, strategy)
            start = time.perf_counter()
            pick = search(domain, scoring, nas).top(1)[0]
            wall[name] += time.perf_counter() - start
            picks[name].append(truth[pick.arch])
    better = "lower" if sign < 0 else "higher"
    print(f"true {bench.target} of the pick ({better} is better), mean +- std over {args.seeds} seeds; wall time:")
    summarise(picks, bench.direction, wall)
    scored = sorted(proxy_memo.cache)
    table_scores = dict(zip(map(str, test.archs), fit.proxy.evaluate(test), strict=True))
    rho = spearman(np.array([proxy_memo.cache[a] for a in scored]), np.array([table_scores[a] for a in scored]))
    print(
        f"Scorer: {proxy_memo.scored} distinct archs scored in {proxy_memo.seconds:.1f} s "
        f"({proxy_memo.seconds / max(proxy_memo.scored, 1):.2f} s/arch, shared by all seeds and both proxy "
        f"strategies); consistency with the table: spearman {rho:.4f}"
    )
    return picks


if __name__ == "__main__":
    main()
