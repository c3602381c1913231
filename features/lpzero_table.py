"""Branch values of many architectures: a content-keyed store on disk and the per-item table the search reads.

Each architecture's branch values (:class:`lpzero_sr.features.lpzero_space.Branches`) are kept in one ``.npz``
file ``<dir>/<key>.npz`` (read without pickle): ``values`` (items x branches, float32: LPZero's branch values are
float32 means; NaN past a list's end), ``names`` (the branches), ``inputs`` and ``lengths`` (each list's length).
The key is the SHA-256 of the architecture's config, the settings it was extracted with and
:data:`~lpzero_sr.features.lpzero_space.VERSION` (:func:`lpzero_sr.features.cache.extract_key`), so another batch,
seed or version is recomputed, never served stale.
A file holds the branches computed so far; asking for more computes only the missing ones (one hook pass) and
rewrites the file with the union.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from lpzero_sr.features.cache import extract_key
from lpzero_sr.features.lpzero_space import (
    INPUTS,
    TWICE,
    VERSION,
    Branches,
    all_columns,
    capture,
    column_name,
    parse_column,
)
from lpzero_sr.fsutil import atomic_write_bytes

ITEM = "item"


@dataclass
class ArchBranches:
    """One architecture's stored branch values: base columns (no :data:`TWICE`) and list lengths."""

    values: dict[str, np.ndarray]
    lengths: dict[str, int]

    def column(self, name: str, rows: int) -> np.ndarray:
        """Column ``name`` over ``rows`` items (NaN past the list's end; a :data:`TWICE` list repeats)."""
        kind, u1, u2 = parse_column(name)
        base = kind.removesuffix(TWICE)
        value = self.values[column_name(base, u1, u2)][: self.lengths[base]]
        if kind.endswith(TWICE):
            value = np.concatenate([value, value])
        out = np.full(rows, np.nan)
        out[: min(rows, len(value))] = value[:rows]
        return out

    @property
    def rows(self) -> int:
        """Items of the longest list (an ``_x2`` list is cut there: any partner list is at most that long)."""
        return max(self.lengths.values(), default=0)


def branch_key(config: Mapping[str, Any], settings: Mapping[str, Any]) -> str:
    """The store key of one architecture's branch values."""
    return extract_key(config, {**settings, "lpzero_space": VERSION})


def _base(columns: Iterable[str]) -> list[str]:
    out = []
    for name in columns:
        kind, u1, u2 = parse_column(name)
        out.append(column_name(kind.removesuffix(TWICE), u1, u2))
    return list(dict.fromkeys(out))


def load(path: Path) -> ArchBranches | None:
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        values = data["values"].astype(float)
        branches = {str(n): values[:, i] for i, n in enumerate(data["names"])}
        lengths = {str(k): int(v) for k, v in zip(data["inputs"], data["lengths"], strict=True)}
    return ArchBranches(branches, lengths)


def save(path: Path, branches: ArchBranches) -> None:
    rows = max(branches.rows, 1)
    names = list(branches.values)
    values = np.full((rows, len(names)), np.nan, dtype=np.float32)
    for i, name in enumerate(names):
        value = branches.values[name][:rows]
        values[: len(value), i] = value
    buffer = io.BytesIO()
    inputs, lengths = list(branches.lengths), list(branches.lengths.values())
    np.savez(buffer, values=values, names=np.array(names, dtype=str), inputs=np.array(inputs, dtype=str),
             lengths=np.array(lengths, dtype=np.int64))  # fmt: skip
    atomic_write_bytes(path, buffer.getvalue())


def extract_branches(
    arch_ids: Sequence[str],
    build_fn: Callable[[str], nn.Module],
    batch_fn: Callable[[str, nn.Module], torch.Tensor],
    keys: Mapping[str, str],
    out_dir: str | Path,
    columns: str | Iterable[str] = "all",
    progress: bool = True,
    cpu_threads: int | None = 1,
) -> tuple[dict[str, ArchBranches], dict[str, float]]:
    """Branch values ``columns`` ("all", or names; ``_x2`` names need their base list) of every architecture,
    computing what ``out_dir`` lacks (one hook pass per architecture that lacks any); also returns the seconds each
    computed architecture took (capture and branch values, not the model build)."""
    wanted = _base(all_columns(twice=False) if columns == "all" else columns)
    kinds = {parse_column(c)[0] for c in wanted}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, ArchBranches] = {}
    seconds: dict[str, float] = {}
    threads = torch.get_num_threads()
    for arch in tqdm(arch_ids, desc="lpzero branches", unit="arch", disable=not progress):
        path = out / f"{keys[arch]}.npz"
        stored = load(path) or ArchBranches({}, {})
        missing = [c for c in wanted if c not in stored.values]
        if missing:
            if cpu_threads is not None:
                torch.set_num_threads(cpu_threads)
            try:
                model = build_fn(arch)
                start = time.perf_counter()
                lists = capture(model, batch_fn(arch, model), [k for k in INPUTS if k in kinds | set(stored.lengths)])
                branches = Branches(lists)
                branches.compute(parse_column(c) for c in missing)
                stored.values.update({c: branches.column(c) for c in missing})
                stored.lengths.update({k: len(v) for k, v in lists.items()})
                seconds[arch] = time.perf_counter() - start
                del model, lists, branches
            finally:
                torch.set_num_threads(threads)
            save(path, stored)
        result[arch] = stored
    return result, seconds


def branch_frame(branches: Mapping[str, ArchBranches], columns: Iterable[str]) -> pd.DataFrame:
    """The per-item table: one row per (architecture, item) with ``arch``, ``item`` and ``columns``."""
    columns = list(columns)
    archs = [a for a, b in branches.items() for _ in range(b.rows)]
    items = np.concatenate([np.arange(b.rows) for b in branches.values()]) if branches else np.zeros(0, int)
    data = {c: np.concatenate([b.column(c, b.rows) for b in branches.values()]) if branches else [] for c in columns}
    return pd.DataFrame({"arch": archs, ITEM: items, **data})


def space_columns(branches: Mapping[str, ArchBranches]) -> list[str]:
    """Every valued branch the stored architectures hold, without ``_x2`` columns equal to their base column on
    every architecture (on GPT-2 every list has the same length, so the second pass never counts)."""
    columns = [c for c in all_columns() if all(_base([c])[0] in b.values for b in branches.values())]
    keep = []
    for name in columns:
        kind = parse_column(name)[0]
        if kind.endswith(TWICE):
            base = column_name(kind.removesuffix(TWICE), *parse_column(name)[1:])
            same = all(
                np.array_equal(b.column(name, b.rows), b.column(base, b.rows), equal_nan=True)
                for b in branches.values()
            )
            if same:
                continue
        keep.append(name)
    return keep
