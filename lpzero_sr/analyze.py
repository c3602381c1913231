"""NAS-Bench-Suite-Zero's analyses of a table's proxies: correlation map, size bias, complementarity.

* :func:`correlation_matrix`: Spearman between every pair of proxies (which proxies say the same thing);
* :func:`size_bias`: each proxy's Spearman with a size column (``params``/``flops``/``params_nonemb`` or a chosen
  one), with the target, and with the target *within equal-size strata* (quantile bins of size, mean over bins):
  a proxy that only measures size scores well overall and near zero within strata;
* :func:`complementarity`: mutual information (bits) between the target and each proxy, and each pair of proxies,
  on quantile bins of the ranks. A pair's ``gain`` is its information beyond its better member. Plug-in estimates
  grow with the number of cells, so ``null`` is the gain of the better member paired with a shuffled copy of the
  other (mean over shuffles); ``excess = gain - null`` is the information the pair adds beyond that bias.

Per-layer tables are reduced to one row per architecture (each column's mean over layers) first.
:func:`write_analysis` draws the figures (matplotlib, Agg) and a Markdown summary for one or more tables.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import mutual_info_score  # noqa: E402

from lpzero_sr.analysis_settings import MI_BINS, SHUFFLES, SIZE_COLUMNS, STRATA  # noqa: E402
from lpzero_sr.errors import TableError  # noqa: E402
from lpzero_sr.fsutil import atomic_write_bytes, atomic_write_text  # noqa: E402
from lpzero_sr.predictors import arch_matrix  # noqa: E402
from lpzero_sr.ranking import spearman  # noqa: E402
from lpzero_sr.table import StatTable  # noqa: E402


@dataclass(frozen=True)
class Analysis:
    """The three analyses of one table (per-architecture values, oriented target)."""

    name: str
    correlation: pd.DataFrame
    bias: pd.DataFrame
    information: pd.Series  # MI(target; proxy) in bits, by proxy
    pairs: pd.DataFrame
    size: str
    n_archs: int


def arch_frame(table: StatTable, columns: list[str] | None = None) -> pd.DataFrame:
    """One row per architecture, one column per proxy (mean over layers for per-layer tables)."""
    names = tuple(columns or table.features)
    return pd.DataFrame(arch_matrix(table, names), columns=list(names), index=table.archs)


def correlation_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """Spearman between every pair of columns (ties share their mean rank): symmetric, unit diagonal."""
    return frame.corr(method="spearman")


def size_column(table: StatTable, size: str | None = None) -> str:
    """``size`` if given (must be a column), else the first of :data:`SIZE_COLUMNS` the table has."""
    if size is not None:
        if size not in table.frame.columns:
            raise TableError(f"size column {size!r} not in table; columns: {', '.join(table.features[:8])}, ...")
        return size
    for name in SIZE_COLUMNS:
        if name in table.frame.columns:
            return name
    raise TableError(f"table has none of the size columns {', '.join(SIZE_COLUMNS)}; name one with --size COL")


def strata(size: np.ndarray, n_bins: int = STRATA) -> np.ndarray:
    """Quantile bin of each architecture's size (equal sizes share a bin; duplicate edges are merged)."""
    return _quantile_bins(np.asarray(size, dtype=float), n_bins)


