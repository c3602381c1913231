"""Where ``lpzero-sr fit TABLE`` gets its table: a file path, or a ``source:name`` shorthand.

Shorthand sources are registered in :data:`TABLE_SOURCES` (``nb201:cifar10``, ``nb201:cifar100``,
``nb201:ImageNet16-120`` here); a source is a function ``(name, data_dir) -> StatTable``. Benchmark files are
looked up under ``data_dir`` (default ``$LPZERO_SR_DATA`` or ``~/.cache/lpzero-sr``), then under the local
mirror ``$LPZERO_SR_MIRROR``, both laid out as ``<dir>/<dataset>/<file>``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from lpzero_sr.errors import DataError, TableError
from lpzero_sr.registry import Registry
from lpzero_sr.spaces.nb201 import FILENAME, nb201_table
from lpzero_sr.table import Direction, StatTable

TABLE_SOURCES: Registry[Callable[[str, Path], StatTable]] = Registry("table source")


def default_data_dir() -> Path:
    return Path(os.environ.get("LPZERO_SR_DATA", Path.home() / ".cache" / "lpzero-sr"))


def find_data_file(data_dir: Path, dataset: str, filename: str) -> Path:
    """``<dir>/<dataset>/<filename>`` in ``data_dir`` or the mirror, else one :class:`DataError` line."""
    roots = [data_dir, *([Path(os.environ["LPZERO_SR_MIRROR"])] if os.environ.get("LPZERO_SR_MIRROR") else [])]
    for root in roots:
        path = root / dataset / filename
        if path.is_file():
            return path
    raise DataError(
        f"{dataset}/{filename} not found under {' or '.join(map(str, roots))}; "
        f"run `lpzero-sr data download {dataset}` or pass --data-dir"
    )


@TABLE_SOURCES.register("nb201")
def _nb201(name: str, data_dir: Path) -> StatTable:
    return nb201_table(find_data_file(data_dir, "nb_suite_zero", FILENAME), name)


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
) -> StatTable:
    """A validated table from a file (CSV/Parquet/JSON; ``target`` required) or a ``source:name`` shorthand.

    For a shorthand the source fixes target and direction; ``features`` still selects columns.
    """
    source, _, name = spec.partition(":")
    if name and source in TABLE_SOURCES and not Path(spec).exists():
        table = TABLE_SOURCES.get(source)(name, Path(data_dir) if data_dir else default_data_dir())
        if features:
            table = StatTable.from_frame(
                table.frame, table.target, table.direction, arch_col=table.arch_col, features=features
            )
        return table
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
