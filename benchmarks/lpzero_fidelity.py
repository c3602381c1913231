"""How exactly this project computes LPZero's two published proxies: against LPZero's own committed values.

For N random architectures per benchmark (seed 0) it computes ``lpzero-gpt2`` on LTS GPT-2 and ``lpzero-flexibert``
on FlexiBERT built at ELECTRA-small's widths (``flexibert-electra``, as LPZero built it), each on the project's
batch (4 x 64 tokens, seed 0, eval mode), and prints one line per benchmark:

    lpzero-fidelity lts-gpt2 n=N spearman_ref=S median_rel_diff=D spearman_target=R
    lpzero-fidelity flexibert n=N spearman_ref=S median_rel_diff=D spearman_target=R

``spearman_ref`` and ``median_rel_diff`` compare with LPZero's values of the same architectures
(``shared/data/lpzero_reference``); ``spearman_target`` is Spearman's rho with the ground truth in this project's
higher-is-better convention (perplexity negated), so LPZero's GPT-2 proxy, which rises with perplexity, has a
negative one.

    python benchmarks/lpzero_fidelity.py --n 60 [--data-dir ../shared/data] [--smoke]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from lpzero_sr.features.lpzero_space import PUBLISHED
from lpzero_sr.lpzero_tables import benchmark_branches, genotype_scores, item_table, lpzero_reference
from lpzero_sr.ranking import spearman
from lpzero_sr.spaces import load_benchmark

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# (line name, benchmark built, published proxy)
CASES = (("lts-gpt2", "lts-gpt2", "lpzero-gpt2"), ("flexibert", "flexibert-electra", "lpzero-flexibert"))


def fidelity(data_dir: Path, line: str, bench_name: str, proxy: str, n: int, store: Path | None) -> dict[str, float]:
    bench = load_benchmark(bench_name, data_dir)
    archs = [bench.archs[i] for i in np.random.default_rng(0).permutation(len(bench.archs))[:n]]
    genotype = PUBLISHED[proxy]
    branches, _ = benchmark_branches(bench, archs=archs, columns=genotype.columns(), root=store, progress=False)
    table = item_table(bench, branches, genotype.columns())
    ours = pd.Series(genotype_scores(genotype, table), index=table.archs)
    theirs = lpzero_reference(data_dir, line).loc[ours.index]
    return {
        "n": len(ours),
        "spearman_ref": spearman(ours.to_numpy(), theirs.to_numpy()),
        "median_rel_diff": float(np.median(np.abs(ours - theirs) / np.abs(theirs))),
        "spearman_target": spearman(ours.to_numpy(), table.y),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="Random architectures per benchmark (seed 0).")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--smoke", action="store_true", help="5 architectures each, fresh branch store.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        n, store = (5, Path(tmp)) if args.smoke else (args.n, None)
        for line, bench_name, proxy in CASES:
            r = fidelity(args.data_dir, line, bench_name, proxy, n, store)
            print(
                f"lpzero-fidelity {line} n={r['n']} spearman_ref={r['spearman_ref']:.4f} "
                f"median_rel_diff={r['median_rel_diff']:.4f} spearman_target={r['spearman_target']:.4f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
