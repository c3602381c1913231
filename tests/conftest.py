"""Shared fixtures: the public ground-truth files live in ``../shared/data`` beside the repository."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from lpzero_sr.settings import FitSettings, SearchSettings
from lpzero_sr.table import StatTable

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# Tests read benchmark files from the local mirror instead of downloading them.
os.environ.setdefault("LPZERO_SR_MIRROR", str(SHARED_DATA))
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The local mirror of the public benchmark files; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared benchmark data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def arch_table() -> StatTable:
    """40 architectures; the target is exactly ranked by log|a| + b (a spans magnitudes, b is small)."""
    rng = np.random.default_rng(0)
    a = 10.0 ** rng.uniform(-2, 3, 40)
    b = rng.uniform(0, 2, 40)
    c = rng.normal(size=40)
    frame = pd.DataFrame({"arch": [f"n{i}" for i in range(40)], "a": a, "b": b, "grad.sqr.mean": c})
    frame["acc"] = np.log(a) + b
    return StatTable.from_frame(frame, "acc")


@pytest.fixture
def layer_table() -> StatTable:
    """8 architectures x 3 layers; minimised target."""
    rng = np.random.default_rng(1)
    rows = []
    for i in range(8):
        for layer in range(3):
            rows.append({"arch": f"m{i}", "layer": layer, "s": rng.uniform(0.5, 2), "t": rng.normal(), "ppl": 10 - i})
    return StatTable.from_frame(pd.DataFrame(rows), "ppl", "minimize", layer_col="layer")


@pytest.fixture
def quick() -> Callable[..., FitSettings]:
    """Small fit settings for tests: one process, a few generations of a small population, no peers."""

    def make(
        *,
        generations: int | None = 4,
        population: int = 24,
        seed: int = 0,
        loss: str = "spearman",
        rules: str = "default",
        aggregation: str = "mean",
        time_limit: float | None = None,
        peers: bool = False,
        **fields: Any,
    ) -> FitSettings:
        search = SearchSettings(
            rules=rules, loss=loss, aggregation=aggregation, population=population, generations=generations,
            time_limit=time_limit, seed=seed, jobs=1,
        )  # fmt: skip
        return FitSettings(search=search, peers=peers, **fields)

    return make
