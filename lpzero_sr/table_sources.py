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
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from lpzero_sr.errors import TableError

if TYPE_CHECKING:  # pandas, the table and the spaces (torch) are imported where a table is read or a name looked up
    import pandas as pd

    from lpzero_sr.features.settings import ExtractSettings
    from lpzero_sr.spaces.base import Benchmark
    from lpzero_sr.table import Direction, StatTable

log = logging.getLogger(__name__)
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
    labels: str | Path | None = None,
    screen: bool = True,
) -> StatTable:
    """A validated table from a file (CSV/Parquet/JSON; ``target`` required), an ``extract --out`` folder (its
    ``per_arch.parquet``, or ``per_layer.parquet`` with ``layer_col``), a registered benchmark name or a user's space
    file (``my_subnets.yaml`` with its ``labels``; :func:`lpzero_sr.spaces.get_space`); a benchmark's target and
    direction are fixed, ``settings`` are the extraction settings of a model-based one. ``labels`` is a file of
    targets joined on ``arch`` (a CSV/Parquet/JSON table, or the ``labels.jsonl`` of ``lpzero-sr label``, whose
    target is ``val_loss``); with a registered space's name it is that ``labels.jsonl``, and the labelled
    architectures are extracted (:func:`labelled_space`). ``screen=False`` keeps every numeric column of a file or
    folder (:meth:`StatTable.from_frame`: for scoring, not searching). A name that is none of these gives one error
    line with the closest benchmarks."""
    path = Path(spec)
    refuse_missing_file(spec)  # before the spaces (torch) are imported and before --target is asked for
    from lpzero_sr.spaces import SPACE_FILES, SPACES
    from lpzero_sr.table import StatTable

    registered = spec in SPACES and not path.exists()
    if registered and labels is not None:  # the architectures `lpzero-sr label SPACE` trained
        bench = labelled_space(spec, Path(labels))
        return extracted_table(bench, settings, layer_col=layer_col, target=target, features=features, device=device)
    if registered or path.suffix.lower() in SPACE_FILES:  # a benchmark, or the labelled archs of a space file
        return benchmark_table(
            spec, data_dir, layer_col=layer_col, target=target, features=features, device=device, settings=settings
        )
    if path.is_dir() or labels is not None:
        frame = _features_frame(path, layer_col)
        if labels is not None:
            frame = join_labels(frame, Path(labels))
        if target is None:
            raise TableError("--target is required (the labels column to fit)")
        return StatTable.from_frame(
            frame, target, direction=direction, arch_col=arch_col or "arch", layer_col=layer_col,
            features=features, drop_invalid=drop_invalid, screen=screen,
        )  # fmt: skip
    if not path.exists() and path.suffix.lower() not in TABLE_SUFFIXES:
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
        screen=screen,
    )


def refuse_missing_file(spec: str) -> None:
    """One :class:`TableError` line, ``table file not found``, when TABLE ``spec`` names a table file that does not
    exist (:func:`names_missing_file`): cheap, so a command says it before it creates or locks anything."""
    if names_missing_file(spec):
        raise TableError(f"table file not found: {spec}")


def names_missing_file(spec: str) -> bool:
    """Whether TABLE ``spec`` is a path to a table that does not exist: it has a table suffix (``.csv``, ...), or a
    path separator and no suffix (an ``extract --out`` folder); no benchmark name looks like either, so the spaces
    need not be looked up to refuse it. A missing space file (``.yaml``) is left to its loader's own error."""
    path = Path(spec)
    if path.exists():
        return False
    separator = any(sep in spec for sep in (os.sep, os.altsep) if sep)
    return path.suffix.lower() in TABLE_SUFFIXES or (separator and not path.suffix)


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
    from lpzero_sr.spaces import load_benchmark

    bench = load_benchmark(name, data_dir)
    if bench.features is not None:
        if layer_col:
            raise TableError(f"benchmark {name!r} ships per-architecture features only; drop --layer-col")
        frame = bench.features.rename_axis("arch").reset_index()
        if features:
            frame = frame[["arch", *features]]
        return bench.table(frame, target=target)
    return extracted_table(
        bench, settings, layer_col=layer_col, target=target, features=features, extra=extra, device=device
    )


EXTRACTION_NOTE = "a time limit covers the search, not this extraction (it is cached: a rerun starts at once)"


