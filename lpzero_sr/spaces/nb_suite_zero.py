"""NAS-Bench-Suite-Zero: every task of every file as a registered benchmark of precomputed proxies.

NASLib ships the suite's zero-cost proxy scores in two JSON layouts, both read by :func:`load_suite_frame`:

* by space (``zc_nasbench101.json``, ``zc_nasbench201.json``, ``zc_nasbench301.json``):
  ``space -> task -> arch -> {proxy: value, ..., "val_accuracy": target}``;
* by task (``zc_transbench101_micro.json``, ``zc_transbench101_macro.json``):
  ``task -> arch -> {"idx": ..., "arch": ..., proxy: {"score": value, "time": s}, ..., "val_accuracy": target}``.

Each task is one registered benchmark named ``<space>-<task>`` (:data:`TASKS`: ``nb101-cifar10``,
``nb201-cifar10``, ..., ``tnb101-micro-room_layout``, ``tnb101-macro-segmentsemantic``), whose files are the
dataset of the same prefix in :mod:`lpzero_sr.spaces.data` (``nb201``, ``tnb101-micro``, ...). Architectures are
keyed by their arch string; ``configs`` holds the parsed tuple as ``{"cell": [...]}``. Proxy timings are dropped.

The target is always NASLib's ``val_accuracy`` field, which is not always an accuracy: for TransNAS-Bench-101
NASLib stores top-1 accuracy (``class_scene``, ``class_object``, ``jigsaw``), SSIM (``autoencoder``, ``normal``),
pixel accuracy (``segmentsemantic``) and, for ``room_layout``, the *negated* L2 loss (``valid_neg_loss``; values
are in [-1.09, -0.61]). Every stored target is therefore "higher is better"; :data:`TASKS` states the direction
and the metric per task so that a future file storing a raw loss only needs a ``minimize`` entry.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from lpzero_sr.errors import ConfigError, DataError
from lpzero_sr.spaces.base import SPACES, Benchmark
from lpzero_sr.spaces.data import get_dataset
from lpzero_sr.table import Direction

TARGET = "val_accuracy"
DROP = ("idx", "arch")  # bookkeeping fields of the by-task layout, not proxies


@dataclass(frozen=True)
class SuiteFile:
    """One NASLib file: its dataset name in the manifest, its space key (by-space layout) and its tasks."""

    dataset: str
    space_key: str | None  # top-level key of the by-space layout; None for the by-task layout
    tasks: tuple[str, ...]

    @property
    def filename(self) -> str:
        return get_dataset(self.dataset).files[0].path


@dataclass(frozen=True)
class Task:
    """One benchmark: which file and task, what NASLib stored as ``val_accuracy``, and its direction."""

    file: SuiteFile
    task: str
    metric: str
    direction: Direction


TNB101_TASKS = ("class_scene", "class_object", "autoencoder", "normal", "jigsaw", "room_layout", "segmentsemantic")
FILES = {
    "nb101": SuiteFile("nb101", "nasbench101", ("cifar10",)),
    "nb201": SuiteFile("nb201", "nasbench201", ("cifar10", "cifar100", "ImageNet16-120")),
    "nb301": SuiteFile("nb301", "nasbench301", ("cifar10",)),
    "tnb101-micro": SuiteFile("tnb101-micro", None, TNB101_TASKS),
    "tnb101-macro": SuiteFile("tnb101-macro", None, TNB101_TASKS),
}
# What NASLib stored as ``val_accuracy`` per task (TransNAS-Bench-101 metric names in brackets); all maximised.
METRICS = {
    "cifar10": "validation accuracy (%)",
    "cifar100": "validation accuracy (%)",
    "ImageNet16-120": "validation accuracy (%)",
    "class_scene": "top-1 accuracy (%) [valid_top1]",
    "class_object": "top-1 accuracy (%) [valid_top1]",
    "jigsaw": "top-1 accuracy (%) [valid_top1]",
    "autoencoder": "SSIM [valid_ssim]",
    "normal": "SSIM [valid_ssim]",
    "segmentsemantic": "pixel accuracy (%) [valid_acc]",
    "room_layout": "negated L2 loss [valid_neg_loss]",
}
TASKS: dict[str, Task] = {
    f"{prefix}-{task}": Task(file, task, METRICS[task], "maximize")
    for prefix, file in FILES.items()
    for task in file.tasks
}


def load_suite_frame(path: str | Path, task: str, space_key: str | None = None) -> pd.DataFrame:
    """One row per architecture of ``task``: ``arch`` (the key), one column per proxy, ``val_accuracy``.

    ``space_key`` selects the by-space layout; without it the file must be in the by-task layout. Proxy values
    stored as ``{"score": s, "time": t}`` become ``s``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"NAS-Bench-Suite-Zero file not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        tasks = data[space_key] if space_key is not None else data
        archs = tasks[task]
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not JSON ({exc})") from exc
    except (KeyError, TypeError):
        raise DataError(
            f"{path} has no task {task!r}" + (f" under {space_key!r}" if space_key else "") + "; known: "
            + ", ".join(map(str, _keys(data, space_key)))
        ) from None  # fmt: skip
    rows = [_row(arch, record, path) for arch, record in archs.items()]
    frame = pd.DataFrame(rows)
    if TARGET not in frame.columns:
        raise DataError(f"{path} task {task!r} has no {TARGET!r} field")
    return frame


