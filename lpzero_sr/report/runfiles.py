"""The format of a metric in a report's table cell."""

from __future__ import annotations

import math
from typing import Any

from lpzero_sr.errors import LpzeroError


class ReportError(LpzeroError):
    """A run directory without the files a report needs, or with a file that is not what it should be."""


def fmt(value: Any, digits: int = 4) -> str:
    """A metric for a table cell: ``0.8123``, ``nan``, or an em dash when it is not there."""
    if value is None:
        return "—"
    number = float(value)
    return "nan" if math.isnan(number) else f"{number:.{digits}f}"
