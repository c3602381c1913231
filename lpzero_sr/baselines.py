"""Baselines: rank correlation of every classic proxy with a benchmark's ground truth.

Sign convention: proxies are "higher is better"; a minimised target (perplexity, loss) is negated before
correlating, so a positive rho / tau always means the proxy ranks architectures the right way round.

Model-based benchmarks are extracted once per setting into
``<cache>/tables/<benchmark>/b<B>-t<T>-s<seed>[-single|-extra]/`` (``records.jsonl``, ``per_arch.parquet``,
``per_layer.parquet`` from :func:`lpzero_sr.features.extract.extract_space`), so reruns resume and the search
can reuse the tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from lpzero_sr.errors import DataError
from lpzero_sr.features.settings import ExtractSettings
from lpzero_sr.parallel import Runner
from lpzero_sr.ranking import kendall, spearman
from lpzero_sr.spaces.base import Benchmark, cache_dir, check_seq_len


def table_dir(benchmark: str, settings: ExtractSettings, root: str | Path | None = None) -> Path:
    """Where the extracted tables of ``benchmark`` under ``settings`` live."""
    return Path(root) if root is not None else cache_dir() / "tables" / benchmark / settings.tag()


def extract_benchmark(
    bench: Benchmark,
    settings: ExtractSettings,
    out_dir: str | Path | None = None,
    stats: str = "all",
    device: str = "auto",
    archs: list[str] | None = None,
    progress: bool = True,
    runner: Runner | None = None,
    note: str = "",
) -> pd.DataFrame:
    """Per-architecture statistics and proxies of ``bench`` (resumable; see the module docstring); ``note`` is
    added to the warning that announces an extraction (:func:`lpzero_sr.features.extract.extract_space`).

    Every model is initialised from ``torch.manual_seed(settings.seed)`` and sees the same token batch
    (:func:`lpzero_sr.features.inputs.make_batch` with ``settings.seed``), mapped into its vocabulary. Each
    architecture's cache key covers its config, :func:`extract_inputs` and the statistics, proxies and device;
    ``runner`` runs architectures in parallel (:mod:`lpzero_sr.parallel`).
    """
    from lpzero_sr.features.extract import extract_space
    from lpzero_sr.features.inputs import make_batch

    space = bench.space
    if space is None:
        raise DataError(f"benchmark {bench.name!r} has no model builder to extract from")
    chosen = bench.archs if archs is None else archs
    check_seq_len(space, {a: bench.configs[a] for a in chosen}, settings.seq_len)
    vocab = {arch: space.vocab_size(config) for arch, config in bench.configs.items()}
    batches: dict[int, torch.Tensor] = {}

    def build(arch: str) -> torch.nn.Module:
        torch.manual_seed(settings.seed)
        return bench.build(arch)

    def batch(arch: str, _: torch.nn.Module) -> torch.Tensor:
        size = vocab[arch]
        if size not in batches:
            batches[size] = make_batch(size, settings.batch_size, settings.seq_len, seed=settings.seed)
        return batches[size]

    out = table_dir(bench.name, settings, out_dir)
    return extract_space(
        chosen,
        build,
        batch,
        out,
        stats=stats,
        proxies=_proxies(settings),
        device=device,
        progress=progress,
        configs=bench.configs,
        inputs=extract_inputs(space, settings),
        runner=runner,
        note=note,
    )


def benchmark_keys(
    bench: Benchmark,
    settings: ExtractSettings,
    stats: str = "all",
    device: str = "auto",
    archs: list[str] | None = None,
    runner: Runner | None = None,
) -> dict[str, str]:
    """The cache key :func:`extract_benchmark` gives each architecture under these arguments (to check or adopt
    a cache; see :mod:`lpzero_sr.features.cache`)."""
    from lpzero_sr.features.extract import extraction_settings, space_keys, task_device

    if bench.space is None:
        raise DataError(f"benchmark {bench.name!r} has no model builder to extract from")
    inputs = extract_inputs(bench.space, settings)
    chosen = extraction_settings(inputs, stats, _proxies(settings), task_device(device, runner), None, 1)
    return space_keys(bench.archs if archs is None else archs, bench.configs, chosen)


def _proxies(settings: ExtractSettings) -> str | list[str]:
    """The proxy selection of ``settings``: "extra" is the list of proxies that need their own passes."""
    if settings.proxies != "extra":
        return settings.proxies
    from lpzero_sr.features.proxies import PROXIES

    return [name for name, p in PROXIES.items() if p.extra_pass is not None]


def extract_inputs(space: Any, settings: ExtractSettings) -> dict[str, object]:
    """What a benchmark's models and batches depend on besides their config: the space (its builder's name, and
    the ``fingerprint`` of what it builds from where it has one, e.g. a sub-network space's parent checkpoint), the
    batch size, the sequence length and the seed (the ``inputs`` of the cache key, shared with ``lpzero-sr
    extract``)."""
    fingerprint = getattr(space, "fingerprint", None)
    return {
        "space": space.name, **({"fingerprint": fingerprint} if fingerprint else {}),
        "batch_size": settings.batch_size, "seq_len": settings.seq_len, "seed": settings.seed,
    }  # fmt: skip


def proxy_columns(frame: pd.DataFrame) -> list[str]:
    """Columns of ``frame`` that are registered classic proxies (statistics columns contain a dot)."""
    from lpzero_sr.features.proxies import PROXIES

    return [c for c in frame.columns if c in PROXIES]


def correlations(
    bench: Benchmark, features: pd.DataFrame, columns: list[str], target: str | None = None
) -> pd.DataFrame:
    """Spearman rho and Kendall tau of each column vs the oriented target, over architectures where it is finite.

    ``features`` is indexed by architecture id. Columns: ``proxy``, ``n``, ``spearman``, ``kendall``; sorted by
    Spearman, best first.
    """
    target = target or bench.target
    sign = -1.0 if bench.direction == "minimize" else 1.0
    truth = bench.targets[target]
    rows = []
    for column in columns:
        joined = pd.concat([features[column].astype(float), truth], axis=1, join="inner").dropna()
        joined = joined[np.isfinite(joined[column])]
        score, gt = joined[column].to_numpy(), sign * joined[target].to_numpy()
        rows.append({"proxy": column, "n": len(joined), "spearman": spearman(score, gt), "kendall": kendall(score, gt)})
    frame = pd.DataFrame(rows, columns=["proxy", "n", "spearman", "kendall"])
    return frame.sort_values("spearman", ascending=False, na_position="last", kind="stable").reset_index(drop=True)


def baseline_table(bench: Benchmark, per_arch: pd.DataFrame | None = None) -> pd.DataFrame:
    """Correlations of every classic proxy: from ``per_arch`` (extracted, column ``arch``) or, for benchmarks
    that ship them, from the precomputed features."""
    if per_arch is None:
        if bench.features is None:
            raise DataError(f"benchmark {bench.name!r} needs extracted proxies")
        features = bench.features
        return correlations(bench, features, list(features.columns))
    features = per_arch.assign(arch=per_arch["arch"].astype(str)).set_index("arch")
    return correlations(bench, features, proxy_columns(features))


PUBLISHED_FLEXIBERT = {
    "Synaptic Diversity": "synaptic_diversity",
    "Synaptic Saliency": "synaptic_saliency",
    "Activation Distance": "act_distance",
    "Jacobian Score": "jacov",
    "Jacobian Score Normalized": "jacob_cos",  # the authors' "normalized" Jacobian column is the cosine score
    "Number of Parameters": "params",
    "Head Importance": "head_importance",
    "Head Confidence": "head_conf",
    "Head Softmax Confidence": "softmax_conf",
}


def published_flexibert(path: str | Path) -> pd.DataFrame:
    """The FlexiBERT authors' proxy values (``BERT_results_activation.csv``), renamed to our proxy names and
    indexed by architecture id."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"published FlexiBERT proxies not found: {path}")
    frame = pd.read_csv(path)
    frame = frame.assign(arch=frame["ID"].astype(str)).set_index("arch")
    return frame[list(PUBLISHED_FLEXIBERT)].rename(columns=PUBLISHED_FLEXIBERT)


