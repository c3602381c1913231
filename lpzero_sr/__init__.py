"""lpzero-sr: discover zero-cost proxies for language-model NAS by symbolic regression."""

from typing import Any

from lpzero_sr.errors import LpzeroError
from lpzero_sr.table import StatTable

__all__ = ["LpzeroError", "Scorer", "StatTable"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``lpzero_sr.Scorer`` is imported on first use (it pulls in torch and the feature extractors)."""
    if name == "Scorer":
        from lpzero_sr.scorer import Scorer

        return Scorer
    raise AttributeError(f"module 'lpzero_sr' has no attribute {name!r}")
