"""LPZero's search reproduced, and this project's searches beside it, on held-out architectures.

For each benchmark and seed, on the same training / held-out split:

* **LPZero's search** (:mod:`lpzero_sr.lpzero_evolution`): its evolutionary algorithm, rules (RPS) and budget
  (population 80, 1000 iterations) over its genotypes, fitness Spearman on the training architectures;
* **project, LPZero's space**: this project's engine (``Engine.fit``, default rules, 1 - Kendall, ``fit``'s
  population and generations) on the same per-item table of LPZero's branch values, aggregated with ``nanmean`` (raw
  terminals), the front's lowest-loss member (the held-out items of this table hold only the columns found formulas
  read, so the fit path, which prepares every column, does not run here);
* **project, full table**: ``lpzero-sr fit``'s pipeline with its default settings (one short formula; Kendall loss)
  on this project's own per-architecture table (every bank statistic and the single-pass classic proxies);
* **published**: LPZero's published proxy of that benchmark, scored on the same held-out architectures.

Splits: FlexiBERT is LPZero's own (it searched on the first 50 architectures of the benchmark file; the 450 others
are held out); its space is built at ELECTRA-small's widths as LPZero built it (``flexibert-electra``), the full
table at the benchmark's widths. LTS GPT-2: 50 training architectures drawn with the first seed of the split, 150
held out, the same for every seed (LPZero's GPT-2 search redrew its architectures at every evaluation). Seeds change
the searches only. Correlations are signed, in this project's convention (perplexity negated); LPZero's published
numbers are quoted beside them (its 0.98 / 0.886 on GPT-2 are absolute values).

    python benchmarks/lpzero_search.py [--split report] [--only flexibert,lts-gpt2] [--generations N]
                                       [--out runs/lpzero-search] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from lpzero_sr.baselines import extract_benchmark
from lpzero_sr.evaluate import rank_metrics
from lpzero_sr.features.lpzero_space import PUBLISHED, Genotype
from lpzero_sr.features.lpzero_table import space_columns
from lpzero_sr.features.settings import ExtractSettings
from lpzero_sr.fit.pipeline import fit_table
from lpzero_sr.fit.protocol import split_seeds
from lpzero_sr.fit.selection import select
from lpzero_sr.fsutil import atomic_write_text
from lpzero_sr.lpzero_evolution import ITERATIONS, POPULATION, evolve
from lpzero_sr.lpzero_tables import (
    AGGREGATION,
    benchmark_branches,
    genotype_proxy,
    item_table,
    lpzero_reference,
    valued_everywhere,
)
from lpzero_sr.proxy import Proxy
from lpzero_sr.rules.ruleset import RuleSet
from lpzero_sr.search.engines import get_engine
from lpzero_sr.settings import FitSettings, SearchSettings
from lpzero_sr.spaces import load_benchmark
from lpzero_sr.table import StatTable
from lpzero_sr.table_sources import benchmark_table

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
N_TRAIN = 50
# benchmark -> (LPZero's space built as LPZero built it, its published proxy, LPZero's reported number)
CASES = {
    "flexibert": ("flexibert-electra", "lpzero-flexibert", "0.748 / 0.511 on all 500"),
    "lts-gpt2": ("lts-gpt2", "lpzero-gpt2", "absolute 0.980 / 0.886 on all 200 (signed -0.980 / -0.886)"),
    "tiny-gpt2": ("tiny-gpt2", "lpzero-gpt2", "-"),  # --smoke only
}
FULL = ExtractSettings(proxies="single")


def split(name: str, archs: list[str], first_seed: int, n_train: int) -> tuple[list[str], list[str]]:
    """FlexiBERT: LPZero's split (the first 50 of the file); otherwise a random one drawn with ``first_seed``."""
    if name == "flexibert":
        return archs[:n_train], archs[n_train:]
    order = np.random.default_rng(first_seed).permutation(len(archs))
    return [archs[i] for i in order[:n_train]], [archs[i] for i in order[n_train:]]


