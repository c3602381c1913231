"""Where ``lpzero-sr fit TABLE`` gets its table: a file path, or a registered benchmark name.

A registered benchmark name (``flexibert``, ``lts-gpt2``, ``tiny-gpt2``, ``nb201-cifar10``, ...) resolves through
:func:`benchmark_table`: precomputed features where the benchmark ships them, else statistics and proxies
extracted from randomly initialised models and cached (per architecture, or per layer with ``layer_col="layer"``).
Benchmark files are read from ``data_dir`` when given, else from ``$LPZERO_SR_DATA``, else from the cache, which
is filled on first use from the local mirror ``$LPZERO_SR_MIRROR`` or the public origin
(:func:`lpzero_sr.spaces.load_benchmark`).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from lpzero_sr.errors import TableError
from lpzero_sr.table import Direction, StatTable

if TYPE_CHECKING:
    from lpzero_sr.baselines import ExtractSettings

TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".json")


def resolve_table(
    spec: str,
    data_dir: str | Path | None = None,
    *,
    target: str | None = None,
    direction: Direction = "maximize",
    arch_col: str | None = None,
    layer_col: str | None = None,
    features: list[str] | None = None,
    drop_invalid: bool = False,
    device: str = "auto",
    settings: ExtractSettings | None = None,
) -> StatTable:
    """A validated table from a file (CSV/Parquet/JSON; ``target`` required) or a registered benchmark name
    (its target and direction are fixed; ``settings`` are the extraction settings of a model-based benchmark).
    A name that is neither gives one error line with the closest benchmark names."""
    from lpzero_sr.spaces import SPACES

    path = Path(spec)
    if not path.exists():
        if spec in SPACES:
            return benchmark_table(
                spec, data_dir, layer_col=layer_col, target=target, features=features, device=device, settings=settings
            )
        if path.suffix.lower() not in TABLE_SUFFIXES:
            close = difflib.get_close_matches(spec.replace(":", "-").replace("_", "-"), SPACES.names(), n=3, cutoff=0.5)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise TableError(
                f"unknown benchmark {spec!r}{hint} (benchmarks: {', '.join(SPACES.names())}; or a .csv/.parquet/.json)"
            )
    if target is None:
        raise TableError("--target is required for a table file")
    return StatTable.read(
        spec,
        target,
        direction=direction,
        arch_col=arch_col,
        layer_col=layer_col,
        features=features,
        drop_invalid=drop_invalid,
    )


def benchmark_table(
    name: str,
    data_dir: str | Path | None = None,
    *,
    layer_col: str | None = None,
    target: str | None = None,
    features: list[str] | None = None,
    settings: ExtractSettings | None = None,
    extra: ExtractSettings | None = None,
    device: str = "auto",
) -> StatTable:
    """The table of a registered benchmark; model-based ones are extracted once and cached (resumable).

    ``layer_col="layer"`` gives one row per (architecture, layer). ``extra`` names a second, proxies-only
    extraction (e.g. ``ExtractSettings(proxies="extra")``: the proxies that need their own passes) whose
    per-architecture columns are joined to a per-architecture table. Statistic columns may hold NaN/inf for some
    architectures (e.g. exp of large activations); they stay in the table, and a search drops those that are not
    finite on its training rows (:meth:`StatTable.finite_features`), never looking at held-out rows.
    Architectures whose extraction failed are listed in the cache's ``errors.csv`` and left out.
    """
    from lpzero_sr.baselines import ExtractSettings, extract_benchmark, table_dir
    from lpzero_sr.spaces import load_benchmark

    bench = load_benchmark(name, data_dir)
    if bench.features is not None:
        if layer_col:
            raise TableError(f"benchmark {name!r} ships per-architecture features only; drop --layer-col")
        frame = bench.features.rename_axis("arch").reset_index()
    else:
        settings = settings or ExtractSettings()
        frame = extract_benchmark(bench, settings, device=device)
        if layer_col:
            frame = pd.read_parquet(table_dir(bench.name, settings) / "per_layer.parquet").rename(
                columns={"layer": layer_col}
            )
        elif extra is not None:
            more = extract_benchmark(bench, extra, stats="none", device=device)
            frame = frame.merge(more[["arch", *(c for c in more.columns if c not in frame.columns)]], on="arch")
    if features:
        frame = frame[["arch", *([layer_col] if layer_col else []), *features]]
    return bench.table(frame, target=target, layer_col=layer_col)
