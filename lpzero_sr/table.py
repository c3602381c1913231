"""StatTable: statistics of architectures (or architecture x layer) plus a ground-truth target.

Rows are either one per architecture, or one per (architecture, layer) when ``layer_col`` is set; then a
formula is evaluated per row and aggregated per architecture before ranking. Direction is explicit: the
oriented target :attr:`StatTable.y` is always "higher is better" (a minimised target is negated here, once).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from lpzero_sr.errors import TableError
from lpzero_sr.fsutil import atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:  # scipy.stats (through lpzero_sr.ranking) is imported where rows are aggregated or ranked
    from lpzero_sr.ranking import Aggregation

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
        screen: bool = True,
    ) -> StatTable:
        """Validate ``frame``; every defect raises one :class:`TableError` line.

        Only a non-finite *target* costs rows: such rows are an error, or with ``drop_invalid`` are dropped (a
        warning states how many). A feature column with NaN/inf values is left out with a warning, like a column
        that leaks the answer (a row index, the target's copy or its ranking, :func:`_drop_leaks`);
        ``nonfinite_features`` keeps such columns instead (benchmark statistics such as exp of large activations
        overflow for some architectures): which columns a search may use is then decided on the training rows only
        (:meth:`finite_features`). Columns named in ``features`` are used as given: NaN/inf in them is an error, or
        with ``drop_invalid`` costs those rows. Feature columns that are constant over all rows carry no ranking
        signal and are dropped (logged at info level). ``screen=False`` keeps every numeric column as it is (no
        column left out: a table scored with a proxy, not searched, may hold anything the proxy reads).
        """
        if direction not in ("maximize", "minimize"):
            raise TableError(f"direction must be 'maximize' or 'minimize', got {direction!r}")
        if len(frame) == 0:
            raise TableError("table has no rows")
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
        explicit = features is not None
        if features is None:
            features = [c for c in frame.columns if c not in reserved and _numeric_or_mixed(frame[c], c)]
        unknown = [f for f in features if f not in frame.columns]
        if unknown:
            raise TableError(f"unknown feature columns: {_preview(unknown)}")
        for col in [*features, target]:
            if not pd.api.types.is_numeric_dtype(frame[col]):
                row, value = _first_non_numeric(frame[col])
                raise TableError(
                    f"column {col!r} has a non-numeric value {value!r} in row {row} (arch {frame[arch_col].iloc[row]})"
                )
        # only a non-finite target costs rows (or an explicitly chosen feature's, with drop_invalid)
        frame = _drop_or_reject_invalid(frame, [target, *(features if explicit else ())], arch_col, drop_invalid)
        _reject_duplicates(frame, arch_col, layer_col)
        if layer_col is not None and (frame.groupby(arch_col)[target].nunique() > 1).any():
            raise TableError(f"target {target!r} differs between layers of the same architecture")
        if not screen:
            return cls(frame.reset_index(drop=True), tuple(features), target, direction, arch_col, layer_col)
        if not explicit and not nonfinite_features and features:
            features = _drop_nonfinite(frame, list(features))
            if not features:
                raise TableError("every feature column has NaN/inf values")
        if not features:
            raise TableError("table has no numeric feature columns")
        features = _drop_leaks(frame, list(features), target, explicit)
        if not features:
            raise TableError("every feature column leaks the target (see the warnings)")
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
        arch_col = kwargs.get("arch_col") or "arch"
        return cls.from_frame(read_frame(path, ids=(str(arch_col),)), target, **kwargs)  # type: ignore[arg-type]

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
        from lpzero_sr.ranking import aggregate

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


def read_frame(path: str | Path, ids: tuple[str, ...] = ("arch",)) -> pd.DataFrame:
    """The rows of a CSV, Parquet or JSON (records) file; a file without rows of data (empty, a header only, only an
    index column, a Parquet file of 0 rows) is one :class:`TableError` line, ``<file> has no rows``. The ``ids``
    columns are read as text, so an id such as ``0012`` or ``1e5`` stays that id."""
    path = Path(path)
    if not path.exists():
        raise TableError(f"table file not found: {path}")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq", ".json"):
        raise TableError(f"unsupported table format {suffix!r} for {path}; use .csv, .parquet or .json")
    if path.is_file() and path.stat().st_size == 0:
        raise TableError(f"{path} has no rows (the file is empty)")
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=dict.fromkeys(ids, str))
        elif suffix == ".json":
            frame = pd.read_json(path, orient="records", dtype=dict.fromkeys(ids, str))
        else:
            frame = pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise TableError(f"{path} has no rows (the file is empty)") from None
    except (ValueError, OSError) as exc:
        raise TableError(f"cannot read {path}: {exc}") from exc
    if len(frame) == 0:
        raise TableError(f"{path} has no rows (columns: {_preview(frame.columns) or 'none'})")
    if all(str(c).startswith("Unnamed:") for c in frame.columns):
        raise TableError(f"{path} has no rows of data: it holds only an index column")
    return frame


def write_frame(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` (format from the suffix) atomically (:func:`lpzero_sr.fsutil.atomic_write_bytes`)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return atomic_write_text(path, frame.to_csv(index=False))
    if suffix in (".parquet", ".pq"):
        return atomic_write_bytes(path, frame.to_parquet(index=False))
    if suffix == ".json":
        return atomic_write_text(path, frame.to_json(orient="records", indent=1))
    raise TableError(f"unsupported table format {suffix!r} for {path}; use .csv, .parquet or .json")


def _drop_or_reject_invalid(frame: pd.DataFrame, cols: list[str], arch_col: str, drop: bool) -> pd.DataFrame:
    """``frame`` without the rows where a column of ``cols`` (the target, and features the user named) is NaN/inf:
    an error naming the first, or with ``drop`` a warning; a column without one finite value is always an error."""
    values = frame[cols].to_numpy(dtype=float)
    finite = np.isfinite(values)
    hopeless = [c for c, ok in zip(cols, finite.any(axis=0), strict=True) if not ok]
    if hopeless:
        raise TableError(f"column {hopeless[0]!r} has no finite value (NaN/inf on all {len(frame)} rows)")
    bad_rows = ~finite.all(axis=1)
    if not bad_rows.any():
        return frame
    first = int(np.argmax(bad_rows))
    bad_col = cols[int(np.argmax(~finite[first]))]
    if not drop:
        raise TableError(
            f"{int(bad_rows.sum())} row(s) have NaN/inf values (first: {arch_col}={frame[arch_col].iloc[first]}, "
            f"column {bad_col!r}); pass --drop-invalid to drop them"
        )
    log.warning("dropped %d row(s) with NaN/inf values", int(bad_rows.sum()))
    return frame[~bad_rows]


def _drop_nonfinite(frame: pd.DataFrame, features: list[str]) -> list[str]:
    """``features`` without the columns that hold NaN/inf on some row (left out with one warning)."""
    finite = np.isfinite(frame[features].to_numpy(dtype=float)).all(axis=0)
    dropped = [f for f, ok in zip(features, finite, strict=True) if not ok]
    if dropped:
        log.warning("ignoring %d column(s) with NaN/inf values: %s", len(dropped), _preview(dropped))
    return [f for f, ok in zip(features, finite, strict=True) if ok]


def _numeric_or_mixed(column: pd.Series, name: str) -> bool:
    """A candidate feature column: numeric, or holding at least one number among text (an error follows). A column
    of text only (names, configs) is not a feature and is left out with an info line."""
    if pd.api.types.is_numeric_dtype(column):
        return True
    if pd.to_numeric(column, errors="coerce").notna().any():
        return True
    log.info("ignoring non-numeric column %r", name)
    return False


def _first_non_numeric(column: pd.Series) -> tuple[int, object]:
    bad = pd.to_numeric(column, errors="coerce").isna() & column.notna()
    row = int(np.argmax(bad.to_numpy())) if bad.any() else 0
    return row, column.iloc[row] if len(column) else None


def _drop_leaks(frame: pd.DataFrame, features: list[str], target: str, explicit: bool) -> list[str]:
    """Columns that would leak the answer rather than describe an architecture: a copy of the target, a row index
    (``Unnamed: 0`` from a CSV written with its index, or the integers 0..n-1 in order), or any column that ranks
    the rows exactly as the target does or exactly reversed (|Spearman rho| = 1: ``2 * glue + 1``, the target's
    rank): for a rank-correlation search that is the answer itself. Left out with a warning (an error when the user
    named them with --features)."""
    leaks = {}
    y = frame[target].to_numpy(dtype=float)
    for col in features:
        values = frame[col].to_numpy(dtype=float)
        if col.startswith("Unnamed:"):
            leaks[col] = "a CSV row index"
        elif np.array_equal(values, y):
            leaks[col] = f"a copy of the target {target!r}"
        elif len(values) > 2 and np.array_equal(values, np.arange(len(values))):
            leaks[col] = "a row index (0..n-1 in order)"
        elif _same_ranking(values, y):
            leaks[col] = f"the ranking of the target {target!r} (|Spearman rho| = 1 on the rows)"
    for col, why in leaks.items():
        if explicit:
            raise TableError(f"feature column {col!r} is {why}: it would rank by the answer, not the architecture")
        log.warning("ignoring column %r: it is %s", col, why)
    return [f for f in features if f not in leaks]


def _same_ranking(values: np.ndarray, y: np.ndarray) -> bool:
    """Whether ``values`` rank the rows where both are finite (at least 3, not all tied) exactly as ``y`` does, or
    exactly reversed (|Spearman rho| = 1, ties included)."""
    from scipy.stats import rankdata

    both = np.isfinite(values) & np.isfinite(y)
    if both.sum() < 3:
        return False
    ranks, target_ranks = rankdata(values[both]), rankdata(y[both])
    if np.all(ranks == ranks[0]):
        return False
    return bool(np.array_equal(ranks, target_ranks) or np.array_equal(ranks, len(ranks) + 1 - target_ranks))


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
