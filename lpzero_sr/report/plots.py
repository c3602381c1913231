"""Report plots (matplotlib, Agg, PNG next to the report). Axis labels name the statistic actually used."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from scipy.stats import rankdata  # noqa: E402

STAT_LABELS = {"spearman": "Spearman rho", "kendall": "Kendall tau", "topk": "top-10% precision"}
_SIZE = (6.0, 4.2)


def stat_label(stat: str) -> str:
    """``spearman`` -> ``Spearman rho``: the words used on every axis, legend and table."""
    return STAT_LABELS.get(stat, stat)


def plot_scatter(score: np.ndarray, target: np.ndarray, path: Path, title: str, split: str) -> Path:
    """Ranks of the proxy score against ranks of the (oriented) ground truth; one point per architecture."""
    fig, ax = plt.subplots(figsize=_SIZE)
    ax.scatter(rankdata(score), rankdata(target), s=10, alpha=0.55, color="tab:blue", label=f"{split} architectures")
    ax.set_xlabel("proxy score (rank)")
    ax.set_ylabel("ground truth (rank, higher is better)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    return save(fig, path)


def plot_front(
    candidates: Sequence[dict[str, Any]], path: Path, stat: str, chosen: int | None, selection: str = ""
) -> Path:
    """Train and held-out correlation of each Pareto member against its size; the chosen member is ringed."""
    fig, ax = plt.subplots(figsize=_SIZE)
    xs = [c["complexity"] for c in candidates]
    ax.step(
        xs,
        [c["train_value"] for c in candidates],
        where="post",
        marker="o",
        ms=4,
        color="tab:blue",
        label=f"train {stat_label(stat)}",
    )
    held = [(c["complexity"], c["heldout_value"]) for c in candidates if c.get("heldout_value") is not None]
    if held:
        hx, hy = zip(*held, strict=True)
        ax.plot(hx, hy, "s--", ms=4, color="tab:orange", label=f"held-out {stat_label(stat)}")
    if chosen is not None:
        c = candidates[chosen]
        ys = [c["train_value"]] + ([c["heldout_value"]] if c.get("heldout_value") is not None else [])
        rule = f" ({selection})" if selection else ""
        ax.scatter(
            [c["complexity"]] * len(ys),
            ys,
            s=160,
            facecolors="none",
            edgecolors="tab:red",
            linewidths=2,
            zorder=5,
            label=f"chosen formula{rule}",
        )
    ax.set_xlabel("complexity (nodes)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(stat_label(stat))
    ax.set_title("Pareto front: rank correlation against size", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return save(fig, path)


def plot_fronts(fronts: dict[str, list[tuple[float, float]]], path: Path, ylabel: str) -> Path:
    """One train Pareto front (size, correlation) per run, as steps."""
    fig, ax = plt.subplots(figsize=_SIZE)
    for name, points in fronts.items():
        if points:
            xs, ys = zip(*points, strict=True)
            ax.step(xs, ys, where="post", marker="o", ms=3, label=name)
    ax.set_xlabel("complexity (nodes)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    ax.set_title("Pareto fronts", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return save(fig, path)


def plot_convergence(curves: dict[str, list[tuple[float, float]]], path: Path, ylabel: str) -> Path:
    """Best value so far against formula evaluations, one line per run."""
    fig, ax = plt.subplots(figsize=_SIZE)
    for name, points in curves.items():
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker=".", label=name)
    ax.set_xlabel("formula evaluations")
    ax.set_ylabel(ylabel)
    ax.set_title("Convergence", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return save(fig, path)


def plot_baselines(
    values: dict[str, float], path: Path, xlabel: str, highlight: str = "found proxy", top: int = 20
) -> Path:
    """Horizontal bars of the ``top`` best columns and the found proxy (per-layer tables have hundreds)."""
    names = sorted(values, key=values.__getitem__)[-top:]
    if highlight in values and highlight not in names:
        names.append(highlight)
    fig, ax = plt.subplots(figsize=(6.0, 0.25 * len(names) + 1.2))
    colors = ["tab:red" if n == highlight else "tab:blue" for n in names]
    ax.barh(names, [values[n] for n in names], color=colors)
    ax.axvline(0, color="black", lw=0.5)
    ax.set_xlabel(xlabel)
    ax.tick_params(axis="y", labelsize=7)
    return save(fig, path)


def save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