def full_table(name: str, data_dir: Path, archs: list[str], store: Path | None) -> StatTable:
    """This project's per-architecture table (cached extraction; ``store``: a fresh one of ``archs`` only)."""
    if store is None:
        return benchmark_table(name, data_dir, settings=FULL)
    bench = load_benchmark(name, data_dir)
    return bench.table(extract_benchmark(bench, FULL, store / "full", stats="all", device="cpu", archs=archs))


def heldout(scores: np.ndarray, table: StatTable) -> dict[str, float]:
    m = rank_metrics(scores, table.y)
    return {"spearman": m["spearman"], "kendall": m["kendall"]}


def run(name: str, args: argparse.Namespace, store: Path | None) -> dict[str, Any]:
    space_name, published, reported = CASES[name]
    bench = load_benchmark(space_name, args.data_dir)
    archs = bench.archs if not args.smoke else bench.archs[:24]
    train, test = split(name, archs, args.seeds[0], args.n_train)
    root = None if store is None else store / "branches"
    clock = time.perf_counter()
    branches, _ = benchmark_branches(bench, archs=train, columns="all", root=root, progress=not args.smoke)
    columns = space_columns(branches)
    train_table = item_table(bench, branches, columns)
    searchable = valued_everywhere(train_table)  # the project's search; LPZero's sees (and rejects) every branch
    full = full_table(name, args.data_dir, archs, store)
    full_train, full_test = full.subset(train), full.subset(test)
    out: dict[str, Any] = {"benchmark": name, "space": space_name, "n_train": len(train), "n_test": len(test),
                           "columns": len(columns), "searchable": len(searchable.features),
                           "branch_seconds": time.perf_counter() - clock,
                           "seeds": {}}  # fmt: skip
    found: dict[int, dict[str, Any]] = {}
    for seed in args.seeds:
        t0 = time.perf_counter()
        evolution = evolve(train_table, seed, args.population, args.iterations)
        t1 = time.perf_counter()
        search = SearchSettings(
            engine="deap", loss="kendall", aggregation=AGGREGATION, generations=args.generations, seed=seed
        )
        front = get_engine("deap").fit(searchable, RuleSet.load("default"), search)
        chosen = select(front, "best")
        t2 = time.perf_counter()
        full = FitSettings(search=SearchSettings(loss="kendall", generations=args.generations, seed=seed), peers=False)
        fit = fit_table(full_train, full_test, full)
        t3 = time.perf_counter()
        space_proxy = Proxy(chosen.formula, aggregation=AGGREGATION)
        found[seed] = {"lpzero": evolution.best, "space": space_proxy}
        out["seeds"][seed] = {
            "lpzero_search": {"program": str(evolution.best), "train_rho": evolution.train_rho,
                              "evaluations": evolution.evaluations, "seconds": t1 - t0},
            "project_space": {"formula": space_proxy.text(), "train_loss": chosen.loss,
                              "evaluations": front.evaluations, "seconds": t2 - t1},
            "project_full": {"formula": fit.proxy.text(), "heldout": fit.proxy.metrics.get("heldout", {}),
                             "seconds": t3 - t2},
        }  # fmt: skip
        print(f"{name} seed {seed}: searched ({t1 - t0:.0f} s, {t2 - t1:.0f} s, {t3 - t2:.0f} s)", flush=True)
    # held-out: only the columns the found programs and formulas read, computed for the held-out architectures
    needed = set(PUBLISHED[published].columns())
    for f in found.values():
        needed |= set(f["lpzero"].columns()) if f["lpzero"].valid else set()
        needed |= set(f["space"].features)
    test_branches, _ = benchmark_branches(bench, archs=test, columns=sorted(needed), root=root, progress=not args.smoke)
    test_table = item_table(bench, test_branches, sorted(needed))
    published_scores = genotype_proxy(PUBLISHED[published]).evaluate(test_table)
    out["published"] = {"proxy": published, "heldout": heldout(published_scores, test_table), "reported": reported}
    if name in ("flexibert", "lts-gpt2"):  # LPZero's own committed values of its proxy, on the same held-out archs
        theirs = lpzero_reference(args.data_dir, name).loc[list(test_table.archs)].to_numpy()
        out["published"]["lpzero_values"] = heldout(theirs, test_table)
    for seed, f in found.items():
        out["seeds"][seed]["lpzero_search"]["heldout"] = heldout(_genotype_scores(f["lpzero"], test_table), test_table)
        out["seeds"][seed]["project_space"]["heldout"] = heldout(f["space"].evaluate(test_table), test_table)
    return out


