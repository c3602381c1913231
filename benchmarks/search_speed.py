"""Search throughput: evaluations per second of the DEAP engine, compiled against reference, and its scaling.

Every line is measured in this run, on this machine (the load average is printed with it):

* one line per table size, ``search-speed rows=R cols=C evals_per_s=N ... peak_mb=M``: the compiled engine on a
  synthetic table (log-normal statistics of both signs, a target ranked by a 3-column formula plus noise) for a
  fixed wall time, each size in a fresh process (``peak_mb`` is that process's peak resident memory, the table
  itself included; ``table_mb`` is the table's float64 matrix alone). Cost should be near linear in rows and flat
  in columns. ``evals_per_cpu_s`` divides by the CPU time the process got instead of the wall time: on a machine
  shared with other work it shows what the engine does with the CPU it is given.
* ``step=...`` lines: what each part buys, timed on the same population (the old per-formula paths against the
  batched ones): DEAP's variation of PrimitiveTree objects vs the batched operators, DEAP's ``selNSGA2`` vs the
  batched NSGA-II, ``RuleSet.tree_violation`` vs the compiled structural rules, ``Fitness`` vs the compiled
  evaluator, and the share of offspring skipped as duplicates before evaluation.
* the last line, the headline: NB-Suite-Zero ``nb201-cifar10`` (train 100 of the dev split seed 1, 11 columns,
  default rules and population), the compiled evaluator with ``--jobs`` threads against the reference evaluator
  (``formula.evaluate_tokens`` + ``ranking.rank_loss``, one formula at a time) in the same engine, and
  ``same_front``: one search run twice with the same seed and a fixed number of evaluations, once with each
  evaluator; ``yes`` only if both fronts hold the same formulas, in the same order, with the same losses.

    python benchmarks/search_speed.py [--data-dir DIR] [--seconds 4] [--jobs 2] [--smoke]

``--smoke`` uses tiny sizes and budgets (seconds; for CI). Goal: >= 50,000 evals/s on 2 cores at 100 rows.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search.deap_engine import DeapEngine
from lpzero_sr.search.engine import Front
from lpzero_sr.settings import SearchSettings
from lpzero_sr.table import StatTable

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ROWS, COLUMNS = (50, 500, 5000), (11, 320, 2205)
GOAL = 50_000


def synthetic_table(rows: int, cols: int, seed: int = 0) -> StatTable:
    rng = np.random.default_rng(seed)
    values = rng.lognormal(0.0, 2.0, (rows, cols)) * rng.choice([-1.0, 1.0], (1, cols))
    frame = pd.DataFrame(values, columns=[f"s{i}" for i in range(cols)])
    frame.insert(0, "arch", [f"a{i}" for i in range(rows)])
    frame["y"] = np.log(np.abs(values[:, 0])) + values[:, 1] / (1 + np.abs(values[:, 2])) + rng.normal(0, 1, rows)
    return StatTable.from_frame(frame, "y")


def timed_fit(table: StatTable, **kw: object) -> tuple[Front, float]:
    front, wall, _ = cpu_timed_fit(table, **kw)
    return front, wall


def cpu_timed_fit(table: StatTable, **kw: object) -> tuple[Front, float, float]:
    """The front, the wall time and the CPU time of this process (every thread) of one search (``kw``: fields of
    :class:`SearchSettings`)."""
    settings = SearchSettings(**kw)  # type: ignore[arg-type]
    start, cpu = time.perf_counter(), time.process_time()
    front = DeapEngine().fit(table, RuleSet.load("default"), settings)
    return front, time.perf_counter() - start, time.process_time() - cpu


def one_size(rows: int, cols: int, seconds: float, jobs: int) -> None:
    """Child process: warm up, then one timed search; prints a JSON line."""
    table = synthetic_table(rows, cols)
    timed_fit(synthetic_table(50, 11, 1), generations=1, jobs=jobs)  # load the compiled kernels
    front, wall, cpu = cpu_timed_fit(table, generations=None, time_limit=seconds, jobs=jobs)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"evals": front.evaluations, "wall": wall, "cpu": cpu, "peak_mb": peak_mb}))


def scaling(sizes: list[tuple[int, int]], seconds: float, jobs: int) -> None:
    for rows, cols in sizes:
        code = f"from search_speed import one_size; one_size({rows}, {cols}, {seconds}, {jobs})"
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"search-speed rows={rows} cols={cols} evals_per_s={result['evals'] / result['wall']:.0f} "
            f"evals_per_cpu_s={result['evals'] / result['cpu']:.0f} peak_mb={result['peak_mb']:.0f} "
            f"table_mb={rows * cols * 8 / 2**20:.1f} load={os.getloadavg()[0]:.1f}",
            flush=True,
        )


def steps(table: StatTable, jobs: int, n: int) -> None:
    """What each part buys, on ``n`` offspring of a real population (times per formula)."""
    from deap import base, creator, gp, tools

    from lpzero_sr.operators import OPS
    from lpzero_sr.rules.render import deap_limits
    from lpzero_sr.search import nsga2, variation
    from lpzero_sr.search.evaluators import CompiledEvaluator, ReferenceEvaluator
    from lpzero_sr.search.fitness import Fitness
    from lpzero_sr.search.programs import Alphabet

    rules = RuleSet.load("default")
    ops = (*rules.unary, *rules.binary)
    alphabet = Alphabet(ops, len(table.features))
    rng = np.random.default_rng(0)
    prims = np.arange(len(ops), dtype=np.int32)
    unary, binary = prims[: len(rules.unary)], prims[len(rules.unary) :]
    n_terms, limits = len(table.features), deap_limits(rules)
    ratio = n_terms / (n_terms + len(ops))
    codes, lens = variation.generate(n, 16, rng.random((n, 64)), prims, n_terms, len(ops), ratio, alphabet.arity, 1, 3)
    u = rng.random(((n + 1) // 2, variation.DRAWS))
    args = (codes, lens, np.arange(n), u, prims, unary, binary, n_terms, len(ops), alphabet.arity, limits.max_size,
            limits.max_height)  # fmt: skip
    variation.vary(*args)
    start = time.perf_counter()
    offspring, off_lens = variation.vary(*args)
    batched = (time.perf_counter() - start) / n

    # DEAP's operators on PrimitiveTree objects, as the engine used them (clone, varAnd, staticLimit)
    pset = gp.PrimitiveSet("p", n_terms)
    for name in ops:
        pset.addPrimitive(OPS.get(name).numpy, OPS.get(name).arity, name=name)
    if not hasattr(creator, "SpeedFitness"):
        creator.create("SpeedFitness", base.Fitness, weights=(-1.0, -1.0))
        creator.create("SpeedIndividual", gp.PrimitiveTree, fitness=creator.SpeedFitness)
    tb = base.Toolbox()
    tb.register("mate", gp.cxOnePoint)
    tb.register("expr_mut", gp.genFull, pset=pset, min_=0, max_=2)
    tb.register("mutate", gp.mutUniform, expr=tb.expr_mut, pset=pset)
    for name in ("mate", "mutate"):
        tb.decorate(name, gp.staticLimit(key=len, max_value=limits.max_size))
        tb.decorate(name, gp.staticLimit(key=lambda ind: ind.height, max_value=limits.max_height))
    random.seed(0)
    pop = [creator.SpeedIndividual(gp.genHalfAndHalf(pset, 1, 3)) for _ in range(n)]
    start = time.perf_counter()
    kids = [tb.clone(p) for p in pop]
    for i in range(1, n, 2):
        if random.random() < variation.CXPB:
            kids[i - 1], kids[i] = tb.mate(kids[i - 1], kids[i])
    for i in range(n):
        if random.random() < variation.MUTPB:
            (kids[i],) = tb.mutate(kids[i])
    per_deap = (time.perf_counter() - start) / n
    print(f"search-speed step=variation deap_us={per_deap * 1e6:.1f} batched_us={batched * 1e6:.2f} "
          f"ratio={per_deap / batched:.0f}")  # fmt: skip

    loss = rng.choice([0.1, 0.2, 0.3, 0.5, 2.0], 2 * n) + rng.normal(0, 0.01, 2 * n)
    size = rng.integers(1, 16, 2 * n).astype(float)
    deap_pop = []
    for a, b in zip(loss.tolist(), size.tolist(), strict=True):
        ind = creator.SpeedIndividual([pset.terminals[object][0]])
        ind.fitness.values = (a, b)
        deap_pop.append(ind)
    start = time.perf_counter()
    tools.selNSGA2(deap_pop, n)
    per_deap = time.perf_counter() - start
    nsga2.select(loss, size, n)
    start = time.perf_counter()
    nsga2.select(loss, size, n)
    per_batched = time.perf_counter() - start
    print(f"search-speed step=nsga2 candidates={2 * n} deap_ms={per_deap * 1e3:.2f} batched_ms={per_batched * 1e3:.3f} "
          f"ratio={per_deap / per_batched:.0f}")  # fmt: skip

    tokens = [alphabet.decode(offspring[i, :k]) for i, k in enumerate(off_lens.tolist())]
    compiled = CompiledEvaluator([table], rules, alphabet, jobs=jobs)
    compiled.structure.violations(offspring, off_lens)
    start = time.perf_counter()
    compiled.structure.violations(offspring, off_lens)
    per_batched = (time.perf_counter() - start) / n
    start = time.perf_counter()
    for t in tokens:
        rules.tree_violation(t)
    per_ref = (time.perf_counter() - start) / n
    print(f"search-speed step=structure_rules reference_us={per_ref * 1e6:.1f} compiled_us={per_batched * 1e6:.2f} "
          f"ratio={per_ref / per_batched:.0f}")  # fmt: skip

    compiled.evaluate(offspring, off_lens)
    start = time.perf_counter()
    compiled.evaluate(offspring, off_lens)
    per_batched = (time.perf_counter() - start) / n
    compiled.close()
    reference = ReferenceEvaluator(Fitness(table, rules), alphabet)
    start = time.perf_counter()
    reference.evaluate(offspring, off_lens)
    per_ref = (time.perf_counter() - start) / n
    print(f"search-speed step=evaluation reference_us={per_ref * 1e6:.0f} compiled_us={per_batched * 1e6:.2f} "
          f"jobs={jobs} ratio={per_ref / per_batched:.0f}")  # fmt: skip


def headline(table: StatTable, seconds: float, same_evals: int, jobs: int, population: int) -> None:
    timed_fit(table, generations=1, jobs=jobs)  # load the compiled kernels
    budget = {"generations": None, "time_limit": seconds}
    fast, wall, cpu = cpu_timed_fit(table, **budget, jobs=jobs, population=population)
    skipped = 1 - (fast.evaluations - 4 * len(table.features)) / max(1, fast.generations * population)
    print(f"search-speed step=duplicates offspring_skipped={skipped:.2f} (never evaluated: cached or repeated)")
    if jobs > 1:
        one, one_wall = timed_fit(table, **budget, jobs=1, population=population)
        print(f"search-speed step=threads jobs1_evals_per_s={one.evaluations / one_wall:.0f} "
              f"jobs{jobs}_evals_per_s={fast.evaluations / wall:.0f}")  # fmt: skip
    budget = {"generations": None, "evaluations": same_evals}
    runs = {name: timed_fit(table, **budget, seed=1, jobs=jobs, population=population, evaluator=name)
            for name in ("compiled", "reference")}  # fmt: skip
    same = [(c.complexity, c.loss, c.text) for c in runs["compiled"][0].candidates] == [
        (c.complexity, c.loss, c.text) for c in runs["reference"][0].candidates
    ]
    ref_front, ref_wall = runs["reference"]
    new, old = fast.evaluations / wall, ref_front.evaluations / ref_wall
    print(
        f"search-speed front members={len(fast.candidates)} best={fast.best.text!r} loss={fast.best.loss:.4f} "
        f"evals={fast.evaluations} generations={fast.generations} wall_s={wall:.1f} cpu_s={cpu:.1f} "
        f"evals_per_cpu_s={fast.evaluations / cpu:.0f} load={os.getloadavg()[0]:.1f}"
    )
    print(
        f"search-speed rows={len(table.archs)} cols={len(table.features)} evals_per_s={new:.0f} "
        f"old_evals_per_s={old:.0f} ratio={new / old:.0f} same_front={'yes' if same else 'no'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seconds", type=float, default=4.0, help="Wall time of each timed search.")
    parser.add_argument("--same-evals", type=int, default=3000, help="Evaluations of each same_front run.")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--population", type=int, default=SearchSettings().population, help="Default: fit's.")
    parser.add_argument("--smoke", action="store_true", help="Tiny sizes and budgets (seconds).")
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.same_evals = 0.5, 300
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; jobs={args.jobs}", flush=True)
    sizes = [(50, 11)] if args.smoke else [(r, 11) for r in ROWS] + [(100, c) for c in COLUMNS[1:]] + [(5000, 2205)]
    scaling(sizes, args.seconds, args.jobs)
    from lpzero_sr.table_sources import resolve_table

    full = resolve_table("nb201-cifar10", args.data_dir)
    train, _ = full.split(100, seed=1)
    train = train.finite_features()
    steps(train, args.jobs, 50 if args.smoke else 400)
    headline(train, args.seconds, args.same_evals, args.jobs, args.population)


if __name__ == "__main__":
    main()
