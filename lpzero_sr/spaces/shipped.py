"""Declared spaces whose labelled sample ships with the package (``tiny-gpt2``, ``tiny-llama``): what they share."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from lpzero_sr.spaces.base import Benchmark
from lpzero_sr.spaces.labels import labelled_benchmark


def shipped_labels(folder: str) -> Path:
    """The ``labels.jsonl`` shipped as package data in ``lpzero_sr/data/<folder>/``."""
    return Path(str(resources.files("lpzero_sr") / "data" / folder / "labels.jsonl"))


class ShippedSpace:
    """A declared decoder space whose labelled sample ships with the package (no download): a subclass sets
    ``name``/``dataset``, ``folder`` (under ``lpzero_sr/data``), ``positions``, ``vocab`` and ``validate`` (its
    config check), and defines ``build``, ``sample`` and ``arch_id``."""

    name: str
    dataset: str
    folder: str
    positions: int
    vocab: int
    causal = True
    validate: Callable[[dict[str, Any]], dict[str, Any]]

    def load(self, data_dir: Path | None = None) -> Benchmark:
        """The shipped labels (``data_dir`` is ignored: the data is part of the package)."""
        return labelled_benchmark(self, shipped_labels(self.folder), self.validate)

    def max_positions(self, config: dict[str, Any]) -> int:
        return self.positions

    def vocab_size(self, config: dict[str, Any]) -> int:
        return self.vocab
