"""The report of a protocol run directory: ``summary.json`` plus one fit-like folder per seed (``seed_<k>/``),
optionally ``ablation.json`` (convergence with and without the pruning rules)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lpzero_sr.proxy import Proxy
from lpzero_sr.report.document import Block, Figure, Heading, Note, Paragraph, Table
from lpzero_sr.report.fit_report import correlation, proxy_formula, rows, stat
from lpzero_sr.report.plots import plot_baselines, plot_convergence, plot_fronts, plot_scatter, stat_label
from lpzero_sr.report.runfiles import fmt
from lpzero_sr.rundir import RunDir


def protocol_blocks(run: RunDir) -> list[Block]:
    """Summary over seeds, one formula per seed, and the plots (written into the run directory)."""
    path, summary, runs = run.path, run.summary, run.seed_dirs()
    metric = stat(runs[0])
    blocks: list[Block] = [Heading(f"lpzero-sr report: {summary.get('benchmark', path.name)}", 1)]
    blocks += summary_blocks(summary, runs[0].proxy)
    blocks.append(Heading("Formulas"))
    for run in runs:
        held = run.proxy.metrics.get("heldout", {})
        rho = f", held-out {stat_label(metric)} {held[metric]:.4f}" if metric in held else ""
        blocks += [
            Paragraph(f"{run.path.name} (seed {run.proxy.seed}{rho}):"),
            proxy_formula(run.proxy),
        ]
    blocks += scatter_blocks(path, runs[0])
    blocks += front_blocks(path, runs)
    blocks += convergence_blocks(path, runs)
    if summary.get("baselines"):
        values = {c: m["spearman"]["mean"] for c, m in summary["baselines"].items()}
        values["found proxy"] = summary["proxy"]["spearman"]["mean"]
        plot_baselines(values, path / "baselines.png", "held-out Spearman rho (mean over seeds)")
        caption = "Held-out Spearman rho: found proxy (red) and the best columns."
        blocks += [Heading("Found proxy against every single column"), Figure("baselines.png", caption)]
    return blocks


def summary_blocks(summary: dict[str, Any], proxy: Proxy) -> list[Block]:
    """Held-out metrics over seeds; target and direction from the summary, else from a seed's proxy."""
    if not summary:
        return [Note("no summary.json: per-seed sections only.")]
    name, direction = summary.get("target") or proxy.target, summary.get("direction") or proxy.direction
    target = f"Target `{name}`" if name else "Target not recorded"
    if direction == "minimize":
        target += " (minimised, so the report negates it: higher is better below)"
    blocks: list[Block] = [
        Paragraph(
            f"{target}. Trained on {summary.get('n_train', '?')} architectures, evaluated on the "
            f"{summary.get('n_test', '?')} others, seeds {summary.get('seeds', [])}."
        ),
        Table(
            ["metric", "mean", "std", "min", "max"],
            [[m, *(fmt(s[k]) for k in ("mean", "std", "min", "max"))] for m, s in summary.get("proxy", {}).items()],
            "lrrrr",
        ),
    ]
    best = summary.get("best_baseline")
    if best:
        b = summary["baselines"][best]["spearman"]
        blocks.append(
            Paragraph(
                f"Best single column on the same held-out rows: `{best}`, Spearman rho "
                f"{b['mean']:.4f} ± {b['std']:.4f}."
            )
        )
    return blocks


def scatter_blocks(path: Path, run: RunDir) -> list[Block]:
    test = rows(run, "test")
    if len(test) < 2:
        return []
    score, target = test["score"].to_numpy(float), test["target"].to_numpy(float)
    title = f"{run.path.name} held-out: {stat_label(stat(run))} = {correlation(stat(run), score, target):.3f}"
    plot_scatter(score, target, path / "scatter.png", title, "held-out")
    return [Heading("Held-out scatter"), Figure("scatter.png", f"Proxy score against ground truth ({title}).")]


def front_blocks(path: Path, runs: list[RunDir]) -> list[Block]:
    fronts = {r.path.name: [(c.complexity, 1.0 - c.loss) for c in r.front.candidates] for r in runs}
    if not any(fronts.values()):
        return []
    label = f"train {stat_label(stat(runs[0]))}"
    plot_fronts(fronts, path / "front.png", label)
    return [
        Heading("Pareto fronts"),
        Figure("front.png", f"{label[0].upper() + label[1:]} against size, one line per seed."),
    ]


def convergence_blocks(path: Path, runs: list[RunDir]) -> list[Block]:
    ablation = RunDir(path).ablation
    if ablation.get("curves"):
        curves = {k: [tuple(p) for p in v] for k, v in ablation["curves"].items()}
        label = "held-out Spearman rho of the chosen formula"
    else:
        curves = {r.path.name: [(e, 1.0 - loss) for e, loss in r.history.history] for r in runs}
        label = f"best train {stat_label(stat(runs[0]))}"
    if not any(curves.values()):
        return []
    plot_convergence(curves, path / "convergence.png", label)
    return [
        Heading("Convergence"),
        Figure("convergence.png", f"{label[0].upper() + label[1:]} against formula evaluations."),
    ]