def size_bias(frame: pd.DataFrame, y: np.ndarray, size: np.ndarray, n_bins: int = STRATA) -> pd.DataFrame:
    """Per proxy: Spearman with size, with the target, and with the target within size strata (mean over bins)."""
    bins = strata(size, n_bins)
    rows = {}
    for name in frame.columns:
        x = frame[name].to_numpy()
        within = [spearman(x[bins == b], y[bins == b]) for b in np.unique(bins) if (bins == b).sum() >= 3]
        within = [r for r in within if np.isfinite(r)]
        rows[name] = {
            "size_rho": spearman(x, size),
            "target_rho": spearman(x, y),
            "within_size_rho": float(np.mean(within)) if within else float("nan"),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def rank_bins(values: np.ndarray, n_bins: int = MI_BINS) -> np.ndarray:
    """Quantile bins of the ranks (ties share a rank, hence a bin)."""
    return _quantile_bins(pd.Series(values).rank(method="average").to_numpy(), n_bins)


def _quantile_bins(values: np.ndarray, n_bins: int) -> np.ndarray:
    if np.all(values == values[0]):  # one value: one bin (qcut has no edges to cut at)
        return np.zeros(len(values), dtype=int)
    return pd.qcut(values, n_bins, labels=False, duplicates="drop").astype(int)


def mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """Plug-in mutual information (bits) between two discrete label arrays."""
    return float(mutual_info_score(a, b) / np.log(2))


def entropy_bits(labels: np.ndarray) -> float:
    """Shannon entropy (bits) of a discrete label array."""
    p = np.unique(labels, return_counts=True)[1] / len(labels)
    return float(-(p * np.log2(p)).sum())


def complementarity(
    frame: pd.DataFrame,
    y: np.ndarray,
    n_bins: int = MI_BINS,
    shuffles: int = SHUFFLES,
    seed: int = 0,
) -> tuple[pd.Series, pd.DataFrame]:
    """MI(target; proxy) per proxy and, per pair, MI(target; pair), its gain, its shuffle null and the excess."""
    target = rank_bins(y, n_bins)
    bins = {name: rank_bins(frame[name].to_numpy(), n_bins) for name in frame.columns}
    single = pd.Series({name: mutual_information(target, b) for name, b in bins.items()})
    rng = np.random.default_rng(seed)
    rows = []
    for a, b in combinations(frame.columns, 2):
        best, other = (a, b) if single[a] >= single[b] else (b, a)
        pair = mutual_information(target, _joint(bins[a], bins[b]))
        null = np.mean(
            [mutual_information(target, _joint(bins[best], rng.permutation(bins[other]))) for _ in range(shuffles)]
        )
        gain = pair - single[best]
        rows.append({"a": a, "b": b, "mi_a": single[a], "mi_b": single[b], "mi_pair": pair, "gain": gain,
                     "null": null - single[best], "excess": gain - (null - single[best])})  # fmt: skip
    pairs = pd.DataFrame(rows, columns=["a", "b", "mi_a", "mi_b", "mi_pair", "gain", "null", "excess"])
    return single, pairs.sort_values("excess", ascending=False, ignore_index=True)


def _joint(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a * (int(b.max()) + 1) + b


def analyze_table(
    name: str, table: StatTable, size: str | None = None, n_bins: int = MI_BINS, strata_bins: int = STRATA
) -> Analysis:
    """All three analyses of ``table`` (its features; ``size`` defaults to the first size column present)."""
    size_name = size_column(table, size)
    frame = arch_frame(table)
    y = table.y
    size_values = table.aggregate(table.column(size_name), "mean")
    single, pairs = complementarity(frame, y, n_bins)
    return Analysis(
        name=name,
        correlation=correlation_matrix(frame),
        bias=size_bias(frame, y, size_values, strata_bins),
        information=single,
        pairs=pairs,
        size=size_name,
        n_archs=len(y),
    )


# ---------------------------------------------------------------------------------------------------- figures
def plot_correlation(result: Analysis, path: Path) -> Path:
    corr = result.correlation
    n = len(corr)
    fig, ax = plt.subplots(figsize=(1.0 + 0.42 * n, 0.8 + 0.42 * n))
    im = ax.imshow(corr.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(n), corr.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(n), corr.index, fontsize=7)
    if n <= 16:
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f"{corr.iat[i, j]:.1f}", ha="center", va="center", fontsize=5.5)
    fig.colorbar(im, ax=ax, shrink=0.7, label="Spearman")
    ax.set_title(f"{result.name}: proxy-proxy Spearman", fontsize=9)
    return _save(fig, path)


def plot_size_bias(result: Analysis, path: Path) -> Path:
    bias = result.bias.sort_values("target_rho")
    fig, ax = plt.subplots(figsize=(5.0, 0.8 + 0.28 * len(bias)))
    pos = np.arange(len(bias))
    for k, (col, label) in enumerate(
        [
            ("size_rho", f"with {result.size}"),
            ("target_rho", "with target"),
            ("within_size_rho", "with target, equal size"),
        ]
    ):
        ax.barh(pos + (k - 1) * 0.27, bias[col], height=0.27, label=label)
    ax.set_yticks(pos, bias.index, fontsize=7)
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel("Spearman")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"{result.name}: size bias", fontsize=9)
    return _save(fig, path)


def plot_complementarity(result: Analysis, path: Path) -> Path:
    names = list(result.information.index)
    n = len(names)
    matrix = np.full((n, n), np.nan)
    for row in result.pairs.itertuples():
        i, j = names.index(row.a), names.index(row.b)
        matrix[i, j] = matrix[j, i] = row.excess
    fig, ax = plt.subplots(figsize=(1.4 + 0.42 * n, 0.8 + 0.42 * n))
    im = ax.imshow(matrix, cmap="viridis")
    labels = [f"{p} ({result.information[p]:.2f})" for p in names]
    ax.set_xticks(range(n), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(n), labels, fontsize=7)
    if n <= 16:
        for i, j in zip(*np.nonzero(np.isfinite(matrix)), strict=True):
            ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=5.5, color="white")
    fig.colorbar(im, ax=ax, shrink=0.7, label="bits")
    ax.set_title(f"{result.name}: MI a pair adds beyond its better member\n(minus shuffle null; MI alone in brackets)",
                 fontsize=8)  # fmt: skip
    return _save(fig, path)


