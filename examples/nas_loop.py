"""A NAS loop from Python: aging evolution over a whole space with a found proxy as its only signal.

    .venv/bin/lpzero-sr fit tiny-gpt2 --out run          # a proxy.json
    .venv/bin/python examples/nas_loop.py run/proxy.json [--benchmark tiny-gpt2] [--candidates 30]

The same search as ``lpzero-sr nas SPACE --proxy P`` written against :mod:`lpzero_sr.nas`, to show where a custom
objective plugs in: anything callable as ``scoring(configs) -> scores`` (higher is better) can replace
:class:`ProxyScoring`. Candidates over the parameter budget (``--budget-quantile`` of the labelled architectures'
parameter counts) are rejected unscored. The pick's true score is shown when the benchmark happens to label it;
``benchmarks/nas_compare.py`` measures proxy-guided vs #params-guided vs random search inside the labelled set.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from lpzero_sr.nas import Memo, NasSettings, ProxyScoring, SpaceDomain, count_params, search
from lpzero_sr.scorer import Scorer
from lpzero_sr.spaces import load_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("proxy", help="a proxy.json from `lpzero-sr fit`")
    parser.add_argument("--benchmark", default="tiny-gpt2")
    parser.add_argument("--candidates", type=int, default=30, help="distinct architectures scored")
    parser.add_argument("--population", type=int, default=10)
    parser.add_argument("--sample", type=int, default=3)
    parser.add_argument("--budget-quantile", type=float, default=0.5, help="parameter budget as a quantile")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    torch.set_num_threads(1)

    bench = load_benchmark(args.benchmark)
    if bench.space is None:
        raise SystemExit(f"{bench.name} has no model builder")
    budget = int(np.quantile([count_params(bench.space, c) for c in bench.configs.values()], args.budget_quantile))
    domain = SpaceDomain(bench.space, labelled=bench.configs)  # labelled configs keep their benchmark ids
    scoring = Memo(ProxyScoring(Scorer(args.proxy, device=args.device), bench.space), domain.arch_id)
    settings = NasSettings(args.candidates, args.population, args.sample, budget, args.seed)
    result = search(domain, scoring, settings, progress=True)
    print(
        f"{len(result.scored)} architectures scored in {scoring.seconds:.1f} s; "
        f"{result.rejected_budget} rejected over {budget:,} params"
    )
    for candidate in result.top(5):
        known = candidate.arch in bench.configs
        truth = f"true {bench.target} {bench.targets.loc[candidate.arch, bench.target]:.4f}" if known else "unlabelled"
        print(f"  {candidate.arch:24s} score {candidate.score:.6g}  params {candidate.params:,}  {truth}")


if __name__ == "__main__":
    main()
