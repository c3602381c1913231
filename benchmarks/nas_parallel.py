"""Proxy-driven NAS in this process vs on a local Ray cluster with several children per cycle: seconds per scored
architecture, measured in one run.

    python benchmarks/nas_parallel.py [--space flexibert] [--candidates 30] [--workers 2] [--proxy synaptic_saliency]
                                      [--batch-size 4] [--seq-len 64]

Runs aging evolution on a space (the whole space, population 10, tournament 3, seed 0) with a one-column proxy
scored by :class:`lpzero_sr.scorer.Scorer` (batch 4 x 64 by default, as the cached tables): once in this process with
one child per cycle (``lpzero-sr nas``'s default), once on a local Ray cluster of ``--workers`` workers with
``--workers`` children per cycle (``nas --workers N``), the cluster kept up for the whole search
(:func:`lpzero_sr.parallel.session`; its start-up is included). The two searches differ (a batched cycle is another
algorithm), so the figure is seconds per scored architecture; the machine's load averages are printed beside it.
"""

from __future__ import annotations

import argparse
import os
import time

import smoke

from lpzero_sr.features.settings import ExtractSettings
from lpzero_sr.formula import Node
from lpzero_sr.nas import NasSettings, ProxyScoring, SpaceDomain, search
from lpzero_sr.parallel import Runner, session
from lpzero_sr.proxy import Proxy
from lpzero_sr.scorer import Scorer
from lpzero_sr.spaces import get_space


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="flexibert")
    parser.add_argument("--candidates", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--proxy", default="synaptic_saliency", help="The column the proxy reads.")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=64)
    args = smoke.parse(parser, space="tiny-gpt2", candidates=3, proxy="weight.abs.mean", batch_size=1, seq_len=8)
    space = get_space(args.space)
    scorer = Scorer(Proxy(Node(var=args.proxy)), device="cpu")
    run = f"{args.space}, proxy {args.proxy}, {args.candidates} candidates, batch {args.batch_size} x {args.seq_len}"
    print(f"{run}; load {_load()} ({os.cpu_count()} CPUs)")
    per_arch = {}
    for name, runner, children in (
        ("in-process, 1 child per cycle", Runner(), 1),
        (f"Ray, {args.workers} workers, {args.workers} children per cycle", Runner("auto", args.workers), args.workers),
    ):
        settings = NasSettings(args.candidates, population=10, sample=3, seed=0, batch=children)
        start = time.perf_counter()
        with session(runner):
            scoring = ProxyScoring(scorer, space, ExtractSettings(args.batch_size, args.seq_len, 0), runner)
            result = search(SpaceDomain(space), scoring, settings)
        wall = time.perf_counter() - start
        per_arch[name] = wall / len(result.scored)
        print(f"{name}: {len(result.scored)} scored in {wall:.1f} s, {per_arch[name]:.2f} s each (load {_load()})")
    first, second = per_arch.values()
    print(f"seconds per scored architecture, in-process / Ray: {first / second:.2f}")


if __name__ == "__main__":
    main()
