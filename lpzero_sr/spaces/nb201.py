"""NAS-Bench-Suite-Zero NAS-Bench-201 file (``zc_nasbench201.json``): precomputed proxies, no model needed.

The file maps ``nasbench201 -> dataset -> "(op, op, op, op, op, op)" -> {proxy: value, ..., "val_accuracy": acc}``
with 11 proxies per cell (``synflow`` is stored as a log). Rows become architectures keyed by the cell string.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from lpzero_sr.errors import DataError

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
TARGET = "val_accuracy"
FILENAME = "zc_nasbench201.json"


def load_nb201_frame(path: str | Path, dataset: str) -> pd.DataFrame:
    """One row per cell: ``arch`` (the cell key), the 11 proxy columns, ``val_accuracy``."""
    path = Path(path)
    if dataset not in DATASETS:
        raise DataError(f"unknown NAS-Bench-201 dataset {dataset!r}; use one of {', '.join(DATASETS)}")
    if not path.is_file():
        raise DataError(f"NAS-Bench-Suite-Zero file not found: {path}")
    try:
        cells = json.loads(path.read_text())["nasbench201"][dataset]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"{path} is not a NAS-Bench-Suite-Zero NAS-Bench-201 file ({exc!r})") from exc
    frame = pd.DataFrame.from_dict(cells, orient="index")
    frame.index.name = "arch"
    return frame.reset_index()