def extracted_table(
    bench: Benchmark,
    settings: ExtractSettings | None = None,
    *,
    layer_col: str | None = None,
    target: str | None = None,
    features: list[str] | None = None,
    extra: ExtractSettings | None = None,
    device: str = "auto",
) -> StatTable:
    """The table of a model-based benchmark, extracted under ``settings`` (cached, resumable; see
    :func:`benchmark_table` for the arguments). Only ``bench``'s architectures are extracted; a warning says how
    many and about how long before the first model is built."""
    import pandas as pd

    from lpzero_sr.baselines import extract_benchmark, table_dir
    from lpzero_sr.features.settings import ExtractSettings

    settings = settings or ExtractSettings()
    frame = extract_benchmark(bench, settings, device=device, note=EXTRACTION_NOTE)
    if layer_col:
        frame = pd.read_parquet(table_dir(bench.name, settings) / "per_layer.parquet").rename(
            columns={"layer": layer_col}
        )
    elif extra is not None:
        more = extract_benchmark(bench, extra, stats="none", device=device, note=EXTRACTION_NOTE)
        frame = frame.merge(more[["arch", *(c for c in more.columns if c not in frame.columns)]], on="arch")
    if features:
        frame = frame[["arch", *([layer_col] if layer_col else []), *features]]
    return bench.table(frame, target=target, layer_col=layer_col)


def labelled_space(name: str, labels: Path) -> Benchmark:
    """The architectures of registered space ``name`` that ``lpzero-sr label`` trained, from its ``labels.jsonl``
    (target ``val_loss``, minimised). Their extraction is cached apart from the space's own benchmark, under
    ``<space>/labels-<12 hex digits of the file's SHA-256>``."""
    import hashlib

    from lpzero_sr.spaces import SPACES
    from lpzero_sr.spaces.labels import META_FILE, labelled_benchmark

    space = SPACES.get(name)
    if labels.suffix != ".jsonl":
        raise TableError(
            f"--labels with the space {name!r} takes the labels.jsonl that `lpzero-sr label {name}` writes, got "
            f"{labels}; a table of scores goes with the folder of `lpzero-sr extract`"
        )
    meta = labels.parent / META_FILE
    labelled = _meta_space(meta)
    if labelled is not None and labelled != space.name:
        raise TableError(f"{labels} labels the space {labelled!r} ({meta}), not {name!r}: fit {labelled} with it")
    bench = labelled_benchmark(space, labels, getattr(space, "validate", lambda config: config))
    digest = hashlib.sha256(labels.read_bytes()).hexdigest()[:12]
    return replace(bench, name=f"{space.name}/labels-{digest}")


def _meta_space(meta: Path) -> str | None:
    """The space a ``meta.json`` of ``lpzero-sr label`` names (None without a readable one)."""
    import json

    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("space") if isinstance(data, dict) else None


def _features_frame(path: Path, layer_col: str | None) -> pd.DataFrame:
    """The statistics of an ``extract --out`` folder (per architecture, or per layer with ``layer_col``), or a file."""
    import pandas as pd

    from lpzero_sr.table import read_frame

    if path.is_dir():
        name = "per_layer.parquet" if layer_col else "per_arch.parquet"
        if not (path / name).is_file():
            raise TableError(
                f"{path} is not an extraction folder (no {name}; run `lpzero-sr extract ... --out {path}`)"
            )
        frame = pd.read_parquet(path / name)
        return frame.rename(columns={"layer": layer_col}) if layer_col else frame
    return read_frame(path)


def join_labels(frame: pd.DataFrame, labels: Path) -> pd.DataFrame:
    """``frame`` (column ``arch``) with the numeric columns of a labels file joined on ``arch``: a ``labels.jsonl``
    of ``lpzero-sr label`` (``val_loss`` and its per-seed columns) or any table with an ``arch`` column. Rows without
    a label are left out (counted in an info line)."""
    import pandas as pd

    from lpzero_sr.table import read_frame

    if labels.suffix == ".jsonl":
        from lpzero_sr.spaces.labels import read_labels

        table = read_labels(labels)
    else:
        table = read_frame(labels)
    if "arch" not in table.columns or "arch" not in frame.columns:
        raise TableError(f"{labels} and the statistics both need an 'arch' column to be joined")
    numeric = [c for c in table.columns if c != "arch" and pd.api.types.is_numeric_dtype(table[c])]
    table = table[["arch", *numeric]].assign(arch=table["arch"].astype(str))
    joined = frame.assign(arch=frame["arch"].astype(str)).merge(table, on="arch", how="inner", suffixes=("", "_label"))
    missing = frame["arch"].astype(str).nunique() - joined["arch"].nunique()
    if missing:
        log.info("%d architecture(s) of the statistics have no label in %s and are left out", missing, labels)
    if joined.empty:
        raise TableError(f"no architecture of the statistics has a label in {labels} (join on 'arch')")
    return joined
