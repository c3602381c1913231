"""What LPZero's whole program space costs per architecture: one hook pass, then every branch value.

For N random architectures (seed 0) of LTS GPT-2 and of FlexiBERT at ELECTRA widths it times, without the store,
the hook pass (forward and backward) and all 2000 branch values (5 inputs x 20 x 20 valued operators), one thread,
and the two published proxies' branches alone (what a scorer of one program pays), and prints one line per
benchmark with the means and the machine's load.

    python benchmarks/lpzero_cost.py [--n 3] [--data-dir ../shared/data] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from lpzero_sr.features.inputs import make_batch
from lpzero_sr.features.lpzero_space import INPUTS, PUBLISHED, VALUED, Branches, capture, parse_column
from lpzero_sr.spaces import load_benchmark

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CASES = (("lts-gpt2", "lpzero-gpt2"), ("flexibert-electra", "lpzero-flexibert"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--smoke", action="store_true", help="1 architecture, 2 operators.")
    args = parser.parse_args()
    torch.set_num_threads(1)
    n, ops = (1, VALUED[:2]) if args.smoke else (args.n, VALUED)
    for name, proxy in CASES:
        bench = load_benchmark(name, args.data_dir)
        archs = [bench.archs[i] for i in np.random.default_rng(0).permutation(len(bench.archs))[:n]]
        load = os.getloadavg()[0]
        passes, alls, ones = [], [], []
        for arch in archs:
            torch.manual_seed(0)
            model = bench.build(arch)
            batch = make_batch(bench.space.vocab_size(bench.configs[arch]), 4, 64, seed=0)  # type: ignore[union-attr]
            start = time.perf_counter()
            lists = capture(model, batch)
            passes.append(time.perf_counter() - start)
            start = time.perf_counter()
            Branches(lists).compute((k, a, b) for k in INPUTS for a in ops for b in ops)
            alls.append(time.perf_counter() - start)
            start = time.perf_counter()
            Branches(lists).compute(parse_column(c) for c in PUBLISHED[proxy].columns())
            ones.append(time.perf_counter() - start)
        print(
            f"lpzero-cost {name} n={len(archs)} hook_pass_s={np.mean(passes):.2f} "
            f"all_{5 * len(ops) ** 2}_branches_s={np.mean(alls):.2f} {proxy}_branches_s={np.mean(ones):.3f} "
            f"load={load:.1f}/{os.getloadavg()[0]:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
