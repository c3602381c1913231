"""Tiny synthetic tables for search tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lpzero_sr.table import StatTable


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
