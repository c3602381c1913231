"""One shape of benchmark object for every search space, and the registry of spaces.

A :class:`Space` knows how to read its public files into a :class:`Benchmark` (architectures, configs, ground
truth, direction) and how to build a randomly initialised model from one config. Data directories resolve as:
an explicit ``data_dir`` (``--data-dir``) > the ``LPZERO_SR_DATA`` environment variable (a local copy laid out
like the public mirror) > the cache directory, filled by :mod:`lpzero_sr.spaces.data` on first use.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from torch import nn

from lpzero_sr.errors import ConfigError, DataError, TableError
from lpzero_sr.registry import Registry
from lpzero_sr.table import Direction, StatTable

if TYPE_CHECKING:
    from lpzero_sr.spaces.data import DatasetSpec

DATA_ENV = "LPZERO_SR_DATA"
CACHE_ENV = "LPZERO_SR_CACHE"


@runtime_checkable
class Space(Protocol):
    """A search space: where its data lives, how to load it, and how to build and sample architectures."""

    name: str
    dataset: str  # name of its public files in ``lpzero_sr.spaces.data`` (whose manifest gives their folder)
    causal: bool  # decoders train on next-token CE, encoders on token reconstruction

    def load(self, data_dir: Path) -> Benchmark: ...

    def build(self, config: dict[str, Any]) -> nn.Module: ...

    def vocab_size(self, config: dict[str, Any]) -> int: ...

    def sample(self, rng: np.random.Generator) -> dict[str, Any]: ...


SPACES: Registry[Space] = Registry("space")
SPACE_FILES: Registry[Callable[[Path], Space]] = Registry("space file")  # loaders of a user's space file, by suffix


def config_id(config: dict[str, Any]) -> str:
    """A stable id for a config without a readable one: the first 12 hex digits of the SHA-1 of its JSON with sorted
    keys (``json.dumps`` separators). Labelled samples store these ids, so the recipe never changes."""
    return hashlib.sha1(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]


def arch_namer(space: Space) -> Callable[[dict[str, Any]], str]:
    """The architecture ids of ``space``: its own ``arch_id(config)`` when it has one, else :func:`config_id`."""
    return getattr(space, "arch_id", config_id)


def get_space(spec: str) -> Space:
    """A registered space by name, or a user's space file by path (its suffix picks the loader in
    :data:`SPACE_FILES`: ``.yaml`` is a sub-network space, :mod:`lpzero_sr.spaces.subnet`); one error line else."""
    suffix = Path(spec).suffix.lower()
    if suffix in SPACE_FILES:
        return SPACE_FILES.get(suffix)(Path(spec))
    try:
        return SPACES.get(spec)
    except KeyError as exc:
        raise ConfigError(f"{exc.args[0]}; or a space file ({', '.join(SPACE_FILES.names())})") from None


@dataclass
class Benchmark:
    """Architectures of one space with their configs and ground truth.

    ``targets`` is indexed by architecture id (string) and holds the main ``target`` column plus any extra
    targets (e.g. each GLUE task, or LTS's test perplexity beside its validation perplexity); all of them share
    ``direction``. ``features`` holds precomputed proxies where the benchmark ships them
    (NAS-Bench-Suite-Zero), indexed the same way.
    """

    name: str
    configs: dict[str, dict[str, Any]]
    targets: pd.DataFrame
    target: str
    direction: Direction
    space: Space | None = None
    features: pd.DataFrame | None = None

    @property
    def archs(self) -> list[str]:
        return [str(a) for a in self.targets.index]

    def __len__(self) -> int:
        return len(self.targets)

    def build(self, arch: str) -> nn.Module:
        """A freshly initialised model for architecture ``arch`` (seed torch yourself for reproducibility)."""
        if self.space is None:
            raise ConfigError(f"benchmark {self.name!r} has precomputed tables only; it cannot build models")
        if arch not in self.configs:
            raise ConfigError(f"architecture {arch!r} is not in benchmark {self.name!r}")
        return self.space.build(self.configs[arch])

    def table(
        self,
        features: pd.DataFrame | None = None,
        target: str | None = None,
        layer_col: str | None = None,
        drop_invalid: bool = False,
    ) -> StatTable:
        """Join a features frame (column ``arch``; per-layer frames also ``layer``) with the ground truth.

        Without ``features`` the benchmark's own precomputed features are used. Only architectures present
        in both frames are kept.
        """
        target = target or self.target
        if target not in self.targets.columns:
            raise TableError(f"benchmark {self.name!r} has no target {target!r}; known: {list(self.targets.columns)}")
        if features is None:
            if self.features is None:
                raise TableError(f"benchmark {self.name!r} has no precomputed features; extract them first")
            features = self.features.rename_axis("arch").reset_index()
        if "arch" not in features.columns:
            raise TableError("features frame needs an 'arch' column")
        features = features.drop(columns=[c for c in self.targets.columns if c in features.columns])
        features = features.assign(arch=features["arch"].astype(str))
        truth = self.targets[[target]].rename_axis("arch").reset_index()
        frame = features.merge(truth, on="arch", how="inner")
        direction = self.direction  # every target of a benchmark shares its direction (see the class)
        return StatTable.from_frame(
            frame,
            target,
            direction,
            arch_col="arch",
            layer_col=layer_col,
            drop_invalid=drop_invalid,
            nonfinite_features=True,  # a search keeps the columns finite on its training rows only
        )


def cache_dir() -> Path:
    """Root of everything this package caches: ``$LPZERO_SR_CACHE`` or ``~/.cache/lpzero-sr``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "lpzero-sr")


