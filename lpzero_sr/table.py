"""StatTable: statistics of architectures (or architecture x layer) plus a ground-truth target.

Rows are either one per architecture, or one per (architecture, layer) when ``layer_col`` is set; then a
formula is evaluated per row and aggregated per architecture before ranking. Direction is explicit: the
oriented target :attr:`StatTable.y` is always "higher is better" (a minimised target is negated here, once).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from lpzero_sr.errors import TableError
from lpzero_sr.ranking import Aggregation, aggregate

Direction = Literal["maximize", "minimize"]
MIN_ARCHS = 5
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StatTable:
    """A validated table; build it with :meth:`from_frame` or :meth:`read`."""

    frame: pd.DataFrame
    features: tuple[str, ...]
    target: str
    direction: Direction
    arch_col: str = "arch"
    layer_col: str | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        target: str,
        direction: Direction = "maximize",
        arch_col: str | None = None,
        layer_col: str | None = None,
        features: list[str] | None = None,
        drop_invalid: bool = False,
        nonfinite_features: bool = False,
    ) -> StatTable:
        """Validate ``frame``; every defect raises one :class:`TableError` line.

        ``drop_invalid`` drops rows with NaN/inf (a warning states how many) instead of failing.
        ``nonfinite_features`` keeps NaN/inf feature values (benchmark statistics such as exp of large activations
        overflow for some architectures): which columns a search may use is then decided on the training rows
        only (:meth:`finite_features`). Feature columns that are constant over all rows carry no ranking signal
        and are dropped (logged at info level).
        """
        if direction not in ("maximize", "minimize"):
            raise TableError(f"direction must be 'maximize' or 'minimize', got {direction!r}")
        frame = frame.copy()
        if target not in frame.columns:
            raise TableError(f"target column {target!r} not in table; columns: {_preview(frame.columns)}")
        if arch_col is None:
            arch_col = "arch"
            if arch_col not in frame.columns:
                frame.insert(0, arch_col, [str(i) for i in range(len(frame))])
        elif arch_col not in frame.columns:
            raise TableError(f"architecture column {arch_col!r} not in table; columns: {_preview(frame.columns)}")
        if layer_col is not None and layer_col not in frame.columns:
            raise TableError(f"layer column {layer_col!r} not in table; columns: {_preview(frame.columns)}")
        frame[arch_col] = frame[arch_col].astype(str)
        reserved = {target, arch_col, *([layer_col] if layer_col else [])}
        if features is None:
            features = [c for c in frame.columns if c not in reserved and pd.api.types.is_numeric_dtype(frame[c])]
        unknown = [f for f in features if f not in frame.columns]
        if unknown:
            raise TableError(f"unknown feature columns: {_preview(unknown)}")
        if not features:
            raise TableError("table has no numeric feature columns")
        for col in [*features, target]:
            if not pd.api.types.is_numeric_dtype(frame[col]):
                raise TableError(f"column {col!r} is not numeric (first value: {frame[col].iloc[0]!r})")
        checked = [target] if nonfinite_features else [*features, target]
        frame = _drop_or_reject_invalid(frame, checked, arch_col, drop_invalid)
        _reject_duplicates(frame, arch_col, layer_col)
        if layer_col is not None and (frame.groupby(arch_col)[target].nunique() > 1).any():
            raise TableError(f"target {target!r} differs between layers of the same architecture")
        n_archs = frame[arch_col].nunique()
        if n_archs < MIN_ARCHS:
            raise TableError(f"only {n_archs} architectures; rank correlation needs at least {MIN_ARCHS}")
        constant = [f for f in features if frame[f].nunique() <= 1]
        if constant:
            log.info("dropping %d constant feature column(s): %s", len(constant), _preview(constant))
            features = [f for f in features if f not in constant]
        if not features:
            raise TableError("every feature column is constant")
        if frame[target].nunique() <= 1:
            raise TableError(f"target {target!r} is constant")
        return cls(frame.reset_index(drop=True), tuple(features), target, direction, arch_col, layer_col)

    @classmethod
    def read(cls, path: str | Path, target: str, **kwargs: object) -> StatTable:
        """Read CSV, Parquet or JSON (records) and validate it; see :meth:`from_frame` for ``kwargs``."""
        return cls.from_frame(read_frame(path), target, **kwargs)  # type: ignore[arg-type]

    def write(self, path: str | Path) -> Path:
        """Write the table (format from the suffix: .csv, .parquet, .json)."""
        return write_frame(self.frame, path)

    # ------------------------------------------------------------------ views
    @property
    def per_layer(self) -> bool:
        return self.layer_col is not None

    @property
    def archs(self) -> np.ndarray:
        """Architecture ids in order of first appearance."""
        return pd.unique(self.frame[self.arch_col])

    @property
    def groups(self) -> np.ndarray:
        """Integer code of each row's architecture (index into :attr:`archs`)."""
        codes, _ = pd.factorize(self.frame[self.arch_col])
        return codes

    @property
    def X(self) -> np.ndarray:  # noqa: N802 - the usual name for a design matrix
        return self.frame[list(self.features)].to_numpy(dtype=float)

    def column(self, name: str) -> np.ndarray:
        return self.frame[name].to_numpy(dtype=float)

    @property
    def y_raw(self) -> np.ndarray:
        """Target per architecture as stored (aligned with :attr:`archs`)."""
        first = self.frame.drop_duplicates(self.arch_col)
        return first[self.target].to_numpy(dtype=float)

    @property
    def y(self) -> np.ndarray:
        """Target per architecture oriented so that higher is better."""
        sign = 1.0 if self.direction == "maximize" else -1.0
        return sign * self.y_raw

    def aggregate(self, row_values: np.ndarray, how: Aggregation = "sum") -> np.ndarray:
        """Per-architecture score from per-row values (identity when rows are architectures)."""
        if not self.per_layer:
            return np.asarray(row_values, dtype=float)
        return aggregate(row_values, self.groups, len(self.archs), how)

    # ------------------------------------------------------------------ subsets
    def with_features(self, features: list[str] | tuple[str, ...]) -> StatTable:
        """The same rows with only ``features`` as search columns (all must be columns of the frame)."""
        unknown = [f for f in features if f not in self.frame.columns]
        if unknown:
            raise TableError(f"unknown feature columns: {_preview(unknown)}")
        return replace(self, features=tuple(features))

    def finite_features(self) -> StatTable:
        """Only the feature columns that are finite on every row of this table (call it on training rows: a
        column's fate must not depend on held-out architectures)."""
        values = self.X
        keep = [f for f, ok in zip(self.features, np.isfinite(values).all(axis=0), strict=True) if ok]
        if len(keep) < len(self.features):
            dropped = [f for f in self.features if f not in keep]
            log.info("search ignores %d column(s) with NaN/inf on training rows: %s", len(dropped), _preview(dropped))
        if not keep:
            raise TableError("every feature column has NaN/inf values on the training rows")
        return self.with_features(keep)

    def subset(self, archs: list[str] | np.ndarray) -> StatTable:
        keep = self.frame[self.arch_col].isin(set(map(str, archs)))
        return replace(self, frame=self.frame[keep].reset_index(drop=True))

    def split(self, train_size: float | int, seed: int = 0) -> tuple[StatTable, StatTable]:
        """Random split by architecture: ``train_size`` is a count (>= 1) or a fraction (< 1)."""
        archs = self.archs
        n_train = int(round(train_size * len(archs))) if train_size < 1 else int(train_size)
        if not MIN_ARCHS <= n_train <= len(archs) - MIN_ARCHS:
            raise TableError(
                f"train size {n_train} leaves fewer than {MIN_ARCHS} architectures on one side of {len(archs)}"
            )
        order = np.random.default_rng(seed).permutation(len(archs))
        return self.subset(archs[order[:n_train]]), self.subset(archs[order[n_train:]])


