"""NAS-Bench-Suite-Zero NAS-Bench-201 benchmarks: precomputed proxy tables, no model builder.

Three registered spaces, ``nb201-cifar10``, ``nb201-cifar100`` and ``nb201-ImageNet16-120``, read the same
``nb_suite_zero/zc_nasbench201.json`` through :func:`lpzero_sr.spaces.nb201.load_nb201_frame`. Their
benchmarks carry the 11 published proxies as ``features`` and ``val_accuracy`` (maximise) as the target. A cell is
six op indices over the edges (1,2),(1,3),(1,4),(2,3),(2,4),(3,4) with ops
[skip_connect, none, nor_conv_3x3, nor_conv_1x1, avg_pool_3x3]; :meth:`sample` draws one such cell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from lpzero_sr.errors import ConfigError
from lpzero_sr.spaces.base import SPACES, Benchmark
from lpzero_sr.spaces.nb201 import DATASETS, FILENAME, TARGET, load_nb201_frame

OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
EDGES = 6


class NB201Space:
    """NAS-Bench-201 cells of one image dataset, with the Suite-Zero proxy values."""

    dataset = "nb_suite_zero"
    causal = False

    def __init__(self, image_dataset: str) -> None:
        self.image_dataset = image_dataset
        self.name = f"nb201-{image_dataset}"

    def load(self, data_dir: Path) -> Benchmark:
        frame = load_nb201_frame(Path(data_dir) / self.dataset / FILENAME, self.image_dataset).set_index("arch")
        configs = {arch: {"cell": [int(op) for op in arch.strip("()").split(",")]} for arch in frame.index}
        features = frame.drop(columns=[TARGET])
        return Benchmark(self.name, configs, frame[[TARGET]], TARGET, "maximize", space=self, features=features)

    def build(self, config: dict[str, Any]) -> nn.Module:
        raise ConfigError(f"{self.name} ships precomputed proxies only; NAS-Bench-201 CNNs are not built here")

    def vocab_size(self, config: dict[str, Any]) -> int:
        raise ConfigError(f"{self.name} is an image benchmark; it has no vocabulary")

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        return {"cell": [int(op) for op in rng.integers(len(OPS), size=EDGES)]}


for _dataset in DATASETS:
    SPACES.register(f"nb201-{_dataset}")(NB201Space(_dataset))