def resolve_data_dir(data_dir: str | Path | None = None) -> tuple[Path, bool]:
    """The data root to read and whether it is the managed cache (which :func:`load_benchmark` may fill)."""
    if data_dir is not None:
        return Path(data_dir), False
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]), False
    return cache_dir() / "data", True


def load_benchmark(name: str, data_dir: str | Path | None = None) -> Benchmark:
    """Load a registered benchmark, or the labelled architectures of a user's space file (:func:`get_space`); with
    the cache as data root, a registered benchmark's files are fetched first if needed."""
    from lpzero_sr.spaces.data import datasets, ensure_dataset

    space = get_space(name)
    root, managed = resolve_data_dir(data_dir)
    if managed and space.dataset in datasets():  # spaces whose data ships with the package need no download
        ensure_dataset(space.dataset, root)
    return space.load(root)


def choice(rng: np.random.Generator, options: list[Any] | tuple[Any, ...]) -> Any:
    """One element of ``options`` (keeps Python types, unlike ``rng.choice`` on a list)."""
    return options[int(rng.integers(len(options)))]


def dataset_for(name: str) -> DatasetSpec:
    """The dataset called ``name``, or the dataset of the registered benchmark ``name`` (``nb201-cifar10``)."""
    from lpzero_sr.spaces.data import datasets, get_dataset

    if name in datasets() or name not in SPACES:
        return get_dataset(name)
    dataset = SPACES.get(name).dataset
    if dataset not in datasets():
        raise DataError(f"benchmark {name!r} ships with the package; it has nothing to download")
    return get_dataset(dataset)


POSITION_KEYS = ("n_positions", "max_position_embeddings", "tgt_len")


def positions_limit(space: Any, config: dict[str, Any]) -> int | None:
    """The most tokens a model of ``config`` takes: the space's ``max_positions(config)`` when it has one, else
    the first of :data:`POSITION_KEYS` in the config (Hugging Face configs), else ``None`` (unknown)."""
    if hasattr(space, "max_positions"):
        return space.max_positions(config)
    return next((int(config[k]) for k in POSITION_KEYS if isinstance(config.get(k), int)), None)


def check_seq_len(space: Any, configs: dict[str, dict[str, Any]], seq_len: int) -> None:
    """One :class:`ConfigError` line, before any work, when ``seq_len`` exceeds an architecture's positions."""
    for arch, config in configs.items():
        limit = positions_limit(space, config)
        if limit is not None and seq_len > limit:
            raise ConfigError(f"--seq-len {seq_len} exceeds the {limit} positions of architecture {arch!r}")
