"""lpzero-sr: discover zero-cost proxies for language-model NAS by symbolic regression."""

from typing import Any

from lpzero_sr.errors import LpzeroError

__all__ = ["LpzeroError", "Scorer", "StatTable"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``Scorer`` and ``StatTable`` are imported on first use (they pull in torch, pandas and scipy)."""
    if name == "Scorer":
        from lpzero_sr.scorer import Scorer

        return Scorer
    if name == "StatTable":
        from lpzero_sr.table import StatTable

        return StatTable
    raise AttributeError(f"module 'lpzero_sr' has no attribute {name!r}")
