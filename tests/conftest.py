"""Shared fixtures: the public ground-truth files live in ``../shared/data`` beside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

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
