"""Reading the files of a run directory; optional files read as empty so a report degrades instead of failing."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from lpzero_sr.errors import LpzeroError

PREDICTION_COLUMNS = ("arch", "split", "score", "target")


class ReportError(LpzeroError):
    """A run directory without the files a report needs, or with a file that is not what it should be."""


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; ``{}`` when the (optional) file is absent."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ReportError(f"{path} should hold a JSON object, found {type(data).__name__}")
    return data


def read_predictions(path: Path) -> pd.DataFrame | None:
    """``predictions.csv`` (arch, split, score, target; target oriented so higher is better), or ``None``."""
    if not path.is_file():
        return None
    frame = pd.read_csv(path)
    missing = [c for c in PREDICTION_COLUMNS if c not in frame.columns]
    if missing:
        raise ReportError(f"{path} lacks column(s) {', '.join(missing)}")
    return frame


def fmt(value: Any, digits: int = 4) -> str:
    """A metric for a table cell: ``0.8123``, ``nan``, or an em dash when it is not there."""
    if value is None:
        return "—"
    number = float(value)
    return "nan" if math.isnan(number) else f"{number:.{digits}f}"