def _genotype_scores(genotype: Genotype, table: StatTable) -> np.ndarray:
    return genotype_proxy(genotype).evaluate(table) if genotype.valid else np.full(len(table.archs), np.nan)


def render(result: dict[str, Any]) -> str:
    name, pub = result["benchmark"], result["published"]
    lines = [
        f"**{name}**: {result['n_train']} training / {result['n_test']} held-out architectures; LPZero's space: "
        f"{result['columns']} branch columns of `{result['space']}` ({result['searchable']} with a value on every "
        "training architecture, which the project's search reads). Held-out rho / tau, signed (higher is better).",
        "",
        "| seed | LPZero's search (its space) | project search (LPZero's space) | project search (full table) | "
        f"published `{pub['proxy']}` (same held-out) | LPZero's own values of it (same held-out) | LPZero reported |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    cells = {"lpzero_search": [], "project_space": [], "project_full": []}
    p, v = pub["heldout"], pub.get("lpzero_values")
    fixed = [f"{p['spearman']:.3f} / {p['kendall']:.3f}", f"{v['spearman']:.3f} / {v['kendall']:.3f}" if v else "-"]
    for seed, r in result["seeds"].items():
        row = [f"{seed}"]
        for key in cells:
            h = r[key]["heldout"]
            cells[key].append((h["spearman"], h["kendall"]))
            row.append(f"{h['spearman']:.3f} / {h['kendall']:.3f}")
        lines.append("| " + " | ".join([*row, *fixed, pub["reported"]]) + " |")
    means = [f"{np.mean([c[0] for c in m]):.3f} / {np.mean([c[1] for c in m]):.3f}" for m in cells.values()]
    lines.append("| mean | " + " | ".join([*means, *fixed, ""]) + " |")
    lines += ["", "Found (seed: LPZero's program | project formula in LPZero's space | full-table formula; seconds):"]
    for seed, r in result["seeds"].items():
        lines.append(
            f"- {seed}: `{r['lpzero_search']['program']}` (train rho {r['lpzero_search']['train_rho']:.3f}, "
            f"{r['lpzero_search']['evaluations']} programs, {r['lpzero_search']['seconds']:.0f} s) | "
            f"`{r['project_space']['formula']}` ({r['project_space']['evaluations']} evaluations, "
            f"{r['project_space']['seconds']:.0f} s) | `{r['project_full']['formula']}` "
            f"({r['project_full']['seconds']:.0f} s)"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", default="report", help="Seeds: dev (1-3) or report (100-102).")
    parser.add_argument("--only", type=lambda s: s.split(","), default=["flexibert", "lts-gpt2"])
    parser.add_argument("--generations", type=int, help="The project's searches (default: fit's).")
    parser.add_argument("--population", type=int, default=POPULATION, help="LPZero's search.")
    parser.add_argument("--iterations", type=int, default=ITERATIONS, help="LPZero's search.")
    parser.add_argument("--out", type=Path, default=Path("runs/lpzero-search"))
    parser.add_argument("--smoke", action="store_true", help="tiny-gpt2, 24 architectures, tiny budgets.")
    args = parser.parse_args()
    args.seeds = list(split_seeds(args.split))
    args.n_train = N_TRAIN
    with tempfile.TemporaryDirectory() as tmp:
        store = None
        if args.smoke:
            args.only, args.n_train, args.seeds, store = ["tiny-gpt2"], 12, args.seeds[:1], Path(tmp)
            args.population, args.iterations, args.generations = 8, 20, 2
        for name in args.only:
            result = run(name, args, store)
            if not args.smoke:
                atomic_write_text(args.out / f"{name}-{args.split}.json", json.dumps(result, indent=1, default=str))
            print(render(result), flush=True)


if __name__ == "__main__":
    main()