def read_frame(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise TableError(f"table file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix == ".json":
            return pd.read_json(path, orient="records")
    except (ValueError, OSError) as exc:
        raise TableError(f"cannot read {path}: {exc}") from exc
    raise TableError(f"unsupported table format {suffix!r} for {path}; use .csv, .parquet or .json")


def write_frame(frame: pd.DataFrame, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    elif suffix == ".json":
        frame.to_json(path, orient="records", indent=1)
    else:
        raise TableError(f"unsupported table format {suffix!r} for {path}; use .csv, .parquet or .json")
    return path


def _drop_or_reject_invalid(frame: pd.DataFrame, cols: list[str], arch_col: str, drop: bool) -> pd.DataFrame:
    values = frame[cols].to_numpy(dtype=float)
    bad_rows = ~np.isfinite(values).all(axis=1)
    if not bad_rows.any():
        return frame
    first = int(np.argmax(bad_rows))
    bad_col = cols[int(np.argmax(~np.isfinite(values[first])))]
    if not drop:
        raise TableError(
            f"{int(bad_rows.sum())} row(s) have NaN/inf values (first: {arch_col}={frame[arch_col].iloc[first]}, "
            f"column {bad_col!r}); pass --drop-invalid to drop them"
        )
    log.warning("dropped %d row(s) with NaN/inf values", int(bad_rows.sum()))
    return frame[~bad_rows]


def _reject_duplicates(frame: pd.DataFrame, arch_col: str, layer_col: str | None) -> None:
    keys = [arch_col] if layer_col is None else [arch_col, layer_col]
    dup = frame.duplicated(keys)
    if dup.any():
        first = frame.loc[dup, keys].iloc[0].tolist()
        raise TableError(f"{int(dup.sum())} duplicate id(s) in {keys} (first: {first})")


def _preview(items: object, n: int = 8) -> str:
    items = list(items)  # type: ignore[call-overload]
    more = f", ... ({len(items) - n} more)" if len(items) > n else ""
    return ", ".join(map(str, items[:n])) + more
