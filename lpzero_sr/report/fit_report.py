"""The report of one ``lpzero-sr fit`` run directory.

Files (the fit contract): ``proxy.json`` (required), ``front.json`` (Pareto front, the chosen member, the held-out
report), ``history.json`` (convergence) and ``predictions.csv`` (one row per architecture and split). Every file but
the proxy is optional, and so is every part of them that older runs lack (per-member held-out values, the chosen
index, peers, held-out rows): the section is then left out with a note, never an error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from lpzero_sr.export.text import formula_latex
from lpzero_sr.formula import Node
from lpzero_sr.proxy import Proxy
from lpzero_sr.quantile import Quantile
from lpzero_sr.report.document import Block, Figure, Formula, Heading, Note, Paragraph, Table
from lpzero_sr.report.layout import named_parts
from lpzero_sr.report.plots import plot_convergence, plot_front, plot_scatter, stat_label
from lpzero_sr.report.runfiles import fmt
from lpzero_sr.rundir import RunDir

METRICS = ("spearman", "kendall", "topk")
SPLITS = (("train", "train"), ("heldout", "held-out"))


def stat(run: RunDir) -> str:
    """The rank correlation the search optimised (``spearman`` or ``kendall``)."""
    return run.proxy.loss


def heldout_metrics(run: RunDir) -> dict[str, float]:
    return run.front.report.get("proxy") or run.proxy.metrics.get("heldout") or {}


def rows(run: RunDir, split: str) -> pd.DataFrame:
    """The predictions of one split (``train`` or ``test``); empty when the run has none."""
    if run.predictions is None:
        return pd.DataFrame(columns=["arch", "split", "score", "target"])
    return run.predictions[run.predictions["split"] == split]


def correlation(stat: str, score: np.ndarray, target: np.ndarray) -> float:
    """scipy's Spearman rho or Kendall tau (the statistic named by the proxy's ``loss``)."""
    method = stats.kendalltau if stat == "kendall" else stats.spearmanr
    return float(method(score, target).statistic)


def fit_blocks(run: RunDir) -> list[Block]:
    """Every section of a fit report, in reading order; plots are written into the run directory."""
    proxy = run.proxy
    return [
        Heading(f"lpzero-sr report: fit of `{proxy.target or '?'}`", 1),
        *overview(run),
        Heading("Chosen formula"),
        proxy_formula(proxy),
        *choice(run),
        Heading("Train and held-out ranking quality"),
        *metrics_table(run),
        Heading("Held-out scatter"),
        *scatter(run),
        Heading("Pareto front"),
        *front(run),
        Heading("Convergence"),
        *convergence(run),
    ]


def proxy_formula(proxy: Proxy) -> Formula:
    """The proxy's formula block (an ensemble's ``q(f)`` terms named ``f_{i}`` in the HTML where it is long)."""
    return formula_block(proxy.formula, proxy.quantiles, proxy.text())


def formula_block(formula: Node, quantiles: dict[str, Quantile], text: str) -> Formula:
    return Formula(formula_latex(formula, quantiles), text, named_parts(formula, quantiles))


def overview(run: RunDir) -> list[Block]:
    proxy = run.proxy
    if proxy.direction == "minimize":
        direction = (
            f"`{proxy.target}` is minimised (lower is better), so the report **negates** it: every correlation, "
            "ranking and 'ground truth' axis below is oriented so that higher is better."
        )
    else:
        direction = f"`{proxy.target}` is maximised (higher is better); correlations are taken against it as is."
    n_train, n_test = len(rows(run, "train")), len(rows(run, "test")) or run.front.report.get("n_test", 0)
    counts = f"{n_train} training and {n_test} held-out architectures. " if n_train else ""
    front = run.front
    budget = {"evaluations": front.evaluations, "generations": front.generations}
    search = ", ".join(f"{key} {value}" for key, value in budget.items() if value is not None) + (
        f" (stopped by its `{front.stopped}` budget)" if front.stopped else ""
    )
    return [
        Paragraph(f"Target: {direction}"),
        Paragraph(
            f"{counts}The search maximised the training {stat_label(stat(run))} (loss = 1 − {stat_label(stat(run))}) "
            f"with engine `{proxy.engine or '?'}`, seed {proxy.seed}, rules `{proxy.rules or '?'}`"
            + (f"; {search}." if search else ".")
        ),
    ]


def choice(run: RunDir) -> list[Block]:
    proxy, front = run.proxy, run.front
    blocks: list[Block] = [
        Paragraph(f"{orientation(proxy)} Statistics it reads: " + ", ".join(f"`{f}`" for f in proxy.features))
    ]
    blocks += quantile_words(proxy.quantiles)
    selection, candidates, parts = front.selection, front.candidates, front.parts
    if selection and parts:
        blocks.append(
            Paragraph(
                f"The {selection} (`fit --bag {sum('seed' in p for p in parts)}`"
                + (", `--additive`" if any("additive" in p for p in parts) else "")
                + "): each `q(f)` is formula `f`'s mid-rank among the training architectures, read through its "
                "stored training CDF. The formulas are listed under the Pareto front, which is the first search's."
            )
        )
    elif selection and candidates:
        blocks.append(Paragraph(f"Picked from {len(candidates)} Pareto members by the rule `{selection}`."))
    if front.chosen is None and front.compact is not None:  # an ensemble, beside its first search's formula
        member = front.candidates[front.compact]
        blocks += [
            Paragraph(
                f"The first search's own formula ({member.complexity} nodes), the one formula a fit without "
                "`--ensemble` would give; its column in the table below is beside the ensemble's:"
            ),
            formula_block(member.formula, front.quantiles, member.text),
        ]
    return blocks


def orientation(proxy: Proxy) -> str:
    """What a higher proxy value predicts (a proxy is higher-is-better; a minimised target is negated)."""
    if proxy.direction == "minimize":
        return (
            f"The proxy is higher-is-better: a higher value predicts a lower `{proxy.target}` (the minimised "
            f"target is negated, so the proxy ranks by −`{proxy.target}`)."
        )
    return f"The proxy is higher-is-better: a higher value predicts a higher `{proxy.target or 'target'}`."


RANK_WORDS = (
    "mid-rank among the training architectures, centred on their median (-1/2 lowest, +1/2 highest, linear between "
    "training values, clamped outside them), so it reads as a rank"
)


def quantile_words(quantiles: dict[str, Quantile]) -> list[Block]:
    """What ``q()`` means, in words, for the kinds of quantile the formula reads (of a statistic, of a formula)."""
    if not quantiles:
        return []
    of_column = any(q.source is None for q in quantiles.values())
    of_formula = any(q.source is not None for q in quantiles.values())
    if of_column:
        words = f"`q(x)` is statistic `x`'s {RANK_WORDS}" + (
            "; `q(f)` is the same for a formula `f`" if of_formula else ""
        )
    else:
        words = f"`q(f)` is formula `f`'s {RANK_WORDS}"
    n_knots = max(len(q.knots) for q in quantiles.values())
    return [Paragraph(f"{words}; `proxy.json` stores each training CDF (up to {n_knots} knots).")]


def metrics_table(run: RunDir) -> list[Block]:
    """Proxy beside the first search's formula of an ensemble, the best single column and any peers; train rows
    above held-out rows."""
    held = heldout_metrics(run)
    baseline, peers = run.front.report.get("baseline"), run.front.report.get("peers") or {}
    columns = [("found proxy", run.proxy.metrics.get("train", {}), held)]  # (header, train values, held-out values)
    front = run.front
    if front.chosen is None and front.compact is not None:  # an ensemble, beside its compact formula
        member = front.candidates[front.compact]
        columns.append((f"first search's formula ({member.complexity} nodes)", member.train, member.heldout))
    if baseline:
        sign = "−" if baseline.get("sign", 1) < 0 else ""
        columns.append((f"best single column `{sign}{baseline['column']}`", baseline.get("train", {}), baseline))
    columns += [(f"`{name}`", {}, values) for name, values in peers.items()]
    rows = []
    for split, split_label in SPLITS:
        if not (columns[0][1] if split == "train" else held):
            continue
        for metric in METRICS:
            label = stat_label(metric) + (" (fitted)" if metric == stat(run) else "")
            digits = 3 if metric == "topk" else 4
            cells = [fmt((train if split == "train" else test).get(metric), digits) for _, train, test in columns]
            rows.append([split_label, label, *cells])
    header, align = ["split", "metric", *(c[0] for c in columns)], "ll" + "r" * len(columns)
    blocks: list[Block] = [Table(header, rows, align)] if rows else []
    if not held:
        blocks.append(Note("no held-out architectures in this run (e.g. `--train-size 1.0`): train metrics only."))
    if baseline:
        blocks.append(
            Paragraph(
                "The best single column is the one statistic (sign chosen on the training rows) that ranks the "
                "training architectures best; its held-out values are on the same rows as the proxy's."
                + ("" if baseline.get("train") else " Its train values are not stored in this run (—).")
            )
        )
    else:
        blocks.append(Note("front.json has no held-out report, so there is no best-single-column comparison."))
    if not peers:
        blocks.append(Note("no peer proxies were scored in this run."))
    return blocks


def scatter(run: RunDir) -> list[Block]:
    test = rows(run, "test")
    if len(test) < 2:
        return [Note("no held-out rows in predictions.csv (missing file or `--train-size 1.0`): no scatter.")]
    score, target = test["score"].to_numpy(float), test["target"].to_numpy(float)
    value = correlation(stat(run), score, target)
    title = f"Held-out: {stat_label(stat(run))} = {value:.3f} (n = {len(test)})"
    plot_scatter(score, target, run.path / "scatter.png", title, "held-out")
    return [Figure("scatter.png", f"Proxy score against ground truth, one point per held-out architecture. {title}.")]


def front(run: RunDir) -> list[Block]:
    label, metric = stat_label(stat(run)), stat(run)
    candidates = [
        {"complexity": m.complexity, "text": m.text, "train_value": m.train.get(metric, 1.0 - m.loss),
         "heldout_value": m.heldout.get(metric)}
        for m in run.front.candidates
    ]  # fmt: skip
    if not candidates:
        return [Note("no front.json (or an empty front): no Pareto front.")]
    chosen = run.front.chosen
    plot_front(candidates, run.path / "front.png", metric, chosen, run.front.selection)
    rows = [
        [
            "→" if i == chosen else "",
            str(c["complexity"]),
            fmt(c["train_value"]),
            fmt(c["heldout_value"]),
            f"`{c.get('text', '')}`",
        ]
        for i, c in enumerate(candidates)
    ]
    blocks: list[Block] = [
        Figure("front.png", f"Train and held-out {label} of each Pareto member against its size; ringed: chosen."),
        Table(
            ["chosen", "complexity", f"train {label}", f"held-out {label}", "formula"],
            rows,
            "lrrrl",
            highlight=chosen,
        ),
    ]
    parts = run.front.parts
    if chosen is None and parts:
        texts = "; ".join(f"f{i} = `{p.get('text', '')}`" for i, p in enumerate(parts, start=1))
        blocks.append(Note(f"The proxy is no front member: it is the {run.front.selection} ({texts})."))
    elif chosen is None:
        blocks.append(Note("front.json does not say which member was chosen (older format): none is marked."))
    if all(c["heldout_value"] is None for c in candidates):
        blocks.append(Note("front.json has no held-out values per member (older format or no held-out rows)."))
    return blocks


def convergence(run: RunDir) -> list[Block]:
    points = [(float(e), 1.0 - loss) for e, loss in run.history.history]
    if not points:
        return [Note("no history.json (or an empty history): no convergence plot.")]
    label = f"best train {stat_label(stat(run))}"
    plot_convergence({"this run": points}, run.path / "convergence.png", label)
    blocks: list[Block] = [
        Figure("convergence.png", f"{label[0].upper()}{label[1:]} found so far against formula evaluations.")
    ]
    rejections = run.history.rejections
    if rejections:
        rows = [[f"`{rule}`", str(n)] for rule, n in sorted(rejections.items(), key=lambda kv: -kv[1])]
        blocks += [
            Paragraph("Candidates rejected by each pruning rule:"),
            Table(["rule", "rejected"], rows, "lr"),
        ]
    return blocks
