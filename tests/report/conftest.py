"""Fixtures of the report tests: fit run directories (:mod:`report_fixtures`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from report_fixtures import build_fit_run


@pytest.fixture
def fit_run(tmp_path: Path) -> Callable[..., Path]:
    """``fit_run(**options)``: a fresh fit run directory (see :func:`build_fit_run`)."""
    counter = iter(range(1000))
    return lambda **options: build_fit_run(tmp_path / f"run{next(counter)}", **options)
