"""The headline protocol: fit on a few architectures, evaluate on all the others, several seeds, every baseline.

For each benchmark (FlexiBERT 50 of 500, LTS GPT-2 50 of 200, NB201 100 of 491 per dataset; per-architecture
and, for model-based spaces, per-layer mode) it runs :func:`lpzero_sr.fit.protocol.run_protocol` and writes one run
directory per setting (``lpzero-sr report`` renders it), then the transfer of the fitted proxies between
FlexiBERT and LTS and the rule-based-pruning ablation, and finally ``summary.json`` for docs/results.md.

Nothing here looks at held-out rows before the numbers are reported: the split, the search and the choice from
the front use the training architectures only, and the seeds are the report split seeds
(``lpzero_sr.fit.protocol.REPORT_SEEDS``), disjoint from the development seeds on which settings are tuned
(``benchmarks/nb201_fit.py``, ``benchmarks/selection.py``).

    python benchmarks/headline.py [--out runs/headline] [--generations 60] [--only NAME,...] [--ablation ""]
                                  [--additive 0.4] [--results docs/results.md]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import smoke
from compact import parse_set

from lpzero_sr.evaluate import rank_metrics
from lpzero_sr.features.lpzero_space import REPORTED
from lpzero_sr.features.settings import ExtractSettings
from lpzero_sr.fit.protocol import SPLITS, run_protocol, run_seed, split_seeds, write_protocol
from lpzero_sr.proxy import Proxy
from lpzero_sr.settings import DEFAULT_GENERATIONS, ENSEMBLE, FitSettings, to_dict, with_changes
from lpzero_sr.table import StatTable
from lpzero_sr.table_sources import benchmark_table

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# (benchmark, training architectures, extraction settings); LTS extracts the extra-pass proxies (synflow, grasp,
# jacov, ...) in a second, proxies-only pass (their passes through a 50k-token adaptive softmax dominate its cost),
# joined to its table with --extra-proxies.
SETTINGS = {
    "flexibert": (50, ExtractSettings()),
    "lts-gpt2": (50, ExtractSettings(proxies="single")),
    "nb201-cifar10": (100, None),
    "nb201-cifar100": (100, None),
    "nb201-ImageNet16-120": (100, None),
    "tiny-gpt2": (64, ExtractSettings()),
    "tiny-llama": (48, ExtractSettings()),
    "tiny-llama-subnets": (30, ExtractSettings()),
}
MODEL_BASED = ("flexibert", "lts-gpt2")
ABLATION_BUDGETS = (250, 500, 1000, 2000, 4000, 8000)


EXTRA = {"lts-gpt2": ExtractSettings(proxies="extra")}


def load(name: str, data_dir: Path, per_layer: bool, extra_proxies: bool) -> StatTable:
    _, settings = SETTINGS[name]
    layer_col = "layer" if per_layer else None
    extra = EXTRA.get(name) if extra_proxies else None
    return benchmark_table(name, data_dir, layer_col=layer_col, settings=settings, extra=extra)


def fit_settings(args: argparse.Namespace, per_layer: bool) -> FitSettings:
    """``lpzero-sr fit``'s defaults (:class:`FitSettings`: one compact formula), changed only by ``--set`` and, for
    per-architecture tables, ``--ensemble``; the embedded DEAP engine, ``--jobs`` evaluation threads."""
    changes = {"search.engine": "deap", "search.jobs": args.jobs, **dict(args.changes)}
    if args.ensemble and not per_layer:
        changes.update(ENSEMBLE)
    return with_changes(FitSettings(), changes)


def protocol(name: str, table: StatTable, args: argparse.Namespace, out: Path, mode: str) -> dict:
    n_train = SETTINGS[name][0]
    start = time.perf_counter()
    settings = fit_settings(args, table.per_layer)
    results = run_protocol(table, n_train, args.seeds, settings=settings)
    meta = {
        "benchmark": name, "mode": mode, "n_train": n_train, "n_test": len(table.archs) - n_train,
        "target": table.target, "direction": table.direction, "settings": to_dict(settings),
        "wall_seconds": time.perf_counter() - start, "load_average": os.getloadavg()[0],
    }  # fmt: skip
    summary = write_protocol(out / f"{name}-{mode}", results, meta)
    p = summary["proxy"]
    best = summary["best_baseline"]
    print(f"{name:<22}{mode:<7} rho {p['spearman']['mean']:.4f}±{p['spearman']['std']:.4f}  "
          f"tau {p['kendall']['mean']:.4f}±{p['kendall']['std']:.4f}  top10% {p['topk']['mean']:.3f}  "
          f"best baseline {best} {summary['baselines'][best]['spearman']['mean']:.4f}  "
          f"({meta['wall_seconds']:.0f} s)", flush=True)  # fmt: skip
    return summary


def transfer(out: Path, tables: dict[str, StatTable]) -> dict:
    """Each seed's per-architecture proxy fitted on one space, scored on every architecture of the other."""
    rows = {}
    for source, target in (("flexibert", "lts-gpt2"), ("lts-gpt2", "flexibert")):
        if source not in tables or target not in tables:
            continue
        for proxy_path in sorted((out / f"{source}-arch").glob("seed_*/proxy.json")):
            proxy = Proxy.load(proxy_path)
            key = f"{source}->{target} {proxy_path.parent.name}"
            missing = [f for f in proxy.features if f not in tables[target].features]
            if missing:
                rows[key] = {"formula": proxy.text(), "missing": missing}
                continue
            rows[key] = {"formula": proxy.text(), **rank_metrics(proxy.evaluate(tables[target]), tables[target].y)}
    for name, table in tables.items():
        for proxy, reported in REPORTED.items():
            if proxy in table.features:
                own = name.split("-")[0] == reported.benchmark.split("-")[0]
                note = f"{reported.spearman:.3f} / {reported.kendall:.3f} ({reported.note})" if own else "-"
                key = f"{proxy} (LPZero's published proxy) on {name}"
                rows[key] = rank_metrics(table.column(proxy), table.y) | {"reported": note}
    return rows