def agreement(ours: pd.DataFrame, theirs: pd.DataFrame) -> pd.DataFrame:
    """Spearman rho between our value and the published value of each shared proxy, over shared architectures."""
    ours = ours.assign(arch=ours["arch"].astype(str)).set_index("arch") if "arch" in ours.columns else ours
    rows = []
    for column in theirs.columns:
        if column not in ours.columns:
            continue
        joined = pd.concat([ours[column].astype(float), theirs[column]], axis=1, join="inner", keys=["a", "b"])
        joined = joined.replace([np.inf, -np.inf], np.nan).dropna()
        rows.append({"proxy": column, "n": len(joined), "spearman": spearman(joined["a"], joined["b"])})
    return pd.DataFrame(rows, columns=["proxy", "n", "spearman"])


def lpzero_published(table: pd.DataFrame, benchmark: str) -> pd.DataFrame:
    """LPZero's published proxies among the rows of a :func:`correlations` table, their signed correlations here
    beside what LPZero reported on its own benchmark (signed in this project's convention)."""
    from lpzero_sr.features.lpzero_space import REPORTED

    rows = []
    for row in table.itertuples(index=False):
        reported = REPORTED.get(str(row.proxy))
        if reported is None:
            continue
        own = benchmark.split("-")[0] == reported.benchmark.split("-")[0]
        rows.append({
            "proxy": row.proxy, "n": row.n, "spearman": row.spearman, "kendall": row.kendall,
            "LPZero spearman": reported.spearman if own else float("nan"),
            "LPZero kendall": reported.kendall if own else float("nan"),
            "LPZero's note": reported.note if own else f"published for {reported.benchmark}",
        })  # fmt: skip
    columns = ["proxy", "n", "spearman", "kendall", "LPZero spearman", "LPZero kendall", "LPZero's note"]
    return pd.DataFrame(rows, columns=columns)


def to_markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub Markdown table (no extra dependency)."""
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    lines = [header, rule]
    for row in frame.itertuples(index=False):
        cells = [f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