def plot_tasks(results: list[Analysis], path: Path) -> Path:
    """Proxy x table Spearman with the target (blank where a table lacks the proxy)."""
    proxies = list(dict.fromkeys(p for r in results for p in r.bias.index))
    matrix = np.array([[r.bias.at[p, "target_rho"] if p in r.bias.index else np.nan for r in results] for p in proxies])
    fig, ax = plt.subplots(figsize=(2.2 + 0.4 * len(results), 1.8 + 0.28 * len(proxies)))
    im = ax.imshow(matrix, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(len(results)), [r.name for r in results], rotation=90, fontsize=7)
    ax.set_yticks(range(len(proxies)), proxies, fontsize=7)
    fig.colorbar(im, ax=ax, shrink=0.8, label="Spearman with target")
    ax.set_title("proxy quality across tables", fontsize=9)
    return _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    image = io.BytesIO()
    fig.savefig(image, dpi=110, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return atomic_write_bytes(path, image.getvalue())


# ---------------------------------------------------------------------------------------------------- summary
def key_lines(result: Analysis, top: int = 3) -> list[str]:
    """The few findings worth printing: strongest proxies, size dependence, most complementary pairs."""
    bias = result.bias.sort_values("target_rho", ascending=False)
    best = ", ".join(f"{p} {r:.2f}" for p, r in bias["target_rho"].head(top).items())
    size_rho = float(bias.at[result.size, "target_rho"]) if result.size in bias.index else float("nan")
    drops = (bias["target_rho"] - bias["within_size_rho"]).sort_values(ascending=False)
    drop = ", ".join(
        f"{p} {bias.at[p, 'target_rho']:.2f} -> {bias.at[p, 'within_size_rho']:.2f}" for p in drops.head(top).index
    )
    pairs = ", ".join(f"{r.a}+{r.b} {r.excess:+.3f}" for r in result.pairs.head(top).itertuples())
    return [
        f"{result.name} ({result.n_archs} architectures): best Spearman with the target: {best}; {result.size} alone "
        f"{size_rho:.2f}",
        f"  largest loss within equal-{result.size} strata: {drop}",
        f"  most complementary pairs (MI excess over the better member, bits): {pairs}",
    ]


def markdown(result: Analysis, figures: list[Path], root: Path) -> str:
    """A Markdown section: findings, the size-bias table, the top pairs, the figures."""
    bias = result.bias.sort_values("target_rho", ascending=False)
    lines = [f"## {result.name}", "", *(f"- {line.strip()}" for line in key_lines(result)), ""]
    lines += [f"| proxy | rho with {result.size} | rho with target | rho within size strata | MI (bits) |",
              "| --- | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for p, row in bias.iterrows():
        lines.append(
            f"| {p} | {row.size_rho:.3f} | {row.target_rho:.3f} | {row.within_size_rho:.3f} | "
            f"{result.information[p]:.3f} |"
        )
    lines += [
        "",
        "| pair | MI pair | gain over better | shuffle null | excess |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in result.pairs.head(8).itertuples():
        lines.append(f"| {r.a} + {r.b} | {r.mi_pair:.3f} | {r.gain:.3f} | {r.null:.3f} | {r.excess:+.3f} |")
    lines += ["", *(f"![{f.stem}]({f.relative_to(root)})" for f in figures), ""]
    return "\n".join(lines)


def write_analysis(results: list[Analysis], out: str | Path) -> tuple[list[Path], Path]:
    """Figures per table (plus one across tables when several) and ``summary.md`` under ``out``."""
    out = Path(out)
    written: list[Path] = []
    sections = ["# Proxy analysis", ""]
    for result in results:
        stem = result.name.replace(":", "_")
        figures = [
            plot_correlation(result, out / f"{stem}-correlation.png"),
            plot_size_bias(result, out / f"{stem}-size-bias.png"),
            plot_complementarity(result, out / f"{stem}-complementarity.png"),
        ]
        written += figures
        sections.append(markdown(result, figures, out))
    if len(results) > 1:
        written.append(plot_tasks(results, out / "tables-target-correlation.png"))
        sections.append(f"![across tables]({written[-1].relative_to(out)})\n")
    summary = out / "summary.md"
    atomic_write_text(summary, "\n".join(sections))
    return written, summary