def _keys(data: Any, space_key: str | None) -> list[str]:
    level = data.get(space_key, {}) if isinstance(data, dict) and space_key else data
    return sorted(level) if isinstance(level, dict) else []


def _row(arch: str, record: Any, path: Path) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise DataError(f"{path}: architecture {arch} maps to {type(record).__name__}, expected an object")
    row: dict[str, Any] = {"arch": arch}
    for name, value in record.items():
        if name in DROP:
            continue
        row[name] = value["score"] if isinstance(value, dict) else value
    return row


def parse_arch(arch: str) -> list[Any]:
    """The arch string as nested lists (``"(1, 0, 2)"`` -> ``[1, 0, 2]``); strings that are not tuples stay whole."""
    try:
        value = ast.literal_eval(arch)
    except (ValueError, SyntaxError):
        return [arch]
    return json.loads(json.dumps(value)) if isinstance(value, tuple | list) else [value]


class SuiteSpace:
    """One task of one NAS-Bench-Suite-Zero file: precomputed proxies and NASLib's target, no model builder."""

    causal = False

    def __init__(self, name: str, task: Task) -> None:
        self.name = name
        self.spec = task
        self.dataset = task.file.dataset

    def load(self, data_dir: Path) -> Benchmark:
        path = Path(data_dir) / get_dataset(self.dataset).folder / self.spec.file.filename
        frame = load_suite_frame(path, self.spec.task, self.spec.file.space_key).set_index("arch")
        values = frame.apply(pd.to_numeric, errors="coerce")
        if values[TARGET].isna().any():
            raise DataError(f"{path} task {self.spec.task!r}: {TARGET} is missing for some architectures")
        configs = {arch: {"cell": parse_arch(arch)} for arch in frame.index}
        features = values.drop(columns=[TARGET]).dropna(axis="columns", how="all")
        targets = values[[TARGET]]
        return Benchmark(self.name, configs, targets, TARGET, self.spec.direction, space=self, features=features)

    def build(self, config: dict[str, Any]) -> nn.Module:
        raise ConfigError(f"{self.name} ships precomputed proxies only; its networks are not built here")

    def vocab_size(self, config: dict[str, Any]) -> int:
        raise ConfigError(f"{self.name} is an image benchmark; it has no vocabulary")

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        raise ConfigError(f"{self.name} ships precomputed proxies only; it cannot sample new architectures")


for _name, _task in TASKS.items():
    SPACES.register(_name)(SuiteSpace(_name, _task))