def ablation(name: str, table: StatTable, args: argparse.Namespace) -> dict:
    """Held-out rho of the chosen formula after each evaluation budget, with and without pruning rules.

    Each budget is its own deterministic run with the same seed, so a smaller budget is a prefix of a larger one.
    """
    curves: dict[str, list[tuple[int, float]]] = {}
    rejected: dict[str, float] = {}
    for rules in ("default", "no_pruning"):
        per_budget = {b: [] for b in ABLATION_BUDGETS}
        fractions = []
        for seed in args.seeds:
            for budget in ABLATION_BUDGETS:
                base = fit_settings(args, per_layer=True)  # one formula: the ablation is of the search
                search = replace(base.search, rules=rules, evaluations=budget, generations=None, time_limit=None)
                r = run_seed(table, SETTINGS[name][0], seed, replace(base, search=search), baseline_columns=[])
                per_budget[budget].append(r.heldout["spearman"])
            fractions.append(sum(r.rejections.values()) / max(r.evaluations, 1))
        curves[rules] = [(b, float(np.mean(v))) for b, v in per_budget.items()]
        rejected[rules] = float(np.mean(fractions))
        print(f"ablation {name} {rules:<11} rejected {rejected[rules]:.3f}  held-out rho by budget "
              + " ".join(f"{b}:{rho:.3f}" for b, rho in curves[rules]), flush=True)  # fmt: skip
    return {"benchmark": name, "curves": curves, "rejected_fraction": rejected, "seeds": args.seeds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path("runs/headline"))
    parser.add_argument("--split", choices=sorted(SPLITS), default="report", help="Split seeds (report: published).")
    parser.add_argument("--jobs", type=int, default=2, help="Evaluation threads per search.")
    parser.add_argument("--only", type=lambda s: s.split(","), default=list(SETTINGS))
    parser.add_argument("--ablation", default="nb201-cifar10,flexibert", help="Benchmarks for the RPS ablation.")
    parser.add_argument(
        "--set", dest="changes", type=parse_set, action="append", default=[],
        help="FIELD=VALUE: change one of fit's default settings (dotted for the search: search.loss=kendall).",
    )  # fmt: skip
    parser.add_argument("--ensemble", action="store_true", help="fit --ensemble (per-architecture tables only).")
    parser.add_argument("--extra-proxies", action="store_true", help="Join LTS's extra-pass proxies to its table.")
    parser.add_argument("--results", type=Path, help="Markdown file whose headline section is (re)written.")
    parser.add_argument("--from-summary", type=Path, help="Only render --results from a finished run's summary.json.")
    args = smoke.parse(
        parser,
        only=["nb201-cifar10"],
        ablation="",
        changes=[("search.generations", 1), ("search.population", 16)],
        jobs=1,
        out=smoke.scratch(),
        results=None,
    )
    if args.from_summary:
        result = json.loads(args.from_summary.read_text())
        update_results(args.results, render(result, args.from_summary.parent.name), args.from_summary.parent.name)
        print(f"updated {args.results}")
        return
    args.seeds = smoke.first(args, split_seeds(args.split))
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; seeds {args.seeds}", flush=True)
    summaries, arch_tables = {}, {}
    for name in args.only:
        for per_layer in (False, True) if name in MODEL_BASED else (False,):
            table = load(name, args.data_dir, per_layer, args.extra_proxies)
            mode = "layer" if per_layer else "arch"
            if not per_layer:
                arch_tables[name] = table
            summaries[f"{name}-{mode}"] = protocol(name, table, args, args.out, mode)
    transfers = transfer(args.out, arch_tables)
    for key, row in transfers.items():
        print(f"transfer {key}: " + (f"rho {row['spearman']:.4f} tau {row['kendall']:.4f}" if "spearman" in row
                                     else f"needs {row['missing']}"), flush=True)  # fmt: skip
    ablations = {}
    for name in filter(None, args.ablation.split(",")):
        if name in arch_tables:
            ablations[name] = ablation(name, arch_tables[name], args)
            (args.out / f"{name}-arch" / "ablation.json").write_text(json.dumps(ablations[name], indent=1) + "\n")
    result = {"protocol": summaries, "transfer": transfers, "ablation": ablations, "settings": vars(args)}
    (args.out / "summary.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"wrote {args.out / 'summary.json'}")
    if args.results:
        update_results(args.results, render(result, args.out.name), args.out.name)
        print(f"updated {args.results}")


GOALS = {  # goals on held-out architectures (issue 22): (metric, threshold)
    "flexibert-arch": (("spearman", 0.88),),
    "lts-gpt2-arch": (("kendall", 0.90),),
    "nb201-cifar10-arch": (("spearman", 0.90),),
    "nb201-cifar100-arch": (("spearman", 0.90),),
    "nb201-ImageNet16-120-arch": (("spearman", 0.90),),
}


PEER_COLUMNS = ("ridge-ranks", "lightgbm", "xgboost", "rank-avg")


def markers(tag: str) -> tuple[str, str]:
    return f"<!-- headline:{tag}:start -->", f"<!-- headline:{tag}:end -->"


def render(result: dict, tag: str) -> str:
    """The section of docs/results.md for one headline run (``tag``: its output folder's name)."""
    s = result["settings"]
    changes = "".join(f" --set {k}={v}" for k, v in s["changes"])
    fit = next(iter(result["protocol"].values()))["settings"]
    kind = "the ensemble of fit --ensemble" if s["ensemble"] else "one formula of at most 15 nodes"
    described = (
        f"{kind}, {' / '.join(fit['terminals'])} terminals, 1 - {fit['search']['loss']} "
        f"fitness, population {fit['search']['population']}, {fit['search']['generations'] or DEFAULT_GENERATIONS} "
        f"generations, selection {fit['selection']}"
    )
    start, end = markers(tag)
    lines = [
        start,
        f"## Found proxies on held-out architectures: {', '.join(s['only'])} "
        f"({s['split']} seeds {', '.join(map(str, s['seeds']))})",
        "",
        f"`python benchmarks/headline.py --split {s['split']} --only {','.join(s['only'])} "
        f"--ablation '{s['ablation']}'{changes}{' --ensemble' if s['ensemble'] else ''} --out runs/{tag} "
        f"--results docs/results.md`: `lpzero-sr fit`'s default settings ({described}), with the embedded DEAP "
        f"engine. Each seed draws its own training split; every number is over the "
        "architectures the search never saw (Spearman, mean ± std over seeds unless named), beside peers fit on the "
        "same training rows: the best single column chosen on the training rows, ridge regression on ranks, LightGBM, "
        "the rank average of the 3 best training columns; the 'oracle' column is the best single column chosen on "
        "the held-out rows themselves (an upper reference no method could pick). Minimised targets "
        "are negated.",
        "",
        "| benchmark | mode | train / test | found proxy | best column (train-chosen) | ridge on ranks | LightGBM "
        "| XGBoost | rank-avg top-3 | #params | oracle best column | proxy Kendall | worst-seed CI (rho) | goal "
        "| wall s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, p in result["protocol"].items():
        sp, kd = p["proxy"]["spearman"], p["proxy"]["kendall"]
        worst = min(p["ci"], key=lambda seed: p["ci"][seed]["spearman"][0])
        lo, hi = p["ci"][worst]["spearman"]
        best = p["best_baseline"]
        peers = p.get("peers", {})
        params = f"{p['baselines']['params']['spearman']['mean']:.3f}" if "params" in p["baselines"] else "-"
        peer = [f"{peers[n]['spearman']['mean']:.3f}" if n in peers else "-" for n in PEER_COLUMNS]
        goal = ", ".join(
            f"{m} >= {t}: {'met' if p['proxy'][m]['mean'] >= t else 'missed'}" for m, t in GOALS.get(key, ())
        )
        lines.append(
            f"| {p['benchmark']} | {p['mode']} | {p['n_train']} / {p['n_test']} "
            f"| **{sp['mean']:.3f}** ± {sp['std']:.3f} "
            f"| {p['single']['spearman']['mean']:.3f} | {' | '.join(peer)} | {params} "
            f"| {best} {p['baselines'][best]['spearman']['mean']:.3f} | {kd['mean']:.3f} ± {kd['std']:.3f} "
            f"| [{lo:.3f}, {hi:.3f}] | {goal or '-'} | {p['wall_seconds']:.0f} |"
        )
    lines += ["", "Formulas (seed: expression, nodes / statistics):", ""]
    for key, p in result["protocol"].items():
        sizes = p.get("sizes", {})
        formulas = "; ".join(
            f"{seed}: `{f}`" + (f" ({sizes[seed]['nodes']} / {sizes[seed]['statistics']})" if seed in sizes else "")
            for seed, f in p["formulas"].items()
        )
        lines.append(f"- {key}: {formulas}")
    lines += ["", "### Transfer between spaces (each seed's per-architecture proxy, scored on every architecture "
              "of the other space; signed, higher is better)", "", "| proxy | Spearman | Kendall | LPZero reported |",
              "|---|---|---|---|"]  # fmt: skip
    for key, row in result["transfer"].items():
        if "spearman" in row:
            lines.append(f"| {key} | {row['spearman']:.3f} | {row['kendall']:.3f} | {row.get('reported', '-')} |")
        else:
            lines.append(f"| {key} | needs {', '.join(row['missing'])} | - | - |")
    for name, ab in result["ablation"].items():
        budgets = [b for b, _ in ab["curves"]["default"]]
        lines += [
            "",
            f"### Rule-based pruning ablation on {name} (mean held-out rho of the chosen formula, seeds {ab['seeds']})",
            "",
            "| rules | rejected before fitness | " + " | ".join(f"{b} evals" for b in budgets) + " |",
            "|---|---|" + "---|" * len(budgets),
        ]
        for rules, curve in ab["curves"].items():
            cells = " | ".join(f"{rho:.3f}" for _, rho in curve)
            lines.append(f"| {rules} | {ab['rejected_fraction'][rules]:.1%} | {cells} |")
    return "\n".join([*lines, end]) + "\n"


def update_results(path: Path, section: str, tag: str) -> None:
    """Replace the section of run ``tag`` in ``path`` (between its markers), or append it."""
    start, end = markers(tag)
    text = path.read_text() if path.exists() else "# Results\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + section.rstrip("\n") + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


if __name__ == "__main__":
    main()
