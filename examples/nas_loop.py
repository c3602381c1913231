"""A NAS loop with a found proxy as its only signal: random search under a parameter budget, scored by ``Scorer``.

    .venv/bin/python examples/nas_loop.py [--benchmark tiny-gpt2] [--proxy PROXY.json] [--seeds 20] [--candidates 10]

Without ``--proxy`` the example first fits a proxy on half of the benchmark's architectures (``--train-size``, on
the same cached table as ``lpzero-sr fit NAME``) and searches only the other half, so the search never meets an
architecture the formula was fitted on. With ``--proxy`` the whole benchmark is the pool (the proxy may have seen
some of it).

Each search seed draws ``--candidates`` architectures under the parameter budget (the ``--budget-quantile`` of the
pool's parameter counts), builds each model, scores it with ``Scorer(proxy)(model, batch)`` and picks the best.
Its true score, looked up in the benchmark, is compared with three picks from the same candidates: a random one,
the one with the most parameters (the #params proxy) and the best one (oracle).
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch

from lpzero_sr.proxy import Proxy
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.scorer import Scorer
from lpzero_sr.search.engine import Budget
from lpzero_sr.search.fitting import fit_proxy
from lpzero_sr.spaces import load_benchmark
from lpzero_sr.spaces.base import Benchmark
from lpzero_sr.tables import benchmark_table

STRATEGIES = ("proxy", "random", "params", "oracle")


def fit_on_half(bench: Benchmark, args: argparse.Namespace) -> tuple[Proxy, list[str]]:
    """A proxy fitted on ``--train-size`` of the benchmark, and the held-out architectures (the search pool)."""
    table = benchmark_table(bench.name, device=args.device)  # the table `lpzero-sr fit NAME` searches
    train, test = table.split(args.train_size, seed=args.split_seed)
    result = fit_proxy(
        train, test, RuleSet.load("default"), engine="deap", budget=Budget(generations=args.generations),
        seed=args.split_seed, population=args.population, jobs=args.jobs,
    )  # fmt: skip
    heldout = result.report["proxy"]["spearman"]
    print(f"fitted on {len(train.archs)} archs: {result.proxy.expr}  (held-out spearman {heldout:.3f})")
    return result.proxy, [str(a) for a in test.archs]


def n_params(bench: Benchmark, arch: str) -> int:
    return sum(p.numel() for p in bench.build(arch).parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", default="tiny-gpt2")
    parser.add_argument("--proxy", default=None, help="a proxy.json; default: fit one on --train-size of the archs")
    parser.add_argument("--train-size", type=float, default=0.5)
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--generations", type=int, default=40)
    parser.add_argument("--population", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=20, help="independent searches")
    parser.add_argument("--candidates", type=int, default=10, help="architectures scored per search")
    parser.add_argument("--budget-quantile", type=float, default=0.5, help="parameter budget as a pool quantile")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    bench = load_benchmark(args.benchmark)
    if args.proxy:
        proxy, pool = Proxy.load(args.proxy), bench.archs
    else:
        proxy, pool = fit_on_half(bench, args)
    scorer = Scorer(proxy, device=args.device)
    sign = -1.0 if bench.direction == "minimize" else 1.0  # oriented truth: higher is better
    truth = {a: float(bench.targets.loc[a, bench.target]) for a in pool}
    params = {a: n_params(bench, a) for a in pool}
    budget = float(np.quantile(list(params.values()), args.budget_quantile))
    eligible = sorted(a for a in pool if params[a] <= budget)
    print(
        f"pool {len(pool)} archs, budget {budget:,.0f} params -> {len(eligible)} eligible; "
        f"{args.candidates} candidates per search, {args.seeds} searches"
    )
    scores: dict[str, float] = {}

    def score(arch: str) -> float:
        if arch not in scores:
            scores[arch] = scorer.score_configs(bench.space, [bench.configs[arch]])[0]
        return scores[arch]

    picks: dict[str, list[float]] = {s: [] for s in STRATEGIES}
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        candidates = list(rng.choice(eligible, size=min(args.candidates, len(eligible)), replace=False))
        chosen = {
            "proxy": max(candidates, key=lambda a: np.nan_to_num(score(a), nan=-np.inf)),
            "random": candidates[int(rng.integers(len(candidates)))],
            "params": max(candidates, key=lambda a: params[a]),
            "oracle": max(candidates, key=lambda a: sign * truth[a]),
        }
        for name, arch in chosen.items():
            picks[name].append(truth[arch])
    print(
        f"\ntrue {bench.target} of the picked architecture over {args.seeds} searches "
        f"({'lower' if sign < 0 else 'higher'} is better):"
    )
    for name in STRATEGIES:
        values = picks[name]
        print(f"  {name:7s} mean {statistics.mean(values):.4f}  sd {statistics.stdev(values):.4f}")
    better = lambda a, b: sign * (a - b) > 0  # noqa: E731
    wins = sum(better(p, q) for p, q in zip(picks["proxy"], picks["params"], strict=True))
    ties = sum(p == q for p, q in zip(picks["proxy"], picks["params"], strict=True))
    print(
        f"proxy pick better than #params pick in {wins}/{args.seeds} searches, tied in {ties}; "
        f"oracle hit in {sum(p == o for p, o in zip(picks['proxy'], picks['oracle'], strict=True))}/{args.seeds}"
    )


if __name__ == "__main__":
    main()
