"""LPZero's space on a benchmark: branch values of its architectures (cached) and the per-item StatTable.

Every model is initialised from ``torch.manual_seed(settings.seed)`` and sees the batch of
:func:`lpzero_sr.features.inputs.make_batch` (the same models and batch as ``lpzero-sr baselines``), on CPU with one
thread. Branch values are stored under ``<cache>/lpzero_space/<benchmark>/<b..-t..-s..>/`` keyed by content
(:mod:`lpzero_sr.features.lpzero_table`).

The table has one row per (architecture, item) and is aggregated with ``nanmean`` (:func:`lpzero_sr.ranking.aggregate`):
the mean over the items where a formula has a value, which for an LPZero genotype are the items both of its
branches have (LPZero's zip). Constant columns stay searchable here (``StatTable`` drops columns constant over all
rows, but a branch that is 0 on every item of its list, like FlexiBERT's ``act.frobenius_norm.logsoftmax``, still
decides which items a genotype averages over).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lpzero_sr.baselines import extract_inputs
from lpzero_sr.errors import DataError
from lpzero_sr.features.lpzero_space import Genotype
from lpzero_sr.features.lpzero_table import ITEM, ArchBranches, branch_frame, branch_key, extract_branches
from lpzero_sr.features.settings import ExtractSettings
from lpzero_sr.proxy import Proxy
from lpzero_sr.spaces.base import Benchmark, cache_dir
from lpzero_sr.table import StatTable

AGGREGATION = "nanmean"
SETTINGS = ExtractSettings()  # batch 4 x 64, seed 0: the baselines' extraction


def branch_dir(bench: Benchmark, settings: ExtractSettings, root: str | Path | None = None) -> Path:
    base = Path(root) if root is not None else cache_dir() / "lpzero_space"
    return base / bench.name / ExtractSettings(settings.batch_size, settings.seq_len, settings.seed).tag()


def benchmark_branches(
    bench: Benchmark,
    settings: ExtractSettings = SETTINGS,
    archs: Sequence[str] | None = None,
    columns: str | Iterable[str] = "all",
    root: str | Path | None = None,
    progress: bool = True,
) -> tuple[dict[str, ArchBranches], dict[str, float]]:
    """Branch values ``columns`` of ``archs`` (default all) of ``bench``, computing what the store lacks; also the
    seconds each computed architecture took."""
    from lpzero_sr.features.inputs import make_batch

    if bench.space is None:
        raise ValueError(f"benchmark {bench.name!r} has no model builder")
    chosen = list(bench.archs if archs is None else archs)
    inputs = {**extract_inputs(bench.space, settings), "device": "cpu", "dtype": "float32", "cpu_threads": 1}
    keys = {a: branch_key(bench.configs[a], inputs) for a in chosen}
    batches: dict[int, torch.Tensor] = {}

    def build(arch: str) -> torch.nn.Module:
        torch.manual_seed(settings.seed)
        return bench.build(arch)

    def batch(arch: str, _: torch.nn.Module) -> torch.Tensor:
        size = bench.space.vocab_size(bench.configs[arch])  # type: ignore[union-attr]
        if size not in batches:
            batches[size] = make_batch(size, settings.batch_size, settings.seq_len, seed=settings.seed)
        return batches[size]

    return extract_branches(chosen, build, batch, keys, branch_dir(bench, settings, root), columns, progress)


def item_table(bench: Benchmark, branches: dict[str, ArchBranches], columns: Sequence[str]) -> StatTable:
    """The per-item StatTable of ``columns`` with ``bench``'s target (every column searchable, constant or not)."""
    frame = branch_frame(branches, columns)
    table = bench.table(frame, layer_col=ITEM)
    return table.with_features([c for c in columns if c in frame.columns])


def valued_everywhere(table: StatTable) -> StatTable:
    """Only the columns with a value on every architecture of ``table`` (call it on training rows): a branch that is
    empty (FlexiBERT's ``grad``, GPT-2's ``softmax``) or not finite on some architecture gives every formula reading
    it no score there."""
    counts = table.frame.groupby(table.arch_col, sort=False)[list(table.features)].count()
    return table.with_features([c for c, ok in (counts > 0).all().items() if ok])


def genotype_proxy(genotype: Genotype) -> Proxy:
    """A genotype as a per-item proxy: its formula aggregated by ``nanmean``."""
    return Proxy(genotype.formula(), aggregation=AGGREGATION, selection=str(genotype))  # type: ignore[arg-type]


def genotype_scores(genotype: Genotype, table: StatTable) -> np.ndarray:
    """LPZero's value of ``genotype`` per architecture of ``table`` (NaN where LPZero returns -1)."""
    if not genotype.valid or any(c not in table.frame.columns for c in genotype.columns()):
        return np.full(len(table.archs), np.nan)
    return genotype_proxy(genotype).evaluate(table)


REFERENCE = "lpzero_reference"  # LPZero's committed per-architecture values (see its README in the data root)


def lpzero_reference(data_dir: str | Path, benchmark: str, proxy: str = "lpzero") -> pd.Series:
    """LPZero's own value of ``proxy`` per architecture id of ``benchmark`` ("lts-gpt2": any of its 16 GPT-2
    proxies, e.g. ``lpzero``, ``snip``; "flexibert": ``lpzero`` or a column of its CSV)."""
    import yaml

    root = Path(data_dir) / REFERENCE
    if benchmark == "lts-gpt2":
        path = root / "gpt2_wt103" / f"{proxy}_scores_seed_1111.yaml"
        if not path.is_file():
            raise DataError(f"LPZero reference values not found: {path}")
        return pd.Series(yaml.safe_load(path.read_text(encoding="utf-8")), dtype=float, name=proxy)
    path = root / "flexibert" / "BERT_results_activation_3.csv"
    if not path.is_file():
        raise DataError(f"LPZero reference values not found: {path}")
    frame = pd.read_csv(path)
    return pd.Series(frame[proxy].to_numpy(float), index=frame["ID"].astype(str), name=proxy)
