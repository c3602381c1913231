"""Backend agreement over many random formulas: mismatches and crashes between search, saved proxy, sympy, torch.

Draws N random formulas that the rules allow (half from the default rule set, half with every operator and two
constants), evaluates each on fresh edge-heavy columns (zeros of both signs, +-1e-30, +-1e30, values around exp's
clip at 80, a repeated column) in the four backends of :mod:`lpzero_sr.semantics`, and prints how many disagree
and how many crash. Goal: 0 and 0.

    python benchmarks/semantics_agreement.py [--n 20000] [--seed 0]
"""

from __future__ import annotations

import argparse
import time
import traceback

import numpy as np
import smoke

from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.semantics import all_operators, backend_values, disagreement, sample_columns, sample_formula


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--features", type=int, default=3)
    parser.add_argument("--rows", type=int, default=16)
    args = smoke.parse(parser, n=40)
    rulesets = [RuleSet.load("default"), all_operators(RuleSet.load("default"))]
    rng = np.random.default_rng(args.seed)
    mismatches, crashes, start = [], [], time.perf_counter()
    for i in range(args.n):
        tokens = sample_formula(rng, rulesets[i % 2], args.features)
        columns = sample_columns(rng, args.features, args.rows)
        try:
            problem = disagreement(backend_values(tokens, columns), tokens, columns)
        except Exception:  # a crash in any backend is what this script counts
            crashes.append((tokens, traceback.format_exc(limit=1).strip().splitlines()[-1]))
            continue
        if problem is not None:
            mismatches.append((tokens, problem))
    for label, items in (("mismatch", mismatches), ("crash", crashes)):
        for tokens, what in items[:5]:
            print(f"{label}: {tokens}: {what}")
    print(
        f"{args.n} random formulas ({args.features} columns x {args.rows} rows each): {len(mismatches)} mismatches, "
        f"{len(crashes)} crashes ({time.perf_counter() - start:.0f} s)"
    )


if __name__ == "__main__":
    main()
